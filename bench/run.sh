#!/usr/bin/env bash
# Load benchmark of the session server, in one command: `bench/run.sh` (see bench/README.md).
#
# What it measures, on SQLite and (with BENCH_POSTGRES_URL) on PostgreSQL, for each number of
# revoked token ids already in the blacklist (BENCH_ROWS):
#   - with the in-memory revocation check: GET /health/live (no database, the ceiling),
#     GET /api/me (the guard's path) and POST /blacklist/logout (a fresh token per request);
#   - with the per-request database check (revocation_check = "database"): GET /api/me;
#   - req/s, p50 and p99 latency, non-2xx answers and socket errors of each (wrk, one thread);
#   - each server's start-up time (spawn to the first 200 of /health/live) and peak RSS.
# Then two measurements of the guard's latency while the server does heavy work:
#   - purge under load: POST /blacklist/purge of BENCH_PURGE_ROWS expired rows while wrk runs
#     on GET /api/me, against the idle p99;
#   - logins under load: 32 logins always in flight (argon2; a second wrk) while wrk runs on
#     GET /api/me.
# And logins with a second factor: logins/s with TOTP (POST /authenticate, then
# POST /authenticate/mfa with the code) against password-only logins, 32 in flight, each as a
# fresh seeded account, by one client (`bench_tool logins`) for the same time each.
#
# And propagation across instances (PostgreSQL only): four servers on one database, logouts at
# BENCH_INSTANCES_RATE/s (2000, smoke 200) round-robin over them while each serves a paced
# GET /api/me load; the delay from a logout's 200 until every other instance refuses the token
# with 401 (p50, p99, max; goal p99 <= 50 ms; `soak propagation`, examples/soak/propagation.rs).
#
# Every database is fresh (a SQLite file in a temporary folder, or `CREATE DATABASE bench_...` on
# the BENCH_POSTGRES_URL server, dropped afterwards), seeded by examples/bench_tool.rs. The server
# runs the release build, pinned to CPU 0 and wrk to CPU 1 when there are two CPUs or more. All
# traffic goes to 127.0.0.1; every process started here is stopped on exit.
#
# Usage:
#   bench/run.sh                      full run: 8 s per case, rows 0, 100000 and 1000000
#   BENCH_SMOKE=1 bench/run.sh        smoke run (CI): 2 s per case, rows 0 and 1000
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test bench/run.sh   also PostgreSQL
# Knobs: BENCH_DURATION (seconds per case), BENCH_ROWS ("0 1000 ..."), BENCH_CONNECTIONS (64),
#   BENCH_PURGE_ROWS (expired rows for the purge; 1000000, smoke 1000), BENCH_WORKERS (Rocket
#   workers; 1 when the server is pinned to one CPU, else the CPU count), BENCH_OUT (results
#   folder, bench/results), BENCH_CASES (which cases, of "rows eddsa purge logins totp_logins instances";
#   all by default; "instances" too, PostgreSQL only), BENCH_INSTANCES_SECONDS (the instances
#   case's length: at least 20 s, smoke BENCH_DURATION), BENCH_INSTANCES_RATE (logouts/s, 2000,
#   smoke 200), BENCH_INSTANCES_PROBE_EVERY (which logouts it probes: every 8th). CARGO_TARGET_DIR
#   is respected.
# Output: one line per case on stdout, and a Markdown report in
#   $BENCH_OUT/<UTC timestamp>-<smoke|full>.md, copied to $BENCH_OUT/latest-<smoke|full>.md (with
#   BENCH_CASES naming some cases only: <UTC timestamp>-<smoke|full>-<case+case>.md, not copied).
# Exit status: non-zero if any case saw a non-2xx answer or a failed login (reported after
#   everything is printed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIB="$ROOT/bench/lib"
cd "$ROOT"

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
    KIND=smoke
    DURATION="${BENCH_DURATION:-2}"
    ROWS_LIST="${BENCH_ROWS:-0 1000}"
    PURGE_ROWS="${BENCH_PURGE_ROWS:-1000}"
    IDLE_DURATION="$DURATION"
    INSTANCES_SECONDS="${BENCH_INSTANCES_SECONDS:-$DURATION}"
    INSTANCES_RATE="${BENCH_INSTANCES_RATE:-200}"
    SETTLE_SECONDS=5
else
    KIND=full
    DURATION="${BENCH_DURATION:-8}"
    ROWS_LIST="${BENCH_ROWS:-0 100000 1000000}"
    PURGE_ROWS="${BENCH_PURGE_ROWS:-1000000}"
    IDLE_DURATION=5
    INSTANCES_SECONDS="${BENCH_INSTANCES_SECONDS:-$((DURATION > 20 ? DURATION : 20))}"
    INSTANCES_RATE="${BENCH_INSTANCES_RATE:-2000}"
    SETTLE_SECONDS=60
fi
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
ALL_CASES="rows eddsa purge logins totp_logins instances"
CASES="${BENCH_CASES:-$ALL_CASES}"
PG_URL="${BENCH_POSTGRES_URL:-}"
OUT="${BENCH_OUT:-bench/results}"
LOGIN_LOOPS=32
# Tokens made for the logout case: enough for this many logouts per second.
TOKEN_RATE=40000
SECRET="bench-only-secret-0123456789abcdefghijklmnopqrstuvwxyz"
ISSUER=bench
ADMIN_NAME=benchadmin
ADMIN_PASSWORD=benchadmin-password
USER_NAME=benchuser
USER_PASSWORD=benchuser-password
# The logins-with-a-second-factor case: its accounts' password and shared TOTP secret (RFC 6238's
# test secret "12345678901234567890", in hex), and the server_secret their secrets are sealed under.
ACCOUNT_PASSWORD=benchaccount-password
TOTP_SECRET_HEX=3132333435363738393031323334353637383930
MFA_SERVER_SECRET="bench-only-server-secret-abcdefghijklmnopqrstuvwxyz0123"

die() {
    echo "bench: $*" >&2
    exit 1
}
note() { echo "== $*" >&2; }

for value in "$DURATION" "$CONNECTIONS" "$PURGE_ROWS" $ROWS_LIST "$INSTANCES_SECONDS" "$INSTANCES_RATE" \
    "${BENCH_INSTANCES_PROBE_EVERY:-8}"; do
    [[ "$value" =~ ^[0-9]+$ ]] || die "not a whole number: '$value' (BENCH_DURATION, BENCH_CONNECTIONS, BENCH_PURGE_ROWS, BENCH_ROWS, BENCH_INSTANCES_*)"
done
[ "$DURATION" -ge 1 ] || die "BENCH_DURATION must be at least 1"
for case in $CASES; do
    [[ " $ALL_CASES " == *" $case "* ]] || die "unknown case in BENCH_CASES: '$case' (of: $ALL_CASES)"
done
has_case() { [[ " $CASES " == *" $1 "* ]]; }

# --- Tools: installed when missing (Debian; we are root there).
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
if [ -n "$PG_URL" ] && ! command -v psql >/dev/null 2>&1; then missing+=(postgresql-client); fi
if [ "${#missing[@]}" -gt 0 ]; then
    note "installing ${missing[*]}"
    command -v apt-get >/dev/null 2>&1 || die "please install: ${missing[*]}"
    { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; } >&2
fi

NPROC="$(nproc)"
if [ "$NPROC" -ge 2 ]; then
    SERVER_CPU=(taskset -c 0)
    CLIENT_CPU=(taskset -c 1)
    PINNING="server on CPU 0, wrk and curl on CPU 1"
    INSTANCES_PINNING="servers 1 and 3 on CPU 0, 2 and 4 on CPU 1"
    WORKERS="${BENCH_WORKERS:-1}"
else
    SERVER_CPU=()
    CLIENT_CPU=()
    PINNING="no pinning (one CPU)"
    INSTANCES_PINNING="no pinning (one CPU)"
    WORKERS="${BENCH_WORKERS:-$NPROC}"
fi

# --- Build.
note "building the release server and bench_tool"
cargo build --release --bin jwt-blacklist --examples
BIN_DIR="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)"
SERVER_BIN="$BIN_DIR/jwt-blacklist"
TOOL="$BIN_DIR/examples/bench_tool"
SOAK="$BIN_DIR/examples/soak"
[ -x "$SERVER_BIN" ] && [ -x "$TOOL" ] && [ -x "$SOAK" ] || die "build products missing in $BIN_DIR"

# --- Processes and databases, all cleaned up on exit.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/jwt-bench.XXXXXX")"
PIDS=()
PG_DBS=()
SEQ=0
FAILURES=()
CONTEXT=""

untrack() {
    local pid=$1 kept=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
    PIDS=("${kept[@]}")
}

# Stops a process: TERM, then KILL after 10 s.
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    untrack "$pid"
}

drop_pg_database() {
    psql "$PG_URL" -qAtc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 ||
        echo "bench: could not drop database $1" >&2
}

cleanup() {
    local rc=$? pid db
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    for db in "${PG_DBS[@]}"; do drop_pg_database "$db"; done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

next_seq() { SEQ=$((SEQ + 1)); }
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# A port below the kernel's ephemeral range: one inside it can be taken at any moment as the
# source port of an outgoing connection (wrk's, PostgreSQL clients'), and the server's bind fails.
free_port() {
    local port i low=32768
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    [ "$low" -gt 11000 ] || low=32768
    for i in $(seq 1 200); do
        port=$((10000 + RANDOM % (low - 10000)))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# new_database <sqlite|postgres>: sets DB_URL and DB_HANDLE (for drop_database).
new_database() {
    next_seq
    if [ "$1" = sqlite ]; then
        DB_HANDLE="$WORK/db-$SEQ"
        mkdir -p "$DB_HANDLE"
        DB_URL="sqlite://$DB_HANDLE/bench.sqlite3"
    else
        DB_HANDLE="bench_$$_$SEQ"
        psql "$PG_URL" -v ON_ERROR_STOP=1 -qAtc "CREATE DATABASE $DB_HANDLE" >/dev/null
        PG_DBS+=("$DB_HANDLE")
        local base="${PG_URL%%\?*}" query=""
        [[ "$PG_URL" == *\?* ]] && query="?${PG_URL#*\?}"
        local rest="${base#*://}"
        DB_URL="${base%%://*}://${rest%%/*}/$DB_HANDLE$query"
    fi
}

drop_database() {
    if [ "$1" = sqlite ]; then
        rm -rf "$DB_HANDLE"
    else
        drop_pg_database "$DB_HANDLE"
        local kept=() db
        for db in "${PG_DBS[@]}"; do [ "$db" = "$DB_HANDLE" ] || kept+=("$db"); done
        PG_DBS=("${kept[@]}")
    fi
}

seed() { # seed <rows> [--expired]
    [ "$1" -gt 0 ] || return 0
    note "seeding $1 rows ${2:-}"
    "$TOOL" seed "$DB_URL" "$@" >&2
    settle
}

# CPU time (clock ticks) of the given pids, and busy/total ticks of the whole machine.
cpu_ticks() {
    local pid sum=0
    for pid in "$@"; do
        sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$sum $(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)"
}

# The share of the machine's CPU time that was busy (not idle, not waiting on I/O) over the
# next second, in percent.
cpu_busy_percent() {
    local before after
    before="$(cpu_ticks)"
    sleep 1
    after="$(cpu_ticks)"
    echo "$before $after" | awk '{ d = $6 - $3; printf "%d\n", (d > 0 ? 100 * ($5 - $2) / d : 0) }'
}

# settle: the seeder's after-work is over before anything is measured. The seeder writes SQLite
# without fsync and leaves PostgreSQL's autovacuum to come; the kernel writing back gigabytes of
# dirty pages, or a vacuum of ten million rows starting a minute later, would take CPU from the
# server or wrk in the middle of a case. So the pages are synced, PostgreSQL's tables vacuumed
# and analyzed (as autovacuum would soon do), and the machine gets up to SETTLE_SECONDS to be
# quiet (under 10 % busy over a second). The wait and the last reading are printed.
settle() {
    local started busy=100 deadline=$((SECONDS + SETTLE_SECONDS))
    started="$(now_us)"
    sync
    if [[ "$DB_URL" == postgres* ]]; then
        psql "$DB_URL" -v ON_ERROR_STOP=1 -qAtc 'VACUUM (ANALYZE)' >/dev/null ||
            die "VACUUM (ANALYZE) after seeding failed"
        # The seeded pages are written now, not by a checkpoint in the middle of a case (it
        # takes a superuser or pg_checkpoint; without either the checkpointer comes in time).
        psql "$DB_URL" -qAtc 'CHECKPOINT' >/dev/null 2>&1 || true
    fi
    while [ "$SECONDS" -lt "$deadline" ]; do
        busy="$(cpu_busy_percent)"
        [ "$busy" -ge 10 ] || break
    done
    note "settled after seeding in $((($(now_us) - started) / 1000)) ms (machine ${busy}% busy)"
}

tokens() { # tokens <username> <role> <count>
    "$TOOL" tokens "$SECRET" "$ISSUER" "$1" "$2" "$3" 3600
}

# The signing key's settings: jwt_secret, except in bench_eddsa.
KEY_ENV=(ROCKET_JWT_SECRET="$SECRET")

# start_server <memory|database> [VAR=value ...]: sets SERVER_PID, SERVER_URL, STARTUP_MS.
start_server() {
    local mode=$1
    shift
    local port
    port="$(free_port)" || die "no free port found"
    next_seq
    SERVER_URL="http://127.0.0.1:$port"
    SERVER_LOG="$WORK/server-$SEQ.log"
    local started
    started="$(now_us)"
    env ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$port" \
        ROCKET_DATABASE_URL="$DB_URL" "${KEY_ENV[@]}" ROCKET_JWT_ISSUER="$ISSUER" \
        ROCKET_LOG_LEVEL=critical ROCKET_CLI_COLORS=false ROCKET_COOKIE_SECURE=false \
        ROCKET_WORKERS="$WORKERS" ROCKET_REVOCATION_CHECK="$mode" "$@" \
        "${SERVER_CPU[@]}" "$SERVER_BIN" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    local deadline=$((EPOCHSECONDS + 60)) code
    while :; do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$SERVER_URL/health/live" || true)"
        [ "$code" = 200 ] && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 40 "$SERVER_LOG" >&2
            die "the server exited during start-up (log above)"
        fi
        if [ "$EPOCHSECONDS" -ge "$deadline" ]; then
            tail -n 40 "$SERVER_LOG" >&2
            die "GET /health/live did not answer 200 within 60 s (last status $code)"
        fi
        sleep 0.01
    done
    STARTUP_MS=$((($(now_us) - started) / 1000))
}

# stop_server <backend> <rows> <mode>: records start-up time and peak RSS, then stops it.
stop_server() {
    local rss
    rss="$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || true)"
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$STARTUP_MS" "${rss:-0}" >>"$WORK/servers.tsv"
    stop_pid "$SERVER_PID"
}

server_alive() {
    kill -0 "$SERVER_PID" 2>/dev/null && return 0
    tail -n 40 "$SERVER_LOG" >&2
    die "the server died during the benchmark (log above)"
}

# expect_status <status> <method> <path> [curl args...]: one request, checked before a case.
expect_status() {
    local want=$1 method=$2 path=$3 got
    shift 3
    got="$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 30 -X "$method" "$@" "$SERVER_URL$path" || true)"
    [ "$got" = "$want" ] && return 0
    FAILURES+=("$CONTEXT: $method $path answered $got, not $want: $(head -c 300 "$WORK/body" 2>/dev/null)")
    echo "bench: $CONTEXT: $method $path answered $got, not $want" >&2
    return 1
}

# A logout answers 200 even without a valid token; this one must have revoked something.
expect_logout() {
    expect_status 200 POST /blacklist/logout -H "Cookie: jwt=$(tokens "$USER_NAME" user 1)" || return 0
    grep -q '"logged_out": *true' "$WORK/body" && return 0
    FAILURES+=("$CONTEXT: POST /blacklist/logout revoked nothing: $(head -c 300 "$WORK/body")")
    echo "bench: $CONTEXT: POST /blacklist/logout revoked nothing" >&2
}

# run_wrk <seconds> <path> [wrk options...] [-- script args...]: sets W_RPS W_P50 W_P99 W_NON2XX
# W_ERRORS W_REQUESTS W_WRAPS.
run_wrk() {
    local duration=$1 path=$2 options=() script_args=() arg
    shift 2
    while [ "$#" -gt 0 ]; do
        arg=$1
        shift
        if [ "$arg" = -- ]; then
            script_args=(-- "$@")
            break
        fi
        options+=("$arg")
    done
    next_seq
    local out="$WORK/wrk-$SEQ.txt"
    if ! "${CLIENT_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"${duration}s" --latency "${options[@]}" \
        "$SERVER_URL$path" "${script_args[@]}" >"$out" 2>&1; then
        cat "$out" >&2
        FAILURES+=("wrk failed on $path")
    fi
    parse_wrk "$out"
}

parse_wrk() {
    IFS=$'\t' read -r W_RPS W_P50 W_P99 W_NON2XX W_ERRORS W_REQUESTS W_WRAPS \
        < <(awk -f "$LIB/wrk_summary.awk" "$1")
    if [ "$W_RPS" = - ] || [ "$W_REQUESTS" = 0 ]; then
        cat "$1" >&2
        FAILURES+=("no result from wrk ($1)")
    fi
}

# bench_case <backend> <rows> <mode> <label> <path> [wrk args...]
bench_case() {
    local backend=$1 rows=$2 mode=$3 label=$4 path=$5
    shift 5
    run_wrk "$DURATION" "$path" "$@"
    server_alive
    local extra=""
    [ "$W_WRAPS" = 0 ] || extra="  token_wraps=$W_WRAPS"
    [ "$W_ERRORS" = 0 ] || extra="$extra  socket_errors=$W_ERRORS"
    printf '%-8s rows=%-8s mode=%-8s %-24s req/s=%-7s p50=%-8s p99=%-9s non2xx=%s%s\n' \
        "$backend" "$rows" "$mode" "$label" "$W_RPS" "${W_P50}ms" "${W_P99}ms" "$W_NON2XX" "$extra"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$rows" "$mode" "$label" \
        "$W_RPS" "$W_P50" "$W_P99" "$W_NON2XX" "$W_ERRORS" "$W_WRAPS" >>"$WORK/cases.tsv"
    [ "$W_NON2XX" = 0 ] || FAILURES+=("$backend rows=$rows mode=$mode $label: $W_NON2XX non-2xx answers")
}

# bench_rows <backend> <rows>: every case on a fresh database holding <rows> revoked ids.
bench_rows() {
    local backend=$1 rows=$2
    new_database "$backend"
    seed "$rows"
    local me_token cookie
    me_token="$(tokens "$USER_NAME" user 1)"
    cookie="Cookie: jwt=$me_token"
    local logouts=$((DURATION * TOKEN_RATE))
    [ "$logouts" -ge 2000 ] || logouts=2000
    tokens "$USER_NAME" user "$logouts" >"$WORK/logout-tokens.txt"

    note "$backend rows=$rows: revocation check in memory"
    CONTEXT="$backend rows=$rows mode=memory"
    start_server memory
    expect_status 200 GET /api/me -H "$cookie" || true
    expect_logout
    # Live, me, me, live: the ratio divides each `GET /api/me` by the mean of the two
    # `GET /health/live` runs around them, so a machine that drifts during the four cancels out.
    bench_case "$backend" "$rows" memory "GET /health/live" /health/live
    bench_case "$backend" "$rows" memory "GET /api/me" /api/me -H "$cookie"
    bench_case "$backend" "$rows" memory "GET /api/me" /api/me -H "$cookie"
    bench_case "$backend" "$rows" memory "GET /health/live" /health/live
    bench_case "$backend" "$rows" memory "POST /blacklist/logout" /blacklist/logout \
        -s "$LIB/logout.lua" -- "$WORK/logout-tokens.txt" 1
    local answered=$W_REQUESTS
    stop_server "$backend" "$rows" memory
    # Durability: every logout answered 200 has its row once the server is gone (the seeded
    # rows, the preflight logout's, and one per distinct token the case revoked).
    local distinct=$((answered < logouts ? answered : logouts)) stored
    stored="$("$TOOL" count "$DB_URL")"
    printf '%-8s rows=%-8s logouts answered 200: %s distinct tokens; rows after: %s of at least %s\n' \
        "$backend" "$rows" "$distinct" "$stored" "$((rows + 1 + distinct))"
    [ "$stored" -ge $((rows + 1 + distinct)) ] ||
        FAILURES+=("$backend rows=$rows: $((rows + 1 + distinct - stored)) answered logouts have no row")

    note "$backend rows=$rows: revocation check in the database"
    CONTEXT="$backend rows=$rows mode=database"
    start_server database
    expect_status 200 GET /api/me -H "$cookie" || true
    bench_case "$backend" "$rows" database "GET /api/me" /api/me -H "$cookie"
    stop_server "$backend" "$rows" database
    drop_database "$backend"
}

# bench_eddsa <backend>: GET /health/live and GET /api/me with an Ed25519 signing key (made by the
# server binary's own `keys generate`) instead of HS256, on an empty blacklist: the
# verified-token cache should make the signature's cost vanish from the guard's path.
bench_eddsa() {
    local backend=$1 generated="$WORK/eddsa.out" pem="$WORK/eddsa.pem"
    "$SERVER_BIN" keys generate --alg EdDSA --kid bench-ed >"$generated"
    sed -n '/BEGIN PRIVATE KEY/,/END PRIVATE KEY/p' "$generated" >"$pem"
    new_database "$backend"
    local cookie
    cookie="Cookie: jwt=$("$TOOL" tokens "ed25519:bench-ed:$pem" "$ISSUER" "$USER_NAME" user 1 3600)"
    note "$backend: EdDSA signing key"
    CONTEXT="$backend rows=0 mode=eddsa"
    KEY_ENV=(ROCKET_SERVER_SECRET="$SECRET"
        ROCKET_SIGNING_KEYS="[{kid=\"bench-ed\",alg=\"EdDSA\",private_key_file=\"$pem\"}]")
    start_server memory
    KEY_ENV=(ROCKET_JWT_SECRET="$SECRET")
    expect_status 200 GET /api/me -H "$cookie" || true
    bench_case "$backend" 0 eddsa "GET /health/live" /health/live
    bench_case "$backend" 0 eddsa "GET /api/me" /api/me -H "$cookie"
    stop_server "$backend" 0 eddsa
    drop_database "$backend"
}

# bench_purge <backend>: GET /api/me latency while POST /blacklist/purge deletes PURGE_ROWS rows.
bench_purge() {
    local backend=$1
    note "$backend: purge of $PURGE_ROWS expired rows under load"
    CONTEXT="$backend purge"
    new_database "$backend"
    seed "$PURGE_ROWS" --expired
    start_server memory ROCKET_PURGE_SCHEDULE="0 0 0 1 1 *" \
        ROCKET_ADMIN_USERNAME="$ADMIN_NAME" ROCKET_ADMIN_PASSWORD="$ADMIN_PASSWORD"
    local jar="$WORK/admin-cookies" cookie
    cookie="Cookie: jwt=$(tokens "$USER_NAME" user 1)"
    expect_status 200 POST /authenticate -c "$jar" -H 'Content-Type: application/json' \
        -d "{\"username\":\"$ADMIN_NAME\",\"password\":\"$ADMIN_PASSWORD\"}" || true
    run_wrk "$IDLE_DURATION" /api/me -H "$cookie"
    local idle_p99=$W_P99 idle_non2xx=$W_NON2XX
    next_seq
    local out="$WORK/wrk-$SEQ.txt"
    # Runs until interrupted (wrk prints its summary on SIGINT), so it covers just the purge.
    "${CLIENT_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d300s --latency -H "$cookie" \
        "$SERVER_URL/api/me" >"$out" 2>&1 &
    local wrk_pid=$!
    PIDS+=("$wrk_pid")
    sleep 0.5
    local result status seconds purged
    result="$(curl -s -o "$WORK/purge-body" -w '%{http_code} %{time_total}' --max-time 300 \
        -X POST -b "$jar" "$SERVER_URL/blacklist/purge" || true)"
    kill -INT "$wrk_pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
        kill -0 "$wrk_pid" 2>/dev/null || break
        sleep 0.1
    done
    stop_pid "$wrk_pid"
    server_alive
    parse_wrk "$out"
    read -r status seconds <<<"$result"
    seconds="${seconds:-0}"
    purged="$(sed -n 's/.*"purged":\([0-9]*\).*/\1/p' "$WORK/purge-body")"
    [ "$status" = 200 ] || FAILURES+=("$backend: POST /blacklist/purge answered $status")
    local bad=$((idle_non2xx + W_NON2XX))
    [ "$bad" = 0 ] || FAILURES+=("$backend purge under load: $bad non-2xx answers on GET /api/me")
    printf '%-8s purge of %s expired rows: %.2fs (status %s, purged=%s)  GET /api/me p99 idle=%sms during=%sms  req/s during=%s  non2xx=%s\n' \
        "$backend" "$PURGE_ROWS" "$seconds" "$status" "${purged:-?}" "$idle_p99" "$W_P99" "$W_RPS" "$bad"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$PURGE_ROWS" "$seconds" "${purged:-?}" \
        "$idle_p99" "$W_P99" "$W_RPS" "$bad" >>"$WORK/purge.tsv"
    stop_server "$backend" "$PURGE_ROWS expired" "memory (purge)"
    drop_database "$backend"
}

# The server's settings for the login cases. The throttle counts a login in flight as a failure
# until its password is verified, so more than 5 concurrent logins of one user would be refused
# (429): every budget a login from one address counts on is raised here, and the hashing queue
# holds all the logins in flight (past it they would be shed with 503 instead of measured); one
# address may have them all in flight, and make as many as it likes. (A second step counts on
# the same budgets as a password.)
LOGIN_ENV=(ROCKET_LOGIN_MAX_FAILURES_PER_USER=1000 ROCKET_LOGIN_MAX_FAILURES_PER_IP=1000
    ROCKET_LOGIN_MAX_UNTRUSTED_FAILURES_PER_USER=1000 ROCKET_PASSWORD_QUEUE=$((LOGIN_LOOPS * 2))
    ROCKET_LOGIN_MAX_PER_IP=1000000 ROCKET_PASSWORD_MAX_IN_FLIGHT_PER_IP=$((LOGIN_LOOPS * 2)))

# bench_logins <backend>: GET /api/me latency while LOGIN_LOOPS clients log in over and over.
bench_logins() {
    local backend=$1
    note "$backend: $LOGIN_LOOPS concurrent logins under load"
    CONTEXT="$backend logins"
    new_database "$backend"
    start_server memory "${LOGIN_ENV[@]}"
    local body="{\"username\":\"$USER_NAME\",\"password\":\"$USER_PASSWORD\"}" cookie
    expect_status 201 POST /api/users -H 'Content-Type: application/json' -d "$body" || true
    expect_status 200 POST /authenticate -H 'Content-Type: application/json' -d "$body" || true
    cookie="Cookie: jwt=$(tokens "$USER_NAME" user 1)"
    run_wrk "$DURATION" /api/me -H "$cookie"
    local idle_p99=$W_P99 idle_rps=$W_RPS idle_non2xx=$W_NON2XX
    # The logins come from a second wrk (one connection each, so LOGIN_LOOPS logins are always
    # in flight) on the same CPU as the first: a light event loop, where 32 curl processes forked
    # per login would disturb the measurement more than the server does.
    next_seq
    local login_out="$WORK/wrk-logins-$SEQ.txt"
    "${CLIENT_CPU[@]}" wrk -t1 -c"$LOGIN_LOOPS" -d"$((DURATION + 1))s" --timeout 30s --latency \
        -s "$LIB/login.lua" "$SERVER_URL/authenticate" -- "$body" >"$login_out" 2>&1 &
    local login_pid=$!
    PIDS+=("$login_pid")
    run_wrk "$DURATION" /api/me -H "$cookie"
    local me_p99=$W_P99 me_rps=$W_RPS me_non2xx=$W_NON2XX
    wait "$login_pid" 2>/dev/null || true
    untrack "$login_pid"
    server_alive
    parse_wrk "$login_out"
    local logins=$W_REQUESTS failed=$((W_NON2XX + W_ERRORS)) login_p50=$W_P50
    W_P99=$me_p99 W_RPS=$me_rps W_NON2XX=$me_non2xx
    local bad=$((idle_non2xx + W_NON2XX))
    [ "$bad" = 0 ] || FAILURES+=("$backend logins under load: $bad non-2xx answers on GET /api/me")
    [ "$failed" = 0 ] || FAILURES+=("$backend logins under load: $failed logins did not answer 200")
    printf '%-8s %s concurrent logins: %s done (%s failed, p50 %sms)  GET /api/me p99 idle=%sms during=%sms  req/s idle=%s during=%s  non2xx=%s\n' \
        "$backend" "$LOGIN_LOOPS" "$logins" "$failed" "$login_p50" "$idle_p99" "$W_P99" \
        "$idle_rps" "$W_RPS" "$bad"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$LOGIN_LOOPS" "$logins" \
        "$failed" "$login_p50" "$idle_p99" "$W_P99" "$idle_rps" "$W_RPS" "$bad" >>"$WORK/logins.tsv"
    stop_server "$backend" 0 "memory (logins)"
    drop_database "$backend"
}

# bench_totp_logins <backend>: logins/s with a second factor against password only. One client
# (`bench_tool logins`, on the client CPU) keeps LOGIN_LOOPS logins in flight for DURATION s
# password-only, then for DURATION s with TOTP, on one server; nothing else loads it. Every
# login is a fresh account seeded by `bench_tool accounts` (a TOTP code is accepted once per
# account and 30 s step, so one account could log in only about once per step), enough of them
# for 200 logins/s of each kind.
bench_totp_logins() {
    local backend=$1 accounts=$((DURATION * 200)) mode line
    local _mode _loops _seconds logins_done failed rate p50 p99 code_p50 late ran_out why
    note "$backend: logins with TOTP against password only, $LOGIN_LOOPS in flight"
    CONTEXT="$backend totp logins"
    new_database "$backend"
    "$TOOL" accounts "$DB_URL" "$MFA_SERVER_SECRET" "$ACCOUNT_PASSWORD" "$accounts" \
        "$TOTP_SECRET_HEX" >&2
    # The TOTP secrets are sealed under server_secret: the server is given the one they were
    # sealed with.
    start_server memory "${LOGIN_ENV[@]}" ROCKET_SERVER_SECRET="$MFA_SERVER_SECRET"
    for mode in password totp; do
        if ! line="$("${CLIENT_CPU[@]}" "$TOOL" logins "$SERVER_URL" "$mode" "$ACCOUNT_PASSWORD" \
            "$accounts" "$TOTP_SECRET_HEX" "$LOGIN_LOOPS" "$DURATION")"; then
            FAILURES+=("$backend $mode logins: the load client failed")
            continue
        fi
        server_alive
        IFS=$'\t' read -r _mode _loops _seconds logins_done failed rate p50 p99 code_p50 late ran_out why \
            <<<"$line"
        printf '%-8s logins (%-8s) %s in flight: %s/s (%s done in %ss, %s failed)  full login p50=%sms p99=%sms  code step p50=%sms\n' \
            "$backend" "$mode" "$LOGIN_LOOPS" "$rate" "$logins_done" "$DURATION" "$failed" "$p50" "$p99" \
            "$code_p50"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$backend" "$mode" "$LOGIN_LOOPS" \
            "$rate" "$logins_done" "$failed" "$p50" "$p99" "$code_p50" "$why" >>"$WORK/totp.tsv"
        [ "$failed" = 0 ] || FAILURES+=("$backend $mode logins: $failed failed: $why")
        [ "$logins_done" -gt 0 ] || FAILURES+=("$backend $mode logins: none done in $DURATION s")
        [ "$ran_out" = 0 ] || FAILURES+=("$backend $mode logins: the $accounts seeded accounts ran out")
    done
    stop_server "$backend" 0 "memory (totp logins)"
    drop_database "$backend"
}

# bench_instances <backend>: four servers on one fresh PostgreSQL database; `soak propagation`
# logs out INSTANCES_RATE tokens/s round-robin over them for INSTANCES_SECONDS and, for every
# INSTANCES_PROBE_EVERY-th, polls GET /api/me on the three other instances every millisecond
# until each answers 401 (deadline 3 s), while each instance serves INSTANCES_BACKGROUND
# GET /api/me/s of a valid token. Servers 1 and 3 are pinned to CPU 0, 2 and 4 to CPU 1 (one
# Rocket worker each); the client is not pinned: it shares both CPUs with them and PostgreSQL.
# The probes are a sample because probing every logout (about 2 requests per instance per
# probed token at 1 ms) would more than double the requests and saturate two CPUs by itself.
INSTANCES=4
INSTANCES_PROBE_EVERY="${BENCH_INSTANCES_PROBE_EVERY:-8}"
INSTANCES_BACKGROUND=100
bench_instances() {
    local backend=$1 i
    if [ "$backend" != postgres ]; then
        note "$backend: the instances case needs PostgreSQL (LISTEN/NOTIFY); skipped"
        echo "$backend   instances: skipped (PostgreSQL only)"
        return 0
    fi
    note "$backend: $INSTANCES instances, $INSTANCES_RATE logouts/s for $INSTANCES_SECONDS s"
    CONTEXT="$backend instances"
    new_database "$backend"
    local count=$((INSTANCES_RATE * INSTANCES_SECONDS + 1))
    tokens "$USER_NAME" user "$count" >"$WORK/instances-tokens.txt"
    local urls=() pids=() startups=() saved_cpu=("${SERVER_CPU[@]}")
    for i in $(seq 0 $((INSTANCES - 1))); do
        [ "${#saved_cpu[@]}" -eq 0 ] || SERVER_CPU=(taskset -c $((i % 2)))
        start_server memory
        urls+=("$SERVER_URL")
        pids+=("$SERVER_PID")
        startups+=("$STARTUP_MS")
    done
    SERVER_CPU=("${saved_cpu[@]}")
    local bases
    bases="$(IFS=,; echo "${urls[*]}")"
    next_seq
    local json="$WORK/instances-$SEQ.json" line="$WORK/instances-$SEQ.tsv" ok=1
    local before after
    before="$(cpu_ticks "${pids[@]}")"
    "$SOAK" propagation --bases "$bases" --tokens "$WORK/instances-tokens.txt" \
        --rate "$INSTANCES_RATE" --seconds "$INSTANCES_SECONDS" --out "$json" --line "$line" \
        --probe-every "$INSTANCES_PROBE_EVERY" --background-rate "$INSTANCES_BACKGROUND" \
        >"$WORK/instances-$SEQ.out" 2>&1 || ok=0
    after="$(cpu_ticks "${pids[@]}")"
    cat "$WORK/instances-$SEQ.out" >&2
    for i in "${!pids[@]}"; do
        SERVER_PID=${pids[$i]}
        server_alive
    done
    # The servers' CPU seconds over the run, and how busy the whole machine was (every process).
    local servers_cpu busy
    read -r servers_cpu busy < <(echo "$before $after" | awk -v hz="$(getconf CLK_TCK)" \
        '{printf "%.1f %.0f\n", ($4 - $1) / hz, 100 * ($5 - $2) / ($6 - $3)}')
    local sent answered not_200 rate probed p50 p99 max never bg bg_bad _lag p99_sent logout_p99
    if [ -s "$line" ]; then
        IFS=$'\t' read -r sent answered not_200 rate probed p50 p99 max never bg bg_bad _lag p99_sent \
            logout_p99 <"$line"
        printf '%-8s %s instances, %s logouts/s for %ss: %s sent (%s answered 200, %s not) at %s/s; %s probed: delay p50=%sms p99=%sms max=%sms  never refused=%s  background GET /api/me %s (non2xx %s)  servers CPU %ss, machine %s%% busy\n' \
            "$backend" "$INSTANCES" "$INSTANCES_RATE" "$INSTANCES_SECONDS" "$sent" "$answered" \
            "$not_200" "$rate" "$probed" "$p50" "$p99" "$max" "$never" "$bg" "$bg_bad" \
            "$servers_cpu" "$busy"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
            "$backend" "$INSTANCES" "$INSTANCES_RATE" "$INSTANCES_SECONDS" "$sent" "$answered" \
            "$not_200" "$rate" "$probed" "$p50" "$p99" "$max" "$p99_sent" "$never" "$logout_p99" \
            "$bg" "$bg_bad" "$servers_cpu" "$busy" >>"$WORK/instances.tsv"
    else
        FAILURES+=("$backend instances: the propagation client gave no result")
    fi
    [ "$ok" = 1 ] || FAILURES+=("$backend instances: a check of soak propagation failed (tokens never refused, non-200 logouts or non-2xx background answers)")
    for i in "${!pids[@]}"; do
        SERVER_PID=${pids[$i]}
        STARTUP_MS=${startups[$i]}
        stop_server "$backend" 0 "memory (instance $((i + 1)) of $INSTANCES)"
    done
    drop_database "$backend"
}

BACKENDS=(sqlite)
if [ -n "$PG_URL" ]; then
    psql "$PG_URL" -qAtc 'SELECT 1' >/dev/null || die "cannot reach BENCH_POSTGRES_URL with psql"
    BACKENDS+=(postgres)
fi
: >"$WORK/cases.tsv"
: >"$WORK/servers.tsv"
: >"$WORK/purge.tsv"
: >"$WORK/logins.tsv"
: >"$WORK/totp.tsv"
: >"$WORK/instances.tsv"
STARTED_AT="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
# Other work on the machine moves every figure: the load averages when the run started.
START_LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
STAMP="$(date -u '+%Y%m%dT%H%M%SZ')"

for backend in "${BACKENDS[@]}"; do
    if has_case rows; then
        for rows in $ROWS_LIST; do
            bench_rows "$backend" "$rows"
        done
    fi
    if has_case eddsa; then bench_eddsa "$backend"; fi
    if has_case purge; then bench_purge "$backend"; fi
    if has_case logins; then bench_logins "$backend"; fi
    if has_case totp_logins; then bench_totp_logins "$backend"; fi
    if has_case instances; then bench_instances "$backend"; fi
done

# --- The report.
mkdir -p "$OUT"
REPORT="$OUT/$STAMP-$KIND.md"
# A run of some cases only is named after them, and is not the latest full (or smoke) report.
LATEST="$OUT/latest-$KIND.md"
if [ "$CASES" != "$ALL_CASES" ]; then
    REPORT="$OUT/$STAMP-$KIND-$(echo $CASES | tr ' ' '+').md"
    LATEST=""
fi
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
fi
cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
mem_gib="$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)"
{
    echo "# Load benchmark ($KIND)"
    echo
    echo "- Date: $STARTED_AT"
    echo "- Commit: $commit"
    echo "- Machine: $NPROC CPUs (${cpu_model:-unknown model}), $mem_gib GiB RAM, Linux $(uname -r)"
    echo "- Load averages (1, 5, 15 min) when the run started: $START_LOAD"
    echo "- Load: $(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}'), 1 thread, $CONNECTIONS connections, $DURATION s per case; $PINNING; ROCKET_WORKERS=$WORKERS; release profile"
    [ "$CASES" = "$ALL_CASES" ] || echo "- Cases: $CASES (BENCH_CASES)"
    if [ -s "$WORK/cases.tsv" ]; then
    echo
    echo "## Requests"
    echo
    echo "Rows: revoked token ids in the blacklist. Mode: \`revocation_check\` (\`eddsa\`: memory, with an"
    echo "Ed25519 signing key instead of HS256). The last column divides the req/s of \`GET /api/me\` by"
    echo "the mean req/s of \`GET /health/live\` (memory mode, or eddsa's own) on the same backend and rows;"
    echo "memory mode runs them live, me, me, live, so that a drift of the machine cancels out."
    echo
    echo "| backend | rows | mode | request | req/s | p50 (ms) | p99 (ms) | non-2xx | socket errors | api/me ÷ health/live |"
    echo "|---|---:|---|---|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '
        NR == FNR {
            if ($3 != "database" && $4 == "GET /health/live") {
                key = $1 SUBSEP $2 SUBSEP $3
                sum[key] += $5
                runs[key]++
            }
            next
        }
        {
            ratio = ""
            key = $1 SUBSEP $2 SUBSEP ($3 == "eddsa" ? "eddsa" : "memory")
            b = runs[key] > 0 ? sum[key] / runs[key] : 0
            if ($4 == "GET /api/me" && b > 0 && $5 != "-") ratio = sprintf("%.2f", $5 / b)
            req = $4
            if ($10 > 0) req = req " (" $10 " token wraps)"
            printf "| %s | %s | %s | `%s` | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, req, $5, $6, $7, $8, $9, ratio
        }' "$WORK/cases.tsv" "$WORK/cases.tsv"
    fi
    echo
    echo "## Start-up and memory"
    echo
    echo "Start-up: from spawn to the first 200 of \`GET /health/live\`. Peak RSS: \`VmHWM\` after the cases."
    echo
    echo "| backend | rows | mode | start-up (ms) | peak RSS (MiB) |"
    echo "|---|---:|---|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %.1f |\n", $1, $2, $3, $4, $5 / 1024}' "$WORK/servers.tsv"
    if [ -s "$WORK/purge.tsv" ]; then
    echo
    echo "## Purge under load"
    echo
    echo "\`POST /blacklist/purge\` (admin) of every expired row while wrk runs on \`GET /api/me\`;"
    echo "idle p99 from ${IDLE_DURATION} s of wrk just before."
    echo
    echo "| backend | expired rows | purge (s) | purged | p99 idle (ms) | p99 during purge (ms) | req/s during | non-2xx |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %.2f | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8}' "$WORK/purge.tsv"
    fi
    if [ -s "$WORK/logins.tsv" ]; then
    echo
    echo "## Logins under load"
    echo
    echo "$LOGIN_LOOPS \`POST /authenticate\` always in flight (argon2; a second wrk, one connection each) while wrk runs on \`GET /api/me\` for $DURATION s."
    echo
    echo "| backend | login loops | logins | failed | login p50 (ms) | p99 idle (ms) | p99 during (ms) | req/s idle | req/s during | non-2xx |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10}' "$WORK/logins.tsv"
    fi
    if [ -s "$WORK/totp.tsv" ]; then
    echo
    echo "## Logins with a second factor"
    echo
    echo "$LOGIN_LOOPS logins always in flight for $DURATION s each, nothing else loading the server, by one client"
    echo "(\`bench_tool logins\`): password only (\`POST /authenticate\`), then with TOTP (\`POST /authenticate\`,"
    echo "then \`POST /authenticate/mfa\` with the \`mfa\` cookie and the current code). Each login is a fresh"
    echo "seeded account; only a final 200 counts as done. A full login is timed from its first request to"
    echo "its last answer; the code step is the second request alone."
    echo
    echo "| backend | login | in flight | logins/s | done | failed | full login p50 (ms) | p99 (ms) | code step p50 (ms) | ÷ password only | failures |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    awk -F'\t' '
        $2 == "password" { base[$1] = $4 }
        {
            ratio = ""
            if ($2 == "totp" && base[$1] > 0) ratio = sprintf("%.2f", $4 / base[$1])
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, ($2 == "totp" ? "TOTP" : "password only"), $3, $4, $5, $6, $7, $8, $9, ratio, $10
        }' "$WORK/totp.tsv"
    fi
    if [ -s "$WORK/instances.tsv" ]; then
    echo
    echo "## Four instances on one PostgreSQL"
    echo
    echo "$INSTANCES servers on one database ($INSTANCES_PINNING, one Rocket worker each; the client unpinned)."
    echo "Logouts on a fixed schedule (open loop), round-robin; for every ${INSTANCES_PROBE_EVERY}th answered 200,"
    echo "\`GET /api/me\` with that token on the three other instances every 1 ms until each answers 401"
    echo "(deadline 3 s). Delay: from the logout's 200 to the arrival of the last of the three first 401s"
    echo "(goal: p99 <= 50 ms); \"to send\": to when that 401's request was sent (a lower bound). Meanwhile"
    echo "$INSTANCES_BACKGROUND \`GET /api/me\`/s of a valid token per instance (background). Servers CPU: seconds"
    echo "used by the four servers during the run; busy: the whole machine, every process, over both CPUs."
    echo
    echo "| backend | instances | target/s | seconds | logouts | answered 200 | not 200 | achieved/s | probed | delay p50 (ms) | p99 (ms) | max (ms) | p99 to send (ms) | never refused | logout p99 (ms) | background | background non-2xx | servers CPU (s) | machine busy (%) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    awk -F'\t' '{s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"; print s}' "$WORK/instances.tsv"
    fi
    if [ "${#FAILURES[@]}" -gt 0 ]; then
        echo
        echo "## Failures"
        echo
        printf -- '- %s\n' "${FAILURES[@]}"
    fi
} >"$REPORT"
if [ -n "$LATEST" ]; then
    cp "$REPORT" "$LATEST"
    note "report: $REPORT (and $LATEST)"
else
    note "report: $REPORT"
fi

if [ "${#FAILURES[@]}" -gt 0 ]; then
    echo "bench: FAILED:" >&2
    printf '  %s\n' "${FAILURES[@]}" >&2
    exit 1
fi
