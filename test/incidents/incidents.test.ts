import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';

interface Incident {
  id: string;
  title: string;
  status: string;
  severity: string;
  service_name: string | null;
  alert_id: string | null;
  created_by: string;
  resolution: string | null;
  resolved_at: string | null;
  timeline: Array<{ kind: string; message: string; author: string; data: Record<string, unknown> }>;
}
interface ErrorBody {
  error: { code: string };
}

let t: TestApp;
const clock = new ManualClock(Date.UTC(2026, 0, 10, 12));

beforeAll(async () => {
  t = await createTestApp({ clock, env: { INCIDENT_AUTO_OPEN_AFTER_MS: '300000' } });
}, 180_000);
afterAll(async () => t.close());

const json = { 'content-type': 'application/json' };
async function open(tenant: string, payload: Record<string, unknown> = { title: 'Checkout errors', severity: 'error', service_name: 'payment' }) {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/incidents', headers: { ...(await bearer(tenant, ['operator'])), ...json }, payload });
  expect(response.statusCode).toBe(201);
  return response.json<Incident>();
}
const countIncidents = async (tenant: string) => (await t.container.db.withTenant(tenant, (tx) => tx.query('SELECT 1 FROM incidents WHERE tenant_id = $1', [tenant]))).rowCount;

describe('incident lifecycle', () => {
  it('opens, moves through the statuses, takes notes and resolves, every step on the timeline', async () => {
    const tenant = newTenant();
    const created = await open(tenant);
    expect(created).toMatchObject({ status: 'open', severity: 'error', service_name: 'payment', created_by: 'user-operator', resolved_at: null });
    expect(created.timeline.map((entry) => entry.kind)).toEqual(['created']);
    const headers = { ...(await bearer(tenant, ['operator'])), ...json };
    const url = `/api/v1/monitoring/incidents/${created.id}`;

    for (const status of ['investigating', 'identified', 'monitoring']) {
      clock.advance(60_000);
      const moved = await t.app.inject({ method: 'PATCH', url, headers, payload: { status } });
      expect(moved.statusCode).toBe(200);
      expect(moved.json<Incident>().status).toBe(status);
    }
    const edited = await t.app.inject({ method: 'PATCH', url, headers, payload: { severity: 'critical', title: 'Checkout down' } });
    expect(edited.json<Incident>()).toMatchObject({ severity: 'critical', title: 'Checkout down' });
    const note = await t.app.inject({ method: 'POST', url: `${url}/timeline`, headers, payload: { message: 'Rolled back release 42' } });
    expect(note.statusCode).toBe(201);
    const resolved = await t.app.inject({ method: 'POST', url: `${url}/resolve`, headers, payload: { resolution: 'Rollback fixed it' } });
    expect(resolved.statusCode).toBe(200);
    const body = resolved.json<Incident>();
    expect(body).toMatchObject({ status: 'resolved', resolution: 'Rollback fixed it', resolved_at: clock.now().toISOString() });
    expect(body.timeline.map((entry) => entry.kind)).toEqual(['created', 'status_changed', 'status_changed', 'status_changed', 'updated', 'note', 'resolved']);
    expect(body.timeline[4]?.data).toEqual({ severity: { from: 'error', to: 'critical' }, title: { from: 'Checkout errors', to: 'Checkout down' } });

    const again = await t.app.inject({ method: 'POST', url: `${url}/resolve`, headers, payload: {} });
    expect(again.statusCode).toBe(409);
    expect(again.json<ErrorBody>().error.code).toBe('CONFLICT');

    const reopened = await t.app.inject({ method: 'PATCH', url, headers, payload: { status: 'investigating' } });
    expect(reopened.json<Incident>()).toMatchObject({ status: 'investigating', resolved_at: null, resolution: null });
    expect(reopened.json<Incident>().timeline.at(-1)?.kind).toBe('reopened');
  });

  it('lists with filters and shows active incidents on the dashboard', async () => {
    const tenant = newTenant();
    const a = await open(tenant, { title: 'A', severity: 'critical', service_name: 'ticket' });
    await open(tenant, { title: 'B', severity: 'warning', service_name: 'payment', status: 'investigating' });
    const c = await open(tenant, { title: 'C', severity: 'warning' });
    await t.app.inject({ method: 'POST', url: `/api/v1/monitoring/incidents/${c.id}/resolve`, headers: { ...(await bearer(tenant, ['admin'])), ...json }, payload: {} });
    const viewer = await bearer(tenant, ['viewer']);
    const list = async (query: string) => (await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/incidents${query}`, headers: viewer })).json<{ data: Incident[] }>().data.map((row) => row.title).sort();
    expect(await list('')).toEqual(['A', 'B', 'C']);
    expect(await list('?active=true')).toEqual(['A', 'B']);
    expect(await list('?status=resolved')).toEqual(['C']);
    expect(await list('?severity=warning')).toEqual(['B', 'C']);
    expect(await list('?service=ticket')).toEqual(['A']);
    const dashboard = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/incidents', headers: viewer });
    expect(dashboard.json()).toMatchObject({ active_total: 2, by_severity: { critical: 1, warning: 1 }, by_status: { open: 1, investigating: 1 } });
    // A write drops the cached dashboard read.
    await t.app.inject({ method: 'POST', url: `/api/v1/monitoring/incidents/${a.id}/resolve`, headers: { ...(await bearer(tenant, ['admin'])), ...json }, payload: {} });
    const after = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/incidents', headers: viewer });
    expect(after.json()).toMatchObject({ active_total: 1, by_severity: { warning: 1 } });
  });

  it('refuses bad input with VALIDATION_FAILED and writes nothing', async () => {
    const tenant = newTenant();
    const headers = { ...(await bearer(tenant, ['admin'])), ...json };
    const bad: Array<Record<string, unknown>> = [
      { severity: 'error' },
      { title: '', severity: 'error' },
      { title: 'x', severity: 'apocalyptic' },
      { title: 'x', severity: 'error', status: 'resolved' },
      { title: 'x', severity: 'error', alert_id: 'not-a-uuid' },
      { title: 'x', severity: 'error', extra: 1 },
    ];
    for (const payload of bad) {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/incidents', headers, payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json<ErrorBody>().error.code).toBe('VALIDATION_FAILED');
    }
    expect(await countIncidents(tenant)).toBe(0);
    const created = await open(tenant);
    const patch = await t.app.inject({ method: 'PATCH', url: `/api/v1/monitoring/incidents/${created.id}`, headers, payload: { status: 'closed' } });
    expect(patch.statusCode).toBe(400);
    expect(patch.json<ErrorBody>().error.code).toBe('VALIDATION_FAILED');
    const empty = await t.app.inject({ method: 'PATCH', url: `/api/v1/monitoring/incidents/${created.id}`, headers, payload: {} });
    expect(empty.statusCode).toBe(400);
    const stored = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/incidents/${created.id}`, headers });
    expect(stored.json<Incident>()).toMatchObject({ status: 'open', timeline: [{ kind: 'created' }] });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/incidents/nope', headers })).json<ErrorBody>().error.code).toBe('VALIDATION_FAILED');
  });

  it('lets viewers read but not write, and signed services not write', async () => {
    const tenant = newTenant();
    const denied = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/incidents', headers: { ...(await bearer(tenant, ['viewer'])), ...json }, payload: { title: 'x', severity: 'error' } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json<ErrorBody>().error.code).toBe('FORBIDDEN');
    const service = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/incidents', ...signedHeaders({ method: 'POST', path: '/api/v1/monitoring/incidents', body: { title: 'x', severity: 'error' }, tenantId: tenant, now: () => clock.nowMs() }) });
    expect(service.statusCode).toBe(403);
    expect(service.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'FORBIDDEN', message: 'Services may not call this endpoint' });
    const anonymous = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/incidents' });
    expect(anonymous.statusCode).toBe(401);
    expect(await countIncidents(tenant)).toBe(0);
  });

  it('tenant B never sees, changes or resolves tenant A incidents', async () => {
    const a = newTenant();
    const b = newTenant();
    const incident = await open(a);
    const headersB = { ...(await bearer(b, ['admin'])), ...json };
    const url = `/api/v1/monitoring/incidents/${incident.id}`;
    expect((await t.app.inject({ method: 'GET', url, headers: headersB })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'PATCH', url, headers: headersB, payload: { status: 'monitoring' } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: `${url}/resolve`, headers: headersB, payload: {} })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: `${url}/timeline`, headers: headersB, payload: { message: 'hi' } })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/incidents', headers: headersB })).json()).toEqual({ data: [], pagination: { limit: 100, offset: 0, total: 0 } });
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/incidents', headers: headersB })).json()).toMatchObject({ active_total: 0, incidents: [] });
    const still = await t.app.inject({ method: 'GET', url, headers: await bearer(a, ['viewer']) });
    expect(still.json<Incident>()).toMatchObject({ status: 'open', timeline: [{ kind: 'created' }] });
  });
});

describe('automatic incidents', () => {
  it('opens one incident for a critical alert firing longer than INCIDENT_AUTO_OPEN_AFTER_MS, not for younger or lesser ones', async () => {
    const tenant = newTenant();
    const raise = (fingerprint: string, severity: 'critical' | 'warning') =>
      t.container.alerts.raise(tenant, { fingerprint, name: `alert-${fingerprint}`, type: 'threshold', severity, message: `${fingerprint} is broken`, source: 'test', serviceName: 'ticket' });
    const old = await raise('old-critical', 'critical');
    await raise('old-warning', 'warning');
    clock.advance(4 * 60_000);
    await raise('young-critical', 'critical');
    clock.advance(61_000);

    expect(await t.container.incidents.autoOpen(300_000)).toBeGreaterThanOrEqual(1);
    // Running again (another instance, the next cycle) opens nothing new.
    await t.container.incidents.autoOpen(300_000);
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/incidents', headers: await bearer(tenant, ['viewer']) });
    const incidents = list.json<{ data: Incident[] }>().data;
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ title: 'alert-old-critical', severity: 'critical', service_name: 'ticket', alert_id: old?.alert.id, created_by: 'system:incident-auto-open', status: 'open' });

    // Resolving the alert is written on the incident's timeline; the incident stays open.
    await t.container.alerts.resolve(tenant, { fingerprint: 'old-critical' }, 'user-operator');
    const url = `/api/v1/monitoring/incidents/${incidents[0]?.id ?? ''}`;
    const headers = await bearer(tenant, ['viewer']);
    await expect.poll(async () => (await t.app.inject({ method: 'GET', url, headers })).json<Incident>().timeline.map((entry) => entry.kind)).toEqual(['alert_firing', 'created', 'alert_resolved']);
    expect((await t.app.inject({ method: 'GET', url, headers })).json<Incident>().status).toBe('open');
  });

  it('refuses a second manual incident for the same alert with CONFLICT', async () => {
    const tenant = newTenant();
    const change = await t.container.alerts.raise(tenant, { fingerprint: 'manual', name: 'manual', type: 'threshold', severity: 'error', message: 'm', source: 'test' });
    const alertId = change?.alert.id ?? '';
    await open(tenant, { title: 'first', severity: 'error', alert_id: alertId });
    const second = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/incidents', headers: { ...(await bearer(tenant, ['admin'])), ...json }, payload: { title: 'second', severity: 'error', alert_id: alertId } });
    expect(second.statusCode).toBe(409);
    expect(second.json<ErrorBody>().error.code).toBe('CONFLICT');
    expect(await countIncidents(tenant)).toBe(1);
  });
});
