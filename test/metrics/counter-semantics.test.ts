import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../../src/metrics/remote-write/codec.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

// Issue 17, point 1: one data model, Prometheus's. The same counter (running totals 5, 15, 30, a
// minute apart) comes in three ways: the push API's increments (5, 10, 15), remote write's and
// OTLP's running totals. Every output reads the same answer for each: the Prometheus API (raw
// values, increase), the tenant's export, Grafana's JSON data source, an alert rule's rate, and
// for the platform tenant /metrics.
const platform = newTenant();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { SYSTEM_TENANT_ID: platform } });
});
afterAll(async () => t.close());

const MINUTE = 60_000;
const t0 = Math.floor((Date.now() - 5 * MINUTE) / 1000) * 1000;
const at = (minutes: number) => t0 + minutes * MINUTE;
const TOTALS = [5, 15, 30];
const INCREMENTS = [5, 10, 15];

async function pushJson(tenant: string, metrics: Array<Record<string, unknown>>): Promise<number> {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: await bearer(tenant, ['monitoring']), payload: { metrics } });
  return response.statusCode;
}

async function remoteWrite(tenant: string, name: string, labels: Record<string, string>, totals: number[]): Promise<void> {
  const body = encodeWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: name }, { name: 'job', value: 'shop' }, ...Object.entries(labels).map(([key, value]) => ({ name: key, value }))], samples: totals.map((value, index) => ({ value, timestamp: at(index) })) }],
    metadata: [{ type: 'COUNTER', metric_family_name: name, help: 'orders', unit: '' }],
  });
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/write',
    headers: { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
    payload: Buffer.from(body),
  });
  expect(response.statusCode, response.body).toBe(204);
}

async function otlp(tenant: string, name: string, totals: number[]): Promise<void> {
  const dataPoints = totals.map((value, index) => ({ asDouble: value, startTimeUnixNano: `${at(-1)}000000`, timeUnixNano: `${at(index)}000000`, attributes: [{ key: 'region', value: { stringValue: 'eu' } }] }));
  const payload = { resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] }, scopeMetrics: [{ metrics: [{ name, sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints } }] }] }] };
  const response = await t.app.inject({ method: 'POST', url: '/v1/metrics', headers: await bearer(tenant, ['monitoring']), payload });
  expect(response.statusCode, response.body).toBe(200);
}

async function promql(tenant: string, query: string, time: number): Promise<number[]> {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/query?query=${encodeURIComponent(query)}&time=${time / 1000}`, headers: await bearer(tenant, ['viewer']) });
  const body = response.json<{ status: string; data: { result: Array<{ value: [number, string] }> } }>();
  expect(body.status, response.body).toBe('success');
  return body.data.result.map((entry) => Number(entry.value[1]));
}

async function grafanaValues(tenant: string, name: string): Promise<number[]> {
  const payload = { range: { from: new Date(at(-1)).toISOString(), to: new Date(at(3)).toISOString() }, intervalMs: 1000, maxDataPoints: 1000, targets: [{ target: name, refId: 'A' }] };
  const response = await t.app.inject({ method: 'POST', url: '/grafana/query', headers: await bearer(tenant, ['viewer']), payload });
  expect(response.statusCode, response.body).toBe(200);
  const series = response.json<Array<{ datapoints: Array<[number, number]> }>>();
  return series.flatMap((entry) => entry.datapoints.map(([value]) => value));
}

describe('a counter reads the same through every output, whichever way it came in (issue 17, point 1)', () => {
  const tenant = newTenant();
  const names = { json: 'orders_total', remoteWrite: 'orders_rw_total', otlp: 'orders_otlp_total' };

  beforeAll(async () => {
    // The push API: increments, typed. The second batch sends its two samples newest first:
    // increments add up in time order within a batch.
    const sample = (index: number) => ({ name: names.json, service: 'shop', type: 'counter', value: INCREMENTS[index], labels: { region: 'eu' }, timestamp: at(index) });
    expect(await pushJson(tenant, [sample(0)])).toBe(202);
    expect(await pushJson(tenant, [sample(2), sample(1)])).toBe(202);
    await remoteWrite(tenant, names.remoteWrite, { region: 'eu' }, TOTALS);
    await otlp(tenant, 'orders_otlp', TOTALS);
  });

  it('the Prometheus API reads running totals and the same increase() for the three', async () => {
    for (const name of Object.values(names)) {
      expect(await promql(tenant, name, at(2)), name).toEqual([30]);
      expect(await promql(tenant, name, at(1)), name).toEqual([15]);
    }
    const increases = await Promise.all(Object.values(names).map((name) => promql(tenant, `increase(${name}[3m])`, at(2))));
    expect(increases[0]?.[0]).toBeGreaterThan(25);
    expect(increases[1]).toEqual(increases[0]);
    expect(increases[2]).toEqual(increases[0]);
  });

  it("Grafana's JSON data source reads the same running totals", async () => {
    for (const name of Object.values(names)) expect(await grafanaValues(tenant, name), name).toEqual(TOTALS);
  });

  it("the tenant's export shows the running total, typed counter where the type is known", async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics/export', headers: await bearer(tenant, ['viewer']) });
    expect(response.body).toContain(`# TYPE ${names.json} counter\n${names.json}{region="eu",service="shop"} 30 ${at(2)}`);
    expect(response.body).toContain(`# TYPE ${names.remoteWrite} counter\n${names.remoteWrite}{region="eu",service="shop"} 30 ${at(2)}`);
    expect(response.body).toMatch(new RegExp(`\\n${names.otlp}\\{[^}]*\\} 30 ${at(2)}`));
  });

  it("an alert rule's rate over each is the same, and fires", async () => {
    for (const name of Object.values(names)) {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/monitoring/alerts/rules',
        headers: await bearer(tenant),
        payload: { rule_name: `fast_${name}`, metric_name: name, aggregation: 'rate', condition: '>', threshold: 0.1, severity: 'warning', window_seconds: 600 },
      });
      expect(created.statusCode, created.body).toBe(201);
    }
    await t.container.alerting.evaluator.evaluateTenant(tenant);
    const alerts = await t.container.db.withTenant(tenant, (tx) => tx.query<{ name: string; value: number }>('SELECT name, value FROM alerts WHERE tenant_id = $1 ORDER BY name', [tenant]));
    // (30 - 5) / 120 s, for each.
    expect(alerts.rows.map((row) => [row.name, row.value])).toEqual(Object.values(names).sort().map((name) => [`fast_${name}`, 25 / 120]));
  });
});

describe('pushed counters are increments: refused when they cannot be, added up exactly under concurrency', () => {
  it('a negative increment, an increment above 2^53, or a catalogue counter pushed as a gauge is refused whole, nothing stored', async () => {
    const tenant = newTenant();
    const good = { name: 'jobs_done_total', service: 'worker', type: 'counter', value: 1 };
    for (const bad of [{ ...good, value: -1 }, { ...good, value: 2 ** 60 }, { name: 'tickets_sold_total', service: 'ticket', type: 'gauge', value: 3 }]) {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: await bearer(tenant, ['monitoring']), payload: { metrics: [good, bad] } });
      expect(response.statusCode).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
    }
    expect(await promql(tenant, 'jobs_done_total', Date.now())).toEqual([]);
  });

  it('20 concurrent pushes of 1 to one series store the totals 1 to 20, each once', async () => {
    const tenant = newTenant();
    const statuses = await Promise.all(Array.from({ length: 20 }, () => pushJson(tenant, [{ name: 'jobs_done_total', service: 'worker', type: 'counter', value: 1 }])));
    expect(statuses.every((status) => status === 202)).toBe(true);
    const stored = await t.container.db.withTenant(tenant, (tx) => tx.query<{ value: number }>("SELECT value FROM metrics WHERE tenant_id = $1 AND metric_name = 'jobs_done_total' ORDER BY value", [tenant]));
    expect(stored.rows.map((row) => row.value)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
  });

  it('a gauge (no type) is stored as sent', async () => {
    const tenant = newTenant();
    expect(await pushJson(tenant, [{ name: 'queue_depth', service: 'worker', value: 7, timestamp: at(0) }])).toBe(202);
    expect(await pushJson(tenant, [{ name: 'queue_depth', service: 'worker', value: 3, timestamp: at(1) }])).toBe(202);
    expect(await promql(tenant, 'queue_depth', at(1))).toEqual([3]);
  });
});

describe("/metrics: the platform tenant's catalogue counter adds increments and what running totals grew by", () => {
  it('tickets_sold_total pushed as increments (2, 3) and remote-written as totals (4, 9) show 5 and 9', async () => {
    const labels = { event_id: 'e1', ticket_type: 'vip' };
    const sample = (value: number, minutes: number) => ({ name: 'tickets_sold_total', service: 'ticket', value, labels: { ...labels, venue_id: 'pushed' }, timestamp: at(minutes) });
    expect(await pushJson(platform, [sample(2, 0)])).toBe(202);
    expect(await pushJson(platform, [sample(3, 1)])).toBe(202);
    await remoteWrite(platform, 'tickets_sold_total', { ...labels, venue_id: 'written' }, [4, 9]);
    const scrape = async () => (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    await expect.poll(scrape).toContain('tickets_sold_total{venue_id="pushed",event_id="e1",ticket_type="vip"} 5\n');
    await expect.poll(scrape).toContain('tickets_sold_total{venue_id="written",event_id="e1",ticket_type="vip"} 9\n');
    // The store agrees: running totals, whichever way they came.
    expect((await promql(platform, 'tickets_sold_total', at(1))).sort((a, b) => a - b)).toEqual([5, 9]);
  });
});
