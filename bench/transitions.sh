#!/bin/sh
# bench/transitions: transitions through the HTTP API against pgbench running a transaction
# of the same shape (update the expedient, insert an event, insert an outbox row) on the same
# PostgreSQL with synchronous commit on. Two servers share the database: one commits every
# transition on its own (TRAMIT_GROUP_COMMIT=0), the other lets transitions that arrive
# together share a commit. Rounds alternate baseline and engine; the figures are medians.
# Usage: bench/transitions.sh [SECONDS] [ROUNDS]
. "$(dirname "$0")/lib.sh"
DURATION=${1:-10}
ROUNDS=${2:-3}
need pgbench postgresql
need wrk wrk
need curl curl
WORK=$(mktemp -d /tmp/tramit-bench-XXXXXX)
chmod 755 "$WORK"
HTTP=$(free_port)
PG=$(free_port)
GC=$(free_port)
TRAMIT_GROUP_COMMIT=0 start_server "$WORK" "$HTTP" "$PG" "$ROOT/bench/tramits"
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
TRAMIT_GROUP_COMMIT=1 start_peer "$WORK/gc" "$GC" "$PG" "$ROOT/bench/tramits"
BASE=http://127.0.0.1:$HTTP
PSQL="$PGBIN/psql -q -h 127.0.0.1 -p $PG -U tramit tramit"

# The baseline's tables: as wide as the engine's hot rows, with the same fillfactor.
$PSQL <<'SQL'
CREATE TABLE bench_expedient (id int PRIMARY KEY, state text, version bigint, data jsonb,
  updated_at timestamptz) WITH (fillfactor = 80);
INSERT INTO bench_expedient SELECT i, 'open', 1, '{"assumpte": "Prova"}', now() FROM generate_series(1, 1000) i;
CREATE TABLE bench_event (id bigserial PRIMARY KEY, expedient_id int, seq bigint, kind text,
  action text, at timestamptz, payload json, prev_hash text, hash text);
CREATE TABLE bench_outbox (id bigserial PRIMARY KEY, expedient_id int, kind text, args json,
  state text DEFAULT 'pending', run_at timestamptz DEFAULT now());
CREATE TABLE bench_row (id bigserial PRIMARY KEY, at timestamptz DEFAULT now());
SQL
cat > "$WORK/transition.sql" <<'SQL'
\set id random(1, 1000)
BEGIN;
UPDATE bench_expedient SET version = version + 1, state = 'open', updated_at = now() WHERE id = :id;
INSERT INTO bench_event (expedient_id, seq, kind, action, at, payload, prev_hash, hash) VALUES (:id, 1, 'action', 'touch', now(), '{"version":2}', repeat('0', 64), repeat('1', 64));
INSERT INTO bench_outbox (expedient_id, kind, args) VALUES (:id, 'notify', '{}');
END;
SQL

# The engine's expedients: 1000 submitted ones, then employees touch them at random.
CJAR=$WORK/citizen.jar EJAR=$WORK/employee.jar
CCSRF=$(sign_in "$CJAR" citizen "$BASE")
for i in $(seq 1000); do
	curl -s -w '\n' -b "$CJAR" -H "X-CSRF-Token: $CCSRF" -H 'Content-Type: application/json' \
		-d "{\"form\": {\"assumpte\": \"Prova $i\"}}" "$BASE/api/v1/tramits/BENCH-001/expedients" |
		sed -n 's/^{.*"id":"\([^"]*\)".*/\1/p'
done > "$WORK/ids.txt"
[ "$(wc -l < "$WORK/ids.txt")" -eq 1000 ] || { echo "bench: could not create the expedients" >&2; exit 1; }
ECSRF=$(sign_in "$EJAR" employee "$BASE")
SID=$(awk '$6 == "sid" {print $7}' "$EJAR")
cat > "$WORK/touch.lua" <<LUA
local ids = {}
for line in io.lines("$WORK/ids.txt") do ids[#ids + 1] = line end
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("POST", "/api/v1/expedients/" .. id .. "/actions/touch",
    { ["Cookie"] = "sid=$SID", ["X-CSRF-Token"] = "$ECSRF", ["Content-Type"] = "application/json" }, "{}")
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %.3f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
LUA

touch_run() { # touch_run BASE CLIENTS TPSFILE P50FILE P99FILE
	out=$(wrk -t $(( $2 < 2 ? 1 : 2 )) -c "$2" -d "${DURATION}s" -s "$WORK/touch.lua" "$1" | grep '^RESULT')
	set -- $out "$@"
	[ "$5" = 0 ] || echo "bench: $5 requests failed at $7 clients ($6)" >&2
	echo "$2" >> "$WORK/$8.$7"; echo "$3" >> "$WORK/$9.$7"; echo "$4" >> "$WORK/${10}.$7"
}

pgbench_tps() { # pgbench_tps SCRIPT CLIENTS
	"$PGBIN/pgbench" -n -h 127.0.0.1 -p "$PG" -U tramit -c "$2" -j $(( $2 < 2 ? 1 : 2 )) -T "$DURATION" \
		-f "$1" tramit 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

echo "bench/transitions: ${DURATION}s per run, $ROUNDS rounds, $(nproc) cores, PostgreSQL $($PGBIN/postgres -V | awk '{print $3}')"
for c in 1 4 16; do
	for f in base eng p50 p99 gc gcp50 gcp99 row; do : > "$WORK/$f.$c"; done
done
echo 'INSERT INTO bench_row DEFAULT VALUES;' > "$WORK/row.sql"
for r in $(seq "$ROUNDS"); do
	for c in 1 4 16; do
		pgbench_tps "$WORK/transition.sql" "$c" >> "$WORK/base.$c"
		touch_run "$BASE" "$c" eng p50 p99
		touch_run "http://127.0.0.1:$GC" "$c" gc gcp50 gcp99
		[ "$c" = 16 ] && pgbench_tps "$WORK/row.sql" 16 >> "$WORK/row.16"
	done
done
table() { # table TPSFILE P50FILE P99FILE TITLE
	echo "$4"
	printf '%-8s %14s %14s %7s %9s %9s\n' clients "pgbench tps" "engine tps" ratio "p50 ms" "p99 ms"
	for c in 1 4 16; do
		b=$(median < "$WORK/base.$c"); e=$(median < "$WORK/$1.$c")
		printf '%-8s %14.0f %14.0f %7.2f %9.2f %9.2f\n' "$c" "$b" "$e" "$(echo "$e / $b" | bc -l)" \
			"$(median < "$WORK/$2.$c")" "$(median < "$WORK/$3.$c")"
	done
}
table eng p50 p99 "one commit per transition (target: 0.85 of pgbench at each client count)"
table gc gcp50 gcp99 "group commit (transitions arriving together share one commit)"
row=$(median < "$WORK/row.16"); g16=$(median < "$WORK/gc.16")
printf 'single-row commits at 16 clients: %.0f/s; group commit at 16 clients is %.2f of that (target: 4)\n' \
	"$row" "$(echo "$g16 / $row" | bc -l)"
