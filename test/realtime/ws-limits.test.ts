import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';
import { connect, connectAs, listen, subscribe, waitFor, type TestClient } from '../support/ws.js';

let t: TestApp;
let url: string;
const clients: TestClient[] = [];
beforeAll(async () => {
  t = await createTestApp({ env: { LIMIT_WS_CONNECTIONS_PER_TENANT: '3', LIMIT_WS_CONNECTIONS_PER_PRINCIPAL: '2', WS_MAX_SUBSCRIPTIONS: '3' } });
  url = await listen(t.app);
}, 180_000);
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await t.close();
});

const as = async (tenant: string, sub: string) => {
  const client = await connectAs(url, await tokenFor(tenant, ['viewer'], { sub }));
  clients.push(client);
  return client;
};

/** A connection the server refuses after authentication: the error message, then close 4429. */
async function refused(tenant: string, sub: string) {
  const client = connect(`${url}/api/v1/ws?token=${encodeURIComponent(await tokenFor(tenant, ['viewer'], { sub }))}`);
  clients.push(client);
  const error = await client.next((message) => message.type === 'error');
  const closed = await client.closed;
  expect(client.received((message) => message.type === 'authenticated')).toEqual([]);
  return { error, closed };
}

const rateLimitedLine = async (tenant: string, limit: string) => {
  const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  return body.split('\n').find((line) => line.startsWith(`monitoring_rate_limited_total{tenant_id="${tenant}",limit="${limit}"}`));
};

describe('WebSocket connection limits', () => {
  it('closes a user past LIMIT_WS_CONNECTIONS_PER_PRINCIPAL with 4429 and tells why; another user of the tenant still connects', async () => {
    const tenant = newTenant();
    await as(tenant, 'alice');
    await as(tenant, 'alice');
    const { error, closed } = await refused(tenant, 'alice');
    expect(error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'ws_connections_per_principal', value: 2, current: 2 } });
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/per user/);
    await as(tenant, 'bob');
    expect(await rateLimitedLine(tenant, 'ws_connections_per_principal')).toMatch(/ 1$/);
  });

  it('closes a connection past LIMIT_WS_CONNECTIONS_PER_TENANT; another tenant is unaffected, and a closed connection frees its place', async () => {
    const tenant = newTenant();
    const first = await as(tenant, 'u1');
    await as(tenant, 'u2');
    await as(tenant, 'u3');
    const { error, closed } = await refused(tenant, 'u4');
    expect(error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'ws_connections', value: 3, current: 3 } });
    expect(closed.code).toBe(4429);
    await as(newTenant(), 'u4');

    await first.close();
    await waitFor(() => t.container.realtime.hub.usage.connections([tenant]).get(tenant) === 2, 5_000, 'the closed connection to leave the count');
    await as(tenant, 'u4');
  });
});

describe('subscriptions per connection', () => {
  it('refuses subscriptions past WS_MAX_SUBSCRIPTIONS with a RATE_LIMITED error and keeps the connection and its subscriptions', async () => {
    const tenant = newTenant();
    const client = await as(tenant, 'carol');
    expect(await subscribe(client, ['a', 'b'])).toMatchObject({ subscriptions: ['a', 'b'] });
    client.send({ action: 'subscribe', metrics: ['c', 'd'] });
    expect(await client.next((message) => message.type === 'error')).toMatchObject({
      code: 'RATE_LIMITED',
      details: { limit: 'ws_subscriptions_per_connection', value: 3, current: 2, requested: 2 },
    });
    expect(await subscribe(client, ['c'])).toMatchObject({ subscriptions: ['a', 'b', 'c'] });
    expect(await rateLimitedLine(tenant, 'ws_subscriptions_per_connection')).toMatch(/ 1$/);
  });
});
