import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../../../src/metrics/remote-write/codec.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../../support/app.js';

// The Prometheus HTTP API on its own: the tenant comes from the credential, limits, forms, errors.
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { PROMQL_MAX_SAMPLES: '500' } });
}, 180_000);
afterAll(async () => t.close());

const now = Math.floor(Date.now() / 1000) * 1000;
async function keyOf(tenantId: string, scopes: string[]): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/api-keys', headers: await bearer(tenantId), payload: { name: 'k', scopes } });
  return response.json<{ key: string }>().key;
}
async function write(key: string, name: string, points: number, extra: Record<string, string> = {}) {
  const labels = [{ name: '__name__', value: name }, { name: 'job', value: 'app' }, ...Object.entries(extra).map(([label, value]) => ({ name: label, value }))];
  const body = encodeWriteRequest({ timeseries: [{ labels, samples: Array.from({ length: points }, (_, index) => ({ value: index, timestamp: now - (points - 1 - index) * 1_000 })) }] });
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/write', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, payload: Buffer.from(body) });
  expect(response.statusCode, response.body).toBe(204);
}

describe('the Prometheus HTTP API', () => {
  it('answers each tenant from its own series only, whatever the selector says', async () => {
    const a = newTenant();
    const b = newTenant();
    const keyA = await keyOf(a, ['ingest', 'read']);
    const keyB = await keyOf(b, ['ingest', 'read']);
    await write(keyA, 'secret_total', 10, { tenant_id: b });
    await write(keyB, 'own_total', 10);
    for (const query of ['{__name__=~".+"}', '{job="app"}', 'secret_total', `{tenant_id="${b}"}`]) {
      const response = await t.app.inject({ method: 'GET', url: `/api/v1/query?query=${encodeURIComponent(query)}&time=${now / 1000}`, headers: { authorization: `Bearer ${keyB}` } });
      expect(response.statusCode, response.body).toBe(200);
      const names = response.json<{ data: { result: Array<{ metric: Record<string, string> }> } }>().data.result.map((entry) => entry.metric['__name__']);
      expect(names.includes('secret_total'), query).toBe(false);
    }
    const series = await t.app.inject({ method: 'GET', url: '/api/v1/label/__name__/values', headers: { authorization: `Bearer ${keyB}` } });
    expect(series.json()).toEqual({ status: 'success', data: ['own_total'] });
  });

  it('takes POST forms as Grafana sends them, with repeated match[]', async () => {
    const tenant = newTenant();
    const key = await keyOf(tenant, ['ingest', 'read']);
    await write(key, 'form_a', 3);
    await write(key, 'form_b', 3);
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/series',
      headers: { authorization: `Basic ${Buffer.from(`grafana:${key}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `match%5B%5D=form_a&match%5B%5D=form_b&start=${now / 1000 - 60}&end=${now / 1000}`,
    });
    expect(response.json()).toEqual({ status: 'success', data: [{ __name__: 'form_a', job: 'app' }, { __name__: 'form_b', job: 'app' }] });
    const range = await t.app.inject({
      method: 'POST',
      url: '/api/v1/query_range',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ query: 'sum(form_a)', start: String(now / 1000 - 2), end: String(now / 1000), step: '1s' }).toString(),
    });
    expect(range.json()).toMatchObject({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[now / 1000 - 2, '0'], [now / 1000 - 1, '1'], [now / 1000, '2']] }] } });
  });

  it('refuses with Prometheus errors: bad data 400, too many samples 422; credentials without read 403', async () => {
    const tenant = newTenant();
    const key = await keyOf(tenant, ['ingest', 'read']);
    await write(key, 'many', 600);
    const ask = (query: string, extra = '') => t.app.inject({ method: 'GET', url: `/api/v1/query?query=${encodeURIComponent(query)}${extra}`, headers: { authorization: `Bearer ${key}` } });
    expect((await ask('many')).statusCode).toBe(200);
    const heavy = await ask('sum_over_time(many[15m])');
    expect(heavy.statusCode).toBe(422);
    expect(heavy.json()).toMatchObject({ status: 'error', errorType: 'execution' });
    for (const bad of ['rate(many)', 'sum(', 'histogram_count(many)', 'max_over_time(many)', '{job=~".*"}']) {
      const response = await ask(bad);
      expect(response.statusCode, bad).toBe(400);
      expect(response.json(), bad).toMatchObject({ status: 'error', errorType: 'bad_data' });
    }
    expect((await ask('many', '&time=yesterday')).statusCode).toBe(400);
    const steps = await t.app.inject({ method: 'GET', url: `/api/v1/query_range?query=many&start=0&end=${now / 1000}&step=1`, headers: { authorization: `Bearer ${key}` } });
    expect(steps.json()).toMatchObject({ status: 'error', errorType: 'bad_data', error: expect.stringContaining('11,000 points') });
    const ingestOnly = await keyOf(tenant, ['ingest']);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/query?query=many', headers: { authorization: `Bearer ${ingestOnly}` } })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/query?query=many' })).statusCode).toBe(401);
  });

  it("smooths with double_exponential_smoothing (Prometheus 2's holt_winters, renamed in the grammar): exact on a line, 422 on a factor outside (0, 1)", async () => {
    const key = await keyOf(newTenant(), ['ingest', 'read']);
    await write(key, 'smooth', 3);
    const ask = (query: string) => t.app.inject({ method: 'GET', url: `/api/v1/query?query=${encodeURIComponent(query)}&time=${now / 1000}`, headers: { authorization: `Bearer ${key}` } });
    const smoothed = await ask('double_exponential_smoothing(smooth[1m], 0.2, 0.8)');
    expect(smoothed.json<{ data: { result: Array<{ value: [number, string] }> } }>().data.result.map((entry) => Number(entry.value[1]))).toEqual([2]);
    const invalid = await ask('double_exponential_smoothing(smooth[1m], 1, 0.5)');
    expect(invalid.statusCode).toBe(422);
    expect(invalid.json()).toMatchObject({ status: 'error', errorType: 'execution', error: expect.stringContaining('smoothing factor') });
  });

  it('answers buildinfo as Grafana expects', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/status/buildinfo', headers: await bearer(newTenant(), ['viewer']) });
    expect(response.json()).toMatchObject({ status: 'success', data: { version: '2.42.0', application: 'monitoring-service' } });
  });
});
