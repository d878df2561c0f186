#!/bin/sh
# bench/soak: does throughput hold over time? 16 clients act on expedients through the API
# without pause for MINUTES minutes (30 by default, on demand), and every action also sends
# a back-office effect through the outbox to nginx (answering 204), so the event log, the
# outbox and its claims grow the whole time. Prints each minute's transitions per second,
# the outbox backlog and the tables' sizes, then the last minute against the first
# (target: at least 0.9). Usage: bench/soak.sh [MINUTES] [CLIENTS]
. "$(dirname "$0")/lib.sh"
MINUTES=${1:-30}
CLIENTS=${2:-16}
need wrk wrk
need curl curl
need nginx nginx-light
WORK=$(mktemp -d /tmp/tramit-soak-XXXXXX)
chmod 755 "$WORK"
HTTP=$(free_port)
PG=$(free_port)
HOOK=$(free_port)

# The subscriber: nginx answering every delivery with 204.
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	server { listen 127.0.0.1:$HOOK; location / { return 204; } }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx"
cat > "$WORK/connectors.json" <<JSON
{"backoffice": {"subscribers": [{"name": "soak", "url": "http://127.0.0.1:$HOOK/hook",
 "secret": "soak-secret-0123456789", "events": ["soak"]}]}}
JSON
TRAMIT_CONNECTORS_CONFIG="$WORK/connectors.json" start_server "$WORK" "$HTTP" "$PG" "$ROOT/bench/tramits"
trap 'nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -s stop 2>/dev/null; stop_server; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
BASE=http://127.0.0.1:$HTTP
PSQL="$PGBIN/psql -qAt -h 127.0.0.1 -p $PG -U tramit tramit"

CJAR=$WORK/citizen.jar EJAR=$WORK/employee.jar
CCSRF=$(sign_in "$CJAR" citizen "$BASE")
for i in $(seq 1000); do
	curl -s -w '\n' -b "$CJAR" -H "X-CSRF-Token: $CCSRF" -H 'Content-Type: application/json' \
		-d "{\"form\": {\"assumpte\": \"Soak $i\"}}" "$BASE/api/v1/tramits/BENCH-001/expedients" |
		sed -n 's/^{.*"id":"\([^"]*\)".*/\1/p'
done > "$WORK/ids.txt"
[ "$(wc -l < "$WORK/ids.txt")" -eq 1000 ] || { echo "bench: could not create the expedients" >&2; exit 1; }
ECSRF=$(sign_in "$EJAR" employee "$BASE")
SID=$(awk '$6 == "sid" {print $7}' "$EJAR")
cat > "$WORK/act.lua" <<LUA
local ids = {}
for line in io.lines("$WORK/ids.txt") do ids[#ids + 1] = line end
local n = 0
request = function()
  n = n + 1
  local id = ids[math.random(#ids)]
  local action = (n % 2 == 0) and "ping" or "touch"
  return wrk.format("POST", "/api/v1/expedients/" .. id .. "/actions/" .. action,
    { ["Cookie"] = "sid=$SID", ["X-CSRF-Token"] = "$ECSRF", ["Content-Type"] = "application/json" }, "{}")
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000, summary.errors.status))
end
LUA

size() { $PSQL -c "SELECT pg_size_pretty(pg_total_relation_size('$1'))"; }
echo "bench/soak: $MINUTES minutes, $CLIENTS clients, $(nproc) cores; touch and ping alternate, each ping sends a back-office effect"
printf '%-7s %12s %9s %9s %10s %10s %10s\n' minute "actions/s" "p99 ms" backlog event outbox expedient
for m in $(seq "$MINUTES"); do
	set -- $(wrk -t 2 -c "$CLIENTS" -d 60s -s "$WORK/act.lua" "$BASE" | grep '^RESULT')
	[ "$4" = 0 ] || echo "bench: $4 requests failed in minute $m" >&2
	echo "$2" >> "$WORK/tps"
	backlog=$($PSQL -c "SELECT count(*) FROM outbox WHERE state <> 'done'")
	printf '%-7s %12.0f %9.2f %9s %10s %10s %10s\n' "$m" "$2" "$3" "$backlog" "$(size event)" \
		"$(size outbox)" "$(size expedient)"
done
first=$(head -1 "$WORK/tps"); last=$(tail -1 "$WORK/tps")
printf 'last minute / first minute: %.2f (target: at least 0.9)\n' "$(echo "$last / $first" | bc -l)"
