import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { countRows } from './fixtures.js';

const clock = new ManualClock(Date.UTC(2026, 0, 22, 10));
// The environment's receivers (none here) serve the platform tenant only: a fresh one per file.
const platform = newTenant();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock, env: { SYSTEM_TENANT_ID: platform } });
});
afterAll(async () => t.close());

describe('channels that are not configured', () => {
  it('are reported at start', () => {
    const alerting = t.container.warnings.filter((warning) => warning.startsWith('alerts:'));
    expect(alerting).toEqual([
      expect.stringContaining('e-mail is not configured (set SMTP_HOST)'),
      expect.stringContaining('Slack is not configured (set SLACK_TOKEN and SLACK_CHANNEL)'),
      expect.stringContaining('PagerDuty is not configured (set PAGERDUTY_ROUTING_KEY)'),
      expect.stringContaining('webhook is not configured (set WEBHOOK_URL)'),
    ]);
  });

  it('are listed by the channels endpoint, with the reason for this tenant', async () => {
    const listed = async (tenantId: string) => {
      const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/channels', headers: await bearer(tenantId, ['viewer']) });
      return response.json<{ data: Array<{ name: string; configured: boolean; source: string | null; reason: string }> }>().data.map((channel) => [channel.name, channel.configured, channel.source, channel.reason]);
    };
    expect(await listed(platform)).toEqual([
      ['email', false, null, 'e-mail is not configured (set SMTP_HOST)'],
      ['slack', false, null, 'Slack is not configured (set SLACK_TOKEN and SLACK_CHANNEL)'],
      ['pagerduty', false, null, 'PagerDuty is not configured (set PAGERDUTY_ROUTING_KEY)'],
      ['webhook', false, null, 'webhook is not configured (set WEBHOOK_URL)'],
    ]);
    expect(await listed(newTenant())).toEqual([
      ['email', false, null, 'e-mail is not configured (set SMTP_HOST)'],
      ['slack', false, null, 'no receiver configured for this tenant (PUT /api/v1/monitoring/alerts/receivers/slack)'],
      ['pagerduty', false, null, 'no receiver configured for this tenant (PUT /api/v1/monitoring/alerts/receivers/pagerduty)'],
      ['webhook', false, null, 'no receiver configured for this tenant (PUT /api/v1/monitoring/alerts/receivers/webhook)'],
    ]);
  });

  it.each([
    ['the platform tenant', () => platform, 'webhook is not configured (set WEBHOOK_URL)'],
    ['any other tenant', newTenant, 'no receiver configured for this tenant (PUT /api/v1/monitoring/alerts/receivers/webhook)'],
  ])('get a delivery record saying so instead of being skipped (%s)', async (_who, tenantOf, webhookReason) => {
    const tenant = tenantOf();
    await t.container.alerts.raise(tenant, { fingerprint: 'x', name: 'queue_stalled', type: 'threshold', severity: 'error', message: 'stalled', source: 'test' });
    clock.advance(30_000);
    expect(await t.container.alerting.dispatcher.dispatchTenant(tenant)).toBe(4);
    expect((await t.container.alerting.delivery.deliverDue({ tenantId: tenant })).claimed).toBe(0);
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/notifications?status=not_configured', headers: await bearer(tenant, ['viewer']) });
    const rows = response.json<{ data: Array<{ channel: string; status: string; last_error: string }> }>().data;
    expect(rows.map((row) => [row.channel, row.status]).sort()).toEqual([['email', 'not_configured'], ['pagerduty', 'not_configured'], ['slack', 'not_configured'], ['webhook', 'not_configured']]);
    expect(rows.find((row) => row.channel === 'webhook')?.last_error).toBe(webhookReason);
    expect(rows.find((row) => row.channel === 'email')?.last_error).toBe('e-mail is not configured (set SMTP_HOST)');
  });

  // The job spans every tenant of the database: run it only on this file's own embedded database.
  it.skipIf(TEST_DATABASE_URL !== undefined)('the notification-delivery job groups and delivers; the cleanup job prunes records past the alert retention', async () => {
    const tenant = newTenant();
    const raised = await t.container.alerts.raise(tenant, { fingerprint: 'y', name: 'disk_slow', type: 'threshold', severity: 'warning', message: 'slow', source: 'test' });
    clock.advance(t.container.config.NOTIFICATION_INTERVAL_MS * 10);
    expect((await t.container.scheduler.runNow('notification-delivery')).status).toBe('ran');
    expect(await countRows(t, tenant, 'notification_outbox')).toBe(4);
    await t.container.alerts.resolve(tenant, { id: raised?.alert.id }, 'test');
    clock.advance(300_000);
    expect((await t.container.scheduler.runNow('notification-delivery')).status).toBe('ran');
    expect(await countRows(t, tenant, 'notification_outbox')).toBe(8);
    clock.advance((t.container.config.ALERT_RETENTION_DAYS + 1) * 86_400_000);
    expect((await t.container.scheduler.runNow('notification-delivery')).status).toBe('ran');
    expect(await countRows(t, tenant, 'notification_outbox')).toBe(8);
    expect((await t.container.scheduler.runNow('cleanup')).status).toBe('ran');
    expect(await countRows(t, tenant, 'notification_outbox')).toBe(0);
  });

  it('e-mail through container.email says it is not configured', async () => {
    expect(t.container.email.notConfigured).toBe('e-mail is not configured (set SMTP_HOST)');
    expect(await t.container.email.send({ to: 'ops@example.com', subject: 'x', text: 'y' })).toMatchObject({ status: 'failed' });
  });
});
