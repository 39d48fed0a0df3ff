import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/auth/index.js';
import { createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';

interface Dashboard {
  id: string;
  name: string;
  description: string | null;
  widgets: unknown[];
  layout: Record<string, unknown>;
  owner: string;
  shared: boolean;
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 180_000);
afterAll(async () => t.close());

const URL = '/api/v1/monitoring/dashboards';
const as = async (tenant: string, sub: string, roles: Role[]) => ({ authorization: `Bearer ${await tokenFor(tenant, roles, { sub })}`, 'content-type': 'application/json' });
const widgets = [{ id: 'w1', type: 'timeseries', title: 'Latency', metric: 'http_response_time_ms', query: { service: 'ticket' } }];
const count = async (tenant: string) => (await t.container.db.withTenant(tenant, (tx) => tx.query('SELECT 1 FROM dashboards WHERE tenant_id = $1', [tenant]))).rowCount;

async function create(tenant: string, sub: string, payload: Record<string, unknown>, roles: Role[] = ['operator']) {
  const response = await t.app.inject({ method: 'POST', url: URL, headers: await as(tenant, sub, roles), payload });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Dashboard>();
}

describe('custom dashboards', () => {
  it('creates, reads, replaces and deletes a dashboard with widgets and layout', async () => {
    const tenant = newTenant();
    const created = await create(tenant, 'alice', { name: 'Ops', widgets, layout: { columns: 12 } });
    expect(created).toMatchObject({ name: 'Ops', description: null, widgets, layout: { columns: 12 }, owner: 'alice', shared: false });
    const alice = await as(tenant, 'alice', ['operator']);
    expect((await t.app.inject({ method: 'GET', url: `${URL}/${created.id}`, headers: alice })).json<Dashboard>()).toMatchObject({ name: 'Ops', widgets });
    const replaced = await t.app.inject({ method: 'PUT', url: `${URL}/${created.id}`, headers: alice, payload: { name: 'Ops v2', description: 'on call', widgets: [], layout: {}, shared: true } });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json<Dashboard>()).toMatchObject({ name: 'Ops v2', description: 'on call', widgets: [], shared: true, owner: 'alice' });
    const deleted = await t.app.inject({ method: 'DELETE', url: `${URL}/${created.id}`, headers: alice });
    expect(deleted.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `${URL}/${created.id}`, headers: alice })).statusCode).toBe(404);
    expect(await count(tenant)).toBe(0);
  });

  it('shows users their own and the shared dashboards; only owners and admins change them', async () => {
    const tenant = newTenant();
    const own = await create(tenant, 'alice', { name: 'A private' });
    const shared = await create(tenant, 'alice', { name: 'A shared', shared: true });
    await create(tenant, 'bob', { name: 'B private' });
    const bob = await as(tenant, 'bob', ['operator']);
    const names = async (headers: Record<string, string>) => (await t.app.inject({ method: 'GET', url: URL, headers })).json<{ data: Dashboard[] }>().data.map((row) => row.name);
    expect(await names(bob)).toEqual(['A shared', 'B private']);
    expect(await names(await as(tenant, 'carol', ['viewer']))).toEqual(['A shared']);
    expect(await names(await as(tenant, 'root', ['admin']))).toEqual(['A private', 'A shared', 'B private']);

    expect((await t.app.inject({ method: 'GET', url: `${URL}/${own.id}`, headers: bob })).statusCode).toBe(404);
    const change = await t.app.inject({ method: 'PUT', url: `${URL}/${shared.id}`, headers: bob, payload: { name: 'hijacked' } });
    expect(change.statusCode).toBe(403);
    expect(change.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    expect((await t.app.inject({ method: 'DELETE', url: `${URL}/${shared.id}`, headers: bob })).statusCode).toBe(403);
    const viewerCreate = await t.app.inject({ method: 'POST', url: URL, headers: await as(tenant, 'carol', ['viewer']), payload: { name: 'x' } });
    expect(viewerCreate.statusCode).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: `${URL}/${own.id}`, headers: await as(tenant, 'root', ['admin']) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `${URL}/${shared.id}`, headers: bob })).json<Dashboard>().name).toBe('A shared');
    expect(await count(tenant)).toBe(2);
  });

  it('refuses bad input with VALIDATION_FAILED and writes nothing', async () => {
    const tenant = newTenant();
    const headers = await as(tenant, 'alice', ['admin']);
    const bad: Array<Record<string, unknown>> = [
      {},
      { name: '' },
      { name: 'x', widgets: 'not a list' },
      { name: 'x', widgets: [{ title: 'no type' }] },
      { name: 'x', widgets: [{ type: 'graph', script: 'alert(1)' }] },
      { name: 'x', widgets: Array.from({ length: 101 }, () => ({ type: 'graph' })) },
      { name: 'x', owner: 'mallory' },
      { name: 'x', shared: 'yes please' },
    ];
    for (const payload of bad) {
      const response = await t.app.inject({ method: 'POST', url: URL, headers, payload });
      expect(response.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
    }
    expect(await count(tenant)).toBe(0);
    const created = await create(tenant, 'alice', { name: 'ok' }, ['admin']);
    const badPut = await t.app.inject({ method: 'PUT', url: `${URL}/${created.id}`, headers, payload: { name: '' } });
    expect(badPut.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: `${URL}/${created.id}`, headers })).json<Dashboard>().name).toBe('ok');
    expect((await t.app.inject({ method: 'GET', url: `${URL}/not-a-uuid`, headers })).statusCode).toBe(400);
  });

  it('tenant B never sees, changes or deletes tenant A dashboards, even shared ones', async () => {
    const a = newTenant();
    const b = newTenant();
    const shared = await create(a, 'alice', { name: 'A shared', shared: true });
    const root = await as(b, 'root', ['admin']);
    expect((await t.app.inject({ method: 'GET', url: URL, headers: root })).json()).toEqual({ data: [], pagination: { limit: 100, offset: 0, total: 0 } });
    expect((await t.app.inject({ method: 'GET', url: `${URL}/${shared.id}`, headers: root })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'PUT', url: `${URL}/${shared.id}`, headers: root, payload: { name: 'pwned' } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `${URL}/${shared.id}`, headers: root })).statusCode).toBe(404);
    const still = await t.app.inject({ method: 'GET', url: `${URL}/${shared.id}`, headers: await as(a, 'alice', ['viewer']) });
    expect(still.json<Dashboard>().name).toBe('A shared');
  });
});
