import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEARTBEAT_JOB } from '../../src/realtime/index.js';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';
import { connect, connectAs, isMetric, listen, subscribe, waitFor, type ServerMessageIn } from '../support/ws.js';

let t: TestApp;
let url: string;
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  t = await createTestApp({ clock, env: { WS_AUTH_TIMEOUT_MS: '300', WS_MESSAGE_RATE_LIMIT: '5', WS_MAX_SUBSCRIPTIONS: '4', WS_CLOSE_GRACE_MS: '500' } });
  url = await listen(t.app);
}, 180_000);
afterAll(async () => t.close());

const push = async (tenantId: string, samples: Array<{ name: string; value: number }>) => {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/monitoring/metrics',
    headers: { ...(await bearer(tenantId, ['monitoring'])), 'content-type': 'application/json' },
    payload: { metrics: samples.map((sample) => ({ ...sample, service: 'ticket-service' })) },
  });
  expect(response.statusCode).toBe(202);
};

const namesOf = (message: ServerMessageIn) => (message['samples'] as Array<{ name: string }>).map((sample) => sample.name);

describe('authentication', () => {
  it('closes a connection without a token with 4401 after WS_AUTH_TIMEOUT_MS', async () => {
    const client = connect(`${url}/api/v1/ws`);
    expect(await client.closed).toEqual({ code: 4401, reason: 'authentication timeout' });
  });

  it('closes a connection with a bad token with 4401 and says why', async () => {
    const client = connect(`${url}/api/v1/ws?token=not-a-jwt`);
    const error = await client.next((message) => message.type === 'error');
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await client.closed).code).toBe(4401);
  });

  it('refuses a token signed with another key and an expired token', async () => {
    const tenant = newTenant();
    const forged = connect(`${url}/api/v1/ws`, { headers: { authorization: `Bearer ${await tokenFor(tenant, ['admin'], { secret: 'another-secret-that-is-long-enough-0123456789' })}` } });
    expect((await forged.closed).code).toBe(4401);
    const expired = connect(`${url}/api/v1/ws?token=${await tokenFor(tenant, ['admin'], { expiresIn: Math.floor(Date.now() / 1000) - 10 })}`);
    expect((await expired.closed)).toEqual({ code: 4401, reason: 'Token expired' });
  });

  it('refuses an auth message that arrives after the timeout', async () => {
    const client = connect(`${url}/api/v1/ws`);
    await new Promise((resolve) => client.socket.once('open', resolve));
    await new Promise((resolve) => setTimeout(resolve, 450));
    if (client.socket.readyState === client.socket.OPEN) client.send({ action: 'auth', token: await tokenFor(newTenant()) });
    expect((await client.closed).code).toBe(4401);
    expect(client.received((message) => message.type === 'authenticated')).toEqual([]);
  });

  it('closes with 4401 when a client acts before authenticating', async () => {
    const client = connect(`${url}/api/v1/ws`);
    await new Promise((resolve) => client.socket.once('open', resolve));
    client.send({ action: 'subscribe', metrics: ['*'] });
    expect(await client.closed).toEqual({ code: 4401, reason: 'authenticate first' });
  });

  it('accepts a token in an auth message, in the Authorization header or as the bearer subprotocol', async () => {
    const tenant = newTenant();
    const token = await tokenFor(tenant, ['viewer'], { sub: 'viewer-1' });
    const byMessage = connect(`${url}/api/v1/ws`);
    await new Promise((resolve) => byMessage.socket.once('open', resolve));
    byMessage.send({ action: 'auth', token });
    expect(await byMessage.next()).toMatchObject({ type: 'authenticated', tenant_id: tenant, subject: 'viewer-1' });

    const byHeader = connect(`${url}/api/v1/ws`, { headers: { authorization: `Bearer ${token}` } });
    expect(await byHeader.next()).toMatchObject({ type: 'authenticated', tenant_id: tenant });

    const byProtocol = connect(`${url}/api/v1/ws`, { protocols: ['bearer', token] });
    expect(await byProtocol.next()).toMatchObject({ type: 'authenticated', tenant_id: tenant });
    expect(byProtocol.socket.protocol).toBe('bearer');

    byMessage.send({ action: 'auth', token });
    expect(await byMessage.next((message) => message.type === 'error')).toMatchObject({ code: 'BAD_REQUEST' });
    await Promise.all([byMessage.close(), byHeader.close(), byProtocol.close()]);
  });
});

describe('subscriptions', () => {
  it('tenant B never receives tenant A samples or alerts', async () => {
    const a = newTenant();
    const b = newTenant();
    const clientA = await connectAs(url, await tokenFor(a));
    const clientB = await connectAs(url, await tokenFor(b));
    await subscribe(clientA, ['*']);
    await subscribe(clientB, ['*']);

    await push(a, [{ name: 'secret_sales', value: 42 }]);
    await t.container.alerts.raise(a, { fingerprint: 'fp-a', name: 'OnlyForA', type: 'threshold', severity: 'warning', message: 'a only', source: 'test' });
    await push(b, [{ name: 'b_marker', value: 1 }]);
    await t.container.alerts.raise(b, { fingerprint: 'fp-b', name: 'OnlyForB', type: 'threshold', severity: 'warning', message: 'b only', source: 'test' });

    const metricA = await clientA.next(isMetric());
    expect(metricA['samples']).toEqual([expect.objectContaining({ name: 'secret_sales', value: 42, service: 'ticket-service' })]);
    expect(await clientA.next((message) => message.type === 'alert')).toMatchObject({ kind: 'firing', alert: { name: 'OnlyForA', fingerprint: 'fp-a' } });
    expect(namesOf(await clientB.next(isMetric()))).toEqual(['b_marker']);
    expect(await clientB.next((message) => message.type === 'alert')).toMatchObject({ alert: { name: 'OnlyForB' } });
    expect(JSON.stringify(clientB.messages)).not.toContain('secret_sales');
    expect(JSON.stringify(clientB.messages)).not.toContain('OnlyForA');
    await Promise.all([clientA.close(), clientB.close()]);
  });

  it('delivers only subscribed metrics, alerts only to `alerts`, everything to `*`, nothing after unsubscribe', async () => {
    const tenant = newTenant();
    const token = await tokenFor(tenant);
    const cpu = await connectAs(url, token);
    const alertsOnly = await connectAs(url, token);
    const everything = await connectAs(url, token);
    expect(await subscribe(cpu, ['cpu_usage', 'marker'])).toMatchObject({ metrics: ['cpu_usage', 'marker'], subscriptions: ['cpu_usage', 'marker'] });
    await subscribe(alertsOnly, ['alerts']);
    await subscribe(everything, ['*']);

    await push(tenant, [{ name: 'cpu_usage', value: 0.5 }, { name: 'memory_usage', value: 0.7 }]);
    expect(namesOf(await cpu.next(isMetric()))).toEqual(['cpu_usage']);
    expect(namesOf(await everything.next(isMetric()))).toEqual(['cpu_usage', 'memory_usage']);

    await t.container.alerts.raise(tenant, { fingerprint: 'fp-sub', name: 'SubAlert', type: 'threshold', severity: 'critical', message: 'm', source: 'test' });
    expect(await alertsOnly.next((message) => message.type === 'alert')).toMatchObject({ kind: 'firing', alert: { name: 'SubAlert', severity: 'critical' } });
    expect(await everything.next((message) => message.type === 'alert')).toMatchObject({ alert: { name: 'SubAlert' } });
    await t.container.alerts.resolve(tenant, { fingerprint: 'fp-sub' }, 'operator');
    expect(await alertsOnly.next((message) => message.type === 'alert')).toMatchObject({ kind: 'resolved', alert: { status: 'resolved' } });

    cpu.send({ action: 'unsubscribe', metrics: ['cpu_usage'] });
    expect(await cpu.next((message) => message.type === 'unsubscribed')).toMatchObject({ metrics: ['cpu_usage'], subscriptions: ['marker'] });
    await push(tenant, [{ name: 'cpu_usage', value: 0.9 }]);
    await push(tenant, [{ name: 'marker', value: 1 }]);
    expect(namesOf(await cpu.next(isMetric()))).toEqual(['marker']);
    expect(alertsOnly.received(isMetric())).toEqual([]);
    expect(cpu.received((message) => message.type === 'alert')).toEqual([]);
    await Promise.all([cpu.close(), alertsOnly.close(), everything.close()]);
  });

  it('answers ping with pong and refuses malformed messages without changing subscriptions', async () => {
    clock.advance(1_000);
    const client = await connectAs(url, await tokenFor(newTenant()));
    client.send({ action: 'ping' });
    expect(await client.next()).toMatchObject({ type: 'pong' });
    client.send('not json');
    expect(await client.next()).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    client.send({ action: 'explode' });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
    client.send({ action: 'subscribe', metrics: ['bad name!'] });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED', details: [expect.objectContaining({ path: '/metrics/0' })] });
    client.send({ action: 'subscribe', metrics: ['a', 'b', 'c', 'd', 'e'] });
    expect(await client.next()).toMatchObject({ type: 'error', code: 'RATE_LIMITED', details: { limit: 'ws_subscriptions_per_connection', value: 4 } });
    clock.advance(1_000);
    expect(await subscribe(client, ['ok_metric'])).toMatchObject({ subscriptions: ['ok_metric'] });
    await client.close();
  });
});

describe('protection', () => {
  it('refuses messages beyond the rate limit and closes a flooding client with 4429', async () => {
    const client = await connectAs(url, await tokenFor(newTenant()));
    // The manual clock does not move: every message falls in one second.
    for (let index = 0; index < 6; index += 1) client.send({ action: 'ping' });
    expect(await client.next((message) => message.type === 'error')).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 5 } });
    // connectAs used no message, so 5 pings were answered.
    await waitFor(() => client.received((message) => message.type === 'pong').length === 5, 2_000, 'five pongs');
    for (let index = 0; index < 5; index += 1) client.send({ action: 'ping' });
    expect((await client.closed).code).toBe(4429);
    clock.advance(1_000);
  });

  it('heartbeat pings live connections and closes the silent ones with 4408', async () => {
    const token = await tokenFor(newTenant());
    const live = await connectAs(url, token);
    const silent = connect(`${url}/api/v1/ws?token=${token}`, { ws: { autoPong: false } });
    await silent.next((message) => message.type === 'authenticated');
    let pings = 0;
    live.socket.on('ping', () => (pings += 1));

    clock.advance(30_000);
    await t.container.scheduler.runNow(HEARTBEAT_JOB);
    await waitFor(() => pings === 1, 2_000, 'first ping');
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(31_000);
    await t.container.scheduler.runNow(HEARTBEAT_JOB);

    expect(await silent.closed).toEqual({ code: 4408, reason: 'no frame for 60000 ms' });
    await waitFor(() => pings === 2, 2_000, 'second ping');
    expect(live.socket.readyState).toBe(live.socket.OPEN);
    await live.close();
  });

  it('closes a connection when its token expires', async () => {
    const client = await connectAs(url, await tokenFor(newTenant(), ['viewer'], { expiresIn: Math.floor(clock.nowMs() / 1000) + 60 }));
    clock.advance(61_000);
    await t.container.scheduler.runNow(HEARTBEAT_JOB);
    expect(await client.closed).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('a plain HTTP GET of the WebSocket route is not served: 426 in the error envelope (was an empty 404)', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/ws' });
    expect(response.statusCode).toBe(426);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('BAD_REQUEST');
  });

  it('counts connections, subscriptions and messages on /metrics', async () => {
    const client = await connectAs(url, await tokenFor(newTenant()));
    await subscribe(client, ['*']);
    const response = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
    expect(response.body).toMatch(/monitoring_ws_connections\{state="authenticated"\} [1-9]/);
    expect(response.body).toMatch(/monitoring_ws_subscriptions [1-9]/);
    expect(response.body).toMatch(/monitoring_ws_messages_sent_total\{type="metric"\} [1-9]/);
    expect(response.body).toMatch(/monitoring_ws_connections_closed_total\{reason="stale"\} [1-9]/);
    await client.close();
  });
});
