#!/usr/bin/env bash
# Client suite: another JWT implementation verifies our tokens offline. The release server runs
# with one EdDSA key made by its own `keys generate` (the whole output saved as the key file),
# and PyJWT (PyPI, with `cryptography`) verifies a login's token with nothing but
# GET /.well-known/jwks.json, then refuses a tampered copy (.ci/jwks-pyjwt.py).
#
#   bash .ci/jwks.sh   from a fresh clone; SERVER_BIN=path/to/jwt-blacklist for another build
#
# PyJWT is installed, pinned, into a venv of its own under ~/.cache (reused by the next run).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=18087
VERSION=2.10.1
VENV="${JWKS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/jwt-blacklist-ci/pyjwt-$VERSION}"

if ! "$VENV/bin/python" -c "import jwt, cryptography; assert jwt.__version__ == '$VERSION'" 2>/dev/null; then
    echo "== PyJWT: installing $VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check "pyjwt[crypto]==$VERSION"
fi

# shellcheck source=.ci/server.sh
source .ci/server.sh
BIN="$(realpath "${SERVER_BIN:-target/release/jwt-blacklist}")"
KEYS="$(mktemp -d)"
"$BIN" keys generate --alg EdDSA --kid ci-ed >"$KEYS/ci-ed.pem"
# An empty ROCKET_JWT_SECRET is no secret: the key ring replaces the one server.sh sets.
start_server "$PORT" \
    ROCKET_JWT_SECRET= \
    ROCKET_SERVER_SECRET="ci-server-secret-that-is-long-enough-0123456789" \
    ROCKET_SIGNING_KEYS="[{kid=\"ci-ed\",alg=\"EdDSA\",private_key_file=\"$KEYS/ci-ed.pem\"}]"
if ! "$VENV/bin/python" .ci/jwks-pyjwt.py "$SERVER_URL" "$ADMIN_USER" "$ADMIN_PASSWORD" jwt-blacklist; then
    echo "the server's log:" >&2
    cat "$SERVER_DIR/server.log" >&2
    exit 1
fi
