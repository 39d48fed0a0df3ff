import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest } from '../../../src/metrics/remote-write/codec.js';
import { bearer, createTestApp, listenOnLoopback, newTenant, type TestApp } from '../../support/app.js';
import { startPrometheus, type PeerProcess } from '../../support/peer-process.js';
import { requireProgram } from '../../support/programs.js';

const prometheusMissing = requireProgram('prometheus', 'prometheus');
const WRITE = '/api/v1/write';

let t: TestApp;
let base = '';
beforeAll(async () => {
  t = await createTestApp({ env: { INGEST_MAX_BATCH: '100', LIMIT_SAMPLES_BURST: '100000' } });
  base = await listenOnLoopback(t);
}, 180_000);
afterAll(async () => t.close());

async function ingestKey(tenantId: string, scopes = ['ingest']): Promise<string> {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/api-keys', headers: await bearer(tenantId), payload: { name: 'prometheus', scopes } });
  return response.json<{ key: string }>().key;
}

const storedCount = async (tenantId: string, where = 'true', params: unknown[] = []): Promise<number> => {
  const result = await t.container.db.withTenant(tenantId, (tx) => tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM metrics WHERE tenant_id = $1 AND ${where}`, [tenantId, ...params]));
  return result.rows[0]?.n ?? 0;
};

const send = (authorization: string, body: Uint8Array, contentType = 'application/x-protobuf') =>
  t.app.inject({ method: 'POST', url: WRITE, headers: { authorization, 'content-type': contentType, 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' }, payload: Buffer.from(body) });

describe('POST /api/v1/write', () => {
  it('stores each series under its name, job as service and the other labels, and a retried request once', async () => {
    const tenant = newTenant();
    const key = await ingestKey(tenant);
    const now = Date.now();
    const series = Array.from({ length: 3 }, (_, index) => ({
      labels: [{ name: '__name__', value: 'http_requests_total' }, { name: 'job', value: 'api' }, { name: 'instance', value: `host-${index}:9100` }],
      samples: Array.from({ length: 90 }, (_, n) => ({ value: n * 10 + index, timestamp: now - (90 - n) * 1_000 })),
    }));
    const body = encodeWriteRequest({ timeseries: series });
    const first = await send(`Bearer ${key}`, body);
    expect(first.statusCode, first.body).toBe(204);
    // 270 samples in batches of INGEST_MAX_BATCH (100); Prometheus resends a request it thinks failed.
    expect((await send(`Bearer ${key}`, body)).statusCode).toBe(204);
    expect(await storedCount(tenant)).toBe(270);
    const rows = await t.container.db.withTenant(tenant, (tx) => tx.query<{ metric_name: string; service_name: string; labels: Record<string, string>; value: number }>("SELECT metric_name, service_name, labels, value FROM metrics WHERE tenant_id = $1 AND labels->>'instance' = 'host-2:9100' ORDER BY timestamp DESC LIMIT 1", [tenant]));
    expect(rows.rows).toEqual([{ metric_name: 'http_requests_total', service_name: 'api', labels: { instance: 'host-2:9100' }, value: 892 }]);
  });

  it('skips NaN (staleness markers) and infinities, counted on /metrics, and stores the rest', async () => {
    const tenant = newTenant();
    const key = await ingestKey(tenant);
    const now = Date.now();
    const staleNaN = new DataView(new ArrayBuffer(8));
    staleNaN.setUint32(0, 0x7ff00000);
    staleNaN.setUint32(4, 0x00000002);
    const body = encodeWriteRequest({ timeseries: [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestamp: now - 2_000 }, { value: staleNaN.getFloat64(0), timestamp: now - 1_000 }, { value: Number.POSITIVE_INFINITY, timestamp: now }] }] });
    expect((await send(`Basic ${Buffer.from(`any:${key}`).toString('base64')}`, body)).statusCode).toBe(204);
    expect(await storedCount(tenant)).toBe(1);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/monitoring_remote_write_skipped_samples_total\{reason="non_finite"\} [1-9]/);
  });

  it('refuses what it cannot store with 4xx and a code, storing nothing', async () => {
    const tenant = newTenant();
    const key = await ingestKey(tenant);
    const reader = await ingestKey(tenant, ['read']);
    const now = Date.now();
    const good = { labels: [{ name: '__name__', value: 'ok' }], samples: [{ value: 1, timestamp: now }] };
    const cases: Array<[string, Uint8Array, number, string]> = [
      ['no __name__', encodeWriteRequest({ timeseries: [good, { labels: [{ name: 'job', value: 'x' }], samples: [{ value: 1, timestamp: now }] }] }), 400, 'VALIDATION_FAILED'],
      ['bad metric name', encodeWriteRequest({ timeseries: [good, { labels: [{ name: '__name__', value: 'a-b' }], samples: [{ value: 1, timestamp: now }] }] }), 400, 'VALIDATION_FAILED'],
      ['NUL in a label', encodeWriteRequest({ timeseries: [good, { labels: [{ name: '__name__', value: 'x' }, { name: 'l', value: 'a\u0000b' }], samples: [{ value: 1, timestamp: now }] }] }), 400, 'VALIDATION_FAILED'],
      ['too old', encodeWriteRequest({ timeseries: [good, { labels: [{ name: '__name__', value: 'x' }], samples: [{ value: 1, timestamp: now - 400 * 86_400_000 }] }] }), 400, 'VALIDATION_FAILED'],
      ['not snappy', Buffer.from('{"metrics":[]}'), 400, 'VALIDATION_FAILED'],
    ];
    for (const [what, body, status, code] of cases) {
      const response = await send(`Bearer ${key}`, body);
      expect(response.statusCode, what).toBe(status);
      expect(response.json<{ error: { code: string } }>().error.code, what).toBe(code);
    }
    expect((await send(`Bearer ${key}`, encodeWriteRequest({ timeseries: [good] }), 'application/json')).statusCode).toBe(400);
    expect((await send(`Bearer ${reader}`, encodeWriteRequest({ timeseries: [good] }))).statusCode).toBe(403);
    expect((await send('Bearer mon_unknown', encodeWriteRequest({ timeseries: [good] }))).statusCode).toBe(401);
    expect(await storedCount(tenant)).toBe(0);
  });
});

/** A scrape target: a counter that grows, a gauge, and a histogram, in the text format. */
function startTarget(): Promise<{ url: string; server: Server }> {
  let scrapes = 0;
  const server = createServer((_request, response) => {
    scrapes += 1;
    response.setHeader('content-type', 'text/plain; version=0.0.4');
    response.end(
      [
        '# TYPE shop_orders_total counter',
        `shop_orders_total{region="eu"} ${scrapes * 3}`,
        `shop_orders_total{region="us"} ${scrapes * 5}`,
        '# TYPE shop_queue_depth gauge',
        `shop_queue_depth ${scrapes % 7}`,
        '# TYPE shop_latency_seconds histogram',
        `shop_latency_seconds_bucket{le="0.1"} ${scrapes}`,
        `shop_latency_seconds_bucket{le="+Inf"} ${scrapes * 2}`,
        `shop_latency_seconds_sum ${scrapes * 0.3}`,
        `shop_latency_seconds_count ${scrapes * 2}`,
        '',
      ].join('\n'),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    resolve({ url: `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`, server });
  }));
}

/** One value of Prometheus's own /metrics (summed over its label sets), 0 when absent. */
async function prometheusCounter(prometheus: PeerProcess, name: string): Promise<number> {
  const text = await (await fetch(`${prometheus.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function skippedSamples(): Promise<number> {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((entry) => entry.startsWith('monitoring_remote_write_skipped_samples_total{reason="non_finite"}'));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe.skipIf(prometheusMissing.skip)('a real Prometheus remote-writing to the service (Debian package)', () => {
  let prometheus: PeerProcess;
  let target: { url: string; server: Server };
  const tenant = newTenant();

  beforeAll(async () => {
    target = await startTarget();
    const key = await ingestKey(tenant);
    const config = (scraping: boolean) => (_port: number) =>
      [
        'global:',
        '  scrape_interval: 1s',
        ...(scraping ? ['scrape_configs:', '  - job_name: shop', '    static_configs:', `      - targets: ['${target.url}']`] : []),
        'remote_write:',
        `  - url: ${base}${WRITE}`,
        '    basic_auth:',
        '      username: prometheus',
        `      password: ${key}`,
        '    metadata_config:',
        '      send_interval: 1s',
        '    queue_config:',
        '      batch_send_deadline: 1s',
        '      max_samples_per_send: 50',
        '      min_backoff: 100ms',
        '',
      ].join('\n');
    prometheus = await startPrometheus(config(true), ['--web.enable-lifecycle']);
    Object.assign(prometheus, { quiet: () => writeFileSync(join(prometheus.dataDir, 'prometheus.yml'), config(false)(0)) });
  }, 90_000);
  afterAll(async () => {
    await prometheus?.stop();
    target?.server.close();
  });

  it('stores every sample Prometheus sent, counted on both sides', async () => {
    const skippedBefore = await skippedSamples();
    // Let it scrape and send a while, then stop scraping (a reload without the job) and let the queue drain.
    while ((await prometheusCounter(prometheus, 'prometheus_remote_storage_samples_total')) < 150) await new Promise((resolve) => setTimeout(resolve, 500));
    // Prometheus answers metadata for the targets it scrapes: read before the job is removed.
    const theirs = ((await (await fetch(`${prometheus.url}/api/v1/metadata`)).json()) as { data: Record<string, unknown> }).data;
    (prometheus as PeerProcess & { quiet(): void }).quiet();
    expect((await fetch(`${prometheus.url}/-/reload`, { method: 'POST' })).status).toBe(200);
    // Settled: nothing pending and the sent count unchanged over 2 s.
    let sent = -1;
    for (let settled = false; !settled; ) {
      const pending = await prometheusCounter(prometheus, 'prometheus_remote_storage_samples_pending');
      const now = await prometheusCounter(prometheus, 'prometheus_remote_storage_samples_total');
      settled = pending === 0 && now === sent;
      sent = now;
      if (!settled) await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    const failed = await prometheusCounter(prometheus, 'prometheus_remote_storage_samples_failed_total');
    const dropped = await prometheusCounter(prometheus, 'prometheus_remote_storage_samples_dropped_total');
    expect({ failed, dropped }).toEqual({ failed: 0, dropped: 0 });
    const stored = await storedCount(tenant);
    // The reload ends the target's series with staleness markers (NaN): counted as skipped, not stored.
    const skipped = (await skippedSamples()) - skippedBefore;
    process.stdout.write(`[remote-write] Prometheus sent ${sent} samples; the service stored ${stored} and skipped ${skipped} (staleness markers)\n`);
    expect(stored).toBeGreaterThanOrEqual(150);
    expect(stored + skipped).toBe(sent);
    // At most one marker per series of the removed target: its 8 series and the 5 of its scrape health.
    expect(skipped).toBeLessThanOrEqual(13);
    expect(await storedCount(tenant, "metric_name = 'shop_orders_total' AND service_name = 'shop' AND labels->>'region' = 'eu' AND labels ? 'instance'")).toBeGreaterThan(10);
    expect(await storedCount(tenant, "metric_name = 'shop_latency_seconds_bucket' AND labels->>'le' = '+Inf'")).toBeGreaterThan(10);
    expect(await storedCount(tenant, "metric_name = 'up'")).toBeGreaterThan(10);
    // Prometheus sent each family's type with the samples: the service answers /api/v1/metadata with it, as Prometheus does.
    const reader = await ingestKey(tenant, ['read']);
    const ours = (await t.app.inject({ method: 'GET', url: '/api/v1/metadata', headers: { authorization: `Bearer ${reader}` } })).json<{ data: Record<string, unknown> }>().data;
    for (const family of ['shop_orders_total', 'shop_queue_depth', 'shop_latency_seconds']) expect(ours[family], family).toEqual(theirs[family]);
    const one = (await t.app.inject({ method: 'GET', url: '/api/v1/metadata?metric=shop_latency_seconds', headers: { authorization: `Bearer ${reader}` } })).json<{ data: Record<string, unknown> }>().data;
    expect(Object.keys(one)).toEqual(['shop_latency_seconds']);
  }, 150_000);
});
