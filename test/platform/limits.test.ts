import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkedTopic, TOPICS, type DeliveredMessage } from '../../src/platform/bus/index.js';
import { loadConfig } from '../../src/config.js';
import { testEnv } from '../support/env.js';
import { waitFor } from '../support/ws.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';

/** Small limits so a few requests reach them; nothing here waits for a window to pass. */
const LIMITS = {
  LIMIT_REQUESTS_PER_TENANT: '20',
  LIMIT_REQUESTS_PER_IP: '1000000',
  LIMIT_REQUEST_WINDOW_MS: '600000',
  LIMIT_RULES: '6',
  LIMIT_SILENCES: '2',
  LIMIT_DASHBOARDS: '2',
  INGEST_MAX_BATCH: '50',
  LIMIT_SAMPLES_PER_SECOND: '1',
  LIMIT_SAMPLES_BURST: '50',
  LIMIT_ACTIVE_SERIES: '10',
  LIMIT_SERIES_PER_METRIC: '4',
};

/** A documentation address (RFC 5737) of its own per test, so counters of other tests never meet. */
const address = () => `192.0.2.${randomInt(1, 255)}`;

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: LIMITS });
}, 180_000);
afterAll(async () => t.close());

describe('request rate per tenant', () => {
  it('answers 429 RATE_LIMITED with Retry-After past LIMIT_REQUESTS_PER_TENANT, and another tenant is unaffected', async () => {
    const noisy = newTenant();
    const quiet = newTenant();
    const remoteAddress = address();
    const headers = await bearer(noisy, ['viewer']);
    const statuses: number[] = [];
    for (let index = 0; index < 20; index += 1) statuses.push((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', headers, remoteAddress })).statusCode);
    expect(statuses.every((status) => status === 200)).toBe(true);

    const refused = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', headers, remoteAddress });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json<ErrorBody>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'requests', value: 20 } });
    // A signed service calling for the tenant is refused too: users and services share the tenant's limit.
    const signed = signedHeaders({ method: 'GET', path: '/api/v1/monitoring/dashboards', tenantId: noisy });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', headers: signed.headers, remoteAddress })).statusCode).toBe(429);
    const other = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', headers: await bearer(quiet, ['viewer']), remoteAddress });
    expect(other.statusCode).toBe(200);
    expect(other.headers['x-ratelimit-remaining']).toBe('19');
  });

  it('does not count unauthenticated requests against any tenant', async () => {
    const tenant = newTenant();
    const remoteAddress = address();
    for (let index = 0; index < 25; index += 1) {
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', remoteAddress })).statusCode).toBe(401);
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', headers: await bearer(tenant, ['viewer']), remoteAddress })).statusCode).toBe(200);
  });
});

describe('rules, silences and dashboards per tenant', () => {
  const json = async (tenant: string, roles: Parameters<typeof bearer>[1]) => ({ ...(await bearer(tenant, roles)), 'content-type': 'application/json' });
  const post = async (tenant: string, url: string, payload: Record<string, unknown>, roles: Parameters<typeof bearer>[1] = ['admin']) => t.app.inject({ method: 'POST', url, headers: await json(tenant, roles), payload });
  const rowsOf = async (tenant: string, table: string) => (await t.container.db.withTenant(tenant, (tx) => tx.query(`SELECT 1 FROM ${table} WHERE tenant_id = $1`, [tenant]))).rowCount;
  const expectRefused = (response: { statusCode: number; headers: Record<string, unknown>; json<T>(): T }, limit: string, value: number) => {
    expect(response.statusCode).toBe(429);
    expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
    expect(response.json<ErrorBody>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit, value, current: value } });
  };

  it('refuses the rule past LIMIT_RULES (the five defaults count), stores nothing, and accepts one again after a delete', async () => {
    const tenant = newTenant();
    const rule = (name: string) => ({ rule_name: name, metric_name: 'queue_depth', condition: '>', threshold: 100, severity: 'error' });
    const first = await post(tenant, '/api/v1/monitoring/alerts/rules', rule('first'));
    expect(first.statusCode, first.body).toBe(201);
    expectRefused(await post(tenant, '/api/v1/monitoring/alerts/rules', rule('second')), 'rules', 6);
    expect(await rowsOf(tenant, 'alert_rules')).toBe(6);
    expect((await post(newTenant(), '/api/v1/monitoring/alerts/rules', rule('second'))).statusCode).toBe(201);

    const id = first.json<{ data: { id: string } }>().data.id;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/monitoring/alerts/rules/${id}`, headers: await bearer(tenant, ['admin']) })).statusCode).toBe(204);
    expect((await post(tenant, '/api/v1/monitoring/alerts/rules', rule('second'))).statusCode).toBe(201);
  });

  it('refuses the silence past LIMIT_SILENCES; an expired silence frees its place', async () => {
    const tenant = newTenant();
    const silence = { matchers: [{ name: 'service', value: 'api' }], ends_at: new Date(Date.now() + 3_600_000).toISOString(), comment: 'maintenance' };
    const created = [];
    for (let index = 0; index < 2; index += 1) {
      const response = await post(tenant, '/api/v1/monitoring/alerts/silences', silence, ['operator']);
      expect(response.statusCode, response.body).toBe(201);
      created.push(response.json<{ data: { id: string } }>().data.id);
    }
    expectRefused(await post(tenant, '/api/v1/monitoring/alerts/silences', silence, ['operator']), 'silences', 2);
    expect(await rowsOf(tenant, 'alert_silences')).toBe(2);

    const expired = await t.app.inject({ method: 'DELETE', url: `/api/v1/monitoring/alerts/silences/${created[0] ?? ''}`, headers: await bearer(tenant, ['operator']) });
    expect(expired.statusCode).toBe(200);
    expect((await post(tenant, '/api/v1/monitoring/alerts/silences', silence, ['operator'])).statusCode).toBe(201);
  });

  it('refuses the dashboard past LIMIT_DASHBOARDS, whoever owns the others; another tenant is unaffected', async () => {
    const tenant = newTenant();
    expect((await post(tenant, '/api/v1/monitoring/dashboards', { name: 'mine' }, ['operator'])).statusCode).toBe(201);
    expect((await post(tenant, '/api/v1/monitoring/dashboards', { name: 'ops' }, ['monitoring'])).statusCode).toBe(201);
    expectRefused(await post(tenant, '/api/v1/monitoring/dashboards', { name: 'third' }, ['admin']), 'dashboards', 2);
    expect(await rowsOf(tenant, 'dashboards')).toBe(2);
    expect((await post(newTenant(), '/api/v1/monitoring/dashboards', { name: 'third' }, ['operator'])).statusCode).toBe(201);
  });

  it('lets concurrent creates take the last places only once', async () => {
    const tenant = newTenant();
    const responses = await Promise.all(Array.from({ length: 5 }, (_, index) => post(tenant, '/api/v1/monitoring/dashboards', { name: `d${index}` }, ['operator'])));
    expect(responses.map((response) => response.statusCode).sort()).toEqual([201, 201, 429, 429, 429]);
    expect(await rowsOf(tenant, 'dashboards')).toBe(2);
  });
});

describe('samples and series per tenant', () => {
  it('refuses to start with a sample bucket smaller than INGEST_MAX_BATCH (such a batch could never pass)', () => {
    expect(() => loadConfig(testEnv({ INGEST_MAX_BATCH: '100', LIMIT_SAMPLES_BURST: '50' }))).toThrow(/LIMIT_SAMPLES_BURST: must be at least INGEST_MAX_BATCH \(100\)/);
  });

  const push = async (tenant: string, metrics: Array<{ name: string; labels?: Record<string, string> }>) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/monitoring/metrics',
      headers: { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/json' },
      payload: { metrics: metrics.map((metric, index) => ({ service: 'ticket-service', value: index, ...metric })) },
    });
  const stored = async (tenant: string) => (await t.container.db.withTenant(tenant, (tx) => tx.query('SELECT 1 FROM metrics WHERE tenant_id = $1', [tenant]))).rowCount;
  const series = (names: string[], from = 0) => names.map((name, index) => ({ name, labels: { id: String(from + index) } }));

  it('refuses a batch past LIMIT_SAMPLES_BURST (refilled at LIMIT_SAMPLES_PER_SECOND) with Retry-After, stores none of it, and another tenant is unaffected', async () => {
    const tenant = newTenant();
    const batch = Array.from({ length: 30 }, () => ({ name: 'orders' }));
    expect((await push(tenant, batch)).statusCode).toBe(202);
    const refused = await push(tenant, batch);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.json<ErrorBody>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'samples_per_second', value: 1, burst: 50, requested: 30 } });
    expect(await stored(tenant)).toBe(30);
    expect((await push(newTenant(), batch)).statusCode).toBe(202);
  });

  it('refuses a batch that would pass LIMIT_ACTIVE_SERIES, stores none of it, and keeps accepting the active series', async () => {
    const tenant = newTenant();
    expect((await push(tenant, series(['a', 'a', 'b', 'b', 'c', 'c', 'd', 'd']))).statusCode).toBe(202);
    const refused = await push(tenant, [...series(['e', 'f', 'g'], 100), ...series(['a'])]);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json<ErrorBody>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'active_series', value: 10, current: 8, requested: 3 } });
    expect(await stored(tenant)).toBe(8);
    expect((await push(tenant, series(['a', 'a', 'b', 'b']))).statusCode).toBe(202);
    expect((await push(tenant, series(['e', 'f'], 100))).statusCode).toBe(202);
    expect(await stored(tenant)).toBe(14);
  });

  it('refuses a batch that would pass LIMIT_SERIES_PER_METRIC for one metric name, and accepts new series of other metrics', async () => {
    const tenant = newTenant();
    expect((await push(tenant, series(['m', 'm', 'm', 'm']))).statusCode).toBe(202);
    const refused = await push(tenant, [...series(['other']), ...series(['m'], 4)]);
    expect(refused.statusCode).toBe(429);
    expect(refused.json<ErrorBody>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'active_series_per_metric', value: 4, metric: 'm', current: 4, requested: 1 } });
    expect(await stored(tenant)).toBe(4);
    expect((await push(tenant, [...series(['m', 'm']), ...series(['other'])])).statusCode).toBe(202);
  });

  it('counts the series the database knows from before (another instance, an earlier process)', async () => {
    const tenant = newTenant();
    const keys = Array.from({ length: 10 }, (_, index) => `known_${index}|ticket-service|{}`);
    await t.container.db.withTenant(tenant, (tx) =>
      tx.query("INSERT INTO metric_rollup_marks (tenant_id, bucket_start, series_key, samples) SELECT $1::uuid, date_trunc('minute', now()), k, 1 FROM unnest($2::text[]) AS k", [tenant, keys]),
    );
    const refused = await push(tenant, [{ name: 'brand_new' }]);
    expect(refused.json<ErrorBody>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'active_series', current: 10, requested: 1 } });
    expect((await push(tenant, [{ name: 'known_3' }])).statusCode).toBe(202);
  });

  it('parks a metrics-stream message over a tenant limit at once, with the reason, and stores nothing of it', async () => {
    const parked: DeliveredMessage[] = [];
    await t.container.bus.subscribe(parkedTopic(TOPICS.metrics), `limits-test-${randomInt(1_000_000)}`, async (message) => {
      parked.push(message);
    });
    const tenant = newTenant();
    const metrics = Array.from({ length: 11 }, (_, index) => ({ name: 'from_bus', service: 'ticket-service', value: index, labels: { id: String(index % 4) } }));
    await t.container.bus.publish(TOPICS.metrics, [{ key: tenant, value: { tenant_id: tenant, metrics: [...metrics, { name: 'x', service: 's', value: 1, labels: { id: '9' } }] }, headers: { origin: 'ticket-service' } }]);
    await t.container.bus.publish(TOPICS.metrics, [{ key: tenant, value: { tenant_id: tenant, metrics: [...metrics, ...metrics, ...metrics, ...metrics] }, headers: { origin: 'ticket-service' } }]);
    await waitFor(() => parked.some((message) => JSON.stringify(message.value).includes(tenant)), 10_000, 'the message over the sample bucket to be parked');
    const message = parked.find((entry) => JSON.stringify(entry.value).includes(tenant));
    expect(message?.headers['parked-reason']).toMatch(/samples_per_second/);
    expect(message?.headers['parked-attempts']).toBe('1');
    expect(await stored(tenant)).toBe(12);
  });
});

describe('usage of each limit', () => {
  it('GET /api/v1/monitoring/limits shows every limit with its value and the tenant usage, for any role', async () => {
    const tenant = newTenant();
    const headers = { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/json' };
    await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers, payload: { metrics: [{ name: 'u', service: 's', value: 1, labels: { id: '1' } }, { name: 'u', service: 's', value: 1, labels: { id: '2' } }] } });
    await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/dashboards', headers: { ...(await bearer(tenant, ['operator'])), 'content-type': 'application/json' }, payload: { name: 'one' } });

    const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/limits', headers: await bearer(tenant, ['viewer']), remoteAddress: address() });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ tenant_id: string; data: Array<{ limit: string; value: number; usage: number | null; scope: string }> }>();
    expect(body.tenant_id).toBe(tenant);
    const byName = Object.fromEntries(body.data.map((row) => [row.limit, row]));
    expect(Object.keys(byName).sort()).toEqual(
      ['active_series', 'active_series_per_metric', 'api_keys', 'dashboards', 'requests', 'requests_per_ip', 'rules', 'samples_burst', 'samples_per_second', 'silences', 'ws_connections', 'ws_connections_per_principal', 'ws_subscriptions_per_connection'].sort(),
    );
    expect(byName['requests']).toMatchObject({ value: 20, usage: 3 });
    expect(byName['requests_per_ip']).toMatchObject({ value: 1_000_000, usage: 1 });
    expect(byName['samples_per_second']).toMatchObject({ value: 1, usage: null });
    expect(byName['samples_burst']?.value).toBe(50);
    expect(byName['samples_burst']?.usage).toBeGreaterThanOrEqual(1);
    expect(byName['active_series']).toMatchObject({ value: 10, usage: 2, scope: 'instance' });
    expect(byName['active_series_per_metric']).toMatchObject({ value: 4, usage: 2 });
    expect(byName['dashboards']).toMatchObject({ value: 2, usage: 1, scope: 'cluster' });
    expect(byName['rules']).toMatchObject({ value: 6 });
    expect(byName['silences']).toMatchObject({ value: 2, usage: 0 });
    expect(byName['api_keys']).toMatchObject({ value: 100, usage: 0, scope: 'cluster' });
    expect(byName['ws_connections']).toMatchObject({ value: 500, usage: 0, scope: 'instance' });
  });

  it('/metrics shows monitoring_tenant_limit, monitoring_tenant_usage and monitoring_rate_limited_total of the tenants seen', async () => {
    const tenant = newTenant();
    const post = async () => t.app.inject({ method: 'POST', url: '/api/v1/monitoring/dashboards', headers: { ...(await bearer(tenant, ['operator'])), 'content-type': 'application/json' }, payload: { name: 'd' } });
    await post();
    await post();
    expect((await post()).statusCode).toBe(429);
    const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    const line = (name: string, limit: string) => body.split('\n').find((text) => text.startsWith(`${name}{tenant_id="${tenant}",limit="${limit}"}`));
    expect(line('monitoring_tenant_limit', 'dashboards')).toMatch(/ 2$/);
    expect(line('monitoring_tenant_usage', 'dashboards')).toMatch(/ 2$/);
    expect(line('monitoring_tenant_limit', 'active_series')).toMatch(/ 10$/);
    expect(line('monitoring_tenant_usage', 'requests')).toMatch(/ 3$/);
    expect(line('monitoring_rate_limited_total', 'dashboards')).toMatch(/ 1$/);
    // Per-IP refusals happen before anyone is known: they carry an empty tenant.
    expect(body).not.toContain('tenant_id="",limit="requests"');
  });
});

describe('request rate per client IP', () => {
  let small: TestApp;
  beforeAll(async () => {
    small = await createTestApp({ env: { ...LIMITS, LIMIT_REQUESTS_PER_IP: '5', PROMETHEUS_ALLOWED_IPS: '198.51.100.7' } });
  }, 180_000);
  afterAll(async () => small.close());

  it('answers 429 RATE_LIMITED past LIMIT_REQUESTS_PER_IP, authenticated or not, and another address is unaffected', async () => {
    const remoteAddress = address();
    const headers = await bearer(newTenant(), ['viewer']);
    for (let index = 0; index < 3; index += 1) expect((await small.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', remoteAddress })).statusCode).toBe(401);
    for (let index = 0; index < 2; index += 1) expect((await small.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', headers, remoteAddress })).statusCode).toBe(200);
    for (const request of [{ headers }, {}]) {
      const refused = await small.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', remoteAddress, ...request });
      expect(refused.statusCode).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.json<ErrorBody>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'requests_per_ip', value: 5 } });
    }
    expect((await small.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboards', headers, remoteAddress: address() })).statusCode).toBe(200);
  });

  it('counts an IPv6 client by its /64', async () => {
    const prefix = `2001:db8:${randomInt(1, 0xffff).toString(16)}:1`;
    for (let index = 0; index < 5; index += 1) expect((await small.app.inject({ method: 'GET', url: '/api/v1/monitoring/limits', remoteAddress: `${prefix}::${index + 1}` })).statusCode).toBe(401);
    expect((await small.app.inject({ method: 'GET', url: '/api/v1/monitoring/limits', remoteAddress: `${prefix}::99` })).statusCode).toBe(429);
  });

  it('never limits the probes, nor /metrics scraped from PROMETHEUS_ALLOWED_IPS', async () => {
    for (let index = 0; index < 8; index += 1) {
      for (const url of ['/health/live', '/health/ready']) expect((await small.app.inject({ method: 'GET', url, remoteAddress: '198.51.100.9' })).statusCode).not.toBe(429);
      expect((await small.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '198.51.100.7' })).statusCode).toBe(200);
    }
    // From anywhere else /metrics is forbidden, and counted like any request.
    const statuses = [];
    for (let index = 0; index < 6; index += 1) statuses.push((await small.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '198.51.100.8' })).statusCode);
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429]);
  });
});

describe('request limits while Redis is down', () => {
  let down: TestApp;
  beforeAll(async () => {
    // Nothing listens on port 1: the counters fall back to this instance instead of failing requests.
    down = await createTestApp({ env: { ...LIMITS, REDIS_URL: 'redis://127.0.0.1:1/0', LIMIT_REQUESTS_PER_TENANT: '3' } });
  }, 180_000);
  afterAll(async () => down.close());

  it('still answers, and limits each instance on its own', async () => {
    const headers = await bearer(newTenant(), ['viewer']);
    const statuses = [];
    for (let index = 0; index < 4; index += 1) statuses.push((await down.app.inject({ method: 'GET', url: '/api/v1/monitoring/limits', headers, remoteAddress: address() })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});
