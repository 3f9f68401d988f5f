#!/usr/bin/env bash
# The browser pages (/ and /admin) end to end: Playwright drives Debian's headless Chromium
# against the release server on a fresh SQLite database (tests/browser/e2e.mjs says what it
# checks). Screenshots go to ci-output/screenshots/. No browser is downloaded: the machine's
# network reaches the package registries only, so Chromium comes from Debian.
#   SERVER_BIN=path   the server binary to test (default: target/release/jwt-blacklist)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

echo "== npm ci (tests/browser)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

# shellcheck source=.ci/server.sh
source .ci/server.sh
# Passkeys need a secure context and an RP id that is a domain: their steps open the pages at
# http://localhost:18082 (localhost resolves to the loopback address the server listens on).
PASSKEY_URL="http://localhost:18082"
start_server 18082 ROCKET_WEBAUTHN_RP_ID=localhost ROCKET_WEBAUTHN_ORIGIN="$PASSKEY_URL"

echo "== browser test against $SERVER_URL"
mkdir -p ci-output/screenshots
if ! SERVER_URL="$SERVER_URL" PASSKEY_URL="$PASSKEY_URL" ADMIN_USER="$ADMIN_USER" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    SCREENSHOTS="$PWD/ci-output/screenshots" \
    node --test --test-reporter=spec tests/browser/e2e.mjs tests/browser/remember.mjs; then
    echo "== the browser test failed; the server's log ($SERVER_DIR/server.log):" >&2
    cat "$SERVER_DIR/server.log" >&2
    exit 1
fi
echo "== browser test passed in $((SECONDS - start)) s; screenshots in ci-output/screenshots/"
