import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, listenOnLoopback, newTenant, type TestApp } from '../../support/app.js';

// The official OpenTelemetry JS SDK with its OTLP exporters (protobuf and JSON), in a child
// process, exporting to the service; then what was stored, read as the Prometheus API reads it.
const exporterScript = fileURLToPath(new URL('./sdk-exporter.ts', import.meta.url));
const run = promisify(execFile);
let t: TestApp;
let base = '';
beforeAll(async () => {
  t = await createTestApp();
  base = await listenOnLoopback(t);
}, 180_000);
afterAll(async () => t.close());

async function exportWithSdk(encoding: 'protobuf' | 'json', temporality: 'cumulative' | 'delta'): Promise<string> {
  const tenant = newTenant();
  const created = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/api-keys', headers: await bearer(tenant), payload: { name: 'otel', scopes: ['ingest', 'read'] } });
  const key = created.json<{ key: string }>().key;
  await run(process.execPath, ['--import', 'tsx', exporterScript, base, key, encoding, temporality], { timeout: 60_000 });
  return key;
}

/** The latest value of each series an instant query finds, by its labels. */
async function latest(key: string, query: string): Promise<Record<string, number>> {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/query?query=${encodeURIComponent(query)}`, headers: { authorization: `Bearer ${key}` } });
  const body = response.json<{ data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }>();
  return Object.fromEntries(body.data.result.map((entry) => [series(entry.metric), Number(entry.value[1])]));
}

function series(labels: Record<string, string>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1))));
}

describe('OTLP/HTTP metrics from the OpenTelemetry JS SDK', () => {
  for (const encoding of ['protobuf', 'json'] as const) {
    it(`stores ${encoding} exports as Prometheus series: counters as _total, histograms as buckets, gauges and up-down counters as they are`, async () => {
      const key = await exportWithSdk(encoding, 'cumulative');
      const common = { job: 'checkout', instance: 'pod-1' };
      expect(await latest(key, 'orders_total')).toEqual({
        [series({ region: 'eu', ...common, __name__: 'orders_total' })]: 9,
        [series({ region: 'us', ...common, __name__: 'orders_total' })]: 7,
      });
      expect(await latest(key, 'queue_depth')).toEqual({ [series({ queue: 'mail', ...common, __name__: 'queue_depth' })]: 11 });
      expect(await latest(key, 'sessions_active')).toEqual({ [series({ ...common, __name__: 'sessions_active' })]: 3 });
      const buckets = await latest(key, 'request_duration_seconds_bucket{le=~"0|5|10|\\\\+Inf"}');
      expect(Object.fromEntries(Object.entries(buckets).map(([labels, value]) => [(JSON.parse(labels) as Record<string, string>)['le'], value]))).toEqual({ '0': 0, '5': 4, '10': 4, '+Inf': 5 });
      expect(Object.values(await latest(key, 'request_duration_seconds_count'))).toEqual([5]);
      expect(Object.values(await latest(key, 'request_duration_seconds_sum'))[0]).toBeCloseTo(15.92, 9);
      expect(Object.values(await latest(key, 'histogram_quantile(0.5, request_duration_seconds_bucket)'))[0]).toBeCloseTo(3.125, 9);
    }, 90_000);
  }

  it('adds delta counters and delta histograms to stored running totals: they read as the cumulative export does', async () => {
    const key = await exportWithSdk('protobuf', 'delta');
    const eu = await latest(key, 'orders_total{region="eu"}');
    expect(Object.values(eu)).toEqual([9]);
    const buckets = await latest(key, 'request_duration_seconds_bucket{le=~"0|5|10|\\\\+Inf"}');
    expect(Object.fromEntries(Object.entries(buckets).map(([labels, value]) => [(JSON.parse(labels) as Record<string, string>)['le'], value]))).toEqual({ '0': 0, '5': 4, '10': 4, '+Inf': 5 });
    expect(Object.values(await latest(key, 'request_duration_seconds_count'))).toEqual([5]);
    expect(Object.values(await latest(key, 'request_duration_seconds_sum'))[0]).toBeCloseTo(15.92, 9);
  }, 90_000);

  it('refuses what is not OTLP with 400 and stores nothing; keys without ingest get 403', async () => {
    const tenant = newTenant();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/api-keys', headers: await bearer(tenant), payload: { name: 'r', scopes: ['read'] } });
    const reader = created.json<{ key: string }>().key;
    const headers = await bearer(tenant, ['monitoring']);
    expect((await t.app.inject({ method: 'POST', url: '/v1/metrics', headers: { ...headers, 'content-type': 'application/x-protobuf' }, payload: Buffer.from([0xff, 0xff, 0xff]) })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/v1/metrics', headers, payload: { resourceMetrics: 'nope' } })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/v1/metrics', headers: { authorization: `Bearer ${reader}` }, payload: { resourceMetrics: [] } })).statusCode).toBe(403);
    const count = await t.container.db.withTenant(tenant, (tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics WHERE tenant_id = $1', [tenant]));
    expect(count.rows[0]?.n).toBe(0);
  });
});
