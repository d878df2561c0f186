# Shared helpers for the benchmark scripts (sourced). Benchmarks print figures; they are
# never run by `make test`.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
TRAMIT=$BUILD/tramit
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" -eq 0 ]; then
		apt-get install -y -qq "$2" >/dev/null
	else
		echo "bench: $1 is missing; install it with: sudo apt-get install -y $2" >&2
		exit 1
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + $$ % 20000))
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Starts `tramit serve` on its own embedded cluster (with a TCP port for pgbench) and waits.
start_server() { # start_server VARDIR HTTPPORT PGPORT TRAMITSDIR
	TRAMIT_VAR_DIR=$1 PORT=$2 TRAMIT_PG_PORT=$3 TRAMIT_TRAMITS_DIR=$4 TRAMIT_DATABASE_URL= \
		"$TRAMIT" serve --demo >"$1/server.log" 2>&1 &
	SERVER_PID=$!
	for _ in $(seq 600); do
		curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench: the server did not start; see $1/server.log" >&2
	exit 1
}

# Starts a second `tramit serve` on the first one's database (another HTTP port), with
# whatever TRAMIT_* settings the caller exports, and waits.
start_peer() { # start_peer VARDIR HTTPPORT PGPORT TRAMITSDIR
	mkdir -p "$1"
	TRAMIT_VAR_DIR=$1 PORT=$2 TRAMIT_TRAMITS_DIR=$4 \
		TRAMIT_DATABASE_URL="host=127.0.0.1 port=$3 user=tramit dbname=tramit" \
		"$TRAMIT" serve --demo >"$1/server.log" 2>&1 &
	PEER_PID=$!
	for _ in $(seq 600); do
		curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench: the second server did not start; see $1/server.log" >&2
	exit 1
}

stop_server() {
	kill -INT "$SERVER_PID" ${PEER_PID:-} 2>/dev/null
	wait "$SERVER_PID" ${PEER_PID:-} 2>/dev/null || true
}

# Signs in with the demo form (cookie jar $1, who $2) and prints the session's CSRF token.
sign_in() { # sign_in JAR WHO BASE
	tok=$(curl -s -c "$1" -b "$1" "$3/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
	curl -s -c "$1" -b "$1" -o /dev/null -d "csrf=$tok&who=$2&next=/" "$3/login"
	page=$([ "$2" = citizen ] && echo /tramits/BENCH-001/new || echo /backoffice)
	curl -s -c "$1" -b "$1" "$3$page" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1
}
