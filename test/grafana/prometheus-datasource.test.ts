import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../../src/metrics/remote-write/codec.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

// Grafana's built-in Prometheus data source against the service, with the requests it sends
// (Grafana 9-10): the "Save & test" pair, the label browser, a panel's POST query_range.
const PROVISIONING = fileURLToPath(new URL('../../grafana/provisioning/datasources/monitoring.yaml', import.meta.url));
let t: TestApp;
let authorization = '';
const now = Math.floor(Date.now() / 15_000) * 15_000;
beforeAll(async () => {
  t = await createTestApp();
  const tenant = newTenant();
  const created = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/api-keys', headers: await bearer(tenant), payload: { name: 'grafana', scopes: ['ingest', 'read'] } });
  // Grafana sends the key as the Basic auth password (basicAuthUser: grafana).
  authorization = `Basic ${Buffer.from(`grafana:${created.json<{ key: string }>().key}`).toString('base64')}`;
  const samples = Array.from({ length: 40 }, (_, index) => ({ value: index * 10, timestamp: now - (39 - index) * 15_000 }));
  const body = encodeWriteRequest({
    timeseries: ['200', '500'].map((code) => ({ labels: [{ name: '__name__', value: 'http_requests_total' }, { name: 'job', value: 'api' }, { name: 'code', value: code }], samples })),
  });
  const write = await t.app.inject({ method: 'POST', url: '/api/v1/write', headers: { authorization, 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' }, payload: Buffer.from(body) });
  expect(write.statusCode, write.body).toBe(204);
}, 180_000);
afterAll(async () => t.close());

const seconds = (ms: number) => String(ms / 1000);
const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { authorization } });
const form = (url: string, fields: Record<string, string>) =>
  t.app.inject({ method: 'POST', url, headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString() });

describe("Grafana's Prometheus data source", () => {
  it('is provisioned pointing at the service with an API key as the Basic password', () => {
    const datasource = readFileSync(PROVISIONING, 'utf8');
    expect(datasource).toContain('type: prometheus');
    expect(datasource).toContain('url: ${MONITORING_SERVICE_URL}\n');
    expect(datasource).toContain('basicAuthPassword: ${MONITORING_PROMETHEUS_KEY}');
  });

  it('passes "Save & test": buildinfo, then the query 1+1', async () => {
    expect((await get('/api/v1/status/buildinfo')).json()).toMatchObject({ status: 'success', data: { version: expect.stringMatching(/^2\./) } });
    const test = await form('/api/v1/query', { query: '1+1', time: seconds(now) });
    expect(test.json()).toEqual({ status: 'success', data: { resultType: 'scalar', result: [now / 1000, '2'] } });
  });

  it('fills the label browser and the metric picker', async () => {
    const range = `start=${seconds(now - 3_600_000)}&end=${seconds(now)}`;
    expect((await get(`/api/v1/labels?${range}`)).json()).toEqual({ status: 'success', data: ['__name__', 'code', 'job'] });
    expect((await get(`/api/v1/label/__name__/values?${range}`)).json()).toEqual({ status: 'success', data: ['http_requests_total'] });
    expect((await get(`/api/v1/label/code/values?match%5B%5D=${encodeURIComponent('http_requests_total{job="api"}')}&${range}`)).json()).toEqual({ status: 'success', data: ['200', '500'] });
    expect((await form('/api/v1/series', { 'match[]': '{__name__="http_requests_total"}', start: seconds(now - 3_600_000), end: seconds(now) })).json()).toMatchObject({ status: 'success', data: [{ code: '200' }, { code: '500' }] });
    expect((await get('/api/v1/metadata')).json()).toEqual({ status: 'success', data: {} });
  });

  it("answers a panel's POST query_range with one series per label set, at the panel's step", async () => {
    const response = await form('/api/v1/query_range', { query: 'sum by (code) (rate(http_requests_total[1m]))', start: seconds(now - 300_000), end: seconds(now), step: '60' });
    const body = response.json<{ status: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } }>();
    expect(body.status).toBe('success');
    expect(body.data.resultType).toBe('matrix');
    expect(body.data.result.map((series) => series.metric)).toEqual([{ code: '200' }, { code: '500' }]);
    for (const series of body.data.result) {
      expect(series.values.map(([at]) => at)).toEqual([0, 1, 2, 3, 4, 5].map((step) => (now - 300_000) / 1000 + step * 60));
      // 10 every 15 s is 0.666... per second.
      for (const [, value] of series.values) expect(Number(value)).toBeCloseTo(10 / 15, 9);
    }
  });
});
