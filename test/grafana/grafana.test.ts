import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

const MINUTE = 60_000;
const base = Math.floor((Date.now() - 60 * MINUTE) / (10 * MINUTE)) * 10 * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();

async function seed(tenant: string) {
  const metrics = [];
  for (let minute = 0; minute < 20; minute += 1) {
    metrics.push(
      { name: 'orders_rate', service: 'shop', value: minute, labels: { region: 'eu' }, timestamp: iso(base + minute * MINUTE) },
      { name: 'orders_rate', service: 'shop', value: 100 + minute, labels: { region: 'us' }, timestamp: iso(base + minute * MINUTE) },
    );
  }
  metrics.push({ name: 'stock_level', service: 'warehouse', value: 7, labels: { sku: 'A-1' }, timestamp: iso(base) });
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/json' }, payload: JSON.stringify({ metrics }) });
  expect(response.statusCode).toBe(202);
}

async function post(tenant: string, path: string, body: unknown) {
  const response = await t.app.inject({ method: 'POST', url: `/grafana${path}`, headers: { ...(await bearer(tenant, ['viewer'])), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return { status: response.statusCode, body: response.json<unknown>() };
}

const range = (from: number, to: number) => ({ from: iso(from), to: iso(to), raw: { from: 'now-1h', to: 'now' } });

describe('Grafana data source', () => {
  it('answers the connection test on /grafana and /grafana/ with a valid token only', async () => {
    const headers = await bearer(newTenant(), ['viewer']);
    for (const url of ['/grafana', '/grafana/']) {
      const ok = await t.app.inject({ method: 'GET', url, headers });
      expect(ok.statusCode).toBe(200);
      const anonymous = await t.app.inject({ method: 'GET', url });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json<{ error: { code: string } }>().error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('lists metric names on /search (SimpleJSON) and /metrics (JSON API), per tenant', async () => {
    const tenant = newTenant();
    await seed(tenant);
    expect(await post(tenant, '/search', { target: '' })).toEqual({ status: 200, body: ['orders_rate', 'stock_level'] });
    expect(await post(tenant, '/search', { target: 'STOCK' })).toEqual({ status: 200, body: ['stock_level'] });
    const jsonApi = await post(tenant, '/metrics', {});
    expect(jsonApi.status).toBe(200);
    expect(jsonApi.body).toEqual([
      expect.objectContaining({ label: 'orders_rate', value: 'orders_rate', payloads: expect.arrayContaining([expect.objectContaining({ name: 'service', type: 'select' })]) }),
      expect.objectContaining({ label: 'stock_level', value: 'stock_level' }),
    ]);
    expect(await post(newTenant(), '/search', {})).toEqual({ status: 200, body: [] });
  });

  it('answers timeserie targets bucketed to intervalMs, one series per label set', async () => {
    const tenant = newTenant();
    await seed(tenant);
    const { status, body } = await post(tenant, '/query', {
      panelId: 1,
      range: range(base, base + 20 * MINUTE),
      rangeRaw: { from: 'now-1h', to: 'now' },
      interval: '5m',
      intervalMs: 5 * MINUTE,
      maxDataPoints: 550,
      format: 'json',
      scopedVars: {},
      targets: [
        { target: 'orders_rate', refId: 'A', type: 'timeserie', hide: false },
        { target: 'select metric', refId: 'B' },
        { target: 'stock_level', refId: 'C', hide: true },
      ],
      adhocFilters: [],
    });
    expect(status).toBe(200);
    expect(body).toEqual([
      { target: 'orders_rate{service="shop",region="eu"}', refId: 'A', datapoints: [[2, base], [7, base + 5 * MINUTE], [12, base + 10 * MINUTE], [17, base + 15 * MINUTE]] },
      { target: 'orders_rate{service="shop",region="us"}', refId: 'A', datapoints: [[102, base], [107, base + 5 * MINUTE], [112, base + 10 * MINUTE], [117, base + 15 * MINUTE]] },
    ]);
  });

  it('widens buckets to honour maxDataPoints and applies adhocFilters, filters and payload options', async () => {
    const tenant = newTenant();
    await seed(tenant);
    const { body } = await post(tenant, '/query', {
      range: range(base, base + 20 * MINUTE),
      intervalMs: 1000,
      maxDataPoints: 2,
      targets: [{ target: 'orders_rate', refId: 'A', payload: { aggregation: 'max', alias: 'eu max' } }],
      filters: [{ key: 'region', operator: '=', value: 'eu' }],
    });
    expect(body).toEqual([{ target: 'eu max', refId: 'A', datapoints: [[9, base], [19, base + 10 * MINUTE]] }]);
    const simple = await post(tenant, '/query', {
      range: range(base, base + 20 * MINUTE),
      intervalMs: 10 * MINUTE,
      targets: [{ target: 'orders_rate', refId: 'A', type: 'timeserie', payload: '{"aggregation":"count"}' }],
      adhocFilters: [{ key: 'region', operator: '=~', value: 'u.' }, { key: 'service', operator: '=', value: 'shop' }],
    });
    expect(simple.body).toEqual([{ target: 'orders_rate{service="shop",region="us"}', refId: 'A', datapoints: [[10, base], [10, base + 10 * MINUTE]] }]);
  });

  it('answers table targets with the latest value of every series', async () => {
    const tenant = newTenant();
    await seed(tenant);
    const { body } = await post(tenant, '/query', { range: range(base, base + 30 * MINUTE), intervalMs: MINUTE, targets: [{ target: 'orders_rate', refId: 'T', type: 'table' }] });
    expect(body).toEqual([
      {
        type: 'table',
        refId: 'T',
        columns: [
          { text: 'Time', type: 'time' },
          { text: 'Metric', type: 'string' },
          { text: 'Service', type: 'string' },
          { text: 'Labels', type: 'string' },
          { text: 'Value', type: 'number' },
        ],
        rows: [
          [base + 19 * MINUTE, 'orders_rate', 'shop', '{"region":"eu"}', 19],
          [base + 19 * MINUTE, 'orders_rate', 'shop', '{"region":"us"}', 119],
        ],
      },
    ]);
  });

  it('returns nothing for unknown metrics, empty ranges, no targets, and another tenant', async () => {
    const tenant = newTenant();
    await seed(tenant);
    const ask = (who: string, body: unknown) => post(who, '/query', body);
    expect(await ask(tenant, { range: range(base, base + 20 * MINUTE), intervalMs: MINUTE, targets: [{ target: 'no_such_metric', refId: 'A' }] })).toEqual({ status: 200, body: [] });
    expect(await ask(tenant, { range: range(base - 10 * 24 * 60 * MINUTE, base - 9 * 24 * 60 * MINUTE), intervalMs: MINUTE, targets: [{ target: 'orders_rate', refId: 'A' }] })).toEqual({ status: 200, body: [] });
    expect(await ask(tenant, { range: range(base, base + MINUTE), targets: [] })).toEqual({ status: 200, body: [] });
    expect(await ask(newTenant(), { range: range(base, base + 20 * MINUTE), intervalMs: MINUTE, targets: [{ target: 'orders_rate', refId: 'A' }, { target: 'orders_rate', refId: 'T', type: 'table' }] })).toEqual({
      status: 200,
      body: [{ type: 'table', refId: 'T', columns: expect.any(Array), rows: [] }],
    });
  });

  it('refuses bad queries with VALIDATION_FAILED', async () => {
    const tenant = newTenant();
    const cases = [
      { range: { from: 'yesterday', to: 'today' }, targets: [] },
      { range: range(base + MINUTE, base), targets: [] },
      { range: range(base, base + MINUTE), targets: [{ target: 'bad name!', refId: 'A' }] },
      { range: range(base, base + MINUTE), targets: [{ target: 'orders_rate' }], adhocFilters: [{ key: 'region', operator: '<', value: '3' }] },
      { range: range(base, base + MINUTE), targets: [{ target: 'orders_rate', payload: 'not json' }] },
      // JSON text is held to the same payload schema as an object payload.
      { range: range(base, base + MINUTE), targets: [{ target: 'orders_rate', payload: '{"aggregation":"median"}' }] },
      { range: range(base, base + MINUTE), targets: [{ target: 'orders_rate', payload: '["service"]' }] },
    ];
    for (const body of cases) {
      const answer = await post(tenant, '/query', body);
      expect({ body, status: answer.status, code: (answer.body as { error?: { code: string } }).error?.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('serves annotations from fraud events and alerts of the range', async () => {
    const tenant = newTenant();
    await t.container.db.withTenant(tenant, async (tx) => {
      await tx.query(`INSERT INTO fraud_events (tenant_id, user_id, pattern, risk_level, risk_score, "timestamp") VALUES ($1, 'user-9', 'scalper', 'high', 0.91, $2)`, [tenant, iso(base + 5 * MINUTE)]);
      await tx.query(
        `INSERT INTO alerts (tenant_id, fingerprint, name, type, severity, message, source, status, resolved, starts_at, resolved_at)
         VALUES ($1, 'fp', 'high_cpu_usage', 'metric', 'warning', 'CPU above 80%', 'rule', 'resolved', true, $2, $3)`,
        [tenant, iso(base + 10 * MINUTE), iso(base + 12 * MINUTE)],
      );
    });
    const annotation = { name: 'events', datasource: 'monitoring', enable: true, iconColor: 'red', query: '' };
    const both = await post(tenant, '/annotations', { range: range(base, base + 20 * MINUTE), rangeRaw: {}, annotation });
    expect(both).toEqual({
      status: 200,
      body: [
        { annotation, time: base + 10 * MINUTE, timeEnd: base + 12 * MINUTE, title: 'Alert: high_cpu_usage (warning, resolved)', tags: ['alert', 'warning', 'resolved'], text: 'CPU above 80%' },
        { annotation, time: base + 5 * MINUTE, title: 'Fraud: scalper (high)', tags: ['fraud', 'high', 'scalper'], text: 'user user-9, risk score 0.91' },
      ],
    });
    const fraudOnly = await post(tenant, '/annotations', { range: range(base, base + 20 * MINUTE), annotation: { ...annotation, query: 'fraud' } });
    expect((fraudOnly.body as unknown[]).length).toBe(1);
    expect(await post(tenant, '/annotations', { range: range(base + 30 * MINUTE, base + 40 * MINUTE), annotation })).toEqual({ status: 200, body: [] });
    expect(await post(newTenant(), '/annotations', { range: range(base, base + 20 * MINUTE), annotation })).toEqual({ status: 200, body: [] });
    const preflight = await t.app.inject({ method: 'OPTIONS', url: '/grafana/annotations' });
    expect(preflight.statusCode).toBe(200);
    expect(preflight.headers['access-control-allow-methods']).toBe('POST');
  });

  it('serves ad-hoc filter keys and values, template variables and payload options', async () => {
    const tenant = newTenant();
    await seed(tenant);
    expect(await post(tenant, '/tag-keys', {})).toEqual({ status: 200, body: [{ type: 'string', text: 'service' }, { type: 'string', text: 'region' }, { type: 'string', text: 'sku' }] });
    expect(await post(tenant, '/tag-values', { key: 'region' })).toEqual({ status: 200, body: [{ text: 'eu' }, { text: 'us' }] });
    expect(await post(tenant, '/tag-values', { key: 'service' })).toEqual({ status: 200, body: [{ text: 'shop' }, { text: 'warehouse' }] });
    expect(await post(tenant, '/tag-values', { key: 'unknown' })).toEqual({ status: 200, body: [] });
    expect(await post(tenant, '/variable', { payload: { target: 'metrics' }, range: range(base, base + MINUTE) })).toEqual({
      status: 200,
      body: [{ __text: 'orders_rate', __value: 'orders_rate' }, { __text: 'stock_level', __value: 'stock_level' }],
    });
    expect((await post(tenant, '/variable', { payload: { target: 'services(stock_level)' } })).body).toEqual([{ __text: 'warehouse', __value: 'warehouse' }]);
    expect((await post(tenant, '/variable', { payload: { target: 'label_values(orders_rate, region)' } })).body).toEqual([{ __text: 'eu', __value: 'eu' }, { __text: 'us', __value: 'us' }]);
    const bad = await post(tenant, '/variable', { payload: { target: 'drop table' } });
    expect(bad.status).toBe(400);
    expect(await post(tenant, '/metric-payload-options', { metric: 'orders_rate', payload: {}, name: 'service' })).toEqual({ status: 200, body: [{ label: 'shop', value: 'shop' }] });
    expect((await post(tenant, '/metric-payload-options', { metric: 'orders_rate', name: 'region' })).body).toEqual([{ label: 'eu', value: 'eu' }, { label: 'us', value: 'us' }]);
  });
});
