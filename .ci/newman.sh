#!/usr/bin/env bash
# Client suite: the Postman collection (postman/), replayed by newman against the release server.
# Proves that a real HTTP client with a cookie jar lives the whole session story as the book
# tells it (docs/src/getting-started.md): sign-up, login cookies (HttpOnly, SameSite, Path,
# Max-Age), protected calls, logout (cookies cleared, the old token refused as bearer and as
# cookie, its jti in the admin listing, kept by the purge), refresh rotation, the reuse grace,
# reuse detection ending the session, and logout-all across two sessions. Any failed assertion
# (or script error, or request error) fails this script, which then prints the server's log.
#
#   bash .ci/newman.sh        from a fresh clone; SERVER_BIN=path/to/jwt-blacklist for another build
#
# Reports: ci-output/newman/junit.xml (JUnit), run.json (newman's JSON), server.log.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=18081
# The server's refresh reuse grace for this run (seconds). The collection waits this long (plus
# half a second) before it replays a rotated refresh token, and its "second tab" request must
# arrive within it: 2 s keeps the run short with a wide margin on a busy machine.
GRACE=2
OUT=ci-output/newman

if ! command -v npm >/dev/null 2>&1; then
    echo "== installing Node.js and npm (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

echo "== newman: npm ci --prefix postman"
timeout 600 npm ci --prefix postman --no-audit --no-fund --loglevel=error

rm -rf "$OUT"
mkdir -p "$OUT"

# shellcheck source=.ci/server.sh
source .ci/server.sh
start_server "$PORT" ROCKET_REFRESH_REUSE_GRACE="$GRACE"

finish() {
    local status=$?
    stop_server
    cp "$SERVER_DIR/server.log" "$OUT/server.log" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        echo "== newman suite FAILED; the server's log:" >&2
        cat "$SERVER_DIR/server.log" >&2 || true
    fi
    rm -rf "$SERVER_DIR"
    exit "$status"
}
trap finish EXIT

echo "== newman run against $SERVER_URL (refresh reuse grace ${GRACE} s)"
color=off
[ -t 1 ] && color=on
newman_status=0
timeout 300 postman/node_modules/.bin/newman run postman/jwt-blacklist.postman_collection.json \
    --environment postman/jwt-blacklist.postman_environment.json \
    --env-var "base_url=$SERVER_URL" \
    --env-var "admin_username=$ADMIN_USER" \
    --env-var "admin_password=$ADMIN_PASSWORD" \
    --env-var "cookie_secure=false" \
    --env-var "refresh_reuse_grace=$GRACE" \
    --timeout 240000 --timeout-request 10000 --timeout-script 30000 \
    --color "$color" \
    --reporters cli,junit,json \
    --reporter-junit-export "$OUT/junit.xml" \
    --reporter-json-export "$OUT/run.json" ||
    newman_status=$?

# newman's own verdict, and a count from its report: a run that asserted nothing must not pass.
node -e '
    const stats = require(process.argv[1]).run.stats;
    const total = stats.assertions.total, failed = stats.assertions.failed;
    const broken = stats.testScripts.failed + stats.prerequestScripts.failed + stats.requests.failed;
    console.log(`newman: ${total - failed} passed, ${failed} failed`);
    if (total === 0) { console.error("newman ran no assertion"); process.exit(1); }
    if (failed > 0 || broken > 0) process.exit(1);
' "$PWD/$OUT/run.json" || newman_status=1

if [ "$newman_status" -ne 0 ]; then
    echo "newman: the collection failed (report in $OUT/)" >&2
    exit 1
fi
echo "newman: all assertions passed (report in $OUT/)"
