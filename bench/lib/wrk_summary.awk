# Reads wrk's output (run with --latency) and prints one tab-separated line:
#   req/s  p50_ms  p99_ms  non2xx  socket_errors  requests  token_wraps
# Latencies are converted to milliseconds; absent counters are 0; a missing figure is "-".
function ms(v) {
    if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
    if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
    if (v ~ /m$/)  { sub(/m$/, "", v);  return v * 60000 }
    if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
    return v + 0
}
BEGIN { rps = "-"; p50 = "-"; p99 = "-"; non2xx = 0; errors = 0; requests = 0; wraps = 0; dist = 0 }
/Latency Distribution/ { dist = 1; next }
dist && $1 == "50%" { p50 = sprintf("%.2f", ms($2)) }
dist && $1 == "99%" { p99 = sprintf("%.2f", ms($2)); dist = 0 }
/requests in/ { requests = $1 }
/^Requests\/sec:/ { rps = sprintf("%.0f", $2) }
/Non-2xx or 3xx responses:/ { non2xx = $NF }
/Socket errors:/ {
    # Socket errors: connect 0, read 0, write 0, timeout 0
    for (i = 3; i <= NF; i += 2) { n = $(i + 1); sub(/,$/, "", n); errors += n }
}
/^token wraps:/ { wraps = $3 }
END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rps, p50, p99, non2xx, errors, requests, wraps }
