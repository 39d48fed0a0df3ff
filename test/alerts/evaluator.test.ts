import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { alertsOf, createRule, evaluate, eventsOf, push, step } from './fixtures.js';

let t: TestApp;
const clock = new ManualClock(Date.UTC(2026, 0, 12, 8));
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => t.close());

const MINUTE = 60_000;
const backlog = (value: number, service = 'orders', labels: Record<string, string> = { queue: 'main' }) => ({ name: 'queue_depth', service, value, labels });
const rule = { rule_name: 'queue_backlog', metric_name: 'queue_depth', condition: '>', threshold: 100, severity: 'error', window_seconds: 60 };

describe('alert evaluation state machine', () => {
  it('goes inactive -> pending -> firing -> resolved, honouring `duration`, with one alert and its history', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { ...rule, duration: 120 });
    await push(t, tenant, [backlog(50)]);
    await evaluate(t, tenant);
    expect(await alertsOf(t, tenant)).toEqual([]);

    await step(t, clock, tenant, MINUTE, [backlog(500)]);
    await evaluate(t, tenant);
    const [pending] = await alertsOf(t, tenant);
    expect(pending).toMatchObject({ status: 'pending', fired_at: null, resolved: false, value: 500, type: 'threshold', source: 'rule' });

    await step(t, clock, tenant, MINUTE, [backlog(400)]);
    await evaluate(t, tenant);
    expect((await alertsOf(t, tenant)).map((alert) => alert.status)).toEqual(['pending']);

    await step(t, clock, tenant, MINUTE, [backlog(300)]);
    const fired = await evaluate(t, tenant);
    expect(fired.changes.map((change) => change.kind)).toEqual(['firing']);
    await step(t, clock, tenant, MINUTE, [backlog(350)]);
    await evaluate(t, tenant);
    const firing = await alertsOf(t, tenant);
    expect(firing).toHaveLength(1);
    expect(firing[0]).toMatchObject({ id: pending?.id, status: 'firing', value: 350, fingerprint: pending?.fingerprint });
    expect(firing[0]?.labels).toMatchObject({ alertname: 'queue_backlog', service: 'orders', queue: 'main', severity: 'error' });

    await step(t, clock, tenant, MINUTE, [backlog(20)]);
    const cleared = await evaluate(t, tenant);
    expect(cleared.changes.map((change) => change.kind)).toEqual(['resolved']);
    const [resolved] = await alertsOf(t, tenant);
    expect(resolved).toMatchObject({ status: 'resolved', resolved: true, resolved_by: 'evaluator' });
    // The error-severity escalation chain started on firing is stopped by the resolution.
    await expect.poll(async () => (await eventsOf(t, tenant, resolved?.id ?? '')).map((event) => event.kind)).toEqual(['pending', 'firing', 'resolved', 'escalation_stopped']);
  });

  it('a pending alert whose condition clears never fires (the `for` timer resets)', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { ...rule, duration: 300 });
    await push(t, tenant, [backlog(500)]);
    await evaluate(t, tenant);
    await step(t, clock, tenant, MINUTE, [backlog(10)]);
    await evaluate(t, tenant);
    const [cleared] = await alertsOf(t, tenant);
    expect(cleared).toMatchObject({ status: 'resolved', fired_at: null });
    expect((await eventsOf(t, tenant, cleared?.id ?? '')).map((event) => [event.kind, event.details['reason'] ?? null])).toEqual([
      ['pending', null],
      ['resolved', 'condition cleared before firing'],
    ]);
    await step(t, clock, tenant, MINUTE, [backlog(500)]);
    await evaluate(t, tenant);
    const again = await alertsOf(t, tenant, 'resolved = false');
    expect(again.map((alert) => alert.status)).toEqual(['pending']);
  });

  it('without `duration` a rule fires on the first evaluation', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { ...rule, duration: 0 });
    await push(t, tenant, [backlog(500)]);
    const result = await evaluate(t, tenant);
    expect(result.changes.map((change) => change.kind)).toEqual(['firing']);
  });

  it('keep_firing_for keeps a firing alert until the condition has been clear that long; a return resets it', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { ...rule, duration: 0, keep_firing_for: 120 });
    await push(t, tenant, [backlog(500)]);
    await evaluate(t, tenant);
    await step(t, clock, tenant, MINUTE, [backlog(10)]);
    await evaluate(t, tenant);
    expect((await alertsOf(t, tenant))[0]?.keep_firing_since).not.toBeNull();
    await step(t, clock, tenant, MINUTE, [backlog(500)]);
    await evaluate(t, tenant);
    expect((await alertsOf(t, tenant))[0]).toMatchObject({ status: 'firing', keep_firing_since: null });
    await step(t, clock, tenant, MINUTE, [backlog(10)]);
    await evaluate(t, tenant);
    await step(t, clock, tenant, MINUTE, [backlog(10)]);
    await evaluate(t, tenant);
    expect((await alertsOf(t, tenant)).map((alert) => alert.status)).toEqual(['firing']);
    await step(t, clock, tenant, MINUTE, [backlog(10)]);
    await evaluate(t, tenant);
    expect((await alertsOf(t, tenant)).map((alert) => alert.status)).toEqual(['resolved']);
  });

  it('one alert per rule and label set: series are separate, repeats are deduplicated, matchers filter', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { ...rule, duration: 0, label_matchers: [{ name: 'queue', value: 'dead-letter', is_equal: false }] });
    for (let round = 0; round < 3; round += 1) {
      await step(t, clock, tenant, 20_000, [backlog(500, 'orders'), backlog(700, 'payments'), backlog(900, 'orders', { queue: 'dead-letter' })]);
      await evaluate(t, tenant);
    }
    const alerts = await alertsOf(t, tenant);
    expect(alerts.map((alert) => alert.service_name).sort()).toEqual(['orders', 'payments']);
    expect(new Set(alerts.map((alert) => alert.fingerprint)).size).toBe(2);
    const raised = await t.container.alerts.raise(tenant, { fingerprint: alerts[0]?.fingerprint ?? '', name: 'queue_backlog', type: 'threshold', severity: 'error', message: 'again', source: 'rule' });
    expect(raised).toBeNull();
    expect(await alertsOf(t, tenant)).toHaveLength(2);
  });

  it('aggregations: rate per second, count, max and last over the window', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { rule_name: 'fast_errors', metric_name: 'errors_total', aggregation: 'rate', condition: '>', threshold: 1.5, severity: 'warning', window_seconds: 120 });
    await createRule(t, tenant, { rule_name: 'many_samples', metric_name: 'errors_total', aggregation: 'count', condition: '>=', threshold: 3, severity: 'info', window_seconds: 120 });
    await createRule(t, tenant, { rule_name: 'peak', metric_name: 'errors_total', aggregation: 'max', condition: '==', threshold: 120, severity: 'info', window_seconds: 120 });
    await createRule(t, tenant, { rule_name: 'latest_low', metric_name: 'errors_total', aggregation: 'last', condition: '<', threshold: 100, severity: 'info', window_seconds: 120 });
    // errors_total is a catalogue counter: pushed increments 0, 60, 60 are stored as the totals 0, 60, 120.
    for (const value of [0, 60, 60]) await step(t, clock, tenant, 30_000, [{ name: 'errors_total', service: 'api', value }]);
    await evaluate(t, tenant);
    const alerts = await alertsOf(t, tenant);
    expect(alerts.map((alert) => [alert.name, alert.value]).sort()).toEqual([['fast_errors', 2], ['many_samples', 3], ['peak', 120]]);
  });

  it('no data is an explicit alert; a zero value is data, never read as missing', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { rule_name: 'heartbeat_missing', metric_name: 'job_heartbeat', aggregation: 'count', condition: '<', threshold: 0, severity: 'critical', window_seconds: 60, no_data_state: 'alerting' });
    await createRule(t, tenant, { rule_name: 'heartbeat_quiet', metric_name: 'job_heartbeat', aggregation: 'last', condition: '>', threshold: 5, severity: 'warning', window_seconds: 60 });
    await push(t, tenant, [{ name: 'job_heartbeat', service: 'worker', value: 0 }]);
    await evaluate(t, tenant);
    expect(await alertsOf(t, tenant)).toEqual([]);

    await step(t, clock, tenant, 2 * MINUTE, []);
    await evaluate(t, tenant);
    const [noData] = await alertsOf(t, tenant);
    expect(noData).toMatchObject({ name: 'heartbeat_missing', type: 'no_data', status: 'firing', value: null });
    expect(noData?.labels).toMatchObject({ alertstate: 'nodata' });
    expect(noData?.message).toMatch(/^No data/);

    await push(t, tenant, [{ name: 'job_heartbeat', service: 'worker', value: 0 }]);
    await evaluate(t, tenant);
    expect((await alertsOf(t, tenant)).map((alert) => alert.status)).toEqual(['resolved']);
  });

  it('cooldown: a resolved alert does not reopen before cooldown_seconds', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { ...rule, duration: 0, cooldown_seconds: 300 });
    await push(t, tenant, [backlog(500)]);
    await evaluate(t, tenant);
    await step(t, clock, tenant, MINUTE, [backlog(1)]);
    await evaluate(t, tenant);
    await step(t, clock, tenant, MINUTE, [backlog(500)]);
    await evaluate(t, tenant);
    expect(await alertsOf(t, tenant, 'resolved = false')).toEqual([]);
    await step(t, clock, tenant, 4 * MINUTE, [backlog(500)]);
    await evaluate(t, tenant);
    expect((await alertsOf(t, tenant, 'resolved = false')).map((alert) => alert.status)).toEqual(['firing']);
  });

  it('disabling a rule resolves its open alerts', async () => {
    const tenant = newTenant();
    const created = await createRule(t, tenant, { ...rule, duration: 0 });
    await push(t, tenant, [backlog(500)]);
    await evaluate(t, tenant);
    await t.container.db.withTenant(tenant, (tx) => tx.query('UPDATE alert_rules SET enabled = false WHERE tenant_id = $1 AND id = $2', [tenant, created.id]));
    await evaluate(t, tenant);
    const [alert] = await alertsOf(t, tenant);
    expect(alert?.status).toBe('resolved');
    expect((await eventsOf(t, tenant, alert?.id ?? '')).find((event) => event.kind === 'resolved')?.details['reason']).toBe('rule disabled or deleted');
  });

  it('registers the alert-evaluation, notification-delivery and alert-escalation jobs', () => {
    expect(t.container.scheduler.jobs()).toEqual(expect.arrayContaining(['alert-evaluation', 'notification-delivery', 'alert-escalation']));
  });

  // The job evaluates every tenant of the database; on a shared PostgreSQL other test files' tenants would be evaluated at this file's clock.
  it.skipIf(TEST_DATABASE_URL !== undefined)('the alert-evaluation job evaluates every tenant once per cycle', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, { ...rule, duration: 0 });
    clock.advance(t.container.config.ALERT_EVALUATION_INTERVAL_MS);
    await push(t, tenant, [backlog(500)]);
    const outcome = await t.container.scheduler.runNow('alert-evaluation');
    expect(outcome.status).toBe('ran');
    expect((await alertsOf(t, tenant)).map((alert) => alert.status)).toEqual(['firing']);
    expect((await t.container.scheduler.runNow('alert-evaluation')).status).toBe('skipped-claimed');
  });
});
