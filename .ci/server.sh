# Sourced by the client suites (.ci/newman.sh, .ci/browser.sh, .ci/forward-auth.sh): starts the
# release server on a loopback port with a fresh SQLite database, and stops it on exit.
#   start_server PORT [extra VAR=value ...]   sets SERVER_URL, SERVER_DIR, SERVER_PID
# SERVER_BIN names the binary (default: target/release/jwt-blacklist, built if missing).
# The admin is ADMIN_USER / ADMIN_PASSWORD below. Cookies are not `Secure` here because the
# clients speak plain HTTP on loopback; everything else is the release profile.

ADMIN_USER="${ADMIN_USER:-admin}"
ADMIN_PASSWORD="${ADMIN_PASSWORD:-ci-admin-password-123}"

start_server() {
    local port="$1"
    shift
    local bin="${SERVER_BIN:-target/release/jwt-blacklist}"
    if [ ! -x "$bin" ]; then
        cargo build --release
    fi
    bin="$(realpath "$bin")"
    SERVER_DIR="$(mktemp -d)"
    SERVER_URL="http://127.0.0.1:$port"
    (
        cd "$SERVER_DIR"
        exec env ROCKET_PROFILE=release \
            ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" \
            ROCKET_JWT_SECRET="ci-secret-that-is-long-enough-for-hs256-0123456789" \
            ROCKET_DATABASE_URL="sqlite://$SERVER_DIR/server.sqlite3" \
            ROCKET_COOKIE_SECURE=false \
            ROCKET_ADMIN_USERNAME="$ADMIN_USER" ROCKET_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
            "$@" "$bin"
    ) >"$SERVER_DIR/server.log" 2>&1 &
    SERVER_PID=$!
    trap stop_server EXIT
    for _ in $(seq 1 100); do
        if curl -fsS --max-time 2 "$SERVER_URL/health" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "the server did not start on $SERVER_URL; its log:" >&2
    cat "$SERVER_DIR/server.log" >&2
    return 1
}

stop_server() {
    if [ -n "${SERVER_PID:-}" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
