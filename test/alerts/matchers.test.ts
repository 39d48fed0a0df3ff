import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { adminHeaders, alertsOf, countRows, createRule, evaluate, push } from './fixtures.js';

const clock = new ManualClock(Date.UTC(2026, 1, 2, 10));
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => t.close());

const SECOND = 1000;
/** The reported attack: a label value on which a backtracking engine explores 2^30 paths for (a+)+. */
const ATTACK = `${'a'.repeat(30)}!`;
const queued = (labels: Record<string, string>, value = 5) => ({ name: 'jobs_queued', service: 'worker', value, labels });
const rule = { rule_name: 'queued', metric_name: 'jobs_queued', condition: '>', threshold: 1, severity: 'warning', window_seconds: 60 };
const REFUSED = [
  ['a lookahead', '(?=x)'],
  ['a backreference', '(a)\\1'],
  ['an unbalanced (', '('],
] as const;

const firingX = async (tenantId: string, name = 'queued') => (await alertsOf(t, tenantId, `status = 'firing' AND name = '${name}'`)).map((alert) => alert.labels['x'] ?? '<absent>').sort();

async function policy(tenantId: string, body: Record<string, unknown>) {
  const payload = { channels: ['webhook'], group_by: ['alertname'], group_wait_seconds: 0, group_interval_seconds: 60, repeat_interval_seconds: 600, send_resolved: true, inhibit_rules: [], escalation: {}, ...body };
  return t.app.inject({ method: 'PUT', url: '/api/v1/monitoring/alerts/policy', headers: await adminHeaders(tenantId), payload });
}

async function silence(tenantId: string, matchers: unknown[]) {
  const payload = { matchers, ends_at: new Date(clock.nowMs() + 3600 * SECOND).toISOString(), comment: 'issue 13' };
  return t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts/silences', headers: { ...(await bearer(tenantId, ['operator'])), 'content-type': 'application/json' }, payload });
}

/**
 * One pass of the dispatcher: the x labels of the alerts it queued a webhook notification for
 * (queued whether or not a receiver is configured, so muting is seen without delivering).
 */
async function notifiedX(tenantId: string): Promise<string[]> {
  await t.container.alerting.dispatcher.dispatchTenant(tenantId);
  const queued = await t.container.db.withTenant(tenantId, (tx) => tx.query<{ payload: string }>("SELECT payload::text AS payload FROM notification_outbox WHERE tenant_id = $1 AND channel = 'webhook'", [tenantId]));
  return queued.rows.flatMap((row) => (JSON.parse(row.payload) as { alerts: Array<{ labels: Record<string, string> }> }).alerts.map((alert) => alert.labels['x'] ?? '<absent>')).sort();
}

describe('rule, silence and inhibit matchers run on RE2 (issue 13)', () => {
  it('a rule matcher (a+)+ against the label "aaa…a!" evaluates, and matches as RE2 does: "aaaa" yes, "aaa…a!" no', async () => {
    const tenant = newTenant();
    await push(t, tenant, [queued({ x: ATTACK }), queued({ x: 'aaaa' }), queued({ x: 'b' })]);
    await createRule(t, tenant, { ...rule, label_matchers: [{ name: 'x', value: '(a+)+', is_regex: true }] });
    const result = await evaluate(t, tenant);
    expect(result.changes.map((change) => change.kind)).toEqual(['firing']);
    expect(await firingX(tenant)).toEqual(['aaaa']);
  });

  it('regexes are fully anchored; !~ and != hold for an absent label, which is tested as ""', async () => {
    const tenant = newTenant();
    await push(t, tenant, [queued({ x: 'ba' }), queued({ x: 'abc' }), queued({ y: 'other' })]);
    const cases = [
      ['anchored', { name: 'x', value: 'a.*', is_regex: true }, ['abc']],
      ['not_regex', { name: 'x', value: 'a.*', is_regex: true, is_equal: false }, ['<absent>', 'ba']],
      ['not_equal', { name: 'x', value: 'ba', is_equal: false }, ['<absent>', 'abc']],
      ['absent', { name: 'x', value: '' }, ['<absent>']],
      ['empty_regex', { name: 'x', value: 'b?', is_regex: true }, ['<absent>']],
    ] as const;
    for (const [name, matcher] of cases) await createRule(t, tenant, { ...rule, rule_name: name, label_matchers: [matcher] });
    await evaluate(t, tenant);
    for (const [name, , expected] of cases) expect({ name, x: await firingX(tenant, name) }).toEqual({ name, x: expected });
  });

  it.each(REFUSED)('a rule with %s is refused with 400 INVALID_MATCHER on create and update; nothing is written', async (_what, value) => {
    const tenant = newTenant();
    const headers = await adminHeaders(tenant);
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts/rules', headers, payload: { ...rule, label_matchers: [{ name: 'x', value, is_regex: true }] } });
    expect(created.statusCode).toBe(400);
    expect(created.json<{ error: { code: string; details: { value: string } } }>().error).toMatchObject({ code: 'INVALID_MATCHER', details: { value } });
    expect(await countRows(t, tenant, 'alert_rules')).toBe(0);

    const stored = await createRule(t, tenant, { ...rule, label_matchers: [{ name: 'x', value: 'a+', is_regex: true }] });
    const updated = await t.app.inject({ method: 'PUT', url: `/api/v1/monitoring/alerts/rules/${stored.id}`, headers, payload: { label_matchers: [{ name: 'x', value, is_regex: true }] } });
    expect(updated.statusCode).toBe(400);
    expect(updated.json<{ error: { code: string } }>().error.code).toBe('INVALID_MATCHER');
    const reread = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/alerts/rules/${stored.id}`, headers });
    expect(reread.json<{ data: { label_matchers: unknown } }>().data.label_matchers).toEqual([{ name: 'x', value: 'a+', is_regex: true, is_equal: true }]);
  });

  it('a silence matcher (a+)+ mutes the alert on "aaaa" and not the one on "aaa…a!"', async () => {
    const tenant = newTenant();
    expect((await policy(tenant, {})).statusCode).toBe(200);
    await push(t, tenant, [queued({ x: ATTACK }), queued({ x: 'aaaa' })]);
    await createRule(t, tenant, rule);
    expect((await silence(tenant, [{ name: 'x', value: '(a+)+', is_regex: true }])).statusCode).toBe(201);
    await evaluate(t, tenant);
    expect(await firingX(tenant)).toEqual(['aaaa', ATTACK].sort());
    expect(await notifiedX(tenant)).toEqual([ATTACK]);
  });

  it('an inhibit rule matcher (a+)+ inhibits by RE2 semantics', async () => {
    const tenant = newTenant();
    const inhibit = { source_matchers: [{ name: 'alertname', value: 'source' }], target_matchers: [{ name: 'x', value: '(a+)+', is_regex: true }], equal: [] };
    expect((await policy(tenant, { inhibit_rules: [inhibit] })).statusCode).toBe(200);
    await push(t, tenant, [queued({ x: ATTACK }), queued({ x: 'aaaa' }), queued({ x: 'source' })]);
    await createRule(t, tenant, { ...rule, rule_name: 'source', label_matchers: [{ name: 'x', value: 'source' }] });
    await createRule(t, tenant, { ...rule, label_matchers: [{ name: 'x', value: 'source', is_equal: false }] });
    await evaluate(t, tenant);
    expect(await notifiedX(tenant)).toEqual(['source', ATTACK].sort());
  });

  it.each(REFUSED)('a silence or an inhibit rule with %s is refused with 400 INVALID_MATCHER; nothing is written', async (_what, value) => {
    const tenant = newTenant();
    const refusedSilence = await silence(tenant, [{ name: 'x', value, is_regex: true }]);
    expect(refusedSilence.statusCode).toBe(400);
    expect(refusedSilence.json<{ error: { code: string } }>().error.code).toBe('INVALID_MATCHER');
    expect(await countRows(t, tenant, 'alert_silences')).toBe(0);

    const refusedPolicy = await policy(tenant, { inhibit_rules: [{ source_matchers: [{ name: 'x', value, is_regex: true }], target_matchers: [{ name: 'a', value: 'b' }], equal: [] }] });
    expect(refusedPolicy.statusCode).toBe(400);
    expect(refusedPolicy.json<{ error: { code: string } }>().error.code).toBe('INVALID_MATCHER');
    expect(await countRows(t, tenant, 'alert_policies')).toBe(0);
  });

  it('stored patterns RE2 refuses (saved before RE2) match nothing: evaluation and notification go on', async () => {
    const tenant = newTenant();
    expect((await policy(tenant, { inhibit_rules: [{ source_matchers: [{ name: 'alertname', value: 'queued' }], target_matchers: [{ name: 'x', value: 'a+', is_regex: true }], equal: [] }] })).statusCode).toBe(200);
    await push(t, tenant, [queued({ x: 'aaaa' })]);
    const legacy = await createRule(t, tenant, { ...rule, rule_name: 'legacy', no_data_state: 'alerting', label_matchers: [{ name: 'x', value: 'a+', is_regex: true }] });
    await createRule(t, tenant, rule);
    expect((await silence(tenant, [{ name: 'x', value: 'a+', is_regex: true }])).statusCode).toBe(201);
    // What a JavaScript RegExp accepted before RE2: a lookahead in the rule, a backreference in the silence and the inhibit rule.
    await t.container.db.withTenant(tenant, async (tx) => {
      await tx.query('UPDATE alert_rules SET label_matchers = $2 WHERE tenant_id = $1 AND id = $3', [tenant, JSON.stringify([{ name: 'x', value: '(?=a)a+', is_regex: true, is_equal: true }]), legacy.id]);
      await tx.query('UPDATE alert_silences SET matchers = $2 WHERE tenant_id = $1', [tenant, JSON.stringify([{ name: 'x', value: '(a)\\1+', is_regex: true, is_equal: true }])]);
      await tx.query(`UPDATE alert_policies SET policy = jsonb_set(policy, '{inhibit_rules,0,target_matchers}', $2::jsonb) WHERE tenant_id = $1`, [tenant, JSON.stringify([{ name: 'x', value: '(a)\\1+', is_regex: true, is_equal: true }])]);
    });

    await evaluate(t, tenant);
    expect(await alertsOf(t, tenant, "name = 'legacy'")).toEqual([]);
    expect(await firingX(tenant)).toEqual(['aaaa']);
    expect(await notifiedX(tenant)).toEqual(['aaaa']);
    // A later evaluation still runs (the refusal is logged once, not thrown).
    clock.advance(30 * SECOND);
    await push(t, tenant, [queued({ x: 'aaaa' })]);
    await expect(evaluate(t, tenant)).resolves.toBeDefined();
    expect(await alertsOf(t, tenant, "name = 'legacy'")).toEqual([]);
  });
});
