import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertInput } from '../../src/alerts/alert-store.js';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { countRows } from './fixtures.js';

const clock = new ManualClock(Date.UTC(2026, 0, 20, 10));
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ clock });
});
afterAll(async () => t.close());

const BASE = '/api/v1/monitoring/alerts';
interface AlertJson { id: string; name: string; severity: string; status: string; acknowledged: boolean; acknowledged_by: string | null; acknowledged_at: string | null; resolved: boolean; resolved_by: string | null; service_name: string | null }
const input = (fingerprint: string, severity: AlertInput['severity'], serviceName: string, status: 'pending' | 'firing' = 'firing'): AlertInput =>
  ({ fingerprint, name: `alert_${fingerprint}`, type: 'threshold', severity, message: `message ${fingerprint}`, source: 'test', serviceName, status });

async function seed(tenant: string) {
  const ids: Record<string, string> = {};
  for (const [fingerprint, severity, service, status] of [['a', 'critical', 'payment', 'firing'], ['b', 'warning', 'payment', 'pending'], ['c', 'warning', 'ticket', 'firing'], ['d', 'info', 'ticket', 'firing']] as const) {
    clock.advance(1000);
    const change = await t.container.alerts.raise(tenant, input(fingerprint, severity, service, status));
    ids[fingerprint] = change?.alert.id ?? '';
  }
  return ids;
}

describe('alerts API', () => {
  it('lists active alerts with filters and pagination, newest first', async () => {
    const tenant = newTenant();
    const ids = await seed(tenant);
    await t.container.alerts.resolve(tenant, { id: ids['d'] }, 'test');
    const headers = await bearer(tenant, ['viewer']);
    const all = await t.app.inject({ method: 'GET', url: BASE, headers });
    expect(all.json<{ data: AlertJson[]; pagination: { total: number } }>()).toMatchObject({ pagination: { total: 3, limit: 100, offset: 0 } });
    expect(all.json<{ data: AlertJson[] }>().data.map((alert) => alert.name)).toEqual(['alert_c', 'alert_b', 'alert_a']);
    const filtered = async (query: string) => (await t.app.inject({ method: 'GET', url: `${BASE}?${query}`, headers })).json<{ data: AlertJson[] }>().data.map((alert) => alert.name);
    expect(await filtered('severity=warning')).toEqual(['alert_c', 'alert_b']);
    expect(await filtered('status=pending')).toEqual(['alert_b']);
    expect(await filtered('service=payment&status=firing')).toEqual(['alert_a']);
    expect(await filtered('acknowledged=false&limit=1&offset=1')).toEqual(['alert_b']);
    const bad = await t.app.inject({ method: 'GET', url: `${BASE}?severity=page`, headers });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
  });

  it('history lists open and resolved alerts, paginated; /history, /rules, /silences, /notifications are not taken for an id', async () => {
    const tenant = newTenant();
    const ids = await seed(tenant);
    await t.container.alerts.resolve(tenant, { id: ids['a'] }, 'test');
    const headers = await bearer(tenant, ['viewer']);
    const page1 = await t.app.inject({ method: 'GET', url: `${BASE}/history?limit=3`, headers });
    expect(page1.statusCode).toBe(200);
    expect(page1.json<{ data: AlertJson[]; pagination: { total: number } }>().pagination.total).toBe(4);
    const page2 = await t.app.inject({ method: 'GET', url: `${BASE}/history?limit=3&offset=3`, headers });
    expect(page2.json<{ data: AlertJson[] }>().data.map((alert) => [alert.name, alert.status])).toEqual([['alert_a', 'resolved']]);
    const resolvedOnly = await t.app.inject({ method: 'GET', url: `${BASE}/history?status=resolved`, headers });
    expect(resolvedOnly.json<{ data: AlertJson[] }>().data.map((alert) => alert.name)).toEqual(['alert_a']);
    for (const path of ['history', 'rules', 'silences', 'notifications', 'policy', 'channels']) {
      const response = await t.app.inject({ method: 'GET', url: `${BASE}/${path}`, headers });
      expect(response.statusCode, path).toBe(200);
    }
    const notAnId = await t.app.inject({ method: 'GET', url: `${BASE}/not-a-uuid`, headers });
    expect(notAnId.statusCode).toBe(400);
  });

  it('gets one alert with its history; unknown ids and other tenants get 404', async () => {
    const tenant = newTenant();
    const ids = await seed(tenant);
    const response = await t.app.inject({ method: 'GET', url: `${BASE}/${ids['a'] ?? ''}`, headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ data: AlertJson; events: Array<{ kind: string }> }>();
    expect(body.data).toMatchObject({ name: 'alert_a', severity: 'critical', status: 'firing', service_name: 'payment', acknowledged: false });
    expect(body.events[0]?.kind).toBe('firing');
    const other = await t.app.inject({ method: 'GET', url: `${BASE}/${ids['a'] ?? ''}`, headers: await bearer(newTenant(), ['admin']) });
    expect(other.statusCode).toBe(404);
    const unknown = await t.app.inject({ method: 'GET', url: `${BASE}/00000000-0000-4000-8000-00000000abcd`, headers: await bearer(tenant) });
    expect(unknown.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
  });

  it('acknowledge: admin or operator, idempotent, who and when recorded; does not resolve', async () => {
    const tenant = newTenant();
    const ids = await seed(tenant);
    const url = `${BASE}/${ids['c'] ?? ''}/acknowledge`;
    const viewer = await t.app.inject({ method: 'POST', url, headers: await bearer(tenant, ['viewer']) });
    expect(viewer.statusCode).toBe(403);
    const monitoring = await t.app.inject({ method: 'POST', url, headers: await bearer(tenant, ['monitoring']) });
    expect(monitoring.statusCode).toBe(403);
    expect(await countRows(t, tenant, 'alert_events')).toBe(4);

    const first = await t.app.inject({ method: 'POST', url, headers: { ...(await bearer(tenant, ['operator'])), 'content-type': 'application/json' }, payload: { comment: 'on it' } });
    expect(first.statusCode).toBe(200);
    const acked = first.json<{ data: AlertJson }>().data;
    expect(acked).toMatchObject({ acknowledged: true, acknowledged_by: 'user-operator', acknowledged_at: clock.now().toISOString(), resolved: false, status: 'firing' });
    clock.advance(60_000);
    const second = await t.app.inject({ method: 'POST', url, headers: await bearer(tenant, ['admin']) });
    expect(second.statusCode).toBe(200);
    expect(second.json<{ data: AlertJson }>().data).toMatchObject({ acknowledged_by: 'user-operator', acknowledged_at: acked.acknowledged_at });
    expect(await countRows(t, tenant, 'alert_events')).toBe(5);
    const bad = await t.app.inject({ method: 'POST', url, headers: { ...(await bearer(tenant, ['admin'])), 'content-type': 'application/json' }, payload: { comment: '' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
  });

  it('resolve: admin or operator, idempotent, who and when recorded; acknowledging a resolved alert is a conflict', async () => {
    const tenant = newTenant();
    const ids = await seed(tenant);
    const url = `${BASE}/${ids['a'] ?? ''}/resolve`;
    const first = await t.app.inject({ method: 'POST', url, headers: await bearer(tenant, ['admin']) });
    expect(first.json<{ data: AlertJson }>().data).toMatchObject({ resolved: true, status: 'resolved', resolved_by: 'user-admin' });
    const second = await t.app.inject({ method: 'POST', url, headers: await bearer(tenant, ['operator']) });
    expect(second.statusCode).toBe(200);
    expect(second.json<{ data: AlertJson }>().data.resolved_by).toBe('user-admin');
    const ack = await t.app.inject({ method: 'POST', url: `${BASE}/${ids['a'] ?? ''}/acknowledge`, headers: await bearer(tenant, ['operator']) });
    expect(ack.statusCode).toBe(409);
    expect(ack.json<{ error: { code: string } }>().error.code).toBe('CONFLICT');
    const otherTenant = await t.app.inject({ method: 'POST', url: `${BASE}/${ids['c'] ?? ''}/resolve`, headers: await bearer(newTenant(), ['admin']) });
    expect(otherTenant.statusCode).toBe(404);
    const active = await t.app.inject({ method: 'GET', url: BASE, headers: await bearer(tenant) });
    expect(active.json<{ data: AlertJson[] }>().data.map((alert) => alert.name)).toEqual(['alert_d', 'alert_c', 'alert_b']);
  });
});
