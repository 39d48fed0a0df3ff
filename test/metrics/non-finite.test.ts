import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAggregation } from '../../src/metrics/aggregation.job.js';
import { encodeWriteRequest } from '../../src/metrics/remote-write/codec.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

// Two samples of 1e308 are finite values that ingest accepts, but their float8 sum overflows:
// PostgreSQL raised `value out of range: overflow`, which stopped every tenant's rollups and
// answered 500 wherever a sum or avg read them. Sums past the double range are now +Inf, and JSON
// answers write such a number as null, spelled out in `non_finite` (docs/metrics.md).

let t: TestApp;
beforeAll(async () => {
  // Ranges above 1 h are answered from rollups here, so both paths are reachable on small data.
  t = await createTestApp({ env: { METRICS_RAW_QUERY_MAX_RANGE_MS: '3600000' } });
});
afterAll(async () => t.close());

const MINUTE = 60_000;
const HUGE = 1e308;

async function pushApi(tenantId: string, metrics: Array<{ name: string; value: number; at: number; service?: string; labels?: Record<string, string> }>): Promise<void> {
  const payload = { metrics: metrics.map((m) => ({ name: m.name, service: m.service ?? 'api', value: m.value, labels: m.labels, timestamp: new Date(m.at).toISOString() })) };
  // JSON carries 1e308 as a plain number literal.
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: { ...(await bearer(tenantId, ['monitoring'])), 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  expect(response.statusCode, response.body).toBe(202);
}

async function remoteWrite(tenantId: string, metrics: Array<{ name: string; value: number; at: number; labels: Record<string, string> }>): Promise<void> {
  const body = encodeWriteRequest({
    timeseries: metrics.map((m) => ({ labels: [{ name: '__name__', value: m.name }, { name: 'job', value: 'api' }, ...Object.entries(m.labels).map(([name, value]) => ({ name, value }))], samples: [{ value: m.value, timestamp: m.at }] })),
  });
  const headers = { ...(await bearer(tenantId, ['monitoring'])), 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/write', headers, payload: Buffer.from(body) });
  expect(response.statusCode, response.body).toBe(204);
}

async function request(tenantId: string, method: 'GET' | 'POST', url: string, payload?: unknown) {
  return t.app.inject({ method, url, headers: { ...(await bearer(tenantId)), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, payload: payload === undefined ? undefined : JSON.stringify(payload) });
}

async function rollupsOf(tenantId: string, resolution: string) {
  const result = await t.container.db.withTenant(tenantId, (tx) =>
    tx.query<{ metric_name: string; count: string; sum: number; avg: number; min: number; max: number }>('SELECT metric_name, count, sum, avg, min, max FROM metric_rollups WHERE tenant_id = $1 AND resolution = $2 ORDER BY metric_name', [tenantId, resolution]),
  );
  return result.rows.map((row) => ({ ...row, count: Number(row.count) }));
}

type Timeserie = { target: string; datapoints: Array<[number | null, number]>; non_finite?: Array<[string, number]> };

async function grafana(tenantId: string, name: string, aggregation: string, rangeMs: number, now: number): Promise<Timeserie[]> {
  const response = await request(tenantId, 'POST', '/grafana/query', {
    range: { from: new Date(now - rangeMs).toISOString(), to: new Date(now).toISOString() },
    intervalMs: 3_600_000,
    targets: [{ target: name, refId: 'A', payload: { aggregation } }],
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Timeserie[]>();
}

describe('finite samples whose sum leaves the double range', () => {
  it('two samples of 1e308 no longer stop rollups: both tenants get theirs, the sum is +Inf and the avg 1e308', async () => {
    const huge = newTenant();
    const ordinary = newTenant();
    const now = Date.now();
    const at = now - 20 * MINUTE;
    await pushApi(huge, [
      { name: 'huge_total', value: HUGE, at },
      { name: 'huge_total', value: HUGE, at: at + 1_000 },
    ]);
    await pushApi(ordinary, [
      { name: 'requests_total', value: 3, at },
      { name: 'requests_total', value: 4, at: at + 1_000 },
    ]);

    const outcome = await runAggregation({ db: t.container.db, logger: t.container.logger, maxMarks: 100_000 }, new Date(now));
    expect(outcome.failedTenants).not.toContain(huge);
    expect(outcome.failedTenants).not.toContain(ordinary);
    for (const resolution of ['5m', '1h', '1d']) {
      expect(await rollupsOf(huge, resolution)).toEqual([{ metric_name: 'huge_total', count: 2, sum: Number.POSITIVE_INFINITY, avg: HUGE, min: HUGE, max: HUGE }]);
      expect(await rollupsOf(ordinary, resolution)).toEqual([{ metric_name: 'requests_total', count: 2, sum: 7, avg: 3.5, min: 3, max: 4 }]);
    }
  });

  it('Grafana answers 200 over raw samples and rollups: a sum past the range is a null datapoint spelled "+Inf" in non_finite', async () => {
    const tenant = newTenant();
    const now = Date.now();
    const at = now - 20 * MINUTE;
    await pushApi(tenant, [
      { name: 'huge_total', value: HUGE, at },
      { name: 'huge_total', value: HUGE, at: at + 1_000 },
      { name: 'huge_total', value: -HUGE, at: at + 2_000, labels: { side: 'negative' } },
      { name: 'huge_total', value: -HUGE, at: at + 3_000, labels: { side: 'negative' } },
    ]);
    await runAggregation({ db: t.container.db, logger: t.container.logger, maxMarks: 100_000 }, new Date(now));

    // 30 minutes: raw samples; 3 hours: the 1h rollups.
    for (const rangeMs of [30 * MINUTE, 3 * 3_600_000]) {
      const sums = await grafana(tenant, 'huge_total', 'sum', rangeMs, now);
      expect(sums).toHaveLength(2);
      const positive = sums.find((series) => !series.target.includes('negative'));
      const negative = sums.find((series) => series.target.includes('negative'));
      expect(positive?.datapoints.map(([value]) => value)).toEqual([null]);
      expect(positive?.non_finite).toEqual([['+Inf', positive?.datapoints[0]?.[1]]]);
      expect(negative?.non_finite?.map(([spelling]) => spelling)).toEqual(['-Inf']);

      const means = await grafana(tenant, 'huge_total', 'avg', rangeMs, now);
      expect(means.map((series) => series.datapoints.map(([value]) => value)).sort()).toEqual([[-HUGE], [HUGE]]);
      expect(means.every((series) => series.non_finite === undefined)).toBe(true);
    }
  });

  it('dashboards, alerts and reports over those samples answer 2xx, with the +Inf spelled out', async () => {
    const tenant = newTenant();
    const now = Date.now();
    const at = now - 10 * MINUTE;
    // A pushed counter is an increment of at most 2^53; remote write carries running totals as
    // they are: two series at 1e308 grew by 2e308 together (the dashboard's figure), and one of
    // them holds two samples whose sum (a rule's) is past the double range.
    await remoteWrite(tenant, [
      { name: 'tickets_sold_total', value: HUGE, at, labels: { venue_id: 'a' } },
      { name: 'tickets_sold_total', value: HUGE, at: at + 1_000, labels: { venue_id: 'a' } },
      { name: 'tickets_sold_total', value: HUGE, at: at + 2_000, labels: { venue_id: 'b' } },
    ]);

    const business = await request(tenant, 'GET', '/api/v1/monitoring/dashboard/business');
    expect(business.statusCode, business.body).toBe(200);
    expect(business.json<{ metrics: Record<string, unknown> }>().metrics['tickets_sold']).toMatchObject({ value: null, samples: 3, non_finite: { value: '+Inf' } });

    // A rule over the sum evaluates (the tenant's evaluation failed on the overflow) and fires with an infinite value.
    const rule = await request(tenant, 'POST', '/api/v1/monitoring/alerts/rules', { rule_name: 'sold_out', metric_name: 'tickets_sold_total', condition: '>', threshold: 1e300, severity: 'warning', aggregation: 'sum', window_seconds: 3_600 });
    expect(rule.statusCode, rule.body).toBe(201);
    await t.container.alerting.evaluator.evaluateTenant(tenant);
    const alerts = await request(tenant, 'GET', '/api/v1/monitoring/alerts');
    expect(alerts.statusCode, alerts.body).toBe(200);
    const fired = alerts.json<{ data: Array<{ labels: Record<string, string> }> }>().data;
    expect(fired.find((alert) => alert.labels['venue_id'] === 'a')).toEqual(expect.objectContaining({ name: 'sold_out', status: 'firing', value: null, non_finite: { value: '+Inf' } }));

    for (const format of ['json', 'csv', 'pdf'] as const) {
      const created = await request(tenant, 'POST', '/api/v1/monitoring/reports', { name: `huge ${format}`, query: { source: 'metrics', metric_name: 'tickets_sold_total', group_by: 'day', range: { last: '24h' } }, format });
      expect(created.statusCode, created.body).toBe(201);
      const generated = await request(tenant, 'POST', `/api/v1/monitoring/reports/${created.json<{ id: string }>().id}/generate`, {});
      expect(generated.statusCode, generated.body).toBe(201);
      const history = generated.json<{ status: string; file_url: string }>();
      expect(history.status, generated.body).toBe('succeeded');
      const file = await request(tenant, 'GET', history.file_url);
      expect(file.statusCode).toBe(200);
      if (format === 'json') {
        expect(file.json<{ rows: unknown[] }>().rows).toEqual([expect.objectContaining({ samples: 3, avg: HUGE, sum: null, non_finite: { sum: '+Inf' } })]);
      } else if (format === 'pdf') {
        expect(file.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');
      } else {
        const [header, row] = file.body.trimEnd().split('\r\n');
        expect(header).toBe('bucket,samples,avg,min,max,sum');
        expect(row?.split(',').slice(1)).toEqual(['3', '1e+308', '1e+308', '1e+308', '+Inf']);
      }
    }
  });

  it('forecasts over those samples never answer 5xx: huge values are forecast, infinite buckets are left out', async () => {
    const tenant = newTenant();
    const now = Date.now();
    // Two label sets each minute for 12 minutes: their avg is 1e308 (finite), their sum +Inf.
    const samples = Array.from({ length: 12 }, (_, minute) => now - (minute + 1) * MINUTE).flatMap((at) => [
      { name: 'queue_bytes', value: HUGE, at, labels: { queue: 'a' } },
      { name: 'queue_bytes', value: HUGE * 0.9, at, labels: { queue: 'b' } },
    ]);
    await pushApi(tenant, samples);

    const byAvg = await request(tenant, 'GET', '/api/v1/analytics/forecast?metric_name=queue_bytes&horizon_minutes=5&step_seconds=60&history_hours=1&aggregation=avg&method=linear-trend');
    expect(byAvg.statusCode, byAvg.body).toBe(200);
    const forecast = byAvg.json<{ points: Array<{ value: number | null; lower: number | null; upper: number | null; non_finite?: Record<string, string> }>; residual_std: number | null }>();
    expect(forecast.points).toHaveLength(5);
    for (const point of forecast.points) {
      expect(point.value).toBeCloseTo(0.95e308, -300);
      // An interval bound past the double range is null and flagged, never a raw Infinity.
      if (point.upper === null) expect(point.non_finite).toMatchObject({ upper: '+Inf' });
    }

    const bySum = await request(tenant, 'GET', '/api/v1/analytics/forecast?metric_name=queue_bytes&horizon_minutes=5&step_seconds=60&history_hours=1&aggregation=sum');
    expect(bySum.statusCode, bySum.body).toBe(422);
    expect(bySum.json<{ error: { code: string; details: Record<string, unknown> } }>().error).toMatchObject({ code: 'INSUFFICIENT_HISTORY', details: { points: 0, skipped_points: 12 } });

    await pushApi(tenant, [
      { name: 'http_request_count', value: HUGE, at: now - MINUTE, service: 'checkout' },
      { name: 'http_request_count', value: HUGE, at: now - MINUTE + 1_000, service: 'checkout' },
      { name: 'http_response_time_ms', value: HUGE, at: now - MINUTE, service: 'checkout' },
    ]);
    const risk = await request(tenant, 'GET', '/api/v1/analytics/failure-risk?service_name=checkout');
    expect(risk.statusCode, risk.body).toBe(200);
    expect(risk.json<{ factors: Array<{ factor: string; value: number | null }> }>().factors).toEqual(expect.arrayContaining([expect.objectContaining({ factor: 'error_rate', value: null }), expect.objectContaining({ factor: 'latency', value: HUGE })]));

    await t.container.ml.anomalies.idle();
    const anomalies = await request(tenant, 'GET', '/api/v1/analytics/anomalies');
    expect(anomalies.statusCode, anomalies.body).toBeLessThan(500);
  });
});
