#!/bin/sh
# bench/http: GET /api/v1/tramits from the server against nginx (Debian's nginx-light)
# serving the same bytes as a static file, with wrk on loopback, alternating rounds; the
# figures are medians. Usage: bench/http.sh [SECONDS] [ROUNDS] [CONNECTIONS]
. "$(dirname "$0")/lib.sh"
DURATION=${1:-10}
ROUNDS=${2:-3}
CONNS=${3:-32}
need wrk wrk
need curl curl
need nginx nginx-light
WORK=$(mktemp -d /tmp/tramit-bench-XXXXXX)
chmod 755 "$WORK"
HTTP=$(free_port)
PG=$(free_port)
NGINX=$(free_port)
start_server "$WORK" "$HTTP" "$PG" "$ROOT/tramits"
mkdir -p "$WORK/www/api/v1" "$WORK/nginx"
curl -s "http://127.0.0.1:$HTTP/api/v1/tramits" > "$WORK/www/api/v1/tramits"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  server { listen 127.0.0.1:$NGINX; root $WORK/www; }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
trap 'nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -s stop 2>/dev/null; stop_server; rm -rf "$WORK"' EXIT
rate() { wrk -t 2 -c "$CONNS" -d "${DURATION}s" "$1" | sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p'; }
: > "$WORK/n"; : > "$WORK/t"
for r in $(seq "$ROUNDS"); do
	rate "http://127.0.0.1:$NGINX/api/v1/tramits" >> "$WORK/n"
	rate "http://127.0.0.1:$HTTP/api/v1/tramits" >> "$WORK/t"
done
n=$(median < "$WORK/n"); t=$(median < "$WORK/t")
echo "bench/http: GET /api/v1/tramits ($(wc -c < "$WORK/www/api/v1/tramits") bytes), $CONNS connections, ${DURATION}s x $ROUNDS rounds, $(nproc) cores"
printf 'nginx %.0f req/s, tramit %.0f req/s, ratio %.2f (target: at least 1)\n' "$n" "$t" "$(echo "$t / $n" | bc -l)"
