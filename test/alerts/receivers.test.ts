import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';
import { HttpReceiver, okResponder, type ReceivedRequest } from '../support/receivers.js';
import { connectAs, listen, subscribe } from '../support/ws.js';
import { adminHeaders, countRows, putReceiver } from './fixtures.js';
import { startReceivers, WEBHOOK_SECRET } from './receivers-env.js';

// Issue 13, point 6: each tenant's notifications go to its own receivers only; the environment's
// receivers serve the platform tenant (here a fresh SYSTEM_TENANT_ID, so parallel files do not meet).
const clock = new ManualClock(Date.UTC(2026, 2, 2, 9));
const platform = newTenant();
const RECEIVERS = '/api/v1/monitoring/alerts/receivers';
const A_SECRET = 'tenant-a-webhook-secret-0123456789';
const A_ROUTING_KEY = 'A0000000000000000000000000000KEY';

let env: Awaited<ReturnType<typeof startReceivers>>;
let tenantHook: HttpReceiver;
let tenantSlack: HttpReceiver;
let t: TestApp;

beforeAll(async () => {
  env = await startReceivers();
  tenantHook = await new HttpReceiver(okResponder).up();
  tenantSlack = await new HttpReceiver(() => ({ status: 200, body: 'ok' })).up();
  t = await createTestApp({ clock, env: { ...env.env, SYSTEM_TENANT_ID: platform } });
});
afterAll(async () => {
  await t.close();
  await Promise.all([env.close(), tenantHook.down(), tenantSlack.down()]);
});
beforeEach(() => {
  env.reset();
  tenantHook.reset();
  tenantSlack.reset();
});

let fingerprints = 0;
const raise = (tenantId: string, name = 'queue_stalled') => {
  fingerprints += 1;
  return t.container.alerts.raise(tenantId, { fingerprint: `fp-${fingerprints}`, name, type: 'threshold', severity: 'warning', message: 'stalled', source: 'test', serviceName: 'orders' });
};

/** Past group_wait: group, then deliver, for this tenant. */
async function notify(tenantId: string) {
  clock.advance(30_000);
  const enqueued = await t.container.alerting.dispatcher.dispatchTenant(tenantId);
  return { enqueued, ...(await t.container.alerting.delivery.deliverDue({ tenantId })) };
}

const signedWith = (secret: string, request: ReceivedRequest) =>
  request.headers['x-monitoring-signature'] === `sha256=${createHmac('sha256', secret).update(`${String(request.headers['x-monitoring-timestamp'])}.${request.raw}`).digest('hex')}`;

/** Every request the environment's (platform) receivers got. */
const platformReceived = () => env.smtp.messages.length + env.slack.requests.length + env.pagerDuty.requests.length + env.webhook.requests.length;

async function outbox(tenantId: string, status?: string) {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/alerts/notifications${status === undefined ? '' : `?status=${status}`}`, headers: await bearer(tenantId, ['viewer']) });
  return response.json<{ data: Array<{ channel: string; status: string; last_error: string | null }> }>().data;
}

async function channels(tenantId: string) {
  const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/channels', headers: await bearer(tenantId, ['viewer']) });
  return response.json<{ data: Array<{ name: string; configured: boolean; source: string | null; reason: string | null }> }>().data;
}

async function storedRows(tenantId: string) {
  const result = await t.container.db.asSystem((tx) => tx.query<Record<string, unknown>>('SELECT * FROM tenant_receivers WHERE tenant_id = $1 ORDER BY channel', [tenantId]));
  return result.rows;
}

describe('receivers per tenant', () => {
  it("a tenant's alerts reach its own receivers, every payload carrying its tenant id; its webhook is signed with its own secret", async () => {
    const a = newTenant();
    await putReceiver(t, a, 'webhook', { url: `${tenantHook.url}/hooks/a`, secret: A_SECRET });
    await putReceiver(t, a, 'slack', { webhook_url: `${tenantSlack.url}/services/T0/B0/a` });
    await putReceiver(t, a, 'pagerduty', { routing_key: A_ROUTING_KEY });
    await putReceiver(t, a, 'email', { to: ['oncall@tenant-a.example'] });
    expect((await channels(a)).map((channel) => [channel.name, channel.configured, channel.source])).toEqual([
      ['email', true, 'tenant'], ['slack', true, 'tenant'], ['pagerduty', true, 'tenant'], ['webhook', true, 'tenant'],
    ]);

    await raise(a);
    expect(await notify(a)).toMatchObject({ enqueued: 4, delivered: 4, retrying: 0, dead: 0 });

    const [hook] = tenantHook.accepted;
    expect(tenantHook.accepted).toHaveLength(1);
    expect(hook?.path).toBe('/hooks/a');
    expect(hook?.body).toMatchObject({ version: '4', tenant_id: a, status: 'firing' });
    expect(hook?.headers['x-monitoring-tenant-id']).toBe(a);
    expect(hook !== undefined && signedWith(A_SECRET, hook)).toBe(true);
    expect(hook !== undefined && signedWith(WEBHOOK_SECRET, hook)).toBe(false);

    expect(tenantSlack.accepted).toHaveLength(1);
    expect(String(tenantSlack.accepted[0]?.body['text'])).toContain(`tenant ${a}`);
    expect(JSON.stringify(tenantSlack.accepted[0]?.body['blocks'])).toContain(a);

    expect(env.pagerDuty.accepted.map((request) => request.body)).toEqual([
      expect.objectContaining({ routing_key: A_ROUTING_KEY, event_action: 'trigger', payload: expect.objectContaining({ custom_details: expect.objectContaining({ tenant_id: a }) }) }),
    ]);
    expect(env.smtp.messages).toHaveLength(1);
    expect(env.smtp.messages[0]?.to).toEqual(['oncall@tenant-a.example']);
    expect(env.smtp.messages[0]?.raw).toMatch(new RegExp(`^X-Monitoring-Tenant-Id: ${a}$`, 'im'));
    expect(env.smtp.messages[0]?.raw).toContain(`Tenant: ${a}`);

    // Nothing went to the platform's own Slack workspace or webhook.
    expect(env.slack.requests).toHaveLength(0);
    expect(env.webhook.requests).toHaveLength(0);
  });

  it('a tenant without receivers: nothing reaches the platform receivers, the outbox says why, the alert is in the API and on the WebSocket', async () => {
    const b = newTenant();
    const socket = await connectAs(await listen(t.app), await tokenFor(b, ['viewer']));
    await subscribe(socket, ['alerts']);
    await raise(b, 'payments_failing');
    expect(await socket.next((message) => message.type === 'alert')).toMatchObject({ kind: 'firing', alert: { name: 'payments_failing' } });
    await socket.close();

    expect(await notify(b)).toMatchObject({ enqueued: 4, claimed: 0 });
    expect(platformReceived()).toBe(0);
    expect(tenantHook.requests.length + tenantSlack.requests.length).toBe(0);
    const rows = await outbox(b, 'not_configured');
    expect(rows.map((row) => [row.channel, row.last_error]).sort()).toEqual(
      ['email', 'pagerduty', 'slack', 'webhook'].map((channel) => [channel, `no receiver configured for this tenant (PUT ${RECEIVERS}/${channel})`]),
    );
    expect((await channels(b)).map((channel) => [channel.name, channel.configured, channel.source, channel.reason])).toEqual(
      ['email', 'slack', 'pagerduty', 'webhook'].map((channel) => [channel, false, null, `no receiver configured for this tenant (PUT ${RECEIVERS}/${channel})`]),
    );
    const active = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts', headers: await bearer(b, ['viewer']) });
    expect(active.json<{ data: Array<{ name: string; status: string }> }>().data).toMatchObject([{ name: 'payments_failing', status: 'firing' }]);
  });

  it('the platform tenant (SYSTEM_TENANT_ID) uses the environment receivers, channel by channel unless it configures its own', async () => {
    expect((await channels(platform)).map((channel) => [channel.name, channel.configured, channel.source])).toEqual([
      ['email', true, 'environment'], ['slack', true, 'environment'], ['pagerduty', true, 'environment'], ['webhook', true, 'environment'],
    ]);
    await raise(platform);
    expect(await notify(platform)).toMatchObject({ enqueued: 4, delivered: 4 });
    const [hook] = env.webhook.accepted;
    expect(hook?.body).toMatchObject({ tenant_id: platform });
    expect(hook !== undefined && signedWith(WEBHOOK_SECRET, hook)).toBe(true);
    expect(env.smtp.messages.map((mail) => mail.to)).toEqual([['oncall@example.com']]);
    expect(env.smtp.messages[0]?.raw).toMatch(new RegExp(`^X-Monitoring-Tenant-Id: ${platform}$`, 'im'));
    expect(env.slack.accepted[0]?.body).toMatchObject({ channel: 'C0ALERTS' });
    expect(String(env.slack.accepted[0]?.body['text'])).toContain(`tenant ${platform}`);
    expect(env.pagerDuty.accepted[0]?.body).toMatchObject({ routing_key: env.env.PAGERDUTY_ROUTING_KEY, payload: { custom_details: { tenant_id: platform } } });

    // Its own webhook (unsigned: no secret given) takes the place of WEBHOOK_URL; the other channels keep the environment's.
    await putReceiver(t, platform, 'webhook', { url: `${tenantHook.url}/hooks/platform` });
    expect((await channels(platform)).find((channel) => channel.name === 'webhook')).toMatchObject({ configured: true, source: 'tenant' });
    env.reset();
    await raise(platform, 'disk_slow');
    await notify(platform);
    expect(env.webhook.requests).toHaveLength(0);
    expect(tenantHook.accepted.map((request) => [request.path, request.body['tenant_id'], request.headers['x-monitoring-signature']])).toEqual([['/hooks/platform', platform, undefined]]);
    expect(env.smtp.messages).toHaveLength(1);

    const removed = await t.app.inject({ method: 'DELETE', url: `${RECEIVERS}/webhook`, headers: await adminHeaders(platform) });
    expect(removed.statusCode).toBe(204);
    expect((await channels(platform)).find((channel) => channel.name === 'webhook')).toMatchObject({ configured: true, source: 'environment' });
  });

  it('no answer ever shows a secret; the table holds ciphertext, not the secrets', async () => {
    const c = newTenant();
    const secrets = { token: 'xoxb-tenant-c-token-5551', routing_key: 'C0000000000000000000000000000KEY', secret: 'tenant-c-signing-secret-7777', webhook_url: 'https://hooks.slack.example/services/T1/B1/c-incoming-9999' };
    const answers: string[] = [];
    const put = async (channel: string, body: Record<string, unknown>) => {
      const response = await t.app.inject({ method: 'PUT', url: `${RECEIVERS}/${channel}`, headers: await adminHeaders(c), payload: body });
      expect(response.statusCode).toBe(200);
      answers.push(response.body);
    };
    await put('slack', { channel: 'C0TENANTC', token: secrets.token });
    await put('pagerduty', { routing_key: secrets.routing_key });
    await put('webhook', { url: 'https://hooks.tenant-c.example/alerts', secret: secrets.secret });
    const listed = await t.app.inject({ method: 'GET', url: RECEIVERS, headers: await adminHeaders(c) });
    answers.push(listed.body);
    expect(listed.json<{ data: Array<{ channel: string; settings: Record<string, unknown>; secrets: Record<string, unknown> }> }>().data).toEqual([
      expect.objectContaining({ channel: 'pagerduty', settings: {}, secrets: { routing_key: { configured: true, hint: '…0KEY' } } }),
      expect.objectContaining({ channel: 'slack', settings: { mode: 'api', channel: 'C0TENANTC' }, secrets: { token: { configured: true, hint: '…5551' } } }),
      expect.objectContaining({ channel: 'webhook', settings: { url: 'https://hooks.tenant-c.example/alerts' }, secrets: { secret: { configured: true, hint: '…7777' } } }),
    ]);
    await put('slack', { webhook_url: secrets.webhook_url });
    answers.push((await t.app.inject({ method: 'GET', url: RECEIVERS, headers: await adminHeaders(c) })).body);
    answers.push((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/channels', headers: await adminHeaders(c) })).body);
    for (const value of Object.values(secrets)) {
      expect(answers.filter((body) => body.includes(value))).toEqual([]);
    }

    const rows = await storedRows(c);
    expect(rows).toHaveLength(3);
    const stored = JSON.stringify(rows);
    for (const value of Object.values(secrets)) expect(stored).not.toContain(value);
    for (const row of rows) expect(row['secret_key_id']).toMatch(/^k1-[0-9a-f]{16}$/);
  });

  it("a tenant can neither read nor change another tenant's receivers; a box copied into another tenant's row does not open", async () => {
    const [d, e] = [newTenant(), newTenant()];
    await putReceiver(t, d, 'webhook', { url: `${tenantHook.url}/hooks/d`, secret: 'tenant-d-signing-secret-0000' });
    const listOf = async (tenantId: string) => (await t.app.inject({ method: 'GET', url: RECEIVERS, headers: await adminHeaders(tenantId) })).json<{ data: Array<{ settings: Record<string, unknown> }> }>().data;
    expect(await listOf(e)).toEqual([]);
    expect((await t.app.inject({ method: 'DELETE', url: `${RECEIVERS}/webhook`, headers: await adminHeaders(e) })).statusCode).toBe(404);
    await putReceiver(t, e, 'webhook', { url: `${tenantHook.url}/hooks/e` });
    expect((await listOf(d)).map((receiver) => receiver.settings)).toEqual([{ url: `${tenantHook.url}/hooks/d` }]);
    for (const role of ['viewer', 'operator', 'monitoring'] as const) {
      const headers = { ...(await bearer(d, [role])), 'content-type': 'application/json' };
      expect((await t.app.inject({ method: 'GET', url: RECEIVERS, headers })).statusCode).toBe(403);
      expect((await t.app.inject({ method: 'PUT', url: `${RECEIVERS}/webhook`, headers, payload: { url: 'https://elsewhere.example/' } })).statusCode).toBe(403);
      expect((await t.app.inject({ method: 'DELETE', url: `${RECEIVERS}/webhook`, headers })).statusCode).toBe(403);
    }
    // Row-level security: tenant E's unit of work sees and changes none of D's rows, even when it names D.
    const seen = await t.container.db.withTenant(e, async (tx) => ({
      read: (await tx.query('SELECT * FROM tenant_receivers WHERE tenant_id = $1', [d])).rowCount,
      changed: (await tx.query("UPDATE tenant_receivers SET settings = '{}' WHERE tenant_id = $1", [d])).rowCount,
    }));
    expect(seen).toEqual({ read: 0, changed: 0 });

    // D's sealed secret copied into E's row (as a database intruder could) does not open there.
    await t.container.db.asSystem((tx) =>
      tx.query(
        `UPDATE tenant_receivers r SET secret_ciphertext = s.secret_ciphertext, secret_key_id = s.secret_key_id
         FROM tenant_receivers s WHERE r.tenant_id = $2 AND r.channel = 'webhook' AND s.tenant_id = $1 AND s.channel = 'webhook'`,
        [d, e],
      ),
    );
    await expect(t.container.alerting.receivers.resolve(e, 'webhook')).rejects.toThrow();
    await raise(e);
    await notify(e);
    expect(tenantHook.requests).toHaveLength(0);
    expect((await outbox(e)).find((row) => row.channel === 'webhook')).toMatchObject({ status: 'pending', last_error: expect.stringContaining('the receiver could not be read') });
  });

  it('a secret sealed under a key the service no longer has is retried, never sent, and the error names the variable', async () => {
    const f = newTenant();
    await putReceiver(t, f, 'webhook', { url: `${tenantHook.url}/hooks/f`, secret: 'tenant-f-signing-secret-0000' });
    await t.container.db.asSystem((tx) => tx.query("UPDATE tenant_receivers SET secret_key_id = 'k1-0000000000000000' WHERE tenant_id = $1", [f]));
    await raise(f);
    expect(await notify(f)).toMatchObject({ delivered: 0, retrying: 1, dead: 0 });
    expect(tenantHook.requests).toHaveLength(0);
    expect((await outbox(f)).find((row) => row.channel === 'webhook')?.last_error).toContain('RECEIVER_SECRETS_KEY_PREVIOUS');
  });

  it.each([
    ['webhook', { url: 'ftp://files.example/hook' }, 'VALIDATION_FAILED'],
    ['webhook', { url: 'file:///etc/passwd' }, 'VALIDATION_FAILED'],
    ['webhook', { url: 'javascript:alert(1)' }, 'VALIDATION_FAILED'],
    ['webhook', { url: 'not a url' }, 'VALIDATION_FAILED'],
    ['webhook', { url: 'https://user:password@hooks.example/' }, 'VALIDATION_FAILED'],
    ['webhook', {}, 'VALIDATION_FAILED'],
    ['webhook', { url: 'https://hooks.example/', secret: 'short' }, 'VALIDATION_FAILED'],
    ['webhook', { url: 'https://hooks.example/', secret: 'a secret with spaces in it' }, 'VALIDATION_FAILED'],
    ['webhook', { url: 'https://hooks.example/', headers: { a: 'b' } }, 'VALIDATION_FAILED'],
    ['slack', {}, 'VALIDATION_FAILED'],
    ['slack', { channel: 'C0ALERTS' }, 'VALIDATION_FAILED'],
    ['slack', { token: 'xoxb-0123456789' }, 'VALIDATION_FAILED'],
    ['slack', { channel: 'C0 ALERTS', token: 'xoxb-0123456789' }, 'VALIDATION_FAILED'],
    ['slack', { webhook_url: 'ftp://hooks.slack.example/x' }, 'VALIDATION_FAILED'],
    ['slack', { webhook_url: 'https://hooks.slack.example/x', channel: 'C0ALERTS', token: 'xoxb-0123456789' }, 'VALIDATION_FAILED'],
    ['pagerduty', {}, 'VALIDATION_FAILED'],
    ['pagerduty', { routing_key: 'too-short' }, 'VALIDATION_FAILED'],
    ['email', {}, 'VALIDATION_FAILED'],
    ['email', { to: [] }, 'VALIDATION_FAILED'],
    ['email', { to: ['not-an-address'] }, 'VALIDATION_FAILED'],
    ['email', { to: ['ops@tenant.example', 'Ops <ops@tenant.example>'] }, 'VALIDATION_FAILED'],
    ['email', { to: ['ops@tenant.example\r\nBcc: all@elsewhere.example'] }, 'VALIDATION_FAILED'],
    ['sms', { number: '+100000000' }, 'UNKNOWN_CHANNEL'],
  ] as const)('PUT %s %j is refused (400 %s) and nothing is written', async (channel, body, code) => {
    const g = newTenant();
    const response = await t.app.inject({ method: 'PUT', url: `${RECEIVERS}/${channel}`, headers: await adminHeaders(g), payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe(code);
    expect(await countRows(t, g, 'tenant_receivers')).toBe(0);
  });

  it('DELETE of an unknown channel is 400 UNKNOWN_CHANNEL', async () => {
    const response = await t.app.inject({ method: 'DELETE', url: `${RECEIVERS}/sms`, headers: await adminHeaders(newTenant()) });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('UNKNOWN_CHANNEL');
  });
});
