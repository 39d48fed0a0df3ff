import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RULE_WEIGHTS } from '../../src/analytics/fraud/fraud-rules.js';
import type { DeliveredMessage } from '../../src/platform/bus/index.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';
import { syntheticSignals } from '../support/fraud.js';

const ENV = { FRAUD_VPN_CIDRS: '10.8.0.0/16', FRAUD_DATACENTER_CIDRS: '203.0.113.0/24,2001:db8::/32', FRAUD_TRAINING_EPOCHS: '60', FRAUD_TRAINING_MIN_EVENTS: '10' };
const PATH = '/api/v1/analytics/fraud/check';

/** A request whose signals trip no rule. */
const clean = {
  user_id: 'u-1',
  ip: '198.51.100.7',
  user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0',
  requests_per_minute: 5,
  payment_methods: 1,
  tickets: 2,
  distance_km: 10,
  request_intervals_ms: [1200, 4000, 2500, 9000, 3100],
  mouse_movements: 120,
  keystroke_intervals_ms: [120, 180, 95, 210],
  session_seconds: 240,
};

interface CheckBody {
  risk_score: number;
  risk_level: string;
  pattern: string;
  rule_score: number;
  model_score: number | null;
  model_version: number | null;
  served_by: 'rules' | 'rules+network';
  reasons: Array<{ indicator: string; weight: number }>;
  stored: boolean;
  event_id: string | null;
  vpn: boolean;
  datacenter: boolean;
}

let t: TestApp;
let dataDir: string;
const published: DeliveredMessage[] = [];
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'fraud-'));
  t = await createTestApp({ env: { ...ENV, DATA_DIR: dataDir } });
  await t.container.bus.subscribe('fraud-events', 'fraud-test-observer', async (message) => {
    published.push(message);
  });
});
afterAll(async () => {
  await t.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function check(tenant: string, signals: Record<string, unknown>): Promise<CheckBody> {
  const response = await t.app.inject({ method: 'POST', url: PATH, headers: await bearer(tenant, ['admin']), payload: signals });
  expect(response.statusCode).toBe(200);
  return response.json<CheckBody>();
}

async function storedEvents(tenant: string) {
  const result = await t.container.db.withTenant(tenant, (tx) => tx.query<{ id: string; pattern: string; risk_level: string }>('SELECT id, pattern, risk_level FROM fraud_events WHERE tenant_id = $1', [tenant]));
  return result.rows;
}

describe('fraud rules', () => {
  const single: Array<[keyof typeof RULE_WEIGHTS, number, Record<string, unknown>]> = [
    ['rapid_requests', 30, { requests_per_minute: 61 }],
    ['multiple_payment_methods', 25, { payment_methods: 4 }],
    ['bulk_purchase', 35, { tickets: 11 }],
    ['geographic_anomaly', 20, { distance_km: 1001 }],
    ['automated_timing', 40, { request_intervals_ms: [1000, 1001, 999, 1000, 1002, 998] }],
    ['bot_user_agent', 50, { user_agent: 'Googlebot/2.1 (+http://www.google.com/bot.html)' }],
    ['no_mouse_movements', 30, { mouse_movements: 0 }],
    ['inhuman_typing', 25, { keystroke_intervals_ms: [4, 6, 5, 7] }],
    ['short_session', 20, { session_seconds: 4.9 }],
  ];

  it.each(single)('%s alone scores exactly %i (the audit weight)', async (indicator, weight, change) => {
    const body = await check(newTenant(), { ...clean, ...change });
    expect(body.rule_score).toBe(weight);
    expect(body.reasons.map((r) => [r.indicator, r.weight])).toEqual([[indicator, weight]]);
  });

  it('a request at the thresholds trips nothing and is not stored', async () => {
    const tenant = newTenant();
    const body = await check(tenant, { ...clean, requests_per_minute: 60, payment_methods: 3, tickets: 10, distance_km: 1000, session_seconds: 5 });
    expect(body).toMatchObject({ rule_score: 0, risk_score: 0, risk_level: 'low', reasons: [], stored: false });
    expect(await storedEvents(tenant)).toEqual([]);
  });

  it('adds indicators, caps at 100 and names the dominant pattern', async () => {
    const scalper = await check(newTenant(), { ...clean, requests_per_minute: 200, tickets: 20 });
    expect(scalper).toMatchObject({ rule_score: 65, risk_level: 'high', pattern: 'scalper' });
    const bot = await check(newTenant(), { ...clean, user_agent: 'curl/8.0', mouse_movements: 0, keystroke_intervals_ms: [1, 2, 1], session_seconds: 1, tickets: 11 });
    expect(bot).toMatchObject({ rule_score: 100, risk_level: 'critical', pattern: 'bot' });
  });

  it('detects VPN and datacenter addresses from the configured CIDR lists (IPv4 and IPv6)', async () => {
    const vpn = await check(newTenant(), { ...clean, ip: '10.8.4.2' });
    expect(vpn).toMatchObject({ vpn: true, datacenter: false, rule_score: RULE_WEIGHTS.vpn });
    const dc = await check(newTenant(), { ...clean, ip: '2001:db8::17' });
    expect(dc).toMatchObject({ vpn: false, datacenter: true, rule_score: RULE_WEIGHTS.datacenter_ip });
    const neither = await check(newTenant(), { ...clean, ip: '203.0.114.1' });
    expect(neither).toMatchObject({ vpn: false, datacenter: false, rule_score: 0 });
  });
});

describe('fraud check endpoint', () => {
  it('stores a high-risk check once per user, pattern and time window, publishes it and raises a fraud alert', async () => {
    const tenant = newTenant();
    const risky = { ...clean, user_id: 'scalper-1', requests_per_minute: 300, tickets: 40, payment_methods: 5 };
    const first = await check(tenant, risky);
    const second = await check(tenant, risky);
    expect(first).toMatchObject({ stored: true, risk_level: 'critical', pattern: 'scalper' });
    expect(second.stored).toBe(false);
    expect(await storedEvents(tenant)).toEqual([{ id: first.event_id, pattern: 'scalper', risk_level: 'critical' }]);
    await expect.poll(() => published.filter((m) => (m.value as { tenant_id: string }).tenant_id === tenant).length).toBe(1);
    const message = published.find((m) => (m.value as { tenant_id: string }).tenant_id === tenant);
    expect(message?.value).toMatchObject({ user_id: 'scalper-1', pattern: 'scalper', risk_level: 'critical', risk_score: 0.9 });
    await t.container.analytics.fraud.idle();
    const alerts = await t.container.db.withTenant(tenant, (tx) => tx.query<{ type: string; severity: string; fingerprint: string }>('SELECT type, severity, fingerprint FROM alerts WHERE tenant_id = $1', [tenant]));
    expect(alerts.rows).toEqual([{ type: 'fraud', severity: 'critical', fingerprint: 'fraud:scalper' }]);

    // A second scalper is stored and published on its own, but joins the open alert of its pattern.
    const other = await check(tenant, { ...risky, user_id: 'scalper-2' });
    expect(other.stored).toBe(true);
    await t.container.analytics.fraud.idle();
    const after = await t.container.db.withTenant(tenant, (tx) => tx.query<{ fingerprint: string; message: string }>('SELECT fingerprint, message FROM alerts WHERE tenant_id = $1', [tenant]));
    expect(after.rows).toHaveLength(1);
    expect(after.rows[0]?.message).toContain('user scalper-2');
    expect(await storedEvents(tenant)).toHaveLength(2);
  });

  it('concurrent checks are group-committed: each new user is stored once, a repeated user once per window', async () => {
    const tenant = newTenant();
    const risky = (user: string) => ({ ...clean, user_id: user, requests_per_minute: 300, tickets: 40, payment_methods: 5 });
    const results = await Promise.all([...Array.from({ length: 10 }, (_, i) => check(tenant, risky(`burst-${i}`))), ...Array.from({ length: 10 }, () => check(tenant, risky('repeat')))]);
    expect(results.slice(0, 10).every((r) => r.stored && r.event_id !== null)).toBe(true);
    expect(results.slice(10).filter((r) => r.stored)).toHaveLength(1);
    expect(await storedEvents(tenant)).toHaveLength(11);
    expect((await check(tenant, risky('repeat'))).stored).toBe(false);
    await t.container.analytics.fraud.idle();
    // One fraud alert for the pattern (the stream processor may add its own fraud_spike pattern alert).
    const alerts = await t.container.db.withTenant(tenant, (tx) => tx.query<{ fingerprint: string }>("SELECT fingerprint FROM alerts WHERE tenant_id = $1 AND type = 'fraud'", [tenant]));
    expect(alerts.rows).toEqual([{ fingerprint: 'fraud:scalper' }]);
  });

  it('accepts a signed platform service', async () => {
    const tenant = newTenant();
    const signed = signedHeaders({ method: 'POST', path: PATH, body: { ...clean, tickets: 11 }, tenantId: tenant, service: 'payment-service' });
    const response = await t.app.inject({ method: 'POST', url: PATH, headers: signed.headers, payload: signed.payload });
    expect(response.statusCode).toBe(200);
    expect(response.json<CheckBody>().rule_score).toBe(35);
  });

  it('refuses users other than admin and bad signals, storing nothing', async () => {
    const tenant = newTenant();
    const viewer = await t.app.inject({ method: 'POST', url: PATH, headers: await bearer(tenant, ['viewer']), payload: { ...clean, tickets: 50, requests_per_minute: 500 } });
    expect(viewer.statusCode).toBe(403);
    const bad = await t.app.inject({ method: 'POST', url: PATH, headers: await bearer(tenant, ['admin']), payload: { ...clean, tickets: -1, requests_per_minute: 500 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    const unknownField = await t.app.inject({ method: 'POST', url: PATH, headers: await bearer(tenant, ['admin']), payload: { ...clean, tickets: 50, requests_per_minute: 500, sneaky: true } });
    expect(unknownField.statusCode).toBe(400);
    expect(await storedEvents(tenant)).toEqual([]);
  });
});

describe('investigation, training and metrics', () => {
  it('investigation labels events once; unknown ids and viewers are refused', async () => {
    const tenant = newTenant();
    const event = await check(tenant, { ...clean, user_id: 'bot-7', user_agent: 'HeadlessChrome', mouse_movements: 0 });
    const url = `/api/v1/analytics/fraud/events/${event.event_id ?? ''}/investigation`;
    const viewer = await t.app.inject({ method: 'POST', url, headers: await bearer(tenant, ['viewer']), payload: { outcome: 'confirmed' } });
    expect(viewer.statusCode).toBe(403);
    const done = await t.app.inject({ method: 'POST', url, headers: await bearer(tenant, ['operator']), payload: { outcome: 'confirmed' } });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ investigated: true, investigation_outcome: 'confirmed', investigated_by: 'user-operator' });
    const again = await t.app.inject({ method: 'POST', url, headers: await bearer(tenant, ['admin']), payload: { outcome: 'false_positive' } });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ALREADY_INVESTIGATED');
    const unknown = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/fraud/events/00000000-0000-4000-8000-00000000abcd/investigation', headers: await bearer(tenant, ['admin']), payload: { outcome: 'confirmed' } });
    expect(unknown.statusCode).toBe(404);
    const rows = await t.container.db.withTenant(tenant, (tx) => tx.query<{ investigation_outcome: string }>('SELECT investigation_outcome FROM fraud_events WHERE tenant_id = $1', [tenant]));
    expect(rows.rows).toEqual([{ investigation_outcome: 'confirmed' }]);
  });

  it('training needs labelled events of both outcomes', async () => {
    const tenant = newTenant();
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/fraud/model', headers: await bearer(tenant, ['admin']) });
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('INSUFFICIENT_HISTORY');
    const models = await t.container.db.withTenant(tenant, (tx) => tx.query('SELECT 1 FROM ml_models WHERE tenant_id = $1', [tenant]));
    expect(models.rowCount).toBe(0);
  });

  it('training on investigated events changes predictions, and the stored model survives a restart', async () => {
    const tenant = newTenant();
    const admin = await bearer(tenant, ['admin']);
    // Bulk buyers from far away turn out to be legitimate (false positives); bots are confirmed.
    const bulk = (i: number) => ({ ...clean, user_id: `bulk-${i}`, tickets: 12 + (i % 5), distance_km: 1500 + i * 10 });
    const bot = (i: number) => ({ ...clean, user_id: `bot-${i}`, user_agent: 'python-requests/2.31', mouse_movements: 0, session_seconds: 1 + (i % 3) });
    const before = await check(tenant, bulk(99));
    expect(before.model_score).toBeNull();
    for (let i = 0; i < 12; i++) {
      for (const [signals, outcome] of [[bulk(i), 'false_positive'], [bot(i), 'confirmed']] as const) {
        const event = await check(tenant, signals);
        expect(event.stored).toBe(true);
        const labelled = await t.app.inject({ method: 'POST', url: `/api/v1/analytics/fraud/events/${event.event_id ?? ''}/investigation`, headers: admin, payload: { outcome } });
        expect(labelled.statusCode).toBe(200);
      }
    }
    const trained = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/fraud/model', headers: admin });
    expect(trained.statusCode).toBe(201);
    // The 5 newest investigations are held out: the rules flagged them all, the blend only the bots.
    expect(trained.json()).toMatchObject({ version: 1, examples: 24, confirmed: 12, false_positives: 12, backtest: { holdout: 5, served_by: 'rules+network', network: { accuracy: 1 } } });
    expect(trained.json().backtest.rules.accuracy).toBeLessThan(1);
    expect(before.served_by).toBe('rules');

    const after = await check(tenant, bulk(99));
    expect(after.model_version).toBe(1);
    expect(after.served_by).toBe('rules+network');
    expect(after.model_score).toBeLessThan(0.3);
    expect(after.risk_score).toBeLessThan(before.risk_score);
    const botAfter = await check(tenant, bot(99));
    expect(botAfter.model_score).toBeGreaterThan(0.7);

    const metrics = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/fraud/metrics?hours=24', headers: await bearer(tenant, ['viewer']) });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.json()).toMatchObject({ investigated: 24, confirmed: 12, false_positives: 12, precision: 0.5, model: { version: 1 } });
    expect(metrics.json().by_pattern).toMatchObject({ scalper: 13, bot: 13 });

    await t.close();
    t = await createTestApp({ env: { ...ENV, DATA_DIR: dataDir } });
    const restarted = await check(tenant, bulk(98));
    expect(restarted.model_version).toBe(1);
    expect(restarted.model_score).toBeCloseTo(after.model_score ?? -1, 1);

    // The training job (through the scheduler) retrains a tenant with investigations newer than its model.
    const late = await check(tenant, bot(97));
    expect(late.stored).toBe(true);
    const labelled = await t.app.inject({ method: 'POST', url: `/api/v1/analytics/fraud/events/${late.event_id ?? ''}/investigation`, headers: admin, payload: { outcome: 'confirmed' } });
    expect(labelled.statusCode).toBe(200);
    expect((await t.container.scheduler.runNow('fraud-model-training')).status).toBe('ran');
    const retrained = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/fraud/metrics?hours=24', headers: await bearer(tenant, ['viewer']) });
    expect(retrained.json()).toMatchObject({ investigated: 25, model: { version: 2, metrics: { examples: 25 } } });
  }, 180_000);

  it('the synthetic labelled set is separable by the rules (sanity of the benchmark data)', async () => {
    const tenant = newTenant();
    const set = syntheticSignals(60, 3);
    let caught = 0;
    for (const example of set.filter((e) => e.fraud)) if ((await check(tenant, example.signals)).risk_score >= 50) caught += 1;
    expect(caught).toBeGreaterThan(set.filter((e) => e.fraud).length / 2);
  });
});
