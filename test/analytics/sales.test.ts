import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';
import { startFakeService, type FakeService } from '../support/fake-services.js';

const MIN = 60_000;
let t: TestApp;
let events: FakeService;
const clock = new ManualClock(Math.floor(Date.now() / MIN) * MIN);
/** SYSTEM_TENANT_ID of this app: only its sales feed /metrics. */
const platform = newTenant();

const eventJson = (id: string, capacity: number) => ({ id, venue_id: 'venue-1', name: `Concert ${id}`, capacity, on_sale_at: new Date(clock.nowMs() - 2 * 3_600_000).toISOString(), starts_at: new Date(clock.nowMs() + 5 * 86_400_000).toISOString(), status: 'on_sale' });

beforeAll(async () => {
  events = await startFakeService();
  events.on('GET', '/api/v1/events/*', (request) => {
    const id = request.pathname.split('/').pop() ?? '';
    return id.startsWith('ev-') ? { json: eventJson(id, 100) } : { status: 404, json: { error: { code: 'NOT_FOUND', message: 'no such event' } } };
  });
  t = await createTestApp({ clock, env: { SYSTEM_TENANT_ID: platform, EVENT_SERVICE_URL: events.url, SALES_SELLOUT_ALERT_WITHIN_MS: String(4 * 3_600_000) } });
});
afterAll(async () => {
  await t.close();
  await events.close();
});

async function track(tenant: string, body: Record<string, unknown>) {
  return t.app.inject({ method: 'POST', url: '/api/v1/analytics/sales/track', headers: await bearer(tenant, ['admin']), payload: body });
}

async function salesRows(tenant: string) {
  const result = await t.container.db.withTenant(tenant, (tx) => tx.query<{ sale_id: string }>('SELECT sale_id FROM sales WHERE tenant_id = $1 ORDER BY sale_id', [tenant]));
  return result.rows.map((row) => row.sale_id);
}

/** 12 sales of 2 tickets, one every 5 minutes, the last one now. */
async function sellSteadily(tenant: string, eventId: string) {
  for (let k = 0; k < 12; k++) {
    const response = await track(tenant, { sale_id: `${eventId}-s${k}`, event_id: eventId, tickets: 2, amount_cents: 5000, currency: 'EUR', channel: 'web', sold_at: new Date(clock.nowMs() - (55 - 5 * k) * MIN).toISOString() });
    expect(response.statusCode).toBe(201);
  }
}

describe('sales tracking', () => {
  it('sales tracked through the API give sold, remaining, revenue, velocity and a sellout prediction', async () => {
    const tenant = newTenant();
    await sellSteadily(tenant, 'ev-a');
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/sales/ev-a', headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ velocity_per_hour: number; prediction: { hours: number; before_start: boolean; sellout_at: string; earliest_at: string; latest_at: string } }>();
    const rate = 24 / (55 / 60);
    expect(body).toMatchObject({ event_id: 'ev-a', capacity: 100, sold: 24, remaining: 76, orders: 12, revenue_cents: { EUR: 60_000 }, velocity_per_minute: 0.6, trend: 'accelerating' }); // 7 sales in the last 30 min vs 5 before
    expect(body.velocity_per_hour).toBeCloseTo(rate, 6);
    expect(body.prediction.hours).toBeCloseTo(76 / rate, 6);
    expect(body.prediction.before_start).toBe(true);
    expect(Date.parse(body.prediction.earliest_at)).toBeLessThan(Date.parse(body.prediction.sellout_at));
    expect(Date.parse(body.prediction.latest_at)).toBeGreaterThan(Date.parse(body.prediction.sellout_at));
  });

  it('a duplicated sale id counts once (table and tickets_sold_total)', async () => {
    const tenant = platform;
    const counter = async () => (await t.container.catalogue.ticketsSoldTotal.get()).values.filter((v) => v.labels.event_id === 'ev-dup').reduce((a, v) => a + v.value, 0);
    const sale = { sale_id: 'dup-1', event_id: 'ev-dup', tickets: 3, amount_cents: 9000, currency: 'USD' };
    expect((await track(tenant, sale)).statusCode).toBe(201);
    const again = await track(tenant, sale);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ recorded: false, sale_id: 'dup-1' });
    expect(await salesRows(tenant)).toEqual(['dup-1']);
    expect(await counter()).toBe(3);
    const report = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/sales/ev-dup', headers: await bearer(tenant, ['viewer']) });
    expect(report.json()).toMatchObject({ sold: 3, orders: 1 });
  });

  it("another tenant's sales are not counted in the platform's tickets_sold_total", async () => {
    const counter = async () => (await t.container.catalogue.ticketsSoldTotal.get()).values.filter((v) => v.labels.event_id === 'ev-other').reduce((a, v) => a + v.value, 0);
    const other = newTenant();
    expect((await track(other, { sale_id: 'o-1', event_id: 'ev-other', tickets: 4, amount_cents: 100, currency: 'EUR' })).statusCode).toBe(201);
    expect(await salesRows(other)).toEqual(['o-1']);
    expect(await counter()).toBe(0);
    expect((await track(platform, { sale_id: 'o-1', event_id: 'ev-other', tickets: 2, amount_cents: 100, currency: 'EUR' })).statusCode).toBe(201);
    expect(await counter()).toBe(2);
  });

  it('a sale for an event the event service does not know is refused with UNKNOWN_EVENT and not stored', async () => {
    const tenant = newTenant();
    const response = await track(tenant, { sale_id: 'x-1', event_id: 'missing-event', tickets: 1, amount_cents: 100, currency: 'EUR' });
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('UNKNOWN_EVENT');
    expect(await salesRows(tenant)).toEqual([]);
    const report = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/sales/missing-event', headers: await bearer(tenant, ['viewer']) });
    expect(report.statusCode).toBe(422);
  });

  it('refuses bad sales (validation, future time, role) and stores nothing', async () => {
    const tenant = newTenant();
    const bad = await track(tenant, { sale_id: 'b-1', event_id: 'ev-b', tickets: 0, amount_cents: 100, currency: 'EUR' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('VALIDATION_FAILED');
    const currency = await track(tenant, { sale_id: 'b-2', event_id: 'ev-b', tickets: 1, amount_cents: 100, currency: 'euro' });
    expect(currency.statusCode).toBe(400);
    const future = await track(tenant, { sale_id: 'b-3', event_id: 'ev-b', tickets: 1, amount_cents: 100, currency: 'EUR', sold_at: new Date(clock.nowMs() + 3_600_000).toISOString() });
    expect(future.statusCode).toBe(400);
    expect(future.json().error.code).toBe('VALIDATION_FAILED');
    const viewer = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/sales/track', headers: await bearer(tenant, ['viewer']), payload: { sale_id: 'b-4', event_id: 'ev-b', tickets: 1, amount_cents: 100, currency: 'EUR' } });
    expect(viewer.statusCode).toBe(403);
    expect(await salesRows(tenant)).toEqual([]);
  });

  it('accepts sales from a signed platform service', async () => {
    const tenant = newTenant();
    const body = { sale_id: 'svc-1', event_id: 'ev-svc', tickets: 1, amount_cents: 1500, currency: 'EUR', channel: 'box-office' };
    const signed = signedHeaders({ method: 'POST', path: '/api/v1/analytics/sales/track', body, tenantId: tenant, service: 'payment-service', now: () => clock.nowMs() });
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/sales/track', headers: signed.headers, payload: signed.payload });
    expect(response.statusCode).toBe(201);
    expect(await salesRows(tenant)).toEqual(['svc-1']);
  });

  it('the sales-tracking job publishes metrics and alerts on an imminent sellout; the dashboard combines sales and fraud', async () => {
    const tenant = newTenant();
    await sellSteadily(tenant, 'ev-job');
    const outcome = await t.container.scheduler.runNow('sales-tracking');
    expect(outcome.status).toBe('ran');
    const samples = await t.container.db.withTenant(tenant, (tx) => tx.query<{ metric_name: string; value: number }>(`SELECT metric_name, value FROM metrics WHERE tenant_id = $1 AND labels->>'event_id' = 'ev-job' ORDER BY metric_name`, [tenant]));
    expect(samples.rows.map((r) => r.metric_name)).toEqual(['event_sales_velocity_per_hour', 'event_sellout_predicted_hours', 'event_tickets_remaining', 'event_tickets_sold']);
    expect(samples.rows.find((r) => r.metric_name === 'event_tickets_sold')?.value).toBe(24);
    const alerts = await t.container.db.withTenant(tenant, (tx) => tx.query<{ type: string; fingerprint: string }>('SELECT type, fingerprint FROM alerts WHERE tenant_id = $1', [tenant]));
    expect(alerts.rows).toEqual([{ type: 'sellout', fingerprint: 'sellout:ev-job' }]);

    const dashboard = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/dashboard?hours=24', headers: await bearer(tenant, ['viewer']) });
    expect(dashboard.statusCode).toBe(200);
    expect(dashboard.json()).toMatchObject({ sales: { tickets: 24, orders: 12, events: 1, revenue_cents: { EUR: 60_000 } }, fraud: { total: 0 } });
  });
});
