import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { startFakeServer, type FakeServer } from '../support/health.js';

// A fresh system tenant per run: on a shared PostgreSQL, earlier runs' checks and alerts stay behind.
const SYSTEM_TENANT = newTenant();

let t: TestApp;
let payment: FakeServer;
let clock: ManualClock;
let up = true;

beforeAll(async () => {
  payment = await startFakeServer(() => (up ? { status: 200 } : { status: 503 }));
  clock = new ManualClock(Math.floor(Date.now() / 60_000) * 60_000);
  t = await createTestApp({ clock, env: { SYSTEM_TENANT_ID: SYSTEM_TENANT, PAYMENT_SERVICE_URL: payment.url, INCIDENT_AUTO_OPEN_AFTER_MS: '120000', HEALTH_RESULT_MAX_AGE_MS: '0' } });
}, 180_000);
afterAll(async () => {
  await t.close();
  await payment.stop();
});

const runJobs = async (...names: string[]) => {
  for (const name of names) expect(await t.container.scheduler.runNow(name), name).toMatchObject({ status: 'ran' });
};

const openAlerts = () =>
  t.container.db.withTenant(SYSTEM_TENANT, (tx) =>
    tx.query<{ id: string; name: string; status: string; service_name: string | null; resolved: boolean }>(
      `SELECT id, name, status, service_name, resolved FROM alerts WHERE tenant_id = $1 AND name = 'service_down' ORDER BY created_at DESC`,
      [SYSTEM_TENANT],
    ),
  );

describe('a service going down, end to end', () => {
  it('records each health-check cycle in the history and as service_up / response-time samples', async () => {
    await runJobs('health-check');
    const history = await t.container.db.withTenant(SYSTEM_TENANT, (tx) =>
      tx.query<{ target_kind: string; target_name: string; status: string; status_code: number | null }>(
        `SELECT target_kind, target_name, status, status_code FROM health_check_results WHERE tenant_id = $1 AND checked_at = $2 ORDER BY target_name`,
        [SYSTEM_TENANT, clock.now()],
      ),
    );
    expect(history.rows).toEqual([
      { target_kind: 'service', target_name: 'payment', status: 'healthy', status_code: 200 },
      { target_kind: 'dependency', target_name: 'postgresql', status: 'healthy', status_code: null },
      ...(t.container.cache.kind === 'redis' ? [{ target_kind: 'dependency', target_name: 'redis', status: 'healthy', status_code: null }] : []),
    ].sort((a, b) => a.target_name.localeCompare(b.target_name)));
    const samples = await t.container.db.withTenant(SYSTEM_TENANT, (tx) =>
      tx.query<{ metric_name: string; value: number }>(
        `SELECT metric_name, value FROM metrics WHERE tenant_id = $1 AND service_name = 'payment' AND "timestamp" = $2 ORDER BY metric_name`,
        [SYSTEM_TENANT, clock.now()],
      ),
    );
    expect(samples.rows.map((row) => row.metric_name)).toEqual(['service_response_time_ms', 'service_up']);
    expect(samples.rows.find((row) => row.metric_name === 'service_up')?.value).toBe(1);
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.json()).toMatchObject({ status: 'healthy', services: { total: 1, healthy: 1, unhealthy: 0 } });
  });

  it('fires service_down through health-check -> ingest -> alert-evaluation, opens an incident, and notes the recovery without closing it', async () => {
    await t.container.alerting.seedDefaults(SYSTEM_TENANT);
    up = false;
    clock.advance(60_000);
    await runJobs('health-check', 'alert-evaluation');
    expect((await openAlerts()).rows[0]).toMatchObject({ status: 'pending', service_name: 'payment', resolved: false });
    expect((await t.app.inject({ method: 'GET', url: '/health' })).json()).toMatchObject({ status: 'degraded', services: { unhealthy: 1 } });

    clock.advance(61_000);
    await runJobs('health-check', 'alert-evaluation');
    const firing = (await openAlerts()).rows[0];
    expect(firing).toMatchObject({ status: 'firing', service_name: 'payment', resolved: false });
    const viaApi = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts?status=firing', headers: await bearer(SYSTEM_TENANT, ['viewer']) });
    expect(viaApi.json<{ data: Array<{ name: string }> }>().data.map((alert) => alert.name)).toContain('service_down');

    // Critical and firing for longer than INCIDENT_AUTO_OPEN_AFTER_MS (2 min): an incident opens, linked to it.
    clock.advance(61_000);
    await runJobs('health-check', 'alert-evaluation', 'incident-auto-open');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/incidents?active=true', headers: await bearer(SYSTEM_TENANT, ['viewer']) })).json<{ data: unknown[] }>().data).toEqual([]);
    clock.advance(61_000);
    await runJobs('health-check', 'alert-evaluation', 'incident-auto-open');
    const incidents = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/incidents?active=true', headers: await bearer(SYSTEM_TENANT, ['viewer']) });
    const [incident] = incidents.json<{ data: Array<{ id: string; alert_id: string; severity: string; service_name: string; status: string }> }>().data;
    expect(incident).toMatchObject({ alert_id: firing?.id, severity: 'critical', service_name: 'payment', status: 'open' });

    up = true;
    clock.advance(61_000);
    await runJobs('health-check', 'alert-evaluation');
    expect((await openAlerts()).rows[0]).toMatchObject({ id: firing?.id, resolved: true });
    const headers = await bearer(SYSTEM_TENANT, ['viewer']);
    await expect
      .poll(async () => (await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/incidents/${incident?.id ?? ''}`, headers })).json<{ timeline: Array<{ kind: string }> }>().timeline.map((entry) => entry.kind))
      .toEqual(['alert_firing', 'created', 'alert_resolved']);
    const after = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/incidents/${incident?.id ?? ''}`, headers });
    expect(after.json<{ status: string }>().status).toBe('open');
  });
});
