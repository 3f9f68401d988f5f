#!/usr/bin/env bash
# Client suite: schemathesis (PyPI) against the live GET /openapi.json of the release server.
# It generates requests from the document (valid ones and invalid ones) and checks every answer
# against it: no 5xx, a documented status, a documented content type and headers, a body that
# matches the schema. Two passes, each bounded by its own --max-time and by a hard timeout:
#   1. anonymous: every operation without a session (guarded ones must answer 401 as documented);
#   2. as the admin (a bearer token; .ci/schemathesis_hooks.py logs in again after any 401, so
#      the run's own logouts do not end its exploration, and never lets it demote or remove
#      that admin).
# Any failure fails this script, which then prints the server's log.
#
#   bash .ci/schemathesis.sh   from a fresh clone; SERVER_BIN=path/to/jwt-blacklist for another build
#   SCHEMATHESIS_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bash .ci/schemathesis.sh
#                              the same against a server on PostgreSQL: a database of its own is
#                              created on that server for the run and dropped afterwards
#
# schemathesis is installed, pinned, into a venv of its own under ~/.cache (reused by the next
# run). Reports: ci-output/schemathesis/<pass>.txt (schemathesis's output: operations, test
# cases, failures), <pass>.junit.xml, summary.txt (one line per pass), server.log; under
# ci-output/schemathesis/postgres/ for the PostgreSQL run.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=18086
VERSION=4.32.5
# Seconds of generation per pass (schemathesis stops generating when it is spent), and the hard
# limit around each pass (the venv's first install has its own).
PASS_SECONDS="${SCHEMATHESIS_PASS_SECONDS:-45}"
PASS_TIMEOUT=$((PASS_SECONDS + 60))
OUT=ci-output/schemathesis
# The backend: SQLite (the server's own file) unless SCHEMATHESIS_POSTGRES_URL names a server.
BACKEND_ENV=()
ST_DB=
if [ -n "${SCHEMATHESIS_POSTGRES_URL:-}" ]; then
    OUT=ci-output/schemathesis/postgres
    ST_DB="schemathesis_$$_$(date +%s)"
    psql "$SCHEMATHESIS_POSTGRES_URL" -qc "CREATE DATABASE $ST_DB"
    ST_DB_URL="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$SCHEMATHESIS_POSTGRES_URL" "$ST_DB")"
    BACKEND_ENV=(ROCKET_DATABASE_URL="$ST_DB_URL")
fi
VENV="${SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/jwt-blacklist-ci/schemathesis-$VERSION}"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$VERSION"; then
    echo "== schemathesis: installing $VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    timeout 600 "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

rm -rf "$OUT"
mkdir -p "$OUT"

# shellcheck source=.ci/server.sh
source .ci/server.sh
# schemathesis sends thousands of failed logins and password changes from one address, and
# signs up as it likes: the throttles would answer 429 to nearly everything and hide the
# handlers behind them, so they are set out of reach for this server only.
start_server "$PORT" \
    ROCKET_LOGIN_MAX_FAILURES_PER_USER=1000000 \
    ROCKET_LOGIN_MAX_UNTRUSTED_FAILURES_PER_USER=1000000 \
    ROCKET_LOGIN_MAX_FAILURES_PER_IP=1000000 \
    ROCKET_SIGNUP_MAX_PER_IP=1000000 \
    ROCKET_LOGIN_MAX_PER_IP=1000000 \
    ROCKET_PASSWORD_MAX_IN_FLIGHT_PER_IP=1000 \
    "${BACKEND_ENV[@]}"

finish() {
    local status=$?
    stop_server
    if [ -n "$ST_DB" ]; then
        psql "$SCHEMATHESIS_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $ST_DB WITH (FORCE)" || true
    fi
    cp "$SERVER_DIR/server.log" "$OUT/server.log" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        echo "== schemathesis suite FAILED; the server's log:" >&2
        tail -n 200 "$SERVER_DIR/server.log" >&2 || true
    fi
    rm -rf "$SERVER_DIR"
    exit "$status"
}
trap finish EXIT

OUT_ABS="$PWD/$OUT"
# schemathesis keeps a cache of past failures (.schemathesis/) where it runs: a directory of
# this run's own, so that every run starts fresh and the checkout stays clean.
WORK="$(mktemp -d)"
export SCHEMATHESIS_HOOKS="$PWD/.ci/schemathesis_hooks.py" ST_BASE_URL="$SERVER_URL"

# Runs one pass: name, then schemathesis options. Its output goes to $OUT/<name>.txt.
run_pass() {
    local name="$1"
    shift
    echo "== schemathesis pass: $name"
    local status=0
    # One worker: with two, hypothesis (describing a strategy in a worker thread) failed with
    # CPython 3.11's "AST constructor recursion depth mismatch", a runtime error of the tool.
    (
        cd "$WORK"
        timeout "$PASS_TIMEOUT" "$VENV/bin/schemathesis" run "$SERVER_URL/openapi.json" \
            --checks all \
            --max-time "$PASS_SECONDS" \
            --workers 1 \
            --request-timeout 10 \
            --suppress-health-check too_slow \
            --output-sanitize true \
            --report junit --report-junit-path "$OUT_ABS/$name.junit.xml" \
            "$@"
    ) 2>&1 | tee "$OUT/$name.txt" || status=$?
    # The closing line (e.g. "=== 2 failures in 45.1s ===" or "=== No issues found in ...
    # ===") and the count of test cases, for RELIABILITY.md.
    {
        printf '%s: ' "$name"
        grep -E '^ *[0-9]+ generated' "$OUT/$name.txt" | tail -n 1 | sed 's/^ *//' | tr '\n' ' '
        grep -E '^=+ .* in [0-9.]+s =+$' "$OUT/$name.txt" | tail -n 1
    } >>"$OUT/summary.txt"
    return "$status"
}

failed=0
# Without a session: every guarded operation must answer its documented 401.
run_pass anonymous || failed=1
# As the admin (the hooks log in, and again after any 401): every operation past the guard.
export ST_ADMIN_USER="$ADMIN_USER" ST_ADMIN_PASSWORD="$ADMIN_PASSWORD"
run_pass admin || failed=1
rm -rf "$WORK"

# Nothing secret in what is kept: no password, and no token (they all start alike).
if grep -rqF -e "$ADMIN_PASSWORD" -e "eyJ0eXAiOiJKV1Qi" -e "eyJhbGciOiJIUzI1NiIs" "$OUT"; then
    echo "a password or session token leaked into $OUT" >&2
    failed=1
fi

cat "$OUT/summary.txt"
if [ "$failed" -ne 0 ]; then
    echo "schemathesis: failures (reports in $OUT/)" >&2
    exit 1
fi
echo "schemathesis: every answer matched the document (reports in $OUT/)"
