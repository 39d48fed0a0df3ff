import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertInput } from '../../src/alerts/alert-store.js';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { adminHeaders, alertsOf, eventsOf } from './fixtures.js';
import { startReceivers } from './receivers-env.js';

const clock = new ManualClock(Date.UTC(2026, 0, 16, 3));
let receivers: Awaited<ReturnType<typeof startReceivers>>;
let t: TestApp;
beforeAll(async () => {
  receivers = await startReceivers();
  t = await createTestApp({ clock, env: receivers.env });
});
afterAll(async () => {
  await t.close();
  await receivers.close();
});
beforeEach(() => receivers.reset());

const MINUTE = 60_000;
const alert = (severity: AlertInput['severity'], fingerprint: string): AlertInput => ({ fingerprint, name: `payment_failures_${fingerprint}`, type: 'anomaly', severity, message: 'payment failures spiking', source: 'ml', serviceName: 'payment' });

async function escalatedLevels(tenantId: string, alertId: string) {
  return (await eventsOf(t, tenantId, alertId)).filter((event) => event.kind === 'escalated').map((event) => [event.details['level'], event.details['channels']]);
}

async function escalationRow(tenantId: string, alertId: string) {
  const result = await t.container.db.withTenant(tenantId, (tx) => tx.query<{ status: string; stop_reason: string | null }>('SELECT status, stop_reason FROM alert_escalations WHERE tenant_id = $1 AND alert_id = $2', [tenantId, alertId]));
  return result.rows[0];
}

describe('escalation', () => {
  it('a critical alert raised by any domain escalates at 5, 15 and 30 minutes, every step recorded and delivered', async () => {
    const tenant = newTenant();
    await receivers.configure(t, tenant);
    const raised = await t.container.alerts.raise(tenant, alert('critical', 'c1'));
    const id = raised?.alert.id ?? '';
    await expect.poll(async () => (await escalationRow(tenant, id))?.status).toBe('active');

    for (const [minutes, levels] of [[4, 0], [5, 1], [14, 1], [15, 2], [29, 2], [30, 3], [90, 3]] as const) {
      clock.set(Date.UTC(2026, 0, 16, 3) + minutes * MINUTE);
      await t.container.alerting.escalation.escalateTenant(tenant);
      expect((await escalatedLevels(tenant, id)).length, `after ${minutes} min`).toBe(levels);
    }
    expect(await escalatedLevels(tenant, id)).toEqual([
      [1, ['slack', 'pagerduty']],
      [2, ['pagerduty', 'email']],
      [3, ['pagerduty', 'email', 'webhook']],
    ]);
    expect((await escalationRow(tenant, id))?.status).toBe('completed');

    await t.container.alerting.delivery.deliverDue({ tenantId: tenant });
    expect(receivers.slack.accepted.map((request) => String(request.body['text']))).toEqual([expect.stringContaining('[CRITICAL] ESCALATION level 1')]);
    expect(receivers.pagerDuty.accepted.map((request) => [request.body['event_action'], request.body['dedup_key']])).toEqual([['trigger', 'c1'], ['trigger', 'c1'], ['trigger', 'c1']]);
    expect(receivers.smtp.messages.map((mail) => mail.subject)).toEqual([expect.stringContaining('ESCALATION level 2'), expect.stringContaining('ESCALATION level 3')]);
    expect(receivers.webhook.accepted.map((request) => request.body['escalation_level'])).toEqual([3]);
  });

  it('an acknowledgement stops the escalation; the stop is recorded', async () => {
    clock.set(Date.UTC(2026, 0, 17, 3));
    const tenant = newTenant();
    const raised = await t.container.alerts.raise(tenant, alert('critical', 'c2'));
    const id = raised?.alert.id ?? '';
    clock.advance(5 * MINUTE);
    await t.container.alerting.escalation.escalateTenant(tenant);
    expect(await escalatedLevels(tenant, id)).toHaveLength(1);

    const ack = await t.app.inject({ method: 'POST', url: `/api/v1/monitoring/alerts/${id}/acknowledge`, headers: await bearer(tenant, ['operator']) });
    expect(ack.statusCode).toBe(200);
    await expect.poll(async () => (await escalationRow(tenant, id))?.status).toBe('stopped');
    clock.advance(60 * MINUTE);
    await t.container.alerting.escalation.escalateTenant(tenant);
    expect(await escalatedLevels(tenant, id)).toHaveLength(1);
    expect(await escalationRow(tenant, id)).toEqual({ status: 'stopped', stop_reason: 'acknowledged' });
    const detail = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/alerts/${id}`, headers: await bearer(tenant, ['viewer']) });
    const body = detail.json<{ escalation: { status: string; level: number }; events: Array<{ kind: string; actor: string }> }>();
    expect(body.escalation).toMatchObject({ status: 'stopped', level: 1 });
    expect(body.events.map((event) => event.kind)).toEqual(['firing', 'escalated', 'acknowledged', 'escalation_stopped']);
    expect(body.events.find((event) => event.kind === 'acknowledged')?.actor).toBe('user-operator');
  });

  it('error alerts escalate after 15 minutes and then 1 hour; a job down for an hour catches up, recording each step', async () => {
    clock.set(Date.UTC(2026, 0, 18, 3));
    const tenant = newTenant();
    const raised = await t.container.alerts.raise(tenant, alert('error', 'e1'));
    const id = raised?.alert.id ?? '';
    clock.advance(14 * MINUTE);
    await t.container.alerting.escalation.escalateTenant(tenant);
    expect(await escalatedLevels(tenant, id)).toEqual([]);
    clock.advance(61 * MINUTE);
    await t.container.alerting.escalation.escalateTenant(tenant);
    expect((await escalatedLevels(tenant, id)).map(([level]) => level)).toEqual([1, 2]);
    expect((await escalationRow(tenant, id))?.status).toBe('completed');
  });

  it('chains are configurable per tenant as ordered steps with repeats; warnings do not escalate by default', async () => {
    clock.set(Date.UTC(2026, 0, 19, 3));
    const tenant = newTenant();
    const quiet = await t.container.alerts.raise(tenant, alert('warning', 'w0'));
    clock.advance(120 * MINUTE);
    await t.container.alerting.escalation.escalateTenant(tenant);
    expect(await escalatedLevels(tenant, quiet?.alert.id ?? '')).toEqual([]);

    const policy = await t.app.inject({
      method: 'PUT', url: '/api/v1/monitoring/alerts/policy', headers: await adminHeaders(tenant),
      payload: {
        channels: ['webhook'], group_by: ['alertname'], group_wait_seconds: 30, group_interval_seconds: 300, repeat_interval_seconds: 3600, send_resolved: true, inhibit_rules: [],
        escalation: { warning: { steps: [{ wait_seconds: 60, channels: ['webhook'] }, { wait_seconds: 60, channels: ['email'] }], repeat: 1 } },
      },
    });
    expect(policy.statusCode).toBe(200);
    const raised = await t.container.alerts.raise(tenant, alert('warning', 'w1'));
    const id = raised?.alert.id ?? '';
    for (let minute = 1; minute <= 6; minute += 1) {
      clock.advance(MINUTE);
      await t.container.alerting.escalation.escalateTenant(tenant);
    }
    expect(await escalatedLevels(tenant, id)).toEqual([[1, ['webhook']], [2, ['email']], [1, ['webhook']], [2, ['email']]]);
    expect((await eventsOf(t, tenant, id)).filter((event) => event.kind === 'escalated').map((event) => event.details['cycle'])).toEqual([0, 0, 1, 1]);
  });

  it.each([
    ['an unknown escalation channel', { escalation: { critical: { steps: [{ wait_seconds: 60, channels: ['sms'] }] } } }, 'UNKNOWN_CHANNEL'],
    ['an unknown default channel', { channels: ['email', 'carrier-pigeon'] }, 'UNKNOWN_CHANNEL'],
    ['a negative wait', { escalation: { critical: { steps: [{ wait_seconds: -5, channels: ['email'] }] } } }, 'VALIDATION_FAILED'],
    ['repeat_interval shorter than group_interval', { group_interval_seconds: 600, repeat_interval_seconds: 60 }, 'VALIDATION_FAILED'],
    ['a bad inhibition regex', { inhibit_rules: [{ source_matchers: [{ name: 'alertname', value: '(', is_regex: true }], target_matchers: [{ name: 'a', value: 'b' }], equal: [] }] }, 'INVALID_MATCHER'],
  ])('refuses a policy with %s (400, nothing written)', async (_case, change, code) => {
    const tenant = newTenant();
    const base = { channels: ['webhook'], group_by: ['alertname'], group_wait_seconds: 30, group_interval_seconds: 300, repeat_interval_seconds: 3600, send_resolved: true, inhibit_rules: [], escalation: {} };
    const response = await t.app.inject({ method: 'PUT', url: '/api/v1/monitoring/alerts/policy', headers: await adminHeaders(tenant), payload: { ...base, ...change } });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe(code);
    const read = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/policy', headers: await bearer(tenant, ['viewer']) });
    expect(read.json<{ updated_by: string | null }>().updated_by).toBeNull();
    expect(await alertsOf(t, tenant)).toEqual([]);
  });

  it('only admins change the policy', async () => {
    const tenant = newTenant();
    const payload = { channels: ['webhook'], group_by: ['alertname'], group_wait_seconds: 30, group_interval_seconds: 300, repeat_interval_seconds: 3600, send_resolved: true, inhibit_rules: [], escalation: {} };
    const response = await t.app.inject({ method: 'PUT', url: '/api/v1/monitoring/alerts/policy', headers: { ...(await bearer(tenant, ['operator'])), 'content-type': 'application/json' }, payload });
    expect(response.statusCode).toBe(403);
  });
});
