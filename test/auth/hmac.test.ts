import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmacVerifier, createSigner } from '../../src/auth/index.js';
import { createMemoryCache, createRedisCache, type Cache } from '../../src/platform/cache/index.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';
import { TEST_HMAC_SECRET, TEST_REDIS_URL } from '../support/env.js';

const PATH = '/api/v1/monitoring/metrics';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

const stored = async (tenantId: string) => (await t.app.inject({ method: 'GET', url: PATH, headers: await bearer(tenantId, ['viewer']) })).json<{ data: unknown[] }>().data.length;
const codeOf = (body: string) => (JSON.parse(body) as { error: { code: string; details?: { reason?: string } } }).error;

describe('service-to-service HMAC through the API', () => {
  it('accepts a valid signature and stores under x-tenant-id', async () => {
    const tenant = newTenant();
    const signed = signedHeaders({ method: 'POST', path: PATH, body: { name: 'orders', service: 'ticket', value: 4 }, tenantId: tenant });
    const response = await t.app.inject({ method: 'POST', url: PATH, headers: signed.headers, payload: signed.payload });
    expect(response.statusCode).toBe(202);
    expect(await stored(tenant)).toBe(1);
  });

  const refusals: Array<[string, (tenant: string) => { headers: Record<string, string>; payload: string }, number, string]> = [
    ['a wrong signature', (tenant) => {
      const signed = signedHeaders({ method: 'POST', path: PATH, body: { name: 'a', service: 's', value: 1 }, tenantId: tenant, secret: 'wrong-secret-wrong-secret-wrong-secret' });
      return signed;
    }, 401, 'bad_signature'],
    ['a stale timestamp', (tenant) => signedHeaders({ method: 'POST', path: PATH, body: { name: 'a', service: 's', value: 1 }, tenantId: tenant, now: () => Date.now() - 61_000 }), 401, 'stale'],
    ['an unknown service', (tenant) => signedHeaders({ method: 'POST', path: PATH, body: { name: 'a', service: 's', value: 1 }, tenantId: tenant, service: 'evil-service' }), 403, 'unknown_service'],
    ['a body changed after signing', (tenant) => {
      const signed = signedHeaders({ method: 'POST', path: PATH, body: { name: 'a', service: 's', value: 1 }, tenantId: tenant });
      return { headers: signed.headers, payload: JSON.stringify({ name: 'a', service: 's', value: 1000 }) };
    }, 401, 'bad_signature'],
    ['a path changed after signing', (tenant) => signedHeaders({ method: 'POST', path: `${PATH}?x=1`, body: { name: 'a', service: 's', value: 1 }, tenantId: tenant }), 401, 'bad_signature'],
  ];

  for (const [what, make, status, reason] of refusals) {
    it(`refuses ${what} and writes nothing`, async () => {
      const tenant = newTenant();
      const { headers, payload } = make(tenant);
      const response = await t.app.inject({ method: 'POST', url: PATH, headers, payload });
      expect(response.statusCode).toBe(status);
      expect(codeOf(response.body).details?.reason).toBe(reason);
      expect(await stored(tenant)).toBe(0);
    });
  }

  it('refuses a replayed nonce', async () => {
    const tenant = newTenant();
    const signed = signedHeaders({ method: 'POST', path: PATH, body: { name: 'once', service: 's', value: 1 }, tenantId: tenant });
    expect((await t.app.inject({ method: 'POST', url: PATH, headers: signed.headers, payload: signed.payload })).statusCode).toBe(202);
    const replay = await t.app.inject({ method: 'POST', url: PATH, headers: signed.headers, payload: signed.payload });
    expect(replay.statusCode).toBe(401);
    expect(codeOf(replay.body)).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'replay' } });
    expect(await stored(tenant)).toBe(1);
  });
});

const caches: Array<[string, () => Cache]> = [['memory', () => createMemoryCache()]];
const redisUrl = TEST_REDIS_URL;
if (redisUrl !== undefined) caches.push(['redis', () => createRedisCache(redisUrl, `hmac-test-${process.pid}:`)]);

describe.each(caches)('HMAC verifier on the %s nonce store', (_kind, makeCache) => {
  let cache: Cache;
  beforeAll(() => {
    cache = makeCache();
  });
  afterAll(async () => cache.close());

  const verifierAt = (now: number) =>
    createHmacVerifier({ secret: TEST_HMAC_SECRET, enabled: true, windowMs: 60_000, allowedServices: ['ticket-service'], nonces: cache, now: () => now });

  const request = (now: number, overrides: { body?: string; secret?: string; service?: string } = {}) => {
    const sign = createSigner(overrides.secret ?? TEST_HMAC_SECRET, overrides.service ?? 'ticket-service', () => now);
    const headers = sign({ method: 'POST', path: '/p?q=1', body: '{"a":1}', tenantId: newTenant() });
    return { method: 'POST', url: '/p?q=1', headers: { ...headers }, rawBody: overrides.body ?? '{"a":1}' };
  };

  it('accepts a valid request once and refuses its replay', async () => {
    const now = Date.now();
    const req = request(now);
    await expect(verifierAt(now)(req)).resolves.toMatchObject({ kind: 'service', service: 'ticket-service' });
    await expect(verifierAt(now)(req)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'replay' } });
  });

  it('refuses wrong signature, stale timestamp, unknown service and a changed body', async () => {
    const now = Date.now();
    await expect(verifierAt(now)(request(now, { secret: 'x'.repeat(40) }))).rejects.toMatchObject({ details: { reason: 'bad_signature' } });
    await expect(verifierAt(now + 60_001)(request(now))).rejects.toMatchObject({ details: { reason: 'stale' } });
    await expect(verifierAt(now)(request(now, { service: 'other' }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(verifierAt(now)(request(now, { body: '{"a":2}' }))).rejects.toMatchObject({ details: { reason: 'bad_signature' } });
  });
});
