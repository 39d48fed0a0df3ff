import { createHash, createHmac, randomUUID } from 'node:crypto';
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

/** Headers signed by hand from the contract string of the README, independent of the service's own signer. */
function signByContract(request: { service: string; tenantId: string; body: string; nonce?: string; path?: string; form?: 'current' | 'first' }) {
  const timestamp = String(Date.now());
  const nonce = request.nonce ?? randomUUID();
  const path = request.path ?? PATH;
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  const signed =
    request.form === 'first'
      ? `${timestamp}.${nonce}.POST.${path}.${bodyHash}`
      : `${timestamp}.${nonce}.${request.service}.${request.tenantId}.POST.${path}.${bodyHash}`;
  return {
    'content-type': 'application/json',
    'x-service-name': request.service,
    'x-tenant-id': request.tenantId,
    'x-timestamp': timestamp,
    'x-nonce': nonce,
    'x-signature': createHmac('sha256', TEST_HMAC_SECRET).update(signed).digest('hex'),
  };
}

describe('the signed string covers the service and the tenant', () => {
  const body = JSON.stringify({ name: 'orders', service: 'ticket', value: 1 });

  it('accepts a request signed exactly as the README contract says', async () => {
    const tenant = newTenant();
    const response = await t.app.inject({ method: 'POST', url: PATH, headers: signByContract({ service: 'ticket-service', tenantId: tenant, body }), payload: body });
    expect(response.statusCode).toBe(202);
    expect(await stored(tenant)).toBe(1);
  });

  it('refuses a captured request replayed into another tenant under another allowed service name', async () => {
    const victim = newTenant();
    const captured = signByContract({ service: 'ticket-service', tenantId: newTenant(), body });
    const replayed = { ...captured, 'x-service-name': 'payment-service', 'x-tenant-id': victim };
    const response = await t.app.inject({ method: 'POST', url: PATH, headers: replayed, payload: body });
    expect(response.statusCode).toBe(401);
    expect(codeOf(response.body)).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'bad_signature' } });
    expect(await stored(victim)).toBe(0);
  });

  it('refuses a request signed in the first form of the contract (no service, no tenant)', async () => {
    const tenant = newTenant();
    const response = await t.app.inject({ method: 'POST', url: PATH, headers: signByContract({ service: 'ticket-service', tenantId: tenant, body, form: 'first' }), payload: body });
    expect(response.statusCode).toBe(401);
    expect(await stored(tenant)).toBe(0);
  });

  it('accepts a nonce once across all services', async () => {
    const tenant = newTenant();
    const nonce = randomUUID();
    const first = await t.app.inject({ method: 'POST', url: PATH, headers: signByContract({ service: 'ticket-service', tenantId: tenant, body, nonce }), payload: body });
    expect(first.statusCode).toBe(202);
    const second = await t.app.inject({ method: 'POST', url: PATH, headers: signByContract({ service: 'payment-service', tenantId: tenant, body, nonce }), payload: body });
    expect(second.statusCode).toBe(401);
    expect(codeOf(second.body)).toMatchObject({ details: { reason: 'replay' } });
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
