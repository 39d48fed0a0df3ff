import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';

let t: TestApp;
/** SYSTEM_TENANT_ID of this app: its admins may act on the whole cache. */
const platform = newTenant();
beforeAll(async () => {
  // A still clock: the default dashboard range ends at the next whole minute, so a minute passing
  // between two reads would change the cache key and look like a flush.
  t = await createTestApp({ clock: new ManualClock(Date.now()), env: { SYSTEM_TENANT_ID: platform } });
}, 180_000);
afterAll(async () => t.close());

const soldIn = async (tenant: string) => {
  const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/business', headers: await bearer(tenant, ['viewer']) });
  return response.json<{ metrics: { tickets_sold?: { value: number } } }>().metrics.tickets_sold?.value;
};
const sell = (tenant: string, value: number) => t.container.ingest.ingest(tenant, [{ name: 'tickets_sold_total', service: 'ticket-service', value }], 'internal');
const flush = async (headers: Record<string, string>, scope?: 'tenant' | 'all') =>
  t.app.inject({ method: 'DELETE', url: scope === undefined ? '/cache/flush' : `/cache/flush?scope=${scope}`, headers });
const codeOf = (body: string) => (JSON.parse(body) as { error: { code: string } }).error.code;

describe('cache administration', () => {
  it("serves dashboard reads from the cache until the tenant's DELETE /cache/flush, which keeps nonces", async () => {
    const tenant = newTenant();
    await sell(tenant, 5);
    expect(await soldIn(tenant)).toBe(5);
    await sell(tenant, 2);
    // Within the TTL the cached figure is served.
    expect(await soldIn(tenant)).toBe(5);

    await t.container.cache.set('nonce:probe-service:n-1', '1', 60_000);
    const response = await flush(await bearer(tenant, ['admin']));
    expect(response.statusCode).toBe(200);
    expect(response.json<{ flushed: number }>().flushed).toBeGreaterThanOrEqual(1);
    expect(response.json<{ scope: string; prefix: string }>()).toMatchObject({ scope: 'tenant', prefix: `view:${tenant}:` });
    expect(await soldIn(tenant)).toBe(7);
    expect(await t.container.cache.get('nonce:probe-service:n-1')).toBe('1');
  });

  it("a tenant's flush touches only its own cached reads: another tenant's survive", async () => {
    const [a, b] = [newTenant(), newTenant()];
    await Promise.all([sell(a, 1), sell(b, 10)]);
    expect(await soldIn(a)).toBe(1);
    expect(await soldIn(b)).toBe(10);
    await Promise.all([sell(a, 1), sell(b, 10)]);

    expect((await flush(await bearer(a, ['admin']))).statusCode).toBe(200);
    expect(await soldIn(a)).toBe(2);
    // B's cached read was not flushed: B still gets its cached figure until its TTL.
    expect(await soldIn(b)).toBe(10);
  });

  it("refuses other tenants' admins the global statistics and the global flush (403 FORBIDDEN), and flushes nothing for them", async () => {
    const [admin, victim] = [newTenant(), newTenant()];
    await sell(victim, 3);
    expect(await soldIn(victim)).toBe(3);
    await sell(victim, 1);

    const stats = await t.app.inject({ method: 'GET', url: '/cache/stats', headers: await bearer(admin, ['admin']) });
    expect(stats.statusCode).toBe(403);
    expect(codeOf(stats.body)).toBe('FORBIDDEN');
    expect(stats.body).not.toContain('hit_rate');
    const all = await flush(await bearer(admin, ['admin']), 'all');
    expect(all.statusCode).toBe(403);
    expect(codeOf(all.body)).toBe('FORBIDDEN');
    expect(await soldIn(victim)).toBe(3);
  });

  it("lets the platform tenant's admins and signed services read the statistics and flush every tenant's reads", async () => {
    const tenant = newTenant();
    await sell(tenant, 4);
    expect(await soldIn(tenant)).toBe(4);
    await sell(tenant, 1);

    const stats = await t.app.inject({ method: 'GET', url: '/cache/stats', headers: await bearer(platform, ['admin']) });
    expect(stats.statusCode).toBe(200);
    const body = stats.json<{ kind: string; hits: number; misses: number; hit_rate: number | null; keys: number }>();
    expect(body.kind).toBe(t.container.cache.kind);
    expect(body.hits).toBeGreaterThanOrEqual(1);
    expect(body.misses).toBeGreaterThanOrEqual(1);
    expect(body.hit_rate).toBeCloseTo(body.hits / (body.hits + body.misses), 4);
    const signed = signedHeaders({ method: 'GET', path: '/cache/stats', tenantId: newTenant() });
    expect((await t.app.inject({ method: 'GET', url: '/cache/stats', headers: signed.headers })).statusCode).toBe(200);

    const all = await flush(await bearer(platform, ['admin']), 'all');
    expect(all.statusCode).toBe(200);
    expect(all.json<{ scope: string; prefix: string }>()).toMatchObject({ scope: 'all', prefix: 'view:' });
    expect(await soldIn(tenant)).toBe(5);

    await sell(tenant, 1);
    const service = signedHeaders({ method: 'DELETE', path: '/cache/flush?scope=all', tenantId: newTenant() });
    expect((await t.app.inject({ method: 'DELETE', url: '/cache/flush?scope=all', headers: service.headers })).statusCode).toBe(200);
    expect(await soldIn(tenant)).toBe(6);
  });

  it('refuses non-admin users and anonymous callers, and flushes nothing for them', async () => {
    const tenant = newTenant();
    await sell(tenant, 1);
    expect(await soldIn(tenant)).toBe(1);
    for (const role of ['operator', 'monitoring', 'viewer'] as const) {
      const response = await flush(await bearer(tenant, [role]));
      expect(response.statusCode, role).toBe(403);
      expect(codeOf(response.body)).toBe('FORBIDDEN');
    }
    const anonymous = await t.app.inject({ method: 'DELETE', url: '/cache/flush' });
    expect(anonymous.statusCode).toBe(401);
    expect(codeOf(anonymous.body)).toBe('UNAUTHENTICATED');
    expect((await t.app.inject({ method: 'GET', url: '/cache/stats', headers: await bearer(platform, ['viewer']) })).statusCode).toBe(403);
    await sell(tenant, 1);
    expect(await soldIn(tenant)).toBe(1);
  });
});
