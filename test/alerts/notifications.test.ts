import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { okResponder, slackResponder, type HttpReceiver } from '../support/receivers.js';
import { adminHeaders, alertsOf, countRows, createRule, evaluate, push, step } from './fixtures.js';
import { startReceivers, WEBHOOK_SECRET } from './receivers-env.js';

const clock = new ManualClock(Date.UTC(2026, 0, 14, 9));
let receivers: Awaited<ReturnType<typeof startReceivers>>;
let slack: HttpReceiver;
let pagerDuty: HttpReceiver;
let webhook: HttpReceiver;
let smtp: Awaited<ReturnType<typeof startReceivers>>['smtp'];
let t: TestApp;

beforeAll(async () => {
  receivers = await startReceivers();
  ({ slack, pagerDuty, webhook, smtp } = receivers);
  t = await createTestApp({ clock, env: { ...receivers.env, ALERT_EMAIL_FROM: 'alerts@example.com', NOTIFICATION_MAX_ATTEMPTS: '8' } });
});
afterAll(async () => {
  await t.close();
  await receivers.close();
});
beforeEach(() => receivers.reset());

const SECOND = 1000;
const disk = (node: string, value: number) => ({ name: 'disk_used_percent', service: 'storage', value, labels: { node } });
const diskRule = { rule_name: 'disk_full', metric_name: 'disk_used_percent', condition: '>', threshold: 90, severity: 'warning', window_seconds: 60, annotations: { summary: 'Disk almost full', runbook_url: 'https://runbooks.example/disk' } };

/** A fresh tenant whose admin pointed its receivers at the local servers (the environment's serve the platform tenant only). */
async function configuredTenant(): Promise<string> {
  const tenant = newTenant();
  await receivers.configure(t, tenant);
  return tenant;
}

/** One pass of the notification-delivery job for this tenant: group, then deliver. */
async function notify(tenantId: string) {
  const enqueued = await t.container.alerting.dispatcher.dispatchTenant(tenantId);
  const delivered = await t.container.alerting.delivery.deliverDue({ tenantId });
  return { enqueued, ...delivered };
}

async function outbox(tenantId: string) {
  const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/notifications?limit=500', headers: await bearer(tenantId, ['viewer']) });
  return response.json<{ data: Array<{ id: string; channel: string; status: string; attempts: number; kind: string; last_error: string | null; last_status_code: number | null; next_attempt_at: string; severity: string }> }>().data;
}

function verifySignature(request: { headers: Record<string, string | string[] | undefined>; raw: string }): boolean {
  const timestamp = String(request.headers['x-monitoring-timestamp']);
  const expected = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(`${timestamp}.${request.raw}`).digest('hex')}`;
  return request.headers['x-monitoring-signature'] === expected;
}

describe('notifications', () => {
  it('a storm of 50 alerts from one cause is one grouped notification per channel; PagerDuty gets one event per fingerprint', async () => {
    const tenant = await configuredTenant();
    await createRule(t, tenant, diskRule);
    const nodes = Array.from({ length: 50 }, (_, index) => `node-${index}`);
    await push(t, tenant, nodes.map((node) => disk(node, 97)));
    await evaluate(t, tenant);
    const firing = await alertsOf(t, tenant, "status = 'firing'");
    expect(firing).toHaveLength(50);

    expect((await notify(tenant)).enqueued).toBe(0); // group_wait (30 s) has not passed
    clock.advance(29 * SECOND);
    expect((await notify(tenant)).enqueued).toBe(0);
    clock.advance(1 * SECOND);
    const first = await notify(tenant);
    expect(first).toMatchObject({ enqueued: 53, delivered: 53, retrying: 0, dead: 0 });
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]).toMatchObject({ to: ['oncall@example.com'] });
    expect(smtp.messages[0]?.subject).toContain('[FIRING:50] [WARNING]');
    expect(slack.accepted).toHaveLength(1);
    expect(slack.accepted[0]?.headers.authorization).toBe('Bearer xoxb-test-token');
    expect(slack.accepted[0]?.body).toMatchObject({ channel: 'C0ALERTS' });
    expect(String(slack.accepted[0]?.body['text'])).toContain('[WARNING]');
    expect(JSON.stringify(slack.accepted[0]?.body['blocks'])).toContain('Severity:* WARNING');
    expect(webhook.accepted).toHaveLength(1);
    const hook = webhook.accepted[0];
    expect(hook !== undefined && verifySignature(hook)).toBe(true);
    expect(hook?.body).toMatchObject({ version: '4', status: 'firing', receiver: 'monitoring-service', groupLabels: { alertname: 'disk_full', service: 'storage' }, commonLabels: { alertname: 'disk_full', service: 'storage', severity: 'warning' }, commonAnnotations: { summary: 'Disk almost full' }, truncatedAlerts: 0 });
    expect((hook?.body['alerts'] as unknown[]).length).toBe(50);
    expect(pagerDuty.accepted).toHaveLength(50);
    expect(new Set(pagerDuty.accepted.map((request) => request.body['dedup_key']))).toEqual(new Set(firing.map((alert) => alert.fingerprint)));
    expect(pagerDuty.accepted[0]?.body).toMatchObject({ routing_key: 'R0UT1NGKEY0000000000000000000000', event_action: 'trigger', payload: { severity: 'warning', source: 'storage' } });

    // Nothing changed: no notification on the next ticks (repeat_interval is 4 h).
    await step(t, clock, tenant, 300 * SECOND, nodes.map((node) => disk(node, 97)));
    await evaluate(t, tenant);
    expect((await notify(tenant)).enqueued).toBe(0);

    // All resolve: one "resolved" notification per channel, the Slack one in the first message's thread.
    await step(t, clock, tenant, 300 * SECOND, nodes.map((node) => disk(node, 40)));
    await evaluate(t, tenant);
    const resolved = await notify(tenant);
    expect(resolved).toMatchObject({ enqueued: 53, delivered: 53 });
    expect(smtp.messages[1]?.subject).toContain('[RESOLVED] [WARNING]');
    expect(slack.accepted[1]?.body['thread_ts']).toBe('1700000000.000001');
    expect(webhook.accepted[1]?.body).toMatchObject({ status: 'resolved' });
    expect(pagerDuty.accepted.slice(50).every((request) => request.body['event_action'] === 'resolve')).toBe(true);
    const rows = await outbox(tenant);
    expect(rows.every((row) => row.status === 'delivered' && row.attempts === 1)).toBe(true);
  }, 180_000);

  it('an alert resolved inside group_wait is never notified', async () => {
    const tenant = await configuredTenant();
    await createRule(t, tenant, diskRule);
    await push(t, tenant, [disk('a', 99)]);
    await evaluate(t, tenant);
    await notify(tenant);
    await step(t, clock, tenant, 10 * SECOND, [disk('a', 10)]);
    await evaluate(t, tenant);
    clock.advance(30 * SECOND);
    expect((await notify(tenant)).enqueued).toBe(0);
    expect(await countRows(t, tenant, 'alert_groups')).toBe(0);
    expect(webhook.requests).toHaveLength(0);
  });

  it('repeat_interval re-sends an unchanged firing group', async () => {
    const tenant = await configuredTenant();
    await t.app.inject({
      method: 'PUT', url: '/api/v1/monitoring/alerts/policy', headers: await adminHeaders(tenant),
      payload: { channels: ['webhook'], group_by: ['alertname'], group_wait_seconds: 0, group_interval_seconds: 60, repeat_interval_seconds: 600, send_resolved: true, inhibit_rules: [], escalation: {} },
    });
    await t.container.alerts.raise(tenant, { fingerprint: 'cert-expiry', name: 'certificate_expiring', type: 'certificate', severity: 'warning', message: 'expires in 5 days', source: 'health', serviceName: 'api' });
    await notify(tenant);
    expect(webhook.accepted).toHaveLength(1);
    for (let minute = 1; minute <= 9; minute += 1) {
      clock.advance(60 * SECOND);
      await notify(tenant);
    }
    expect(webhook.accepted).toHaveLength(1);
    clock.advance(60 * SECOND);
    await notify(tenant);
    expect(webhook.accepted).toHaveLength(2);
    expect(webhook.accepted[1]?.body['notification_reason']).toBe('repeat');
  });

  it('a silence mutes notifications, not the alert; its expiry unmutes', async () => {
    const tenant = await configuredTenant();
    await createRule(t, tenant, diskRule);
    const silence = await t.app.inject({
      method: 'POST', url: '/api/v1/monitoring/alerts/silences', headers: { ...(await bearer(tenant, ['operator'])), 'content-type': 'application/json' },
      payload: { matchers: [{ name: 'service', value: 'stor.*', is_regex: true }, { name: 'alertname', value: 'disk_full' }], ends_at: new Date(clock.nowMs() + 10 * 60 * SECOND).toISOString(), comment: 'disk migration' },
    });
    expect(silence.statusCode).toBe(201);
    expect(silence.json<{ data: { state: string; created_by: string } }>().data).toMatchObject({ state: 'active', created_by: 'user-operator' });

    await push(t, tenant, [disk('a', 99)]);
    await evaluate(t, tenant);
    clock.advance(30 * SECOND);
    expect((await notify(tenant)).enqueued).toBe(0);
    const active = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts', headers: await bearer(tenant, ['viewer']) });
    expect(active.json<{ data: Array<{ name: string; status: string }> }>().data).toMatchObject([{ name: 'disk_full', status: 'firing' }]);

    for (let minute = 1; minute <= 9; minute += 1) {
      await step(t, clock, tenant, 60 * SECOND, [disk('a', 99)]);
      await evaluate(t, tenant);
      await notify(tenant);
    }
    expect(webhook.requests).toHaveLength(0);
    await step(t, clock, tenant, 60 * SECOND, [disk('a', 99)]);
    await evaluate(t, tenant);
    const unmuted = await notify(tenant);
    expect(unmuted.enqueued).toBe(4);
    expect(webhook.accepted).toHaveLength(1);
    const listed = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/silences?state=expired', headers: await bearer(tenant, ['viewer']) });
    expect(listed.json<{ data: Array<{ comment: string }> }>().data.map((row) => row.comment)).toEqual(['disk migration']);
  });

  it('silence CRUD: change, expire early; bad silences are refused with codes and nothing is written', async () => {
    const tenant = await configuredTenant();
    const headers = { ...(await bearer(tenant, ['operator'])), 'content-type': 'application/json' };
    const future = (minutes: number) => new Date(clock.nowMs() + minutes * 60 * SECOND).toISOString();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts/silences', headers, payload: { matchers: [{ name: 'service', value: 'api' }], starts_at: future(5), ends_at: future(60), comment: 'maintenance' } });
    const id = created.json<{ data: { id: string; state: string } }>().data.id;
    expect(created.json<{ data: { state: string } }>().data.state).toBe('pending');
    const changed = await t.app.inject({ method: 'PUT', url: `/api/v1/monitoring/alerts/silences/${id}`, headers, payload: { matchers: [{ name: 'service', value: 'web' }], ends_at: future(30), comment: 'shorter' } });
    expect(changed.json<{ data: { state: string; comment: string } }>().data).toMatchObject({ state: 'active', comment: 'shorter' });
    const expired = await t.app.inject({ method: 'DELETE', url: `/api/v1/monitoring/alerts/silences/${id}`, headers });
    expect(expired.json<{ data: { state: string } }>().data.state).toBe('expired');

    const bad = [
      [{ matchers: [{ name: 'service', value: 'api' }], starts_at: future(10), ends_at: future(5), comment: 'x' }, 'VALIDATION_FAILED'],
      [{ matchers: [{ name: 'service', value: 'api' }], ends_at: new Date(clock.nowMs() - 1000).toISOString(), comment: 'x' }, 'VALIDATION_FAILED'],
      [{ matchers: [], ends_at: future(5), comment: 'x' }, 'VALIDATION_FAILED'],
      [{ matchers: [{ name: 'service', value: '[api', is_regex: true }], ends_at: future(5), comment: 'x' }, 'INVALID_MATCHER'],
      [{ matchers: [{ name: 'bad-label', value: 'x' }], ends_at: future(5), comment: 'x' }, 'VALIDATION_FAILED'],
      [{ matchers: [{ name: 'service', value: 'api' }], ends_at: future(5) }, 'VALIDATION_FAILED'],
    ] as const;
    for (const [payload, code] of bad) {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts/silences', headers, payload });
      expect(response.statusCode).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe(code);
    }
    const viewer = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts/silences', headers: { ...(await bearer(tenant, ['viewer'])), 'content-type': 'application/json' }, payload: { matchers: [{ name: 'a', value: 'b' }], ends_at: future(5), comment: 'x' } });
    expect(viewer.statusCode).toBe(403);
    expect(await countRows(t, tenant, 'alert_silences')).toBe(1);
  });

  it('inhibition: a firing service_down mutes the other alerts of that service only', async () => {
    const tenant = await configuredTenant();
    const raise = (fingerprint: string, name: string, service: string) =>
      t.container.alerts.raise(tenant, { fingerprint, name, type: 'threshold', severity: name === 'service_down' ? 'critical' : 'warning', message: `${name} on ${service}`, source: 'test', serviceName: service });
    await raise('down-checkout', 'service_down', 'checkout');
    await raise('latency-checkout', 'high_response_time', 'checkout');
    await raise('latency-search', 'high_response_time', 'search');
    clock.advance(30 * SECOND);
    await notify(tenant);
    const groups = webhook.accepted.map((request) => request.body['groupLabels']);
    expect(groups).toEqual(expect.arrayContaining([{ alertname: 'service_down', service: 'checkout' }, { alertname: 'high_response_time', service: 'search' }]));
    expect(groups).toHaveLength(2);
    const open = await alertsOf(t, tenant, 'resolved = false');
    expect(open).toHaveLength(3);
  });

  it('acknowledging posts into the Slack thread and acknowledges the PagerDuty incident (dedup_key = fingerprint)', async () => {
    const tenant = await configuredTenant();
    await t.container.alerts.raise(tenant, { fingerprint: 'pool-exhausted', name: 'database_connection_pool_exhausted', type: 'threshold', severity: 'warning', message: 'waiting clients', source: 'test', serviceName: 'db' });
    clock.advance(30 * SECOND);
    await notify(tenant);
    const [alert] = await alertsOf(t, tenant);
    const ack = await t.app.inject({ method: 'POST', url: `/api/v1/monitoring/alerts/${alert?.id ?? ''}/acknowledge`, headers: { ...(await bearer(tenant, ['operator'])), 'content-type': 'application/json' }, payload: { comment: 'looking' } });
    expect(ack.statusCode).toBe(200);
    await notify(tenant);
    expect(pagerDuty.accepted.map((request) => [request.body['event_action'], request.body['dedup_key']])).toEqual([['trigger', 'pool-exhausted'], ['acknowledge', 'pool-exhausted']]);
    expect(slack.accepted).toHaveLength(2);
    expect(slack.accepted[1]?.body['thread_ts']).toBe('1700000000.000001');
    expect(String(slack.accepted[1]?.body['text'])).toContain('ACKNOWLEDGED by user-operator');
  });

  it('a receiver that is down for a while gets every notification once it is back, none twice; Retry-After is honoured', async () => {
    const tenant = await configuredTenant();
    await createRule(t, tenant, diskRule);
    let webhookCalls = 0;
    webhook.respondWith(() => {
      webhookCalls += 1;
      return webhookCalls <= 3 ? { status: 503, body: { error: 'maintenance' } } : { status: 200 };
    });
    slack.respondWith(() => ({ status: 429, headers: { 'retry-after': '120' }, body: { ok: false, error: 'ratelimited' } }));
    await pagerDuty.down();

    await push(t, tenant, [disk('a', 99), disk('b', 99)]);
    await evaluate(t, tenant);
    clock.advance(30 * SECOND);
    const first = await notify(tenant);
    // e-mail delivered; Slack (429), webhook (503) and the first PagerDuty event (refused) retry; the second PagerDuty event waits behind the first.
    expect(first).toMatchObject({ enqueued: 5, delivered: 1, retrying: 3, deferred: 1 });
    const slackRow = (await outbox(tenant)).find((row) => row.channel === 'slack');
    expect(slackRow).toMatchObject({ status: 'pending', attempts: 1, last_status_code: 429 });
    expect(new Date(slackRow?.next_attempt_at ?? 0).getTime()).toBeGreaterThanOrEqual(clock.nowMs() + 120 * SECOND);

    // More alerts fire while receivers are down.
    await step(t, clock, tenant, 5 * SECOND, [disk('a', 99), disk('b', 99), disk('c', 99)]);
    await evaluate(t, tenant);
    for (let tick = 0; tick < 30; tick += 1) {
      if (tick === 5) {
        await pagerDuty.up();
        slack.respondWith(slackResponder());
      }
      clock.advance(10 * SECOND);
      await notify(tenant);
    }
    const rows = await outbox(tenant);
    expect(rows.filter((row) => row.status !== 'delivered')).toEqual([]);
    expect(webhookCalls).toBe(5);
    expect(webhook.accepted).toHaveLength(2);
    expect(slack.accepted).toHaveLength(2);
    expect(smtp.messages).toHaveLength(2);
    expect(pagerDuty.accepted.map((request) => request.body['dedup_key'])).toHaveLength(3);
    expect(new Set(pagerDuty.accepted.map((request) => request.body['dedup_key'])).size).toBe(3);
    expect(slack.accepted[1]?.body['thread_ts']).toBe('1700000000.000001');
  }, 120_000);

  it('dead-letters after NOTIFICATION_MAX_ATTEMPTS (and at once on a permanent 4xx), lists and re-queues dead letters', async () => {
    const tenant = await configuredTenant();
    await t.app.inject({
      method: 'PUT', url: '/api/v1/monitoring/alerts/policy', headers: await adminHeaders(tenant),
      payload: { channels: ['webhook', 'pagerduty'], group_by: ['alertname'], group_wait_seconds: 0, group_interval_seconds: 60, repeat_interval_seconds: 3600, send_resolved: true, inhibit_rules: [], escalation: {} },
    });
    webhook.respondWith(() => ({ status: 500, body: { error: 'boom' } }));
    pagerDuty.respondWith(() => ({ status: 400, body: { status: 'invalid event', message: 'Event object is invalid', errors: ['Length of summary is invalid'] } }));
    await t.container.alerts.raise(tenant, { fingerprint: 'ssl', name: 'tls_handshake_errors', type: 'threshold', severity: 'error', message: 'handshakes failing', source: 'test' });
    for (let tick = 0; tick < 12; tick += 1) {
      await notify(tenant);
      clock.advance(20 * SECOND);
    }
    expect(webhook.requests).toHaveLength(8);
    expect(pagerDuty.requests).toHaveLength(1);
    const dead = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/notifications?status=dead', headers: await bearer(tenant, ['viewer']) });
    const letters = dead.json<{ data: Array<{ id: string; channel: string; attempts: number; last_error: string; last_status_code: number }> }>().data;
    expect(letters.map((row) => [row.channel, row.attempts, row.last_status_code]).sort()).toEqual([['pagerduty', 1, 400], ['webhook', 8, 500]]);
    expect(letters.find((row) => row.channel === 'webhook')?.last_error).toContain('HTTP 500');

    const webhookLetter = letters.find((row) => row.channel === 'webhook');
    const forbidden = await t.app.inject({ method: 'POST', url: `/api/v1/monitoring/alerts/notifications/${webhookLetter?.id ?? ''}/retry`, headers: await bearer(tenant, ['operator']) });
    expect(forbidden.statusCode).toBe(403);
    webhook.respondWith(okResponder);
    const retried = await t.app.inject({ method: 'POST', url: `/api/v1/monitoring/alerts/notifications/${webhookLetter?.id ?? ''}/retry`, headers: await bearer(tenant) });
    expect(retried.json<{ data: { status: string } }>().data.status).toBe('pending');
    await notify(tenant);
    expect(webhook.accepted).toHaveLength(1);
    const again = await t.app.inject({ method: 'POST', url: `/api/v1/monitoring/alerts/notifications/${webhookLetter?.id ?? ''}/retry`, headers: await bearer(tenant) });
    expect(again.statusCode).toBe(409);
  });

  it('exposes alerting metrics on /metrics', async () => {
    const tenant = await configuredTenant();
    await t.container.alerts.raise(tenant, { fingerprint: 'm1', name: 'metric_probe', type: 'threshold', severity: 'critical', message: 'probe', source: 'test' });
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(/alerts_firing\{severity="critical"\} [1-9]/);
    expect(response.body).toMatch(/alert_notifications_sent_total\{channel="webhook"\} [1-9]/);
    expect(response.body).toMatch(/alert_notifications_failed_total\{channel="webhook",outcome="dead"\} [1-9]/);
    expect(response.body).toContain('# TYPE alert_notification_outbox_depth gauge');
    expect(response.body).toContain('alert_evaluation_duration_seconds_bucket');
  });
});
