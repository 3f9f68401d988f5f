#!/usr/bin/env bash
# Reliability: a soak of SOAK_SECONDS (60) at SOAK_CONNECTIONS (128) connections against the
# release server, on SQLite and on PostgreSQL (a fresh database, dropped afterwards). Each
# virtual user logs in, calls GET /api/me SOAK_CALLS times with two refreshes, logs out, and at
# once presents every token of that session again (each must be refused), then starts over.
# Afterwards: every logout answered 200 has its blacklist row (read straight from the database),
# no 5xx was seen, every request got an answer, and a sample of logged-out tokens is still
# refused at the end. Figures: ci-output/reliability/soak-<backend>.{json,txt}.
#
#   bash .ci/soak.sh                 both backends; SOAK_BACKENDS="sqlite" for one
#   SOAK_POSTGRES_URL=...            the PostgreSQL server (default: CI_POSTGRES_URL, else
#                                    postgres://postgres@127.0.0.1:5432/test)
# Takes about 2 x (SOAK_SECONDS + 15) s once built. All traffic goes to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/reliability-lib.sh
source .ci/reliability-lib.sh

SECONDS_RUN="${SOAK_SECONDS:-60}"
CONNECTIONS="${SOAK_CONNECTIONS:-128}"
CALLS="${SOAK_CALLS:-100}"
BACKENDS="${SOAK_BACKENDS:-sqlite postgres}"
PG_URL="${SOAK_POSTGRES_URL:-${CI_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}}"

rel_init
status=0
for backend in $BACKENDS; do
    started=$(date +%s)
    case "$backend" in
        sqlite) db="sqlite://$WORK/soak.sqlite3" ;;
        postgres)
            name="soak_$$_$(date +%s)"
            rel_pg_create_db "$PG_URL" "$name"
            db="$(rel_pg_url_for "$PG_URL" "$name")"
            ;;
        *) echo "unknown backend $backend" >&2; exit 2 ;;
    esac
    port=$(rel_free_port 18091)
    log="$OUT/soak-$backend-server.log"
    : >"$log"
    echo "== soak on $backend: ${SECONDS_RUN} s at $CONNECTIONS connections (port $port)"
    rel_start "$port" "$db" "$log"
    server=$REL_PID
    run_status=0
    timeout $((SECONDS_RUN + 300)) "$SOAK_BIN" run --base "http://127.0.0.1:$port" \
        --database-url "$db" --out "$OUT/soak-$backend.json" \
        --connections "$CONNECTIONS" --seconds "$SECONDS_RUN" --calls "$CALLS" \
        --user-prefix "soak-$backend-" | tee "$OUT/soak-$backend.txt" || run_status=$?
    if [ "$run_status" -ne 0 ]; then  # pipefail: the soak's own status
        status=1
        echo "== soak on $backend FAILED (server log: $log)" >&2
    fi
    rel_stop "$server"
    echo "soak on $backend: script took $(($(date +%s) - started)) s" | tee -a "$OUT/soak-$backend.txt"
done
if [ "$status" -ne 0 ]; then
    exit 1
fi
echo "== soak passed on: $BACKENDS"
