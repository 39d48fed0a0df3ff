import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { runCleanup } from '../../src/metrics/cleanup.job.js';
import { ManualClock } from '../../src/platform/clock.js';
import { createScheduler, type JobOutcome, type JobUnit } from '../../src/platform/scheduler.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { failSystemStatements, failTenant } from '../support/tenant-faults.js';

// Every job that spans tenants works tenant by tenant: one tenant's failing unit is logged,
// counted in monitoring_job_unit_failures_total{job} and in the run's outcome, and retried later;
// the other tenants' work completes. Before, a job that ran all tenants in one loop without a
// catch (SLA, incident auto-open, notification delivery...) stopped at the first failure.

/** Short enough that a test moves through cycles, long enough as each run's timeout on a busy machine. */
const INTERVAL_MS = 10_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const business = [newTenant(), newTenant()] as const;
const clock = new ManualClock(Date.now());
let t: TestApp;
let undo: Array<() => void> = [];

beforeAll(async () => {
  const interval = String(INTERVAL_MS);
  t = await createTestApp({
    clock,
    env: {
      METRIC_AGGREGATION_INTERVAL_MS: interval,
      ALERT_EVALUATION_INTERVAL_MS: interval,
      NOTIFICATION_INTERVAL_MS: interval,
      ALERT_ESCALATION_INTERVAL_MS: interval,
      SLA_COMPUTATION_INTERVAL_MS: interval,
      INCIDENT_AUTO_OPEN_INTERVAL_MS: interval,
      INCIDENT_AUTO_OPEN_AFTER_MS: String(MINUTE),
      REPORT_GENERATION_INTERVAL_MS: interval,
      ML_ANALYSIS_INTERVAL_MS: interval,
      BUSINESS_COLLECTOR_INTERVAL_MS: interval,
      BUSINESS_COLLECTOR_TENANTS: business.join(','),
      STREAM_HIGH_FREQUENCY_THRESHOLD: '2',
    },
  });
});
afterEach(() => {
  for (const restore of undo) restore();
  undo = [];
});
afterAll(async () => t.close());

/** Fails a tenant's database work until the end of the test. */
function fault(tenantId: string, when?: (sql: string) => boolean): void {
  undo.push(failTenant(t.container.db, tenantId, when));
}

/** One run of a cluster-wide job: a cycle already claimed (here or by another test run on a shared database) moves the clock on. */
async function runJob(name: string): Promise<JobOutcome> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const outcome = await t.container.scheduler.runNow(name);
    if (outcome.status !== 'skipped-claimed') return outcome;
    clock.advance(INTERVAL_MS);
  }
  throw new Error(`${name}: every cycle was claimed`);
}

async function counted(job: string): Promise<number> {
  const metric = await t.container.registry.getSingleMetric('monitoring_job_unit_failures_total')?.get();
  return metric?.values.find((value) => value.labels['job'] === job)?.value ?? 0;
}

/** Runs a job with `failing` failing and checks the failure was counted, on the registry and in the outcome, and only for that tenant. */
async function runWithFailure(job: string, failing: string, healthy: string): Promise<JobOutcome> {
  const before = await counted(job);
  const outcome = await runJob(job);
  expect(outcome.status).toBe('ran');
  expect(outcome.failedTenants).toContain(failing);
  expect(outcome.failedTenants).not.toContain(healthy);
  expect(outcome.error).toContain(failing);
  expect(await counted(job)).toBeGreaterThan(before);
  return outcome;
}

async function rows<R extends object>(tenantId: string, sql: string, params: unknown[] = []): Promise<R[]> {
  return (await t.container.db.withTenant(tenantId, (tx) => tx.query<R>(sql, [tenantId, ...params]))).rows;
}

async function performanceRows(tenantId: string, at: number, count = 6): Promise<void> {
  await t.container.db.withTenant(tenantId, (tx) =>
    tx.query(
      `INSERT INTO performance_metrics (tenant_id, service_name, endpoint, method, response_time_ms, status_code, "timestamp")
       SELECT $1, 'checkout', '/pay', 'POST', 100 + g, 200, $2::timestamptz + make_interval(secs => g * 600) FROM generate_series(0, $3 - 1) g`,
      [tenantId, new Date(at).toISOString(), count],
    ),
  );
}

describe('the scheduler counts failed units', () => {
  it('a run whose units failed is recorded with their count and tenants in job_runs and on monitoring_job_unit_failures_total{job}', async () => {
    const registry = new Registry();
    const scheduler = createScheduler({ db: t.container.db, clock: t.container.clock, logger: t.container.logger, registry });
    const name = `unit-failures-${randomUUID()}`;
    const [first, second] = [newTenant(), newTenant()];
    const done: string[] = [];
    scheduler.add({
      name,
      intervalMs: DAY,
      async run({ unitFailed }) {
        for (const tenantId of [first, newTenant(), second]) {
          if (tenantId === first || tenantId === second) unitFailed({ tenantId }, new Error('bad data'));
          else done.push(tenantId);
        }
      },
    });
    try {
      const outcome = await scheduler.runNow(name);
      expect(outcome).toMatchObject({ status: 'ran', unitFailures: 2, failedTenants: [first, second] });
      expect(done).toHaveLength(1);
      const metric = await registry.getSingleMetric('monitoring_job_unit_failures_total')?.get();
      expect(metric?.values).toEqual([expect.objectContaining({ labels: { job: name }, value: 2 })]);
      const run = await t.container.db.asSystem((tx) => tx.query<{ last_status: string; last_error: string }>('SELECT last_status, last_error FROM job_runs WHERE job_name = $1', [name]));
      expect(run.rows).toEqual([{ last_status: 'ran', last_error: `2 unit(s) failed and are retried next run; tenants ${first}, ${second}` }]);
    } finally {
      await scheduler.stop();
      await t.container.db.asSystem((tx) => tx.query('DELETE FROM job_runs WHERE job_name = $1', [name])).catch(() => undefined);
    }
  });
});

describe('jobs that span tenants work tenant by tenant', () => {
  it('metric-aggregation: a tenant whose rollups fail keeps its marks; the other is rolled up', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    const at = new Date(clock.nowMs() - 20 * MINUTE).toISOString();
    for (const tenantId of [failing, healthy]) await t.container.ingest.ingest(tenantId, [{ name: 'load', service: 'api', value: 1, timestamp: at }], 'internal');
    fault(failing, (sql) => sql.includes('INSERT INTO metric_rollups'));
    await runWithFailure('metric-aggregation', failing, healthy);
    expect(await rows(healthy, "SELECT 1 FROM metric_rollups WHERE tenant_id = $1 AND resolution = '5m'")).toHaveLength(1);
    expect(await rows(failing, 'SELECT 1 FROM metric_rollups WHERE tenant_id = $1')).toHaveLength(0);
    expect(await rows(failing, 'SELECT 1 FROM metric_rollup_marks WHERE tenant_id = $1')).not.toHaveLength(0);
  });

  it('alert-evaluation: a tenant whose evaluation fails is skipped; the other tenant fires', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    for (const tenantId of [failing, healthy]) {
      const rule = { rule_name: 'backlog', metric_name: 'queue_depth', condition: '>', threshold: 10, severity: 'warning', window_seconds: 300 };
      const created = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts/rules', headers: { ...(await bearer(tenantId)), 'content-type': 'application/json' }, payload: JSON.stringify(rule) });
      expect(created.statusCode, created.body).toBe(201);
      await t.container.ingest.ingest(tenantId, [{ name: 'queue_depth', service: 'orders', value: 50, timestamp: clock.now().toISOString() }], 'internal');
    }
    fault(failing);
    await runWithFailure('alert-evaluation', failing, healthy);
    expect(await rows(healthy, "SELECT 1 FROM alerts WHERE tenant_id = $1 AND status = 'firing'")).toHaveLength(1);
  });

  it('notification-delivery: a row whose tenant fails keeps its lease; the other tenant is delivered', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    const now = clock.now();
    for (const tenantId of [failing, healthy]) {
      await t.container.db.withTenant(tenantId, (tx) =>
        tx.query(
          `INSERT INTO notification_outbox (tenant_id, channel, kind, severity, payload, status, next_attempt_at, created_at, updated_at)
           VALUES ($1, 'webhook', 'group', 'warning', '{}'::jsonb, 'pending', $2, $2, $2)`,
          [tenantId, new Date(now.getTime() - 1_000)],
        ),
      );
    }
    fault(failing);
    await runWithFailure('notification-delivery', failing, healthy);
    expect(await rows(healthy, 'SELECT attempts FROM notification_outbox WHERE tenant_id = $1')).toEqual([{ attempts: 1 }]);
    undo.pop()?.();
    expect(await rows(failing, 'SELECT attempts FROM notification_outbox WHERE tenant_id = $1')).toEqual([{ attempts: 0 }]);
  });

  it('alert-escalation: a tenant whose escalation fails is skipped; the other escalates', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    const ids: string[] = [];
    for (const tenantId of [failing, healthy]) {
      const raised = await t.container.alerts.raise(tenantId, { fingerprint: 'pay', name: 'payment_failures', type: 'anomaly', severity: 'critical', message: 'payment failures spiking', source: 'ml' });
      ids.push(raised?.alert.id ?? '');
      await expect.poll(async () => rows(tenantId, "SELECT 1 FROM alert_escalations WHERE tenant_id = $1 AND status = 'active'")).toHaveLength(1);
    }
    clock.advance(5 * MINUTE);
    fault(failing);
    await runWithFailure('alert-escalation', failing, healthy);
    expect(await rows(healthy, "SELECT 1 FROM alert_events WHERE tenant_id = $1 AND alert_id = $2 AND kind = 'escalated'", [ids[1]])).toHaveLength(1);
  });

  it('incident-auto-open: a tenant whose incident cannot be opened is retried next run; the other gets its incident', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    for (const tenantId of [failing, healthy]) await t.container.alerts.raise(tenantId, { fingerprint: 'down', name: 'checkout_down', type: 'threshold', severity: 'critical', message: 'checkout is down', source: 'rule' });
    clock.advance(2 * MINUTE);
    fault(failing);
    await runWithFailure('incident-auto-open', failing, healthy);
    expect(await rows(healthy, 'SELECT 1 FROM incidents WHERE tenant_id = $1')).toHaveLength(1);
    undo.pop()?.();
    expect(await rows(failing, 'SELECT 1 FROM incidents WHERE tenant_id = $1')).toHaveLength(0);
    await runJob('incident-auto-open');
    expect(await rows(failing, 'SELECT 1 FROM incidents WHERE tenant_id = $1')).toHaveLength(1);
  });

  it('sla-computation: a tenant that fails is computed for the others, and retried by the next day’s run', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    const today = Math.floor(clock.nowMs() / DAY) * DAY;
    for (const tenantId of [failing, healthy]) await performanceRows(tenantId, today - DAY + HOUR);
    const stored = (tenantId: string) => rows(tenantId, 'SELECT 1 FROM sla_metrics WHERE tenant_id = $1 AND period_start = $2', [new Date(today - DAY)]);
    fault(failing);
    await runWithFailure('sla-computation', failing, healthy);
    expect(await stored(healthy)).toHaveLength(1);
    undo.pop()?.();
    expect(await stored(failing)).toHaveLength(0);
    clock.advance(DAY);
    expect((await runJob('sla-computation')).failedTenants ?? []).not.toContain(failing);
    expect(await stored(failing)).toHaveLength(1);
  });

  it('report-generation: a tenant whose scheduled report fails is counted; the other tenant’s report is generated', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    for (const tenantId of [failing, healthy]) {
      await t.container.db.withTenant(tenantId, (tx) =>
        tx.query(
          `INSERT INTO reports (tenant_id, user_id, name, query, format, schedule, enabled, next_run_at, created_at, updated_at)
           VALUES ($1, 'admin', 'alerts', '{"source":"alerts","range":{"last":"24h"}}'::jsonb, 'json', 'daily', true, $2, $2, $2)`,
          [tenantId, new Date(clock.nowMs() - MINUTE)],
        ),
      );
    }
    fault(failing);
    // Due reports of other test runs on a shared database may come first: a few runs drain them.
    const runs = async () => rows(healthy, "SELECT 1 FROM report_history WHERE tenant_id = $1 AND trigger = 'schedule' AND status = 'succeeded'");
    await runWithFailure('report-generation', failing, healthy);
    for (let run = 0; run < 5 && (await runs()).length === 0; run += 1) await runJob('report-generation');
    expect(await runs()).toHaveLength(1);
  });

  it('ml-analysis: a tenant whose analysis fails is skipped; the other tenant’s results are stored', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    for (const tenantId of [failing, healthy]) await performanceRows(tenantId, clock.nowMs() - HOUR);
    fault(failing);
    await runWithFailure('ml-analysis', failing, healthy);
    expect(await rows(healthy, 'SELECT 1 FROM ml_analysis_results WHERE tenant_id = $1')).not.toHaveLength(0);
  });

  it('business-collector: a tenant whose collection fails is skipped; the other tenant’s sources are recorded', async () => {
    const [failing, healthy] = business;
    fault(failing);
    await runWithFailure('business-collector', failing, healthy);
    expect(await rows(healthy, "SELECT source FROM collector_status WHERE tenant_id = $1 AND collector = 'business-collector' ORDER BY source")).not.toHaveLength(0);
  });

  it('stream-processor: a pattern alert whose resolve fails is retried next tick; the other tenant’s is resolved', async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    for (const tenantId of [failing, healthy]) {
      t.container.streaming.processor.recordSamples(tenantId, ['logins', 'logins', 'logins']);
      await expect.poll(async () => rows(tenantId, "SELECT 1 FROM alerts WHERE tenant_id = $1 AND resolved = false AND type = 'pattern'")).toHaveLength(1);
    }
    clock.advance(2 * MINUTE);
    fault(failing);
    await runWithFailure('stream-processor', failing, healthy);
    expect(await rows(healthy, "SELECT 1 FROM alerts WHERE tenant_id = $1 AND resolved = false AND type = 'pattern'")).toHaveLength(0);
    undo.pop()?.();
    await runJob('stream-processor');
    expect(await rows(failing, "SELECT 1 FROM alerts WHERE tenant_id = $1 AND resolved = false AND type = 'pattern'")).toHaveLength(0);
  });

  it('cleanup: a step that fails is reported; the other steps (partitions ahead among them) still run', async () => {
    const reported: JobUnit[] = [];
    undo.push(failSystemStatements(t.container.db, (sql) => sql.includes('cleanup_old_fraud_events')));
    const outcome = await runCleanup({ db: t.container.db, logger: t.container.logger, config: t.container.config, onUnitFailure: (unit) => reported.push(unit) }, clock.now());
    expect(outcome.failedSteps).toEqual(['fraud_events']);
    expect(reported).toEqual([{ step: 'fraud_events' }]);
    const partitions = await t.container.db.asSystem((tx) =>
      tx.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'metric_head'"),
    );
    expect(partitions.rows[0]?.n ?? 0).toBeGreaterThan(t.container.config.METRICS_PARTITIONS_AHEAD_DAYS);
  });
});
