import { randomUUID } from 'node:crypto';
import type { Container } from '../src/container.js';
import { BENCH_DATABASE_URL, startApp } from './metrics-support.js';
import { percentile, writeSection } from './results.js';

/**
 * One alert evaluation cycle of 1,000 rules over 1,000 series (50 metrics x 20 series, each
 * rule watching one metric, so 20,000 rule-series pairs, 5 samples per series in a 5-minute
 * window), against the baseline: the raw SQL that reads every rule's window per series in one
 * statement (no state machine, no alert writes). Goal: < 1 s on PostgreSQL.
 */
const METRICS = 50;
const SERIES_PER_METRIC = 20;
const RULES = 1_000;
const SAMPLES_PER_SERIES = 5;
const CYCLES = 7;
const AGGREGATIONS = ['avg', 'max', 'last', 'min', 'rate', 'count', 'sum'] as const;

async function seed(container: Container, tenantId: string): Promise<void> {
  const now = Date.now();
  const samples = [];
  for (let metric = 0; metric < METRICS; metric += 1) {
    for (let series = 0; series < SERIES_PER_METRIC; series += 1) {
      for (let sample = 0; sample < SAMPLES_PER_SERIES; sample += 1) {
        // Deterministic values 0..99; a few series sit above the 95 thresholds.
        const value = (metric * 37 + series * 11 + sample * 3) % 100;
        samples.push({ name: `bench_metric_${metric}`, service: `svc-${series % 4}`, value, labels: { node: `n${series}` }, timestamp: new Date(now - (sample * 50 + 5) * 1000).toISOString() });
      }
    }
  }
  for (let index = 0; index < samples.length; index += 1_000) await container.ingest.ingest(tenantId, samples.slice(index, index + 1_000), 'internal');
  await container.alerting.seedDefaults(tenantId);
  await container.db.withTenant(tenantId, async (tx) => {
    await tx.query('DELETE FROM alert_rules WHERE tenant_id = $1 AND is_default = true', [tenantId]);
    const rules = Array.from({ length: RULES }, (_, index) => ({
      name: `bench_rule_${index}`,
      metric: `bench_metric_${index % METRICS}`,
      aggregation: AGGREGATIONS[index % AGGREGATIONS.length] ?? 'avg',
      threshold: index % AGGREGATIONS.length === 5 ? 10 : 95,
    }));
    await tx.query(
      `INSERT INTO alert_rules (tenant_id, rule_name, metric_name, aggregation, window_seconds, condition, threshold, severity, duration)
       SELECT $1, r.name, r.metric, r.aggregation, 300, '>', r.threshold, 'warning', 0 FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[]) AS r(name, metric, aggregation, threshold)`,
      [tenantId, rules.map((rule) => rule.name), rules.map((rule) => rule.metric), rules.map((rule) => rule.aggregation), rules.map((rule) => rule.threshold)],
    );
  });
}

/** The baseline: the plain SQL that reads every rule's window (aggregates per rule and series), nothing else. */
async function rawWindows(container: Container, tenantId: string): Promise<number> {
  const now = new Date();
  const result = await container.db.withTenant(tenantId, (tx) =>
    tx.query(
      `SELECT r.id, m.series_key, count(*) AS n, avg(m.value) AS avg, min(m.value) AS min, max(m.value) AS max, sum(m.value) AS sum,
         (array_agg(m.value ORDER BY m."timestamp" DESC))[1] AS last, (array_agg(m.value ORDER BY m."timestamp"))[1] AS first,
         extract(epoch FROM max(m."timestamp") - min(m."timestamp")) AS span
       FROM alert_rules r JOIN metrics m ON m.tenant_id = $1 AND m.metric_name = r.metric_name
         AND m."timestamp" > $2::timestamptz - make_interval(secs => r.window_seconds) AND m."timestamp" <= $2::timestamptz AND m."timestamp" > $3::timestamptz
       WHERE r.tenant_id = $1 AND r.enabled = true
       GROUP BY r.id, m.series_key`,
      [tenantId, now, new Date(now.getTime() - 300_000)],
    ),
  );
  return result.rowCount;
}

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
const p95 = (values: number[]) => percentile([...values].sort((a, b) => a - b), 95);
const ms = (value: number) => value.toFixed(1);

async function measure(label: string, env: Record<string, string>): Promise<string> {
  const { container } = await startApp(env);
  try {
    const tenantId = randomUUID();
    const seedStarted = performance.now();
    await seed(container, tenantId);
    process.stderr.write(`${label}: seeded in ${ms(performance.now() - seedStarted)} ms\n`);
    const baseline: number[] = [];
    const cycles: number[] = [];
    let pairs = 0;
    // First cycle opens the alerts (transitions); the measured cycles are the steady state.
    const firstStarted = performance.now();
    const first = await container.alerting.evaluator.evaluateTenant(tenantId);
    const firstMs = performance.now() - firstStarted;
    process.stderr.write(`${label}: first cycle ${ms(firstMs)} ms, ${first.changes.length} alerts opened\n`);
    for (let cycle = 0; cycle < CYCLES; cycle += 1) {
      const rawStarted = performance.now();
      pairs = await rawWindows(container, tenantId);
      baseline.push(performance.now() - rawStarted);
      const started = performance.now();
      await container.alerting.evaluator.evaluateTenant(tenantId);
      cycles.push(performance.now() - started);
    }
    const firing = await container.db.withTenant(tenantId, (tx) => tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM alerts WHERE tenant_id = $1 AND status = 'firing'`, [tenantId]));
    const row = `| ${label} | ${first.rules} | ${METRICS * SERIES_PER_METRIC} | ${pairs.toLocaleString('en-US')} | ${firing.rows[0]?.n ?? 0} | ${ms(median(baseline))} | ${ms(median(cycles))} (p95 ${ms(p95(cycles))}) | ${ms(firstMs)} | ${(median(cycles) / median(baseline)).toFixed(2)} |`;
    process.stdout.write(`${row}\n`);
    return row;
  } finally {
    await container.close();
  }
}

const only = process.env['BENCH_DB'];
const rows: string[] = [];
if (only === undefined || only.toLowerCase() === 'pglite') rows.push(await measure('PGlite', { DATA_DIR: 'memory://' }));
if (only === undefined || only.toLowerCase() === 'postgresql') rows.push(await measure('PostgreSQL 15', { DATABASE_URL: BENCH_DATABASE_URL, DATA_DIR: '/tmp/monitoring-bench-alerts' }));

writeSection(
  'Alert evaluation (bench/alerts.bench.ts)',
  `One evaluation cycle of ${RULES.toLocaleString('en-US')} rules over ${(METRICS * SERIES_PER_METRIC).toLocaleString('en-US')} series (${METRICS} metrics x ${SERIES_PER_METRIC} series, each rule on one metric: every rule-series pair aggregated over a 5-minute window of ${SAMPLES_PER_SERIES} samples), median of ${CYCLES} steady-state cycles. Baseline: the raw SQL that reads the same windows (one statement, the aggregates of every rule's window per series, no state machine, no writes). The evaluator reads each distinct window (metric, service filter, length) once and shares it between the rules on it, then runs the state machine and writes only alerts that changed. Goal: a cycle under 1 s on PostgreSQL.

| database | rules | series | rule-series pairs | firing alerts | baseline (ms) | cycle (ms) | first cycle, opening the alerts (ms) | cycle / baseline |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}`,
);
