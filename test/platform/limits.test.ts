import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';

/** Small limits so a few requests reach them; nothing here waits for a window to pass. */
const LIMITS = {
  LIMIT_REQUESTS_PER_TENANT: '20',
  LIMIT_REQUESTS_PER_IP: '1000000',
  LIMIT_REQUEST_WINDOW_MS: '600000',
  LIMIT_RULES: '6',
  LIMIT_SILENCES: '2',
  LIMIT_DASHBOARDS: '2',
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
