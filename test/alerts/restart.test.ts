import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { alertsOf, createRule, evaluate, push } from './fixtures.js';
import { startReceivers } from './receivers-env.js';

// Embedded: a real data directory (not memory://) so the second app opens the same database.
// PostgreSQL (TEST_DATABASE_URL): both apps use the same database.
const dataDir = mkdtempSync(join(tmpdir(), 'alerts-restart-'));
const clock = new ManualClock(Date.UTC(2026, 0, 24, 6));
let receivers: Awaited<ReturnType<typeof startReceivers>>;
let first: TestApp | undefined;
let second: TestApp | undefined;

beforeAll(async () => {
  receivers = await startReceivers();
});
afterAll(async () => {
  await first?.close();
  await second?.close();
  await receivers.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const app = () => createTestApp({ clock, env: { ...receivers.env, DATA_DIR: dataDir } });

describe('restart in the middle', () => {
  it('loses nothing: the alert state, the group log and the undelivered outbox survive; nothing is sent twice', async () => {
    const tenant = newTenant();
    first = await app();
    await receivers.configure(first, tenant);
    await createRule(first, tenant, { rule_name: 'disk_full', metric_name: 'disk_used_percent', condition: '>', threshold: 90, severity: 'warning', window_seconds: 120, duration: 60 });
    await push(first, tenant, [{ name: 'disk_used_percent', service: 'storage', value: 97, labels: { node: 'a' } }]);
    await evaluate(first, tenant);
    expect((await alertsOf(first, tenant)).map((alert) => alert.status)).toEqual(['pending']);

    // The webhook receiver is down; e-mail, Slack and PagerDuty deliver.
    await receivers.webhook.down();
    clock.advance(60_000);
    await push(first, tenant, [{ name: 'disk_used_percent', service: 'storage', value: 98, labels: { node: 'a' } }]);
    await evaluate(first, tenant);
    await first.container.alerting.dispatcher.dispatchTenant(tenant);
    clock.advance(30_000);
    await first.container.alerting.dispatcher.dispatchTenant(tenant);
    const before = await first.container.alerting.delivery.deliverDue({ tenantId: tenant });
    expect(before).toMatchObject({ delivered: 3, retrying: 1 });
    await first.close();
    first = undefined;

    await receivers.webhook.up();
    second = await app();
    // The pending `for` survived too: the alert is firing, not restarted as pending.
    expect((await alertsOf(second, tenant)).map((alert) => alert.status)).toEqual(['firing']);
    clock.advance(60_000);
    const after = await second.container.alerting.delivery.deliverDue({ tenantId: tenant });
    expect(after).toMatchObject({ delivered: 1, retrying: 0, dead: 0 });
    await second.container.alerting.dispatcher.dispatchTenant(tenant);
    await second.container.alerting.delivery.deliverDue({ tenantId: tenant });

    expect(receivers.webhook.accepted).toHaveLength(1);
    expect(receivers.slack.accepted).toHaveLength(1);
    expect(receivers.pagerDuty.accepted).toHaveLength(1);
    expect(receivers.smtp.messages).toHaveLength(1);

    // The group log survived: a resolution after the restart goes into the same Slack thread.
    await push(second, tenant, [{ name: 'disk_used_percent', service: 'storage', value: 10, labels: { node: 'a' } }]);
    clock.advance(120_000);
    await push(second, tenant, [{ name: 'disk_used_percent', service: 'storage', value: 10, labels: { node: 'a' } }]);
    await evaluate(second, tenant);
    clock.advance(300_000);
    await second.container.alerting.dispatcher.dispatchTenant(tenant);
    await second.container.alerting.delivery.deliverDue({ tenantId: tenant });
    expect(receivers.slack.accepted.map((request) => request.body['thread_ts'] ?? null)).toEqual([null, '1700000000.000001']);
    expect(receivers.webhook.accepted.map((request) => request.body['status'])).toEqual(['firing', 'resolved']);
  }, 240_000); // two app starts on a data directory (migrations, WASM start) take a while on a busy machine
});
