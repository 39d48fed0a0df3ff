import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';

/** Small limits so a few requests reach them; nothing here waits for a window to pass. */
const LIMITS = {
  LIMIT_REQUESTS_PER_TENANT: '20',
  LIMIT_REQUESTS_PER_IP: '1000000',
  LIMIT_REQUEST_WINDOW_MS: '600000',
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
