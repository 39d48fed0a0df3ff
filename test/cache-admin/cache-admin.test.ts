import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 180_000);
afterAll(async () => t.close());

const soldIn = async (tenant: string) => {
  const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/business', headers: await bearer(tenant, ['viewer']) });
  return response.json<{ metrics: { tickets_sold?: { value: number } } }>().metrics.tickets_sold?.value;
};

describe('cache administration', () => {
  it('serves dashboard reads from the cache until DELETE /cache/flush, which keeps nonces', async () => {
    const tenant = newTenant();
    await t.container.ingest.ingest(tenant, [{ name: 'tickets_sold_total', service: 'ticket-service', value: 5 }], 'internal');
    expect(await soldIn(tenant)).toBe(5);
    await t.container.ingest.ingest(tenant, [{ name: 'tickets_sold_total', service: 'ticket-service', value: 2 }], 'internal');
    // Within the TTL the cached figure is served.
    expect(await soldIn(tenant)).toBe(5);

    await t.container.cache.set('nonce:probe-service:n-1', '1', 60_000);
    const flush = await t.app.inject({ method: 'DELETE', url: '/cache/flush', headers: await bearer(newTenant(), ['admin']) });
    expect(flush.statusCode).toBe(200);
    expect(flush.json<{ flushed: number; prefix: string }>().flushed).toBeGreaterThanOrEqual(1);
    expect(flush.json<{ prefix: string }>().prefix).toBe('view:');
    expect(await soldIn(tenant)).toBe(7);
    expect(await t.container.cache.get('nonce:probe-service:n-1')).toBe('1');
  });

  it('reports hits, misses, hit rate and keys to admins and signed services', async () => {
    const stats = await t.app.inject({ method: 'GET', url: '/cache/stats', headers: await bearer(newTenant(), ['admin']) });
    expect(stats.statusCode).toBe(200);
    const body = stats.json<{ kind: string; hits: number; misses: number; hit_rate: number | null; keys: number }>();
    expect(body.kind).toBe(t.container.cache.kind);
    expect(body.hits).toBeGreaterThanOrEqual(1);
    expect(body.misses).toBeGreaterThanOrEqual(1);
    expect(body.hit_rate).toBeCloseTo(body.hits / (body.hits + body.misses), 4);
    const signed = signedHeaders({ method: 'GET', path: '/cache/stats', tenantId: newTenant() });
    const service = await t.app.inject({ method: 'GET', url: '/cache/stats', headers: signed.headers });
    expect(service.statusCode).toBe(200);
  });

  it('refuses non-admin users and anonymous callers, and flushes nothing for them', async () => {
    const tenant = newTenant();
    await t.container.ingest.ingest(tenant, [{ name: 'tickets_sold_total', service: 'ticket-service', value: 1 }], 'internal');
    expect(await soldIn(tenant)).toBe(1);
    const keysBefore = (await t.container.cache.stats()).keys;
    for (const role of ['operator', 'monitoring', 'viewer'] as const) {
      const response = await t.app.inject({ method: 'DELETE', url: '/cache/flush', headers: await bearer(tenant, [role]) });
      expect(response.statusCode, role).toBe(403);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    }
    const anonymous = await t.app.inject({ method: 'DELETE', url: '/cache/flush' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json<{ error: { code: string } }>().error.code).toBe('UNAUTHENTICATED');
    expect((await t.app.inject({ method: 'GET', url: '/cache/stats', headers: await bearer(tenant, ['viewer']) })).statusCode).toBe(403);
    expect((await t.container.cache.stats()).keys).toBeGreaterThanOrEqual(keysBefore);
    await t.container.ingest.ingest(tenant, [{ name: 'tickets_sold_total', service: 'ticket-service', value: 1 }], 'internal');
    expect(await soldIn(tenant)).toBe(1);
  });
});
