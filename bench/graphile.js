// bench/graphile: graphile-worker (npm) draining no-op jobs from the database bench/outbox
// runs on, the baseline of bench/outbox. Jobs are added in one add_jobs call, then a worker
// with 24 concurrent jobs runs until every task ran and its completion is committed
// (runner.stop() flushes batched completions). Prints "RESULT <jobs per second> <jobs left>".
// Usage: node bench/graphile.js CONNECTION_STRING JOBS batched|unbatched
// Batched is graphile-worker's own fast configuration (docs: Performance): a local queue of
// 500 jobs and completions committed together (completeJobBatchDelay 0).
"use strict";
const path = require("path");
const modules = path.resolve(process.env.GRAPHILE_NODE_MODULES || path.join(__dirname, ".node", "node_modules"));
const { run, runMigrations, Logger } = require(path.join(modules, "graphile-worker"));
const { Pool } = require(path.join(modules, "pg"));

const [connectionString, jobsArg, mode] = process.argv.slice(2);
const jobs = Number(jobsArg);
if (!connectionString || !(jobs > 0) || !["batched", "unbatched"].includes(mode)) {
  console.error("usage: node bench/graphile.js CONNECTION_STRING JOBS batched|unbatched");
  process.exit(2);
}

const quiet = () => () => {};

function preset(batched) {
  const worker = { concurrentJobs: 24, maxPoolSize: 25, pollInterval: 2000 };
  if (batched)
    Object.assign(worker, { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 });
  return { worker };
}

async function addJobs(pool) {
  await pool.query("DELETE FROM graphile_worker._private_jobs");
  await pool.query(
    "SELECT graphile_worker.add_jobs(array(SELECT ('noop', '{}'::json, NULL, NULL, NULL, NULL, " +
      "NULL, NULL)::graphile_worker.job_spec FROM generate_series(1, $1)))",
    [jobs],
  );
  await pool.query("VACUUM ANALYZE graphile_worker._private_jobs");
  await pool.query("CHECKPOINT");
}

async function main() {
  const pool = new Pool({ connectionString, max: 25 });
  pool.on("error", (e) => console.error(`graphile: idle client: ${e.message}`));
  pool.on("connect", (client) => client.on("error", (e) => console.error(`graphile: client: ${e.message}`)));
  await runMigrations({ pgPool: pool, logger: new Logger(quiet) });
  await addJobs(pool);
  let ran = 0;
  let allRan;
  const done = new Promise((resolve) => (allRan = resolve));
  const taskList = {
    noop: async () => {
      if (++ran === jobs) allRan();
    },
  };
  const t0 = process.hrtime.bigint();
  const runner = await run({
    pgPool: pool,
    taskList,
    concurrency: 24,
    noHandleSignals: true,
    logger: new Logger(quiet),
    preset: preset(mode === "batched"),
  });
  await done;
  await runner.stop();
  // The clock stops when every completion is committed: the last ones may still be in flight.
  const left = async () =>
    (await pool.query("SELECT count(*)::int AS n FROM graphile_worker._private_jobs")).rows[0].n;
  let n = await left();
  for (let i = 0; n > 0 && i < 500; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    n = await left();
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await pool.end();
  console.log(`RESULT ${(jobs / seconds).toFixed(1)} ${n}`);
}

main().catch((e) => {
  console.error(`graphile: ${e.message}`);
  process.exit(1);
});
