import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rule } from '../../src/alerts/alert-rules.schema.js';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { adminHeaders, alertsOf, countRows, createRule, evaluate, push } from './fixtures.js';

let t: TestApp;
const clock = new ManualClock(Date.UTC(2026, 0, 10, 12));
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => t.close());

const RULES = '/api/v1/monitoring/alerts/rules';
const valid = { rule_name: 'queue_backlog', metric_name: 'queue_depth', condition: '>', threshold: 100, severity: 'error', duration: 120 };

describe('alert rules', () => {
  it('every tenant has the five default rules of the audit', async () => {
    const tenant = newTenant();
    const response = await t.app.inject({ method: 'GET', url: RULES, headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    const rules = response.json<{ data: Rule[] }>().data;
    expect(rules.map((rule) => [rule.rule_name, rule.metric_name, rule.condition, rule.threshold, rule.severity, rule.duration, rule.is_default])).toEqual([
      ['database_connection_pool_exhausted', 'postgres_pool_waiting', '>', 5, 'critical', 60, true],
      ['high_cpu_usage', 'system_cpu_usage_percent', '>', 80, 'warning', 300, true],
      ['high_memory_usage', 'system_memory_usage_percent', '>', 90, 'warning', 300, true],
      ['high_response_time', 'http_response_time_ms', '>', 1000, 'warning', 180, true],
      ['service_down', 'service_up', '==', 0, 'critical', 60, true],
    ]);
  });

  it('the defaults are seeded when a tenant first pushes a metric, once', async () => {
    const tenant = newTenant();
    await push(t, tenant, [{ name: 'anything', service: 'svc', value: 1 }]);
    await expect.poll(() => countRows(t, tenant, 'alert_rules')).toBe(5);
    const first = await t.app.inject({ method: 'GET', url: RULES, headers: await bearer(tenant) });
    const cpu = first.json<{ data: Rule[] }>().data.find((rule) => rule.rule_name === 'high_cpu_usage');
    expect(cpu).toBeDefined();
    const deleted = await t.app.inject({ method: 'DELETE', url: `${RULES}/${cpu?.id ?? ''}`, headers: await bearer(tenant) });
    expect(deleted.statusCode).toBe(204);
    await t.container.alerting.seedDefaults(tenant);
    expect(await countRows(t, tenant, 'alert_rules')).toBe(4);
  });

  it('creates, reads, updates and deletes a rule (admin)', async () => {
    const tenant = newTenant();
    const rule = await createRule(t, tenant, { ...valid, label_matchers: [{ name: 'queue', value: 'orders|payments', is_regex: true }], annotations: { summary: 'Backlog', runbook_url: 'https://runbooks.example/queue' }, channels: ['slack', 'email'] });
    expect(rule).toMatchObject({ rule_name: 'queue_backlog', aggregation: 'avg', window_seconds: 300, keep_firing_for: 0, no_data_state: 'ok', enabled: true, is_default: false, channels: ['slack', 'email'] });
    expect(rule.label_matchers).toEqual([{ name: 'queue', value: 'orders|payments', is_regex: true, is_equal: true }]);

    const read = await t.app.inject({ method: 'GET', url: `${RULES}/${rule.id}`, headers: await bearer(tenant, ['viewer']) });
    expect(read.json<{ data: Rule }>().data.annotations).toEqual({ summary: 'Backlog', runbook_url: 'https://runbooks.example/queue' });

    const updated = await t.app.inject({ method: 'PUT', url: `${RULES}/${rule.id}`, headers: await adminHeaders(tenant), payload: { threshold: 250, enabled: false, channels: null } });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json<{ data: Rule }>().data).toMatchObject({ threshold: 250, enabled: false, channels: null, rule_name: 'queue_backlog', duration: 120 });

    const removed = await t.app.inject({ method: 'DELETE', url: `${RULES}/${rule.id}`, headers: await bearer(tenant) });
    expect(removed.statusCode).toBe(204);
    const gone = await t.app.inject({ method: 'GET', url: `${RULES}/${rule.id}`, headers: await bearer(tenant) });
    expect(gone.statusCode).toBe(404);
    expect(gone.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
  });

  it.each([
    ['unknown metric syntax', { ...valid, metric_name: 'queue depth{' }, 'VALIDATION_FAILED'],
    ['a negative duration', { ...valid, duration: -60 }, 'VALIDATION_FAILED'],
    ['a negative keep_firing_for', { ...valid, keep_firing_for: -1 }, 'VALIDATION_FAILED'],
    ['an unknown condition', { ...valid, condition: '=>' }, 'VALIDATION_FAILED'],
    ['an unknown aggregation', { ...valid, aggregation: 'median' }, 'VALIDATION_FAILED'],
    ['an unknown severity', { ...valid, severity: 'page' }, 'VALIDATION_FAILED'],
    ['an unknown channel', { ...valid, channels: ['slack', 'sms'] }, 'UNKNOWN_CHANNEL'],
    ['a bad regex matcher', { ...valid, label_matchers: [{ name: 'queue', value: '(orders', is_regex: true }] }, 'INVALID_MATCHER'],
    ['a runbook that is not a URL', { ...valid, annotations: { runbook_url: 'not a url' } }, 'VALIDATION_FAILED'],
    ['an unknown field', { ...valid, priority: 1 }, 'VALIDATION_FAILED'],
    ['a missing threshold', { rule_name: 'x', metric_name: 'queue_depth', condition: '>', severity: 'error' }, 'VALIDATION_FAILED'],
  ])('refuses a rule with %s (400, nothing written)', async (_case, body, code) => {
    const tenant = newTenant();
    const response = await t.app.inject({ method: 'POST', url: RULES, headers: await adminHeaders(tenant), payload: body });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe(code);
    const names = await t.container.db.withTenant(tenant, (tx) => tx.query<{ rule_name: string }>('SELECT rule_name FROM alert_rules WHERE tenant_id = $1 AND is_default = false', [tenant]));
    expect(names.rows).toEqual([]);
  });

  it('refuses an update with an unknown channel and keeps the rule as it was', async () => {
    const tenant = newTenant();
    const rule = await createRule(t, tenant, valid);
    const response = await t.app.inject({ method: 'PUT', url: `${RULES}/${rule.id}`, headers: await adminHeaders(tenant), payload: { channels: ['pager'], threshold: 1 } });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('UNKNOWN_CHANNEL');
    const read = await t.app.inject({ method: 'GET', url: `${RULES}/${rule.id}`, headers: await bearer(tenant) });
    expect(read.json<{ data: Rule }>().data).toMatchObject({ threshold: 100, channels: null });
  });

  it('a duplicate name is a conflict', async () => {
    const tenant = newTenant();
    await createRule(t, tenant, valid);
    const response = await t.app.inject({ method: 'POST', url: RULES, headers: await adminHeaders(tenant), payload: { ...valid, threshold: 5 } });
    expect(response.statusCode).toBe(409);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('CONFLICT');
    expect(await countRows(t, tenant, 'alert_rules')).toBe(6);
  });

  it('only admins change rules; anyone authenticated reads them', async () => {
    const tenant = newTenant();
    for (const role of ['operator', 'viewer', 'monitoring'] as const) {
      const response = await t.app.inject({ method: 'POST', url: RULES, headers: { ...(await bearer(tenant, [role])), 'content-type': 'application/json' }, payload: valid });
      expect(response.statusCode).toBe(403);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    }
    const anonymous = await t.app.inject({ method: 'GET', url: RULES });
    expect(anonymous.statusCode).toBe(401);
    expect(await countRows(t, tenant, 'alert_rules')).toBe(0);
  });

  it('a tenant cannot see, change or delete another tenant\'s rule', async () => {
    const a = newTenant();
    const b = newTenant();
    const rule = await createRule(t, a, valid);
    for (const request of [
      { method: 'GET' as const, url: `${RULES}/${rule.id}` },
      { method: 'PUT' as const, url: `${RULES}/${rule.id}`, payload: { threshold: 1 } },
      { method: 'DELETE' as const, url: `${RULES}/${rule.id}` },
    ]) {
      const response = await t.app.inject({ ...request, headers: await adminHeaders(b) });
      expect(response.statusCode).toBe(404);
    }
    const read = await t.app.inject({ method: 'GET', url: `${RULES}/${rule.id}`, headers: await bearer(a) });
    expect(read.json<{ data: Rule }>().data.threshold).toBe(100);
  });

  it('deleting a rule resolves its open alerts', async () => {
    const tenant = newTenant();
    const rule = await createRule(t, tenant, { ...valid, duration: 0, window_seconds: 60 });
    await push(t, tenant, [{ name: 'queue_depth', service: 'orders', value: 500 }]);
    await evaluate(t, tenant);
    expect((await alertsOf(t, tenant, 'resolved = false')).length).toBe(1);
    const removed = await t.app.inject({ method: 'DELETE', url: `${RULES}/${rule.id}`, headers: await bearer(tenant) });
    expect(removed.statusCode).toBe(204);
    const alerts = await alertsOf(t, tenant);
    expect(alerts.map((alert) => [alert.status, alert.resolved_by])).toEqual([['resolved', 'user-admin']]);
  });
});
