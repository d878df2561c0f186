#!/bin/sh
# bench/outbox: the engine's dispatchers delivering no-op effects against graphile-worker (npm)
# draining no-op jobs, with and without its batching, on the same embedded PostgreSQL
# (synchronous commit on); rounds alternate baseline and engine, figures are medians. Then the
# latency from an effect's commit (one per transaction, with NOTIFY) to its claim.
# The program is bench/outbox.c, built with the project (TRAMIT_BENCH); graphile-worker is
# installed from the npm registry into bench/.node/ on first use.
# Usage: bench/outbox.sh [ROUNDS] [EFFECTS]   (default: 3 100000; more options: BENCH_ARGS,
# e.g. BENCH_ARGS="--unbatched 10000 --rate 500 --rate-seconds 4 --batch 32 --limit 30")
. "$(dirname "$0")/lib.sh"
ROUNDS=${1:-3}
EFFECTS=${2:-100000}
need node nodejs
need npm npm
BIN=$BUILD/bench/bench_outbox
if [ ! -x "$BIN" ]; then
	echo "bench: $BIN is missing; build first (make, or BUILD=... pointing at a build)" >&2
	exit 1
fi
# graphile-worker 0.18 wants Node >= 22.18; on an older Node (Debian 12 has 20) the newest
# release that supports it is 0.17. GRAPHILE_WORKER=x.y picks another.
if node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 18) ? 0 : 1)'; then
	GW=${GRAPHILE_WORKER:-latest}
else
	GW=${GRAPHILE_WORKER:-0.17}
fi
NODE_DIR=$ROOT/bench/.node
have=$(cd "$NODE_DIR" 2>/dev/null && node -p 'require("./node_modules/graphile-worker/package.json").version' 2>/dev/null || true)
case "$GW:$have" in
latest:?*|"$have":*|"${have%.*}":*) ;;
*)
	mkdir -p "$NODE_DIR"
	[ -f "$NODE_DIR/package.json" ] || echo '{"name": "tramit-bench", "private": true}' > "$NODE_DIR/package.json"
	(cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error "graphile-worker@$GW" >&2)
	have=$(cd "$NODE_DIR" && node -p 'require("./node_modules/graphile-worker/package.json").version')
	;;
esac
echo "graphile-worker $have on Node $(node -v)"
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
GRAPHILE_NODE_MODULES=$NODE_DIR/node_modules "$BIN" --dir "$WORK" \
	--tramit "$ROOT/bench/tramits/bench.lua" --graphile "$ROOT/bench/graphile.js" \
	--rounds "$ROUNDS" --effects "$EFFECTS" ${BENCH_ARGS:-}
