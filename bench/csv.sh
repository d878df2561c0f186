#!/bin/sh
# bench/csv: CSV verifications per second through HTTP, next to `openssl speed rsa2048` signs
# and verifies measured in the same run. The server holds N receipts (filed through the API);
# wrk asks for random codes on the verification page (HTML with the receipt's content), on
# the JSON API and for the document itself (the PDF rendered with its CSV and QR code), with
# one request in ten for a code that does not exist. Every lookup is logged and counted
# against the client's allowance, which this run raises so the figure is the server's, not
# the limit's. Usage: bench/csv.sh [SECONDS] [ROUNDS] [CONNECTIONS] [RECEIPTS]
. "$(dirname "$0")/lib.sh"
DURATION=${1:-10}
ROUNDS=${2:-3}
CONNS=${3:-16}
RECEIPTS=${4:-200}
need wrk wrk
need curl curl
WORK=$(mktemp -d /tmp/tramit-bench-XXXXXX)
chmod 755 "$WORK"
HTTP=$(free_port)
PG=$(free_port)
TRAMIT_CSV_LOOKUPS_PER_MINUTE=100000000 start_server "$WORK" "$HTTP" "$PG" "$ROOT/bench/tramits"
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
BASE=http://127.0.0.1:$HTTP

CJAR=$WORK/citizen.jar
CCSRF=$(sign_in "$CJAR" citizen "$BASE")
for i in $(seq "$RECEIPTS"); do
	curl -s -w '\n' -b "$CJAR" -H "X-CSRF-Token: $CCSRF" -H 'Content-Type: application/json' \
		-d "{\"form\": {\"assumpte\": \"Prova $i\"}}" "$BASE/api/v1/tramits/BENCH-001/expedients" |
		sed -n 's/.*"receipt":{"csv":"\([^"]*\)".*/\1/p'
done > "$WORK/csv.txt"
[ "$(wc -l < "$WORK/csv.txt")" -eq "$RECEIPTS" ] || { echo "bench: could not file the receipts" >&2; exit 1; }
curl -sf -o /dev/null "$BASE/verify?csv=$(head -1 "$WORK/csv.txt")" ||
	{ echo "bench: the first receipt does not verify" >&2; exit 1; }

# PATH is a format with %s for the code, e.g. /verify?csv=%s
script() { # script NAME PATH
	cat > "$WORK/$1.lua" <<LUA
local codes = {}
for line in io.lines("$WORK/csv.txt") do codes[#codes + 1] = line end
local n = 0
request = function()
  n = n + 1
  local code = n % 10 == 0 and "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ" or codes[math.random(#codes)]
  return wrk.format("GET", string.format("$2", code))
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(99) / 1000, summary.errors.status, summary.requests))
end
LUA
}
script page "/verify?csv=%s"
script api "/api/v1/documents/%s"
script pdf "/verify/%s/document"

# Non-2xx answers are expected (one request in ten asks for an unknown code: 404); a run
# where every answer failed is not a measurement.
run() { # run NAME
	out=$(wrk -t 2 -c "$CONNS" -d "${DURATION}s" -s "$WORK/$1.lua" "$BASE" | grep '^RESULT')
	set -- $out "$1"
	# About one in ten answers is the expected 404; more failures (429s, 5xx) mean the figure
	# measures refusals, not verifications.
	if [ "$4" -gt $(( $5 * 15 / 100 )) ]; then
		echo "bench: $6: $4 of $5 answers were not 2xx; not a measurement (see $WORK/server.log)" >&2
		KEEP=1
		exit 1
	fi
	echo "$2" >> "$WORK/$6.rps"; echo "$3" >> "$WORK/$6.p99"
}
for r in $(seq "$ROUNDS"); do
	openssl speed -seconds "$DURATION" rsa2048 2>/dev/null |
		awk '/^rsa 2048 bits/ {print $6 > "'"$WORK"'/sign.r'"$r"'"; print $7 > "'"$WORK"'/verify.r'"$r"'"}'
	cat "$WORK/sign.r$r" >> "$WORK/rsa_sign"; cat "$WORK/verify.r$r" >> "$WORK/rsa_verify"
	run page; run api; run pdf
done
sign=$(median < "$WORK/rsa_sign"); ver=$(median < "$WORK/rsa_verify")
echo "bench/csv: $RECEIPTS receipts, $CONNS connections, ${DURATION}s x $ROUNDS rounds, $(nproc) cores, $(openssl version | cut -d' ' -f1-2)"
printf '%-44s %9.0f/s\n' "openssl speed rsa2048, signs (1 thread)" "$sign"
printf '%-44s %9.0f/s\n' "openssl speed rsa2048, verifies (1 thread)" "$ver"
for k in page api pdf; do
	case $k in
	page) label="GET /verify?csv= (HTML page)" ;;
	api) label="GET /api/v1/documents/{csv} (JSON)" ;;
	pdf) label="GET /verify/{csv}/document (PDF)" ;;
	esac
	v=$(median < "$WORK/$k.rps")
	printf '%-44s %9.0f/s   %.2f of RSA signs   p99 %.1f ms\n' "$label" "$v" \
		"$(echo "$v / $sign" | bc -l)" "$(median < "$WORK/$k.p99")"
done
