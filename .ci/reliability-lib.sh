# Sourced by .ci/soak.sh and .ci/faults.sh: the release server and the `soak` client, servers
# started on loopback ports and tracked, and a cleanup on exit that stops every process this
# script started (by its pid), drops every PostgreSQL database and cluster it created, and
# removes its temporary folder. Nothing here touches a process or database it did not create.
#
#   rel_init                                  builds what is missing; sets SERVER_BIN, SOAK_BIN,
#                                             BENCH_TOOL, OUT, WORK, SECRET
#   rel_start PORT DATABASE_URL LOG [VAR=value ...]   starts a server, sets REL_PID, waits for
#                                             /health (60 s at most)
#   rel_stop PID                              SIGTERM, then SIGKILL after 10 s
#   rel_pg_create_db ADMIN_URL NAME           CREATE DATABASE, dropped on exit
#   rel_free_port BASE                        the first port from BASE nobody listens on
#   now_ms                                    Unix time in milliseconds

OUT="${RELIABILITY_OUT:-ci-output/reliability}"
SECRET="reliability-secret-that-is-long-enough-0123456789"
ISSUER="jwt-blacklist"
REL_PIDS=()
REL_PG_DBS=()       # "admin_url|name"
REL_CLEANUPS=()     # extra commands (clusters), run last

now_ms() { date +%s%3N; }

rel_init() {
    local target="${CARGO_TARGET_DIR:-target}"
    if [ -z "${SERVER_BIN:-}${SOAK_BIN:-}${BENCH_TOOL:-}" ]; then
        # Always asked (a no-op when fresh), so that a stale example is never what runs.
        echo "== release build of the server and the soak and bench_tool examples"
        cargo build --release --bin jwt-blacklist --example soak --example bench_tool
    fi
    SERVER_BIN="${SERVER_BIN:-$target/release/jwt-blacklist}"
    SOAK_BIN="${SOAK_BIN:-$target/release/examples/soak}"
    BENCH_TOOL="${BENCH_TOOL:-$target/release/examples/bench_tool}"
    SERVER_BIN="$(realpath "$SERVER_BIN")"
    SOAK_BIN="$(realpath "$SOAK_BIN")"
    BENCH_TOOL="$(realpath "$BENCH_TOOL")"
    mkdir -p "$OUT"
    WORK="$(mktemp -d)"
    trap rel_cleanup EXIT
    # A timeout's SIGTERM (or ^C) still runs the cleanup: bash skips EXIT traps on fatal signals.
    trap 'exit 143' TERM
    trap 'exit 130' INT
}

rel_cleanup() {
    local status=$?
    local pid
    for pid in "${REL_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    local entry
    for entry in "${REL_PG_DBS[@]}"; do
        timeout 30 psql "${entry%%|*}" -qAtc "DROP DATABASE IF EXISTS ${entry##*|} WITH (FORCE)" \
            >/dev/null 2>&1 || echo "warning: could not drop database ${entry##*|}" >&2
    done
    local cmd
    for cmd in "${REL_CLEANUPS[@]}"; do
        eval "$cmd" || echo "warning: cleanup failed: $cmd" >&2
    done
    rm -rf "$WORK"
    exit "$status"
}

rel_free_port() {
    local port="$1"
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
    echo "$port"
}

# The server's environment: release profile, loopback, generous throttles (the load must not
# trip them: it logs in hundreds of times per minute from one address), quiet logs.
rel_start() {
    local port="$1" db="$2" log="$3"
    shift 3
    env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" \
        ROCKET_JWT_SECRET="$SECRET" ROCKET_JWT_ISSUER="$ISSUER" \
        ROCKET_DATABASE_URL="$db" ROCKET_COOKIE_SECURE=false ROCKET_LOG_LEVEL=critical \
        ROCKET_LOGIN_MAX_FAILURES_PER_USER=100000 ROCKET_LOGIN_MAX_FAILURES_PER_IP=100000 \
        ROCKET_LOGIN_MAX_UNTRUSTED_FAILURES_PER_USER=100000 \
        ROCKET_SIGNUP_MAX_PER_IP=100000 ROCKET_PASSWORD_QUEUE=512 \
        ROCKET_LOGIN_MAX_PER_IP=100000 ROCKET_PASSWORD_MAX_IN_FLIGHT_PER_IP=512 \
        ROCKET_ADMIN_USERNAME=reliability-admin ROCKET_ADMIN_PASSWORD=reliability-admin-password \
        "$@" "$SERVER_BIN" >>"$log" 2>&1 &
    REL_PID=$!
    REL_PIDS+=("$REL_PID")
    local deadline=$(($(date +%s) + 60))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if curl -fsS --max-time 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$REL_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "the server did not become ready on port $port; its log ($log):" >&2
    tail -n 50 "$log" >&2
    return 1
}

rel_stop() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

rel_pg_create_db() {
    local admin="$1" name="$2"
    timeout 30 psql "$admin" -qAtc "CREATE DATABASE $name" >/dev/null
    REL_PG_DBS+=("$admin|$name")
}

# postgres://user@host:port/db -> the same server, database NAME (no query string expected).
rel_pg_url_for() {
    local base="${1%%\?*}"
    echo "${base%/*}/$2"
}
