import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { startFakeService, type FakeService } from '../support/fake-services.js';
import { nextAnalysisCycle } from '../support/ml-analysis.js';

/** Two minutes into a fresh job cycle (set before each run). */
let NOW = 0;
const BUCKET = 300_000;
const MIN = 60_000;
const BUCKETS = 40;
/** Bucket starts, oldest first; the newest is the current bucket (12:00). */
const bucketStart = (k: number) => Math.floor(NOW / BUCKET) * BUCKET - (BUCKETS - 1 - k) * BUCKET;

let t: TestApp;
let events: FakeService;
const clock = new ManualClock();
beforeAll(async () => {
  events = await startFakeService();
  events.on('GET', '/api/v1/events/*', (request) => {
    const id = request.pathname.split('/').pop() ?? '';
    return { json: { id, venue_id: 'venue-1', name: `Concert ${id}`, capacity: 100, on_sale_at: new Date(clock.nowMs() - 2 * 3_600_000).toISOString(), starts_at: new Date(clock.nowMs() + 5 * 86_400_000).toISOString(), status: 'on_sale' } };
  });
  // One file for every run of the job: files run in parallel and the job claims one cycle cluster-wide.
  t = await createTestApp({ clock, env: { EVENT_SERVICE_URL: events.url, ANOMALY_DETECTION_ENABLED: 'false' } });
});
afterAll(async () => {
  await t.close();
  await events.close();
});

/** Cumulative payment counters, one sample per bucket; `failuresIn(k)` of 100 attempts fail in bucket k. */
async function seedPayments(tenant: string, provider: string, failuresIn: (k: number) => number) {
  let failures = 0;
  let successes = 0;
  const samples = [];
  for (let k = -1; k < BUCKETS; k++) {
    if (k >= 0) {
      failures += failuresIn(k);
      successes += 100 - failuresIn(k);
    }
    const timestamp = new Date(bucketStart(Math.max(k, 0)) + (k < 0 ? 0 : 60_000)).toISOString();
    samples.push({ name: 'payment_failure_total', service: 'payment', value: failures, labels: { provider }, timestamp });
    samples.push({ name: 'payment_success_total', service: 'payment', value: successes, labels: { provider }, timestamp });
  }
  // Running totals, as remote write or OTLP send them (the push API would take these values as increments).
  await t.container.ingest.ingest(tenant, samples, 'internal', { cumulative: true });
}

async function seedLatency(tenant: string, service: string, msIn: (k: number, i: number) => number) {
  const rows = Array.from({ length: BUCKETS }, (_, k) => Array.from({ length: 5 }, (_, i) => ({ ms: msIn(k, i), at: new Date(bucketStart(k) + 30_000 + i * 40_000) }))).flat();
  await t.container.db.withTenant(tenant, (tx) =>
    tx.query(
      `INSERT INTO performance_metrics (tenant_id, service_name, endpoint, method, response_time_ms, status_code, "timestamp")
       SELECT $1, $2, '/x', 'GET', ms, 200, at FROM unnest($3::float8[], $4::timestamptz[]) AS x(ms, at)`,
      [tenant, service, rows.map((r) => r.ms), rows.map((r) => r.at)],
    ),
  );
}

const wobble = (k: number, i = 0) => ((k * 7 + i * 3) % 5) - 2;

describe('ml-analysis job', () => {
  it('stores every subject and alerts on a payment failure-rate jump and a latency jump, not on steady ones', async () => {
    const tenant = newTenant();
    NOW = await nextAnalysisCycle(t, clock, 120_000);
    await seedPayments(tenant, 'stripe', (k) => (k === BUCKETS - 1 ? 30 : 3 + (wobble(k) > 0 ? 1 : 0)));
    await seedPayments(tenant, 'paypal', (k) => 3 + (wobble(k) > 0 ? 1 : 0));
    await seedLatency(tenant, 'checkout', (k, i) => (k === BUCKETS - 1 ? 900 : 110 + 4 * wobble(k, i)));
    await seedLatency(tenant, 'web', (k, i) => 80 + 3 * wobble(k, i));

    const outcome = await t.container.scheduler.runNow('ml-analysis');
    expect(outcome).toMatchObject({ status: 'ran' });

    const stored = await t.container.db.withTenant(tenant, (tx) =>
      tx.query<{ kind: string; subject: string; value: number; score: number; anomalous: boolean; bucket_start: Date }>(
        'SELECT kind, subject, value, score, anomalous, bucket_start FROM ml_analysis_results WHERE tenant_id = $1 ORDER BY kind, subject',
        [tenant],
      ),
    );
    const bySubject = Object.fromEntries(stored.rows.map((row) => [`${row.kind}:${row.subject}`, row]));
    expect(Object.keys(bySubject).sort()).toEqual(['latency_p95:checkout', 'latency_p95:web', 'payment_failure_rate:paypal', 'payment_failure_rate:stripe']);
    expect(bySubject['payment_failure_rate:stripe']).toMatchObject({ anomalous: true, value: 0.3 });
    expect(new Date(bySubject['payment_failure_rate:stripe']?.bucket_start ?? 0).getTime()).toBe(bucketStart(BUCKETS - 1));
    expect(bySubject['payment_failure_rate:paypal']?.anomalous).toBe(false);
    expect(bySubject['latency_p95:checkout']?.anomalous).toBe(true);
    expect(bySubject['latency_p95:checkout']?.value).toBe(900);
    expect(bySubject['latency_p95:web']?.anomalous).toBe(false);

    const alerts = await t.container.db.withTenant(tenant, (tx) =>
      tx.query<{ fingerprint: string; type: string }>(`SELECT fingerprint, type FROM alerts WHERE tenant_id = $1 ORDER BY fingerprint`, [tenant]),
    );
    expect(alerts.rows).toEqual([
      { fingerprint: 'ml-analysis:latency_p95:checkout', type: 'anomaly' },
      { fingerprint: 'ml-analysis:payment_failure_rate:stripe', type: 'anomaly' },
    ]);

    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/ml-analysis?anomalous=true', headers: await bearer(tenant, ['viewer']) });
    expect(listed.statusCode).toBe(200);
    expect(listed.json<{ data: Array<{ kind: string; subject: string; run_at: string }> }>().data.map((row) => [row.kind, row.subject, row.run_at])).toEqual([
      ['latency_p95', 'checkout', new Date(NOW).toISOString()],
      ['payment_failure_rate', 'stripe', new Date(NOW).toISOString()],
    ]);
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/ml-analysis?kind=fraud', headers: await bearer(tenant, ['viewer']) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
  });

  it('series too short to have a baseline are stored without a score and do not alert', async () => {
    const tenant = newTenant();
    // The job runs once per cycle: move to the next one.
    await nextAnalysisCycle(t, clock, 120_000);
    const current = Math.floor(clock.nowMs() / BUCKET) * BUCKET;
    const at = (i: number) => new Date(current - (1 - i) * BUCKET + 60_000).toISOString();
    await t.container.ingest.ingest(
      tenant,
      [0, 1].flatMap((i) => [
        { name: 'payment_failure_total', service: 'payment', value: i * 50, timestamp: at(i) },
        { name: 'payment_success_total', service: 'payment', value: i * 50, timestamp: at(i) },
      ]),
      'internal',
    );
    expect(await t.container.scheduler.runNow('ml-analysis')).toMatchObject({ status: 'ran' });
    const stored = await t.container.db.withTenant(tenant, (tx) => tx.query<{ subject: string; value: number; score: number | null; anomalous: boolean }>('SELECT subject, value, score, anomalous FROM ml_analysis_results WHERE tenant_id = $1', [tenant]));
    expect(stored.rows).toEqual([{ subject: 'all', value: 0.5, score: null, anomalous: false }]);
    const alerts = await t.container.db.withTenant(tenant, (tx) => tx.query('SELECT 1 FROM alerts WHERE tenant_id = $1', [tenant]));
    expect(alerts.rows).toHaveLength(0);
  });
});

describe('ml-analysis sellout refresh', () => {
  it("stores each event's refreshed baseline sellout prediction", async () => {
    const tenant = newTenant();
    await nextAnalysisCycle(t, clock, 0);
    for (let k = 0; k < 12; k++) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/sales/track',
        headers: await bearer(tenant, ['admin']),
        payload: { sale_id: `s${k}`, event_id: 'ev-1', tickets: 2, amount_cents: 5000, currency: 'EUR', sold_at: new Date(clock.nowMs() - (55 - 5 * k) * MIN).toISOString() },
      });
      expect(response.statusCode).toBe(201);
    }
    expect(await t.container.scheduler.runNow('ml-analysis')).toMatchObject({ status: 'ran' });
    const stored = await t.container.db.withTenant(tenant, (tx) =>
      tx.query<{ kind: string; subject: string; value: number; details: { remaining: number; prediction: { method: string } } }>('SELECT kind, subject, value, details FROM ml_analysis_results WHERE tenant_id = $1', [tenant]),
    );
    expect(stored.rows).toHaveLength(1);
    const [row] = stored.rows;
    expect(row).toMatchObject({ kind: 'sellout', subject: 'ev-1', details: { remaining: 76, prediction: { method: 'recent-rate' } } });
    expect(row?.value).toBeCloseTo(76 / (24 / (55 / 60)), 6);
  });
});
