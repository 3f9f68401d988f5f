# shellcheck shell=bash
# Sourced by .ci/faults.sh: the PostgreSQL failover fault (`failover`). Uses faults.sh's `say`,
# `mint` and the helpers of reliability-lib.sh.
#
# A primary and a streaming standby (pg_createcluster + pg_basebackup, free ports, synchronous
# replication: a commit waits for the standby's flush), both dropped on exit. The server gets
# both in one URL, `host1:p1,host2:p2` with target_session_attrs=read-write: libpq tries them in
# turn and passes over a standby. During a logout storm and under guarded load, the primary's
# postmaster is killed (SIGKILL), and FAILOVER_OUTAGE_S (3) seconds later the standby is
# promoted. Checked:
#   (a) every logout answered 200 (before, during or after) is refused and has its row on the
#       new primary (soak verify);
#   (b) no guarded 200 later than kill + revocation_max_staleness (1 s) + 250 ms until the
#       promotion (soak watch: stop_* marks = the kill, start_* marks = the promotion);
#   (c) guarded 200s and /health 200 again within 5 s of the promotion, the same process;
#   and logouts answered 200 after the promotion (writes reach the new primary).

failover_psql() { # failover_psql PORT DB SQL
    timeout 30 psql "postgres://postgres@127.0.0.1:$1/$2" -qAtc "$3"
}

# failover_cluster VERSION NAME PORT: a cluster on 127.0.0.1:PORT with trust auth (replication
# included), dropped on exit. Not started.
failover_cluster() {
    local version="$1" name="$2" port="$3" conf="/etc/postgresql/$1/$2"
    REL_CLEANUPS+=("pg_dropcluster --stop $version $name")
    timeout 60 pg_createcluster "$version" "$name" --port "$port" >/dev/null || return 1
    printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' \
        'local replication all trust' 'host replication all 127.0.0.1/32 trust' >"$conf/pg_hba.conf"
    echo "listen_addresses = '127.0.0.1'" >>"$conf/postgresql.conf"
}

# Each step below that fails ends the fault at once: faults.sh calls it with `||`, which turns
# `set -e` off inside it.
failover() {
    local started version primary standby p1 p2 data1 data2 app=faults_standby
    started=$(date +%s)
    if [ "$(id -u)" -ne 0 ] || ! command -v pg_createcluster >/dev/null || [ ! -d /etc/postgresql ] \
        || ! command -v pg_basebackup >/dev/null; then
        say "failover: FAIL: needs root and Debian's postgresql-common (pg_createcluster, pg_basebackup)"
        return 1
    fi
    # shellcheck disable=SC2012 # version folders: plain names
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    primary="faultsp$$"
    standby="faultss$$"
    local ctl=(pg_ctlcluster --skip-systemctl-redirect "$version")
    rm -f "$OUT"/faults-failover*.json # never judge an earlier run's figures

    p1=$(rel_free_port 5433)
    failover_cluster "$version" "$primary" "$p1" || { say "failover: FAIL: pg_createcluster"; return 1; }
    # Only the primary names a synchronous standby: the promoted standby must not wait for one.
    printf '%s\n' "synchronous_standby_names = '$app'" 'synchronous_commit = on' \
        >>"/etc/postgresql/$version/$primary/postgresql.conf"
    timeout 60 "${ctl[@]}" "$primary" start || { say "failover: FAIL: the primary did not start"; return 1; }
    data1="$(failover_psql "$p1" postgres "SHOW data_directory")" || return 1

    p2=$(rel_free_port $((p1 + 1)))
    failover_cluster "$version" "$standby" "$p2" || { say "failover: FAIL: pg_createcluster"; return 1; }
    data2="/var/lib/postgresql/$version/$standby"
    find "$data2" -mindepth 1 -delete
    timeout 60 runuser -u postgres -- pg_basebackup -R -h 127.0.0.1 -p "$p1" -U postgres -D "$data2" \
        || { say "failover: FAIL: pg_basebackup"; return 1; }
    chown -R postgres:postgres "$data2"
    chmod 700 "$data2"
    echo "primary_conninfo = 'host=127.0.0.1 port=$p1 user=postgres application_name=$app'" \
        >>"$data2/postgresql.auto.conf"
    timeout 60 "${ctl[@]}" "$standby" start || { say "failover: FAIL: the standby did not start"; return 1; }
    local deadline=$(($(date +%s) + 30)) state=""
    while [ "$state" != "streaming|sync" ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "failover: FAIL: the standby is not a streaming synchronous standby after 30 s ($state)"
            return 1
        fi
        sleep 0.2
        state="$(failover_psql "$p1" postgres \
            "SELECT state || '|' || sync_state FROM pg_stat_replication WHERE application_name = '$app'")"
    done
    # Created once the standby is synchronous: this commit already waits for it.
    failover_psql "$p1" postgres "CREATE DATABASE faults" >/dev/null || return 1

    local db="postgres://postgres@127.0.0.1:$p1,127.0.0.1:$p2/faults?target_session_attrs=read-write"
    local sport log
    sport=$(rel_free_port 18099)
    log="$OUT/faults-failover-server.log"
    : >"$log"
    mint "${FAILOVER_TOKENS:-40000}" failover-storm "$WORK/failover-storm-tokens" || return 1
    mint 16 failover-user "$WORK/failover-watch-tokens" || return 1
    rel_start "$sport" "$db" "$log" ROCKET_DB_TIMEOUT_MS=1000 \
        || { say "failover: FAIL: the server refused or could not use $db"; return 1; }
    # shellcheck disable=SC2153 # REL_PID: set by rel_start
    local server=$REL_PID marks="$WORK/failover-marks" answered="$WORK/failover-answered"
    : >"$marks"
    : >"$answered"
    local base="http://127.0.0.1:$sport" watch_ok=0 verify_ok=0
    timeout 60 "$SOAK_BIN" watch --base "$base" --tokens "$WORK/failover-watch-tokens" \
        --marks "$marks" --connections 16 --seconds 16 --staleness-ms 1000 --margin-ms 250 \
        --recovery-limit-ms 5000 --out "$OUT/faults-failover-watch.json" >"$WORK/failover-watch.txt" &
    local watch=$!
    REL_PIDS+=("$watch")
    timeout 60 "$SOAK_BIN" storm --base "$base" --tokens "$WORK/failover-storm-tokens" \
        --answered "$answered" --concurrency "${FAILOVER_STORM_CONCURRENCY:-8}" --seconds 14 \
        --out "$OUT/faults-failover-storm.json" >"$WORK/failover-storm.txt" &
    local storm=$!
    REL_PIDS+=("$storm")
    sleep 4
    local pm kill_at promoted_at before during total
    pm="$(head -n 1 "$data1/postmaster.pid")"
    if [ -z "$pm" ]; then
        say "failover: FAIL: no postmaster.pid in $data1"
        return 1
    fi
    # Both marks at the kill itself: the bound of (b) counts from the signal, not after it.
    kill_at=$(now_ms)
    kill -9 "$pm"
    printf 'stop_begin=%s\nstop_done=%s\n' "$kill_at" "$kill_at" >>"$marks"
    before=$(wc -l <"$answered")
    sleep "${FAILOVER_OUTAGE_S:-3}"
    echo "start_begin=$(now_ms)" >>"$marks"
    timeout 30 "${ctl[@]}" "$standby" promote
    promoted_at=$(now_ms)
    echo "start_done=$promoted_at" >>"$marks"
    during=$(($(wc -l <"$answered") - before))
    wait "$storm" || true
    wait "$watch" || watch_ok=$?
    total=$(wc -l <"$answered")
    local after=$((total - before - during)) same_process=no
    kill -0 "$server" 2>/dev/null && same_process=yes
    local new_primary="postgres://postgres@127.0.0.1:$p2/faults"
    timeout 60 "$SOAK_BIN" verify --base "$base" --tokens "$answered" --database-url "$new_primary" \
        --out "$OUT/faults-failover-verify.json" >"$WORK/failover-verify.txt" || verify_ok=$?
    rel_stop "$server"

    local w="$OUT/faults-failover-watch.json" present=no verdict=ok
    [ "$verify_ok" -eq 0 ] && present=yes
    field() { sed -n "s/^  \"$1\": *\([^,]*\),*$/\1/p" "$w" 2>/dev/null || true; }
    local last_200 recovery health_recovery late
    last_200=$(field last_guarded_200_ms_after_stop_done)
    recovery=$(field guard_recovery_ms_after_start_done)
    health_recovery=$(field health_recovery_ms_after_start_done)
    late=$(field guarded_200_later_than_bound)
    if [ "$watch_ok" -ne 0 ] || [ "$present" != yes ] || [ "$same_process" != yes ] \
        || [ "$after" -le 0 ]; then
        verdict=FAIL
    fi
    local elapsed=$(($(date +%s) - started))
    cat >"$OUT/faults-failover.json" <<EOF
{
  "primary_port": $p1,
  "standby_port": $p2,
  "kill_unix_ms": $kill_at,
  "promotion_ms_after_kill": $((promoted_at - kill_at)),
  "logouts_answered_200": {"before_kill": $before, "kill_to_promotion": $during, "after_promotion": $after, "total": $total},
  "all_present_on_new_primary": "$present",
  "last_guarded_200_ms_after_kill": ${last_200:-null},
  "bound_ms_after_kill": 1250,
  "guarded_200_later_than_bound": ${late:-null},
  "first_guarded_200_ms_after_promotion": ${recovery:-null},
  "first_health_200_ms_after_promotion": ${health_recovery:-null},
  "recovery_limit_ms": 5000,
  "same_server_process": "$same_process",
  "seconds": $elapsed,
  "passed": $([ "$verdict" = ok ] && echo true || echo false),
  "storm": $(cat "$OUT/faults-failover-storm.json" 2>/dev/null || echo null),
  "watch": $(cat "$w" 2>/dev/null || echo null),
  "verify": $(cat "$OUT/faults-failover-verify.json" 2>/dev/null || echo null)
}
EOF
    say "failover: primary SIGKILLed under a logout storm ($(cat "$WORK/failover-storm.txt")), standby" \
        "promoted $((promoted_at - kill_at)) ms later; logouts answered 200: $before before the kill," \
        "$during until the promotion, $after after; all $total present on the new primary: $present;" \
        "last guarded 200 ${last_200:-none} ms after the kill (bound 1250), $late later;" \
        "guarded 200 again ${recovery:-never} ms (/health ${health_recovery:-never} ms) after the" \
        "promotion (limit 5000), same process: $same_process: $verdict (${elapsed} s)"
    if [ "$verdict" != ok ]; then
        sed 's/^/  /' "$WORK/failover-watch.txt" "$WORK/failover-verify.txt" >&2 || true
    fi
    [ "$verdict" = ok ]
}
