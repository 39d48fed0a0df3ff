import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryResult } from '../../src/alerts/notify/delivery.js';
import { claimDue, markFailedAttempt, startAttempt } from '../../src/alerts/notify/outbox.repository.js';
import { ManualClock } from '../../src/platform/clock.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { adminHeaders, createRule, evaluate, push, putReceiver } from './fixtures.js';
import { WEBHOOK_SECRET } from './receivers-env.js';

// Issue 12: a receiver answering 200 after 8 s, 8 alerts at once, NOTIFICATION_TIMEOUT_MS 10 s.
// The receiver's slowness is played on the fake clock (each request moves it by ATTEMPT_MS), so
// the leases see an 8 s attempt while the test runs in real milliseconds; the real timeout of
// 10 s is only an upper bound that a loaded machine stays far below.
const TIMEOUT_MS = 10_000;
const ATTEMPT_MS = 8_000;

/** A webhook receiver that counts what it gets by x-notification-id; `during(n)` runs while the n-th request is in flight. */
interface SlowWebhook {
  url: string;
  ids: string[];
  during: (n: number) => Promise<void>;
  close(): Promise<void>;
}

async function startSlowWebhook(): Promise<SlowWebhook> {
  const hook: SlowWebhook = { url: '', ids: [], during: async () => {}, close: async () => {} };
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      hook.ids.push(String(request.headers['x-notification-id']));
      hook.during(hook.ids.length).then(
        () => response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/alerts`;
  hook.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return hook;
}

const clock = new ManualClock(Date.UTC(2026, 1, 3, 8));
let webhook: SlowWebhook;
let t: TestApp;

beforeAll(async () => {
  webhook = await startSlowWebhook();
  t = await createTestApp({ clock, env: { NOTIFICATION_TIMEOUT_MS: String(TIMEOUT_MS) } });
});
afterAll(async () => {
  await t.close();
  await webhook.close();
});

/** `count` firing alerts in separate groups (group_by node), each due as its own webhook notification. */
async function dueNotifications(tenant: string, count: number): Promise<void> {
  const policy = await t.app.inject({
    method: 'PUT', url: '/api/v1/monitoring/alerts/policy', headers: await adminHeaders(tenant),
    payload: { channels: ['webhook'], group_by: ['alertname', 'node'], group_wait_seconds: 0, group_interval_seconds: 60, repeat_interval_seconds: 3600, send_resolved: true, inhibit_rules: [], escalation: {} },
  });
  expect(policy.statusCode).toBe(200);
  await putReceiver(t, tenant, 'webhook', { url: webhook.url, secret: WEBHOOK_SECRET });
  await createRule(t, tenant, { rule_name: 'disk_full', metric_name: 'disk_used_percent', condition: '>', threshold: 90, severity: 'warning', window_seconds: 60 });
  await push(t, tenant, Array.from({ length: count }, (_, index) => ({ name: 'disk_used_percent', service: 'storage', value: 97, labels: { node: `node-${index}` } })));
  await evaluate(t, tenant);
  expect(await t.container.alerting.dispatcher.dispatchTenant(tenant)).toBe(count);
}

async function outboxRows(tenant: string) {
  const result = await t.container.db.withTenant(tenant, (tx) =>
    tx.query<{ id: string; status: string; attempts: number }>('SELECT id, status, attempts FROM notification_outbox WHERE tenant_id = $1 ORDER BY seq', [tenant]),
  );
  return result.rows;
}

const timesReceived = (ids: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
};

describe('a slow receiver', () => {
  it('gets each notification once when a second delivery pass runs while the first is still sending (was: 4 of 8 twice)', async () => {
    const tenant = newTenant();
    await dueNotifications(tenant, 8);
    const deliverDue = () => t.container.alerting.delivery.deliverDue({ tenantId: tenant });

    // Each request takes 8 s; while the 5th is in flight (32 s into the first pass, past a
    // 30 s batch lease) a second pass runs to its end, as a second instance or job run would.
    let second: DeliveryResult | undefined;
    webhook.ids.length = 0;
    webhook.during = async (n) => {
      clock.advance(ATTEMPT_MS);
      if (n === 5) second = await deliverDue();
    };
    const first = await deliverDue();
    webhook.during = async () => {};

    const rows = await outboxRows(tenant);
    const counts = timesReceived(webhook.ids);
    const twice = rows.filter((row) => (counts.get(row.id) ?? 0) > 1).length;
    expect(`${twice} of ${rows.length} delivered twice`).toBe(`0 of 8 delivered twice`);
    expect(rows.map((row) => counts.get(row.id) ?? 0)).toEqual(Array.from({ length: 8 }, () => 1));
    expect(new Set(counts.keys())).toEqual(new Set(rows.map((row) => row.id)));
    expect(rows.every((row) => row.status === 'delivered' && row.attempts === 1)).toBe(true);
    // The second pass took over the rows the first had not started (their claim lease had run
    // out), not the one in flight (its attempt's lease had not); the first pass left those alone.
    expect(second).toMatchObject({ claimed: 3, delivered: 3, retrying: 0, dead: 0, lostLease: 0 });
    expect(first).toMatchObject({ claimed: 8, delivered: 5, retrying: 0, dead: 0, lostLease: 3 });
  });

  it('sends again a notification whose sender died mid-attempt, once its lease has expired, and not before', async () => {
    const tenant = newTenant();
    await dueNotifications(tenant, 1);
    const deliverDue = () => t.container.alerting.delivery.deliverDue({ tenantId: tenant });
    webhook.ids.length = 0;

    // A sender claims the row, starts its attempt and dies: it never settles.
    const [claimed] = await t.container.db.withTenant(tenant, (tx) => claimDue(tx, tenant, clock.now(), { owner: randomUUID(), until: new Date(clock.nowMs() + 1_000) }, 10));
    expect(claimed).toBeDefined();
    if (claimed === undefined) return;
    const attempt = await t.container.db.withTenant(tenant, (tx) => startAttempt(tx, claimed, clock.now(), new Date(clock.nowMs() + TIMEOUT_MS + 1_000)));
    expect(attempt?.lease_until?.getTime()).toBe(clock.nowMs() + TIMEOUT_MS + 1_000);
    if (attempt === undefined) return;

    // Its attempt's lease holds: the row is not sent again, up to the last millisecond of it.
    expect(await deliverDue()).toMatchObject({ claimed: 0 });
    clock.advance(TIMEOUT_MS + 1_000);
    expect(await deliverDue()).toMatchObject({ claimed: 0 });
    expect(webhook.ids).toEqual([]);

    // Past it, the next pass takes the row and sends it.
    clock.advance(1);
    expect(await deliverDue()).toMatchObject({ claimed: 1, delivered: 1 });
    expect(webhook.ids).toEqual([claimed.id]);
    expect(await outboxRows(tenant)).toEqual([{ id: claimed.id, status: 'delivered', attempts: 1 }]);

    // The dead sender coming back late cannot settle the row it lost.
    const late = await t.container.db.withTenant(tenant, (tx) =>
      markFailedAttempt(tx, attempt, clock.now(), { status: 'pending', nextAttemptAt: clock.now(), error: 'late', statusCode: null }),
    );
    expect(late).toBe(false);
    expect(await outboxRows(tenant)).toEqual([{ id: claimed.id, status: 'delivered', attempts: 1 }]);
  });
});
