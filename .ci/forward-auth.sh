#!/usr/bin/env bash
# Client suite: forward auth behind a real nginx configured by deploy/nginx.conf (only its three
# ADDRESS lines replaced), in front of the release server and a small upstream app
# (.ci/forward-auth-upstream.py, which echoes the identity headers it received). Proves that:
#   - without a valid token nginx answers 401 and the app is never reached, even when the client
#     forges X-Auth-Request-User / -Role;
#   - the browser logs in through nginx (one origin: the same-origin rule passes with the
#     client's own Origin, and still refuses a foreign one);
#   - with the cookie (or a bearer token) the app sees the right user and role, and never the
#     forged headers the client added (nor an underscore variant), and request bodies reach it;
#   - after POST /blacklist/logout the same cookie or token is refused at once;
#   - when the session server fails closed (503) nginx answers 503, and 502 when it is down:
#     never 200.
#
#   bash .ci/forward-auth.sh   from a fresh clone (installs Debian's nginx if missing);
#                              SERVER_BIN=path/to/jwt-blacklist for another build
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

SERVER_PORT=18083
NGINX_PORT=18084
APP_PORT=18085
N="http://127.0.0.1:$NGINX_PORT"
OUT=ci-output/forward-auth

if ! command -v nginx >/dev/null 2>&1; then
    echo "== installing nginx (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi
if ! nginx -V 2>&1 | grep -q with-http_auth_request_module; then
    echo "$(command -v nginx) lacks the auth_request module" >&2
    exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
APP_PID=
STUB_PID=

# shellcheck source=.ci/server.sh
source .ci/server.sh
start_server "$SERVER_PORT" ROCKET_IP_HEADER=X-Real-IP

# stop_pid PID: TERM, up to 5 s to go, then KILL.
stop_pid() {
    local pid="$1"
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_nginx() {
    [ -s "$WORK/nginx.pid" ] || return 0
    stop_pid "$(cat "$WORK/nginx.pid")"
    rm -f "$WORK/nginx.pid"
}

finish() {
    local status=$?
    stop_nginx
    stop_pid "$APP_PID"
    stop_pid "$STUB_PID"
    stop_server
    cp "$SERVER_DIR/server.log" "$OUT/server.log" 2>/dev/null || true
    cp "$WORK"/*.log "$OUT/" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        for log in "$OUT"/server.log "$OUT"/error.log "$OUT"/access.log "$OUT"/app.log; do
            [ -f "$log" ] || continue
            echo "== $(basename "$log"):" >&2
            cat "$log" >&2
        done
        echo "forward-auth: FAILED (logs in $OUT/)" >&2
    fi
    rm -rf "$WORK" "$SERVER_DIR"
    exit "$status"
}
trap finish EXIT

# wait_http URL WHAT: until URL answers anything over HTTP, 15 s at most.
wait_http() {
    local deadline=$((SECONDS + 15))
    until [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$1" || true)" != "000" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$2 did not answer at $1 within 15 s" >&2
            return 1
        fi
        sleep 0.1
    done
}

echo "== upstream app on 127.0.0.1:$APP_PORT"
python3 .ci/forward-auth-upstream.py "$APP_PORT" >"$WORK/app.log" 2>&1 &
APP_PID=$!
wait_http "http://127.0.0.1:$APP_PORT/" "the upstream app"

echo "== nginx on $N with deploy/nginx.conf"
sed -e "s/server 127\.0\.0\.1:8000;/server 127.0.0.1:$SERVER_PORT;/" \
    -e "s/server 127\.0\.0\.1:3000;/server 127.0.0.1:$APP_PORT;/" \
    -e "s/listen 127\.0\.0\.1:8080;/listen 127.0.0.1:$NGINX_PORT;/" \
    deploy/nginx.conf >"$WORK/nginx.conf"
replaced=$(diff deploy/nginx.conf "$WORK/nginx.conf" | grep -c '^>' || true)
if [ "$replaced" -ne 3 ]; then
    echo "expected to replace the 3 ADDRESS lines of deploy/nginx.conf, replaced $replaced" >&2
    exit 1
fi
NGINX=(nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/error.log"
    -g "pid $WORK/nginx.pid; error_log $WORK/error.log;")
"${NGINX[@]}" -t -q
# Daemonizes; its access log (/dev/stdout in the config) goes to this file.
"${NGINX[@]}" >"$WORK/access.log"
wait_http "$N/" "nginx"

# ---------------------------------------------------------------- checks
PASSED=0
FAILED=0
check() { # check WHAT EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        PASSED=$((PASSED + 1))
        echo "ok   $1"
    else
        FAILED=$((FAILED + 1))
        echo "FAIL $1: expected '$2', got '$3'" >&2
    fi
}
# http CURL_ARGS...: the status code; the body in $WORK/body, the headers in $WORK/headers.
http() {
    curl -sS --max-time 10 -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$@" || true
}
# field KEY: that field of the last JSON body (a list's items joined with commas).
field() {
    python3 -c '
import json, sys
try:
    v = json.load(open(sys.argv[1])).get(sys.argv[2])
except Exception:
    v = "<not a JSON object>"
print(",".join(map(str, v)) if isinstance(v, list) else v)
' "$WORK/body" "$1"
}
header() { # header NAME: that header of the last answer
    grep -i "^$1:" "$WORK/headers" | head -n 1 | cut -d' ' -f2- | tr -d '\r' || true
}
app_requests() { # how many requests the upstream app has answered so far
    grep -c 'HTTP/1.1" ' "$WORK/app.log" || true
}
json() { printf '{"username":"%s","password":"%s"}' "$1" "$2"; }
# A browser's POST: JSON, and its own origin.
POST=(-X POST -H "Origin: $N" -H 'Content-Type: application/json')

echo "== without a valid token"
before=$(app_requests)
check "no cookie: 401" 401 "$(http "$N/orders")"
check "no cookie: the API's JSON error" unauthorized "$(field error)"
check "forged X-Auth-Request-User/-Role without a cookie: 401" 401 \
    "$(http -H 'X-Auth-Request-User: admin' -H 'X-Auth-Request-Role: admin' "$N/orders")"
check "a bearer token that is no JWT: 401" 401 "$(http -H 'Authorization: Bearer not-a-token' "$N/orders")"
check "the app was not reached by any of them" "$before" "$(app_requests)"
check "the verify subrequest's location is internal: 404" 404 "$(http "$N/_auth/verify")"

echo "== logging in through nginx"
check "sign-up through nginx: 201" 201 \
    "$(http "${POST[@]}" -d "$(json alice alice-password-123)" "$N/api/users")"
check "login from a foreign Origin through nginx: 403" 403 \
    "$(http -X POST -H 'Origin: http://evil.example' -H 'Content-Type: application/json' \
        -d "$(json alice alice-password-123)" "$N/authenticate")"
check "login with the page's own Origin through nginx: 200" 200 \
    "$(http "${POST[@]}" -c "$WORK/alice.jar" -d "$(json alice alice-password-123)" "$N/authenticate")"
TOKEN=$(awk '$6 == "jwt" { print $7 }' "$WORK/alice.jar")
check "the login set the jwt cookie" yes "$([ -n "$TOKEN" ] && echo yes || echo no)"
check "GET /api/me through nginx with the cookie: 200" 200 "$(http -b "$WORK/alice.jar" "$N/api/me")"
check "GET /api/me through nginx: alice" alice "$(field username)"

echo "== the app behind nginx"
check "the cookie (and forged identity headers) reach the app: 200" 200 \
    "$(http -b "$WORK/alice.jar" -H 'X-Auth-Request-User: admin' -H 'X-Auth-Request-Role: admin' \
        -H 'X_Auth_Request_User: admin' "$N/orders")"
check "the app saw the user, not the forged one" alice "$(field user)"
check "the app saw the role, not the forged one" user "$(field role)"
check "the app saw exactly one user and one role header" 2 "$(field identity_headers)"
check "a Connection header naming X-Auth-Request-User (hop-by-hop trick): 200" 200 \
    "$(http -b "$WORK/alice.jar" -H 'Connection: close, X-Auth-Request-User' "$N/orders")"
check "the app still saw the user nginx set" alice "$(field user)"
check "a bearer token (no cookie) reaches the app: 200" 200 \
    "$(http -H "Authorization: Bearer $TOKEN" "$N/orders/7")"
check "the app saw alice" alice "$(field user)"
check "the app saw the path" /orders/7 "$(field path)"
body=$(head -c 2000 /dev/zero | tr '\0' 'x')
check "a POST with a body reaches the app: 200" 200 \
    "$(http -b "$WORK/alice.jar" -X POST -H 'Content-Type: text/plain' --data-binary "$body" "$N/orders")"
check "the app got the whole body (the verify subrequest took none of it)" 2000 "$(field body_bytes)"
check "admin login through nginx: 200" 200 \
    "$(http "${POST[@]}" -c "$WORK/admin.jar" -d "$(json "$ADMIN_USER" "$ADMIN_PASSWORD")" "$N/authenticate")"
check "the app sees the admin..." "$ADMIN_USER" "$(http -b "$WORK/admin.jar" "$N/reports" >/dev/null; field user)"
check "...with the admin role" admin "$(field role)"

echo "== logout through nginx"
check "POST /blacklist/logout through nginx: 200" 200 \
    "$(http -X POST -H "Origin: $N" -b "$WORK/alice.jar" -c "$WORK/alice-after.jar" "$N/blacklist/logout")"
check "the logout clears the jwt cookie (Max-Age=0)" yes \
    "$(grep -qi '^set-cookie: jwt=;.*Max-Age=0' "$WORK/headers" && echo yes || echo no)"
before=$(app_requests)
check "the same cookie afterwards: 401" 401 "$(http -b "$WORK/alice.jar" "$N/orders")"
check "the same token as bearer afterwards: 401" 401 "$(http -H "Authorization: Bearer $TOKEN" "$N/orders")"
check "the client's cleared jar afterwards: 401" 401 "$(http -b "$WORK/alice-after.jar" "$N/orders")"
check "the app was not reached after the logout" "$before" "$(app_requests)"

echo "== when the session server cannot vouch"
stop_server
python3 .ci/forward-auth-upstream.py "$SERVER_PORT" --fail-closed >"$WORK/stub.log" 2>&1 &
STUB_PID=$!
wait_http "http://127.0.0.1:$SERVER_PORT/" "the fail-closed stub"
before=$(app_requests)
check "the session server answers 503 (fails closed): nginx answers 503" 503 \
    "$(http -b "$WORK/admin.jar" "$N/orders")"
check "the 503 is the API's JSON error" service_unavailable "$(field error)"
check "the 503 says when to retry" 1 "$(header Retry-After)"
stop_pid "$STUB_PID"
STUB_PID=
check "the session server is down: nginx answers 502" 502 "$(http -b "$WORK/admin.jar" "$N/orders")"
check "the 502 is the API's JSON error" bad_gateway "$(field error)"
check "the app was not reached while nothing could vouch" "$before" "$(app_requests)"

echo "forward-auth: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
