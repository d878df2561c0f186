#!/bin/sh
# bench/timers: the engine's schedulers against pgbench's single-row commits on the same
# embedded PostgreSQL (synchronous commit on): a burst of timers due at once (rounds alternate
# pgbench and the engine; medians), lateness at a steady rate, and memory with few and many
# timers pending. The program is bench/timers.c, built with the project (TRAMIT_BENCH).
# Usage: bench/timers.sh [ROUNDS] [TIMERS]   (default: 3 100000; more options: BENCH_ARGS,
# e.g. BENCH_ARGS="--rate 10000 --rate-seconds 10 --pending 1000000 --batch 32 --limit 30")
. "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
TIMERS=${2:-100000}
need pgbench postgresql
BIN=$BUILD/bench/bench_timers
if [ ! -x "$BIN" ]; then
	echo "bench: $BIN is missing; build first (make, or BUILD=... pointing at a build)" >&2
	exit 1
fi
WORK=$(mktemp -d /tmp/tramit-bench-XXXXXX)
chmod 755 "$WORK"
# The program stops its cluster itself; this is for an interrupted run.
stop_cluster() {
	pid=$(head -1 "$WORK/pg/data/postmaster.pid" 2>/dev/null) || return 0
	kill -INT "$pid" 2>/dev/null || return 0
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}
trap 'stop_cluster; [ -n "${KEEP:-}" ] || rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
# shellcheck disable=SC2086 # BENCH_ARGS is a list of options
"$BIN" --dir "$WORK" --tramit "$ROOT/bench/tramits/bench.lua" --pgbench "$PGBIN/pgbench" \
	--rounds "$ROUNDS" --timers "$TIMERS" --limit 30 ${BENCH_ARGS:-}
