import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import type { Container } from '../src/container.js';
import { DEFAULT_UNIT_SAMPLES, runAggregation } from '../src/metrics/aggregation.job.js';
import { DEFAULT_COMPACTION_UNIT_SAMPLES, runCompaction } from '../src/metrics/compaction.job.js';
import type { App } from '../src/platform/http/types.js';
import { percentile, writeSection } from './results.js';
import { fmt, startApp, tokenFor } from './metrics-support.js';

/**
 * Issue 12: the aggregation job must not hold the only PGlite session (nor the event loop, which
 * runs PGlite's WASM) for long. On the embedded database (memory://), one tenant pushes a burst
 * of SERIES x PER_SERIES samples, all in one 5-minute window, through POST
 * /api/v1/monitoring/metrics in batches of BATCH; then the aggregation job runs while two probes
 * fire every PROBE_MS: GET /health/live (inject: the event loop) and a one-row db.withTenant query
 * (the database session). A probe's wait counts from the moment it was due, so time the event
 * loop spent blocked counts too. Reports the longest wait and p99 of each probe during the
 * rollup, and the rollup's total time.
 */
const SERIES = 50;
const PER_SERIES = 5_000;
const BATCH = 1_000;
const PROBE_MS = 20;
const FIVE_MINUTES = 300_000;

/** Measured on the job as it was before units (one transaction a run): figures copied from runs of this bench on that tree. */
const BEFORE =
  'Before the change (the job before commit 6a0d525: one transaction for the whole run), this bench on that tree, same burst and machine: at load 0.3, rollup run 8,825 ms and longest stalls 8,885 ms (/health/live) and 8,895 ms (SELECT 1); at load 12-13, rollup run 10,508-10,699 ms and longest stalls 10,506-10,718 ms.';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `probe` every PROBE_MS until stopped; each wait is measured from when the probe was due. */
function startProbe(probe: () => Promise<void>) {
  const waits: number[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const due = performance.now() + PROBE_MS;
      await sleep(PROBE_MS);
      await probe();
      waits.push(performance.now() - due);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return waits.sort((a, b) => a - b);
    },
  };
}

/** The two probes: GET /health/live (the event loop) and a one-row query of `tenant` (the database session). */
function startProbes(app: App, container: Container, tenant: string) {
  const live = startProbe(async () => {
    const response = await app.inject({ method: 'GET', url: '/health/live' });
    if (response.statusCode !== 200) throw new Error(`/health/live answered ${response.statusCode}`);
  });
  const session = startProbe(async () => {
    await container.db.withTenant(tenant, (tx) => tx.query('SELECT 1'));
  });
  return { live, session };
}

function makeBatches(windowStart: number) {
  const total = SERIES * PER_SERIES;
  const step = (FIVE_MINUTES - 1_000) / total;
  return Array.from({ length: total / BATCH }, (_, batch) =>
    Array.from({ length: BATCH }, (_, index) => {
      const n = batch * BATCH + index;
      return {
        name: 'bench_burst',
        service: `svc-${n % SERIES}`,
        value: (n * 7919) % 1_000,
        labels: { host: `h${n % SERIES}` },
        timestamp: new Date(windowStart + Math.floor(n * step)).toISOString(),
      };
    }),
  );
}

async function ingestBurst(app: App, tenant: string): Promise<number> {
  const token = await tokenFor(tenant, ['monitoring']);
  const windowStart = Math.floor((Date.now() - 2 * FIVE_MINUTES) / FIVE_MINUTES) * FIVE_MINUTES;
  const started = performance.now();
  for (const metrics of makeBatches(windowStart)) {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/monitoring/metrics',
      headers: { authorization: token, 'content-type': 'application/json' },
      payload: JSON.stringify({ metrics }),
    });
    if (response.statusCode !== 202) throw new Error(`POST answered ${response.statusCode}: ${response.body}`);
  }
  return performance.now() - started;
}

/** One burst of a fresh tenant, then one aggregation run with `unitSamples` under the probes. */
async function round(app: App, container: Container, unitSamples: number) {
  const tenant = randomUUID();
  const ingestMs = await ingestBurst(app, tenant);
  await sleep(2_000); // let commit listeners (anomaly scoring, catalogue) settle before measuring
  const { live, session } = startProbes(app, container, tenant);
  await sleep(500);
  const started = performance.now();
  const outcome = await runAggregation({ db: container.db, logger: container.logger, maxMarks: container.config.ROLLUP_MAX_MARKS_PER_RUN, unitSamples }, new Date());
  const rollupMs = performance.now() - started;
  const liveWaits = await live.stop();
  const sessionWaits = await session.stop();

  const check = await container.db.withTenant(tenant, (tx) =>
    tx.query<{ resolution: string; rows: number; samples: number }>(
      'SELECT resolution, count(*)::int AS rows, sum(count)::int AS samples FROM metric_rollups WHERE tenant_id = $1 GROUP BY resolution ORDER BY resolution',
      [tenant],
    ),
  );
  if (check.rows.length !== 3) throw new Error(`rollups at ${check.rows.length} resolutions, wanted 3`);
  for (const row of check.rows) {
    if (row.rows !== SERIES || row.samples !== SERIES * PER_SERIES) throw new Error(`incomplete ${row.resolution} rollups: ${row.rows} rows, ${row.samples} samples`);
  }
  return { ingestMs, rollupMs, outcome, liveWaits, sessionWaits };
}

/**
 * The compaction job over the bursts' day (asked as if the day had closed, as its job will once it
 * has) under the same probes: the bursts' 500,000 samples of 100 series, one chunk slice per unit.
 */
async function compactionRound(app: App, container: Container, unitSamples: number) {
  const { live, session } = startProbes(app, container, randomUUID());
  await sleep(500);
  const started = performance.now();
  const outcome = await runCompaction({ db: container.db, logger: container.logger, delayMs: 0, unitSamples }, new Date(Date.now() + 2 * 86_400_000));
  const runMs = performance.now() - started;
  const liveWaits = await live.stop();
  const sessionWaits = await session.stop();
  if (outcome.failed > 0 || outcome.samples < 2 * SERIES * PER_SERIES) throw new Error(`compaction moved ${outcome.samples} samples, ${outcome.failed} units failed`);
  return { runMs, units: outcome.units, liveWaits, sessionWaits };
}

const loadBefore = loadavg()[0] ?? 0;
// The burst is pushed as fast as the app takes it: the per-tenant push limits would pace it (this measures the rollup).
const { app, container } = await startApp({ DATA_DIR: 'memory://', LIMIT_SAMPLES_PER_SECOND: '10000000', LIMIT_SAMPLES_BURST: '10000000', LIMIT_REQUESTS_PER_TENANT: '1000000000', LIMIT_REQUESTS_PER_IP: '1000000000' });
const rounds: Array<{ label: string; result: Awaited<ReturnType<typeof round>> }> = [];
let compaction: Awaited<ReturnType<typeof compactionRound>> | undefined;
try {
  // The baseline first, so the bounded run works on the larger table.
  rounds.push({ label: 'no bound (one 5m/1h and one 1d transaction)', result: await round(app, container, Number.POSITIVE_INFINITY) });
  rounds.push({ label: `units of ${DEFAULT_UNIT_SAMPLES.toLocaleString('en-US')} samples (default)`, result: await round(app, container, DEFAULT_UNIT_SAMPLES) });
  compaction = await compactionRound(app, container, DEFAULT_COMPACTION_UNIT_SAMPLES);
} finally {
  await app.close();
}
const loadAfter = loadavg()[0] ?? 0;
const samples = SERIES * PER_SERIES;
const ms = (value: number) => fmt(value, 0);
const lines = [
  `Embedded PGlite (memory://). One tenant pushes ${samples.toLocaleString('en-US')} samples of ${SERIES} series, all in one 5-minute window, through POST /api/v1/monitoring/metrics (inject, batches of ${BATCH.toLocaleString('en-US')}). Then one run of the aggregation job (5m, 1h, and the open day at 1d) while two probes fire every ${PROBE_MS} ms: GET /health/live (inject) and a one-row db.withTenant query. A probe's wait counts from when it was due, so time the event loop spent blocked in PGlite counts. Baseline in the same process: the same job with no bound on a unit (a fresh tenant, same burst). Timings are not asserted by any test.`,
  '',
  '| job | ingest samples/s | rollup run ms | transactions | /health/live p99 ms | longest stall ms | SELECT 1 p99 ms | longest stall ms |',
  '|---|---|---|---|---|---|---|---|',
  ...rounds.map(
    ({ label, result }) =>
      `| ${label} | ${fmt(samples / (result.ingestMs / 1000), 0)} | ${ms(result.rollupMs)} | ${result.outcome.units} | ${fmt(percentile(result.liveWaits, 99), 1)} | ${fmt(result.liveWaits.at(-1) ?? 0, 1)} | ${fmt(percentile(result.sessionWaits, 99), 1)} | ${fmt(result.sessionWaits.at(-1) ?? 0, 1)} |`,
  ),
  '',
  compaction === undefined
    ? 'The compaction round did not run.'
    : `Then the compaction job over the day of both bursts (${(2 * samples).toLocaleString('en-US')} samples of ${2 * SERIES} series; asked as if the day had closed), units of ${DEFAULT_COMPACTION_UNIT_SAMPLES.toLocaleString('en-US')} samples (default), same probes: run ${ms(compaction.runMs)} ms in ${compaction.units} transactions; /health/live p99 ${fmt(percentile(compaction.liveWaits, 99), 1)} ms, longest stall ${fmt(compaction.liveWaits.at(-1) ?? 0, 1)} ms; SELECT 1 p99 ${fmt(percentile(compaction.sessionWaits, 99), 1)} ms, longest stall ${fmt(compaction.sessionWaits.at(-1) ?? 0, 1)} ms.`,
  '',
  BEFORE,
  '',
  `Load average (1 min) ${loadBefore.toFixed(2)} before and ${loadAfter.toFixed(2)} after the run (2 cores: above 2 means other work shared them).`,
];
process.stdout.write(`${lines.join('\n')}\n`);
writeSection('Rollup stall on the embedded database (issue 12)', lines.join('\n'));
