import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../../../src/metrics/remote-write/codec.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../../support/app.js';
import { startVictoriaMetrics, type PeerProcess } from '../../support/peer-process.js';
import { freePort } from '../../support/private-postgres.js';
import { requireProgram } from '../../support/programs.js';
import { waitFor } from '../../support/ws.js';

const victoriaMissing = requireProgram('victoria-metrics', 'victoria-metrics');

interface PromAnswer<T> {
  status: string;
  data: T;
  errorType?: string;
  error?: string;
}
type VectorEntry = { metric: Record<string, string>; value: [number, string] };
type MatrixEntry = { metric: Record<string, string>; values: Array<[number, string]> };

describe.skipIf(victoriaMissing.skip)('METRICS_STORE=victoriametrics: samples in a real VictoriaMetrics (Debian package)', () => {
  let victoria: PeerProcess;
  let t: TestApp;
  const tenantA = newTenant();
  const tenantB = newTenant();
  const now = Date.now();

  beforeAll(async () => {
    victoria = await startVictoriaMetrics();
    t = await createTestApp({ env: { METRICS_STORE: 'victoriametrics', METRICS_STORE_URL: victoria.url } });
  }, 120_000);
  afterAll(async () => {
    await t.close();
    await victoria.stop();
  });

  const push = async (tenantId: string, metrics: unknown[]) => t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: await bearer(tenantId), payload: { metrics } });
  const prom = async <T>(tenantId: string, url: string): Promise<{ statusCode: number; body: PromAnswer<T> }> => {
    const response = await t.app.inject({ method: 'GET', url, headers: await bearer(tenantId) });
    return { statusCode: response.statusCode, body: response.json<PromAnswer<T>>() };
  };
  const instant = async (tenantId: string, query: string, time = now) => (await prom<{ resultType: string; result: VectorEntry[] }>(tenantId, `/api/v1/query?query=${encodeURIComponent(query)}&time=${time / 1000}`)).body;
  /** VictoriaMetrics makes a write searchable within about a second: polled, never slept. */
  const eventually = (check: () => Promise<boolean>) => waitFor(check, 15_000, 'the samples to be searchable');

  it('stores pushed samples only in the database, labelled with their tenant, and answers PromQL from it', async () => {
    const a = await push(tenantA, [
      { name: 'queue_depth', service: 'api', value: 5, labels: { region: 'eu' }, timestamp: new Date(now - 60_000).toISOString() },
      { name: 'queue_depth', service: 'api', value: 7, labels: { region: 'eu' }, timestamp: new Date(now - 30_000).toISOString() },
      { name: 'queue_depth', service: 'worker', value: 3, labels: { region: 'us' }, timestamp: new Date(now - 30_000).toISOString() },
    ]);
    expect(a.statusCode, a.body).toBe(202);
    const b = await push(tenantB, [{ name: 'queue_depth', service: 'api', value: 1_000, labels: { region: 'eu' }, timestamp: new Date(now - 30_000).toISOString() }]);
    expect(b.statusCode, b.body).toBe(202);

    await eventually(async () => (await instant(tenantA, 'sum(queue_depth)')).data.result.length === 1);
    expect((await instant(tenantA, 'sum(queue_depth)')).data.result[0]?.value[1]).toBe('10');
    expect((await instant(tenantB, 'sum(queue_depth)')).data.result[0]?.value[1]).toBe('1000');
    const byService = await instant(tenantA, 'queue_depth');
    expect(byService.data.result.map((entry) => entry.metric).sort((x, y) => String(x['job']).localeCompare(String(y['job'])))).toEqual([
      { __name__: 'queue_depth', job: 'api', region: 'eu' },
      { __name__: 'queue_depth', job: 'worker', region: 'us' },
    ]);

    // The database itself holds the tenant label; the service's database holds no samples.
    const direct = await fetch(`${victoria.url}/api/v1/series?match[]=queue_depth`).then((response) => response.json() as Promise<PromAnswer<Array<Record<string, string>>>>);
    expect(direct.data.map((labels) => labels['tenant_id']).sort()).toEqual([tenantA, tenantA, tenantB].sort());
    const stored = await t.container.db.withTenant(tenantA, (tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics WHERE tenant_id = $1', [tenantA]));
    expect(stored.rows[0]?.n).toBe(0);

    const range = await prom<{ resultType: string; result: MatrixEntry[] }>(tenantA, `/api/v1/query_range?query=${encodeURIComponent('max(queue_depth{job="api"})')}&start=${(now - 60_000) / 1000}&end=${now / 1000}&step=30`);
    expect(range.statusCode).toBe(200);
    expect(range.body.data.result[0]?.values.map(([, value]) => value)).toEqual(['5', '7', '7']);
  });

  it("never answers with another tenant's series, whatever the selector or parameters say", async () => {
    await eventually(async () => (await instant(tenantB, 'count(queue_depth)')).data.result.length === 1);
    for (const query of [`queue_depth{tenant_id="${tenantB}"}`, `{__name__=~".+",tenant_id=~".+"}`, `count({__name__=~".+",tenant_id!="${tenantA}"})`, `queue_depth or on() vector(0)`]) {
      const answer = await instant(tenantA, query);
      expect(answer.status, query).toBe('success');
      expect(answer.data.result.some((entry) => entry.value[1] === '1000'), query).toBe(false);
      expect(answer.data.result.every((entry) => entry.metric['tenant_id'] === undefined), query).toBe(true);
    }
    // A caller's own extra_label (the database's tenant parameter) is not passed on.
    const smuggled = await instant(tenantA, `sum(queue_depth)&extra_label=tenant_id=${tenantB}`);
    expect(smuggled.status).toBe('error');
    const withParam = await prom<{ result: VectorEntry[] }>(tenantA, `/api/v1/query?query=sum(queue_depth)&time=${now / 1000}&extra_label=tenant_id=${tenantB}&extra_filters[]=${encodeURIComponent(`{tenant_id="${tenantB}"}`)}`);
    expect(withParam.body.data.result[0]?.value[1]).toBe('10');

    const series = await prom<Array<Record<string, string>>>(tenantA, `/api/v1/series?match[]=${encodeURIComponent(`{tenant_id="${tenantB}"}`)}`);
    expect(series.body.data).toEqual([]);
    const all = await prom<Array<Record<string, string>>>(tenantA, `/api/v1/series?match[]=queue_depth`);
    expect(all.body.data).toHaveLength(2);
    expect(all.body.data.every((labels) => labels['tenant_id'] === undefined)).toBe(true);
    const labels = await prom<string[]>(tenantA, '/api/v1/labels');
    expect(labels.body.data).toContain('region');
    expect(labels.body.data).not.toContain('tenant_id');
    expect((await prom<string[]>(tenantA, '/api/v1/label/tenant_id/values')).body.data).toEqual([]);
    expect((await prom<string[]>(tenantA, '/api/v1/label/job/values')).body.data).toEqual(['api', 'worker']);
  });

  it("keeps a pushed tenant_id label as exported_tenant_id, so no tenant can write into another's series", async () => {
    const response = await push(tenantA, [{ name: 'forged_total_depth', service: 'api', value: 99, labels: { tenant_id: tenantB }, timestamp: new Date(now - 10_000).toISOString() }]);
    expect(response.statusCode).toBe(202);
    await eventually(async () => (await instant(tenantA, 'forged_total_depth')).data.result.length === 1);
    expect((await instant(tenantA, 'forged_total_depth')).data.result[0]?.metric).toEqual({ __name__: 'forged_total_depth', job: 'api', exported_tenant_id: tenantB });
    expect((await instant(tenantB, 'forged_total_depth')).data.result).toEqual([]);
  });

  it('stores remote-written series and counter increments as running totals', async () => {
    const key = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/api-keys', headers: await bearer(tenantA), payload: { name: 'prometheus', scopes: ['ingest'] } });
    const body = encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'scraped_up' }, { name: 'job', value: 'node' }, { name: 'instance', value: 'h1:9100' }], samples: [{ value: 1, timestamp: now - 20_000 }] }] });
    const written = await t.app.inject({ method: 'POST', url: '/api/v1/write', headers: { authorization: `Bearer ${key.json<{ key: string }>().key}`, 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, payload: Buffer.from(body) });
    expect(written.statusCode, written.body).toBe(204);
    for (const [value, ago] of [[2, 40_000], [3, 20_000]] as const) {
      expect((await push(tenantA, [{ name: 'orders_placed', service: 'shop', type: 'counter', value, timestamp: new Date(now - ago).toISOString() }])).statusCode).toBe(202);
    }
    await eventually(async () => (await instant(tenantA, 'scraped_up')).data.result.length === 1 && (await instant(tenantA, 'orders_placed')).data.result[0]?.value[1] === '5');
    expect((await instant(tenantA, 'scraped_up')).data.result[0]?.metric).toEqual({ __name__: 'scraped_up', job: 'node', instance: 'h1:9100' });
  });

  it("serves the service's own readers from it: lists, latest, Grafana, rule windows, the business dashboard's counters", async () => {
    const tenant = newTenant();
    // Rule windows end at the real now: this test's samples are placed from its own start.
    const started = Date.now();
    const at = (secondsAgo: number) => new Date(started - secondsAgo * 1000).toISOString();
    expect((await push(tenant, [
      { name: 'cpu_load', service: 'api', value: 50, labels: { host: 'h1' }, timestamp: at(150) },
      { name: 'cpu_load', service: 'api', value: 95, labels: { host: 'h1' }, timestamp: at(40) },
      { name: 'cpu_load', service: 'api', value: 97, labels: { host: 'h1' }, timestamp: at(20) },
      // Increments: 3 three days ago (before the dashboard's day), then 3 and 4 within it.
      { name: 'tickets_sold_total', service: 'ticket-service', value: 3, labels: { event_id: 'e1' }, timestamp: at(3 * 86_400) },
    ])).statusCode).toBe(202);
    expect((await push(tenant, [{ name: 'tickets_sold_total', service: 'ticket-service', value: 3, labels: { event_id: 'e1' }, timestamp: at(600) }])).statusCode).toBe(202);
    expect((await push(tenant, [{ name: 'tickets_sold_total', service: 'ticket-service', value: 4, labels: { event_id: 'e1' }, timestamp: at(300) }])).statusCode).toBe(202);
    await eventually(async () => (await instant(tenant, 'count(cpu_load) + count(tickets_sold_total)', started)).data.result[0]?.value[1] === '2' && (await instant(tenant, 'tickets_sold_total', started)).data.result[0]?.value[1] === '10');
    const headers = await bearer(tenant);

    const list = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics?name=cpu_load&limit=2', headers });
    expect(list.statusCode, list.body).toBe(200);
    const page = list.json<{ data: Array<{ value: number; labels: Record<string, string> }>; next_cursor: string | null }>();
    expect(page.data.map((row) => row.value)).toEqual([97, 95]);
    expect(page.data[0]?.labels).toEqual({ host: 'h1' });
    const next = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/metrics?name=cpu_load&limit=2&cursor=${encodeURIComponent(page.next_cursor ?? '')}`, headers });
    expect(next.json<{ data: Array<{ value: number }> }>().data.map((row) => row.value)).toEqual([50]);
    const latest = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics/latest?name=cpu_load', headers });
    expect(latest.json<{ data: Array<{ value: number }> }>().data.map((row) => row.value)).toEqual([97]);

    const grafana = await t.app.inject({
      method: 'POST',
      url: '/grafana/query',
      headers,
      payload: { range: { from: new Date(started - 180_000).toISOString(), to: new Date(started).toISOString() }, intervalMs: 60_000, targets: [{ target: 'cpu_load', refId: 'A', payload: { aggregation: 'max' } }] },
    });
    expect(grafana.statusCode, grafana.body).toBe(200);
    const points = grafana.json<Array<{ datapoints: Array<[number, number]> }>>()[0]?.datapoints.map(([value]) => value);
    expect(points).toContain(97);
    expect(points).toContain(50);

    const rule = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts/rules', headers, payload: { rule_name: 'cpu_hot', metric_name: 'cpu_load', condition: '>', threshold: 90, severity: 'error', window_seconds: 60, aggregation: 'avg' } });
    expect(rule.statusCode, rule.body).toBe(201);
    const evaluated = await t.container.alerting.evaluator.evaluateTenant(tenant);
    expect(evaluated.changes.map((change) => change.kind)).toEqual(['firing']);
    const alerts = await t.container.db.withTenant(tenant, (tx) => tx.query<{ value: number }>('SELECT value FROM alerts WHERE tenant_id = $1', [tenant]));
    expect(alerts.rows.map((row) => row.value)).toEqual([96]);

    const dashboard = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/business', headers });
    expect(dashboard.json<{ metrics: Record<string, { value: number; samples: number }> }>().metrics['tickets_sold']).toMatchObject({ value: 7, samples: 2 });
  });

  it('forecasts from the samples it stores (the ML domain reads through the same port)', async () => {
    const tenant = newTenant();
    const minute = 60_000;
    const start = Math.floor(Date.now() / minute) * minute - 60 * minute;
    const samples = Array.from({ length: 60 }, (_, i) => ({ name: 'queue_size', service: 'api', value: 50 + 2 * i, timestamp: new Date(start + i * minute).toISOString() }));
    expect((await push(tenant, samples)).statusCode).toBe(202);
    await eventually(async () => (await instant(tenant, 'count_over_time(queue_size[2h])', Date.now())).data.result[0]?.value[1] === '60');
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/forecast?metric_name=queue_size&service_name=api&horizon_minutes=10&step_seconds=60&method=linear-trend&window=30', headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode, response.body).toBe(200);
    const points = response.json<{ points: Array<{ value: number }> }>().points;
    expect(points).toHaveLength(10);
    // The trend continues: 2 a minute from 168 at the last sample.
    expect(Math.abs((points[0]?.value ?? 0) - 170)).toBeLessThan(1);
  });

  it('is ready when the time-series database answers', async () => {
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ok', metrics_store: { status: 'up' } });
  });

  it('refuses invalid PromQL with Prometheus\'s bad_data envelope', async () => {
    const answer = await prom<unknown>(tenantA, `/api/v1/query?query=${encodeURIComponent('sum(')}`);
    expect(answer.statusCode).toBe(400);
    expect(answer.body.errorType).toBe('bad_data');
  });
});

describe.skipIf(victoriaMissing.skip)('METRICS_STORE=victoriametrics with the database down', () => {
  it('answers a push 503 DEPENDENCY_UNAVAILABLE and keeps nothing of the batch (no series, no counter total)', async () => {
    const closedPort = await freePort();
    const t = await createTestApp({ env: { METRICS_STORE: 'victoriametrics', METRICS_STORE_URL: `http://127.0.0.1:${closedPort}`, METRICS_STORE_TIMEOUT_MS: '2000' } });
    try {
      const tenant = newTenant();
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: await bearer(tenant), payload: { metrics: [{ name: 'orders_placed', service: 'shop', type: 'counter', value: 4 }] } });
      expect(response.statusCode).toBe(503);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('DEPENDENCY_UNAVAILABLE');
      const series = await t.container.db.withTenant(tenant, (tx) => tx.query<{ n: number }>('SELECT (SELECT count(*) FROM metric_series WHERE tenant_id = $1)::int + (SELECT count(*) FROM metric_counter_totals WHERE tenant_id = $1)::int AS n', [tenant]));
      expect(series.rows[0]?.n).toBe(0);
      const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'unavailable', database: { status: 'up' }, metrics_store: { status: 'down' } });
      const query = await t.app.inject({ method: 'GET', url: '/api/v1/query?query=up', headers: await bearer(tenant) });
      expect(query.statusCode).toBe(503);
      expect(query.json<{ error: { code: string } }>().error.code).toBe('DEPENDENCY_UNAVAILABLE');
    } finally {
      await t.close();
    }
  }, 60_000);
});
