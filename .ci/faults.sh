#!/usr/bin/env bash
# Reliability: faults injected into the release server and its database, each checked from
# outside. Figures: ci-output/reliability/faults-*.json and faults.txt.
#
# 1. kill -9 in a logout storm (SQLite, then PostgreSQL on a fresh database): 20 000 minted
#    tokens are logged out over 64 connections; once FAULTS_KILL_AFTER (1000) logouts have
#    answered 200 the server is killed with SIGKILL, restarted on the same database, and every
#    token whose logout answered 200 must be refused (401) and have its blacklist row.
# 2. SIGTERM with requests in flight (SQLite): logins (argon2: slow) and protected calls are
#    written whole on their own connections, then SIGTERM; every one must get a complete answer,
#    and the process must exit 0 within grace + mercy (Rocket's `shutdown` settings, 5 s + 2 s
#    here). Rocket 0.5 waits the whole grace whenever a request was in flight at the signal
#    (it checks for outstanding requests once, then sleeps the grace out), so ~5 s is expected.
# 3. PostgreSQL stopped and started under guarded load, on a private cluster created for the
#    test on a free port (the shared server on 5432 is never touched) and dropped at the end:
#    no guarded request answered 200 later than stop + revocation_max_staleness (1 s, the
#    default) + 250 ms, /health 503 during the outage, and both back by themselves within 10 s
#    of the restart. The margin: the last proof of currency may come right up to the stop, so
#    the guard may rightly answer 200 until stop + 1 s; 250 ms more covers writing the answer
#    and timestamping it on a loaded 2-core machine (the soak's GET /api/me p99 there: ~10 ms).
# 4. PostgreSQL failover (.ci/failover.sh): a primary and a synchronous streaming standby, both
#    private clusters on free ports, named together in the server's URL (host1:p1,host2:p2 with
#    target_session_attrs=read-write). In a logout storm under guarded load the primary's
#    postmaster is killed (SIGKILL) and the standby promoted 3 s later: every logout answered
#    200 must be on the new primary, no guarded 200 later than kill + 1 s + 250 ms until the
#    promotion, and guarded 200s again within 5 s of it, with no restart of the server.
#
#   bash .ci/faults.sh               all four; FAULTS="kill9 sigterm pgstop failover" picks some
#   FAULTS_BACKENDS="sqlite postgres"   backends of the kill -9 test
# Needs root (pg_createcluster, pg_ctlcluster, pg_basebackup) for the PostgreSQL outage and
# failover. Takes about 100 s.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/reliability-lib.sh
source .ci/reliability-lib.sh
# shellcheck source=.ci/failover.sh
source .ci/failover.sh

FAULTS="${FAULTS:-kill9 sigterm pgstop failover}"
BACKENDS="${FAULTS_BACKENDS:-sqlite postgres}"
KILL_AFTER="${FAULTS_KILL_AFTER:-1000}"
PG_URL="${FAULTS_POSTGRES_URL:-${CI_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}}"
GRACE=5
MERCY=2

rel_init
SUMMARY="$OUT/faults.txt"
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }

mint() { # mint COUNT USER FILE: tokens signed with the server's secret, each with its own session
    timeout 60 "$BENCH_TOOL" tokens "$SECRET" "$ISSUER" "$2" user "$1" 3600 >"$3"
}

kill9() {
    local backend="$1" db name port log started
    started=$(date +%s)
    case "$backend" in
        sqlite) db="sqlite://$WORK/kill9.sqlite3" ;;
        postgres)
            name="faults_kill9_$$_$(date +%s)"
            rel_pg_create_db "$PG_URL" "$name"
            db="$(rel_pg_url_for "$PG_URL" "$name")"
            ;;
    esac
    port=$(rel_free_port 18095)
    log="$OUT/faults-kill9-$backend-server.log"
    : >"$log"
    mint 20000 storm-user "$WORK/storm-tokens"
    rel_start "$port" "$db" "$log"
    local server=$REL_PID answered="$WORK/answered-$backend"
    : >"$answered"
    timeout 120 "$SOAK_BIN" storm --base "http://127.0.0.1:$port" --tokens "$WORK/storm-tokens" \
        --answered "$answered" --concurrency 64 --seconds 60 \
        --out "$OUT/faults-kill9-$backend-storm.json" >"$WORK/storm.txt" &
    local storm=$!
    REL_PIDS+=("$storm")
    local deadline=$(($(date +%s) + 60)) at_kill
    while [ "$(wc -l <"$answered")" -lt "$KILL_AFTER" ]; do
        if [ "$(date +%s)" -ge "$deadline" ] || ! kill -0 "$storm" 2>/dev/null; then
            say "kill9 $backend: FAIL: fewer than $KILL_AFTER logouts answered 200 before the storm ended"
            return 1
        fi
        sleep 0.01
    done
    kill -9 "$server"
    at_kill=$(wc -l <"$answered")
    wait "$server" 2>/dev/null || true
    wait "$storm" || true
    local total
    total=$(wc -l <"$answered")
    rel_start "$port" "$db" "$log"
    server=$REL_PID
    local ok=0
    timeout 120 "$SOAK_BIN" verify --base "http://127.0.0.1:$port" --tokens "$answered" \
        --database-url "$db" --out "$OUT/faults-kill9-$backend.json" || ok=$?
    rel_stop "$server"
    say "kill9 $backend: SIGKILL after $at_kill logouts answered 200 ($total in all, the last ones" \
        "answered just before the kill); storm: $(cat "$WORK/storm.txt"); after restart all $total checked:" \
        "$(if [ "$ok" -eq 0 ]; then echo "every one refused, every row present"; else echo FAIL; fi)" \
        "($(($(date +%s) - started)) s)"
    return "$ok"
}

sigterm() {
    local port log started=$(date +%s)
    port=$(rel_free_port 18097)
    log="$OUT/faults-sigterm-server.log"
    : >"$log"
    mint 50 drain-user "$WORK/drain-tokens"
    rel_start "$port" "sqlite://$WORK/sigterm.sqlite3" "$log" \
        ROCKET_SHUTDOWN="{grace=$GRACE,mercy=$MERCY}" ROCKET_LOG_LEVEL=normal
    local server=$REL_PID ok=0 rc=0
    timeout 60 "$SOAK_BIN" drain --addr "127.0.0.1:$port" --pid "$server" \
        --tokens "$WORK/drain-tokens" --user reliability-admin \
        --password reliability-admin-password --logins 24 --calls 200 \
        --out "$OUT/faults-sigterm.json" >"$WORK/drain.txt" || ok=$?
    wait "$server" || rc=$?
    local exited signal waited
    exited=$(now_ms)
    signal=$(sed -n 's/.*"signal_unix_ms": *\([0-9]*\).*/\1/p' "$OUT/faults-sigterm.json")
    waited=$((exited - signal))
    local verdict="ok"
    if [ "$ok" -ne 0 ] || [ "$rc" -ne 0 ] || [ "$waited" -gt $(((GRACE + MERCY) * 1000)) ]; then
        verdict="FAIL"
    fi
    say "sigterm: $(cat "$WORK/drain.txt");" \
        "exit status $rc, exited ${waited} ms after SIGTERM (grace ${GRACE} s + mercy ${MERCY} s): $verdict" \
        "($(($(date +%s) - started)) s)"
    [ "$verdict" = ok ]
}

pgstop() {
    local started=$(date +%s) version cluster port
    if [ "$(id -u)" -ne 0 ] || ! command -v pg_createcluster >/dev/null || [ ! -d /etc/postgresql ]; then
        say "pgstop: FAIL: needs root and Debian's postgresql-common (pg_createcluster, pg_ctlcluster)"
        return 1
    fi
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    cluster="faults$$"
    port=$(rel_free_port 5433)
    pg_createcluster "$version" "$cluster" --port "$port" >/dev/null
    REL_CLEANUPS+=("pg_dropcluster --stop $version $cluster")
    local conf="/etc/postgresql/$version/$cluster"
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$conf/pg_hba.conf"
    echo "listen_addresses = '127.0.0.1'" >>"$conf/postgresql.conf"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
    local admin="postgres://postgres@127.0.0.1:$port/postgres"
    timeout 30 psql "$admin" -qAtc "CREATE DATABASE faults" >/dev/null
    local db="postgres://postgres@127.0.0.1:$port/faults" sport log
    sport=$(rel_free_port 18098)
    log="$OUT/faults-pgstop-server.log"
    : >"$log"
    mint 16 outage-user "$WORK/outage-tokens"
    rel_start "$sport" "$db" "$log" ROCKET_DB_TIMEOUT_MS=1000
    local server=$REL_PID marks="$WORK/marks" ok=0
    : >"$marks"
    timeout 120 "$SOAK_BIN" watch --base "http://127.0.0.1:$sport" --tokens "$WORK/outage-tokens" \
        --marks "$marks" --connections 16 --seconds 20 --staleness-ms 1000 --margin-ms 250 \
        --recovery-limit-ms 10000 --out "$OUT/faults-pgstop.json" >"$WORK/watch.txt" &
    local watch=$!
    REL_PIDS+=("$watch")
    sleep 4
    echo "stop_begin=$(now_ms)" >>"$marks"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" stop -m immediate
    echo "stop_done=$(now_ms)" >>"$marks"
    sleep 5
    echo "start_begin=$(now_ms)" >>"$marks"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
    echo "start_done=$(now_ms)" >>"$marks"
    wait "$watch" || ok=$?
    rel_stop "$server"
    say "pgstop: $(cat "$WORK/watch.txt") ($(($(date +%s) - started)) s)"
    return "$ok"
}

status=0
for fault in $FAULTS; do
    case "$fault" in
        kill9) for backend in $BACKENDS; do kill9 "$backend" || status=1; done ;;
        sigterm) sigterm || status=1 ;;
        pgstop) pgstop || status=1 ;;
        failover) failover || status=1 ;;
        *) echo "unknown fault $fault" >&2; exit 2 ;;
    esac
done
if [ "$status" -ne 0 ]; then
    echo "== faults FAILED (see $SUMMARY)" >&2
    exit 1
fi
echo "== faults passed: $FAULTS"
