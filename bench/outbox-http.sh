#!/bin/sh
# bench/outbox-http: outbox deliveries per second from the backoffice connector's perform() to a
# local HTTP subscriber (Debian's nginx-light answering 204 to every POST), against wrk POSTing
# the same body with the same headers to the same nginx with as many connections as we have
# threads; alternating rounds, figures are medians. The connector side is bench/outbox_http.c,
# compiled here against the build's libconnectors.a.
# Usage: bench/outbox-http.sh [SECONDS] [ROUNDS] [THREADS...]   (default: 5 3 1 4)
. "$(dirname "$0")/lib.sh"
DURATION=${1:-5}
ROUNDS=${2:-3}
[ $# -ge 2 ] && shift 2 || shift $#
THREADS=${*:-1 4}
need wrk wrk
need nginx nginx-light
need cc gcc
LIB=$BUILD/connectors/libconnectors.a
if [ ! -f "$LIB" ]; then
	echo "bench: $LIB is missing; build first (make, or BUILD=... pointing at a build)" >&2
	exit 1
fi
WORK=$(mktemp -d /tmp/tramit-bench-XXXXXX)
chmod 755 "$WORK"
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$ROOT" -o "$WORK/outbox_http" \
	"$ROOT/bench/outbox_http.c" "$LIB" $(pkg-config --cflags --libs libcurl jansson openssl) \
	-lpthread
NGINX=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$NGINX; location / { return 204; } }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
trap 'nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -s stop 2>/dev/null; rm -rf "$WORK"' EXIT
URL="http://127.0.0.1:$NGINX/events"

# wrk sends what perform() sends: the same body bytes (with a fixed time) and headers.
"$WORK/outbox_http" --body > "$WORK/sample"
BODY=$(sed -n 1p "$WORK/sample")
SIG=$(sed -n 2p "$WORK/sample")
cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$BODY]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "tramit-backoffice/1"
wrk.headers["X-Tramit-Event"] = "alta_padro"
wrk.headers["X-Tramit-Delivery"] = "EXP-2026-000000/0/0"
wrk.headers["X-Tramit-Timestamp"] = "1767225600"
wrk.headers["X-Tramit-Signature"] = "$SIG"
LUA

# "RATE P50_MS P99_MS" from wrk's --latency report.
wrk_run() { # wrk_run THREADS
	wrk -t "$1" -c "$1" -d "${DURATION}s" --latency -s "$WORK/post.lua" "$URL" | awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
		                 if (v ~ /s$/) return v * 1000; return v }
		/^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
		/^Requests\/sec/ { rate = $2 }
		END { printf "%.0f %.3f %.3f\n", rate, p50, p99 }'
}

echo "bench/outbox-http: POST $(printf %s "$BODY" | wc -c)-byte signed events to nginx (204), ${DURATION}s x $ROUNDS rounds, $(nproc) cores"
for t in $THREADS; do
	: > "$WORK/w"; : > "$WORK/c"
	for r in $(seq "$ROUNDS"); do
		wrk_run "$t" >> "$WORK/w"
		"$WORK/outbox_http" "$URL" "$t" "$DURATION" >> "$WORK/c"
	done
	col() { awk -v c="$2" '{print $c}' "$1" | median; }
	wr=$(col "$WORK/w" 1); w50=$(col "$WORK/w" 2); w99=$(col "$WORK/w" 3)
	cr=$(col "$WORK/c" 1); c50=$(col "$WORK/c" 2); c99=$(col "$WORK/c" 3)
	printf '%2s threads: wrk %.0f req/s (p50 %.3f ms, p99 %.3f ms); connector %.0f deliveries/s (p50 %.3f ms, p99 %.3f ms); ratio %.2f\n' \
		"$t" "$wr" "$w50" "$w99" "$cr" "$c50" "$c99" "$(echo "$cr / $wr" | bc -l)"
done
