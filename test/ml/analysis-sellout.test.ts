import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { startFakeService, type FakeService } from '../support/fake-services.js';

const MIN = 60_000;
let t: TestApp;
let events: FakeService;
const clock = new ManualClock(Math.floor(Date.now() / MIN) * MIN);

beforeAll(async () => {
  events = await startFakeService();
  events.on('GET', '/api/v1/events/*', (request) => {
    const id = request.pathname.split('/').pop() ?? '';
    return { json: { id, venue_id: 'venue-1', name: `Concert ${id}`, capacity: 100, on_sale_at: new Date(clock.nowMs() - 2 * 3_600_000).toISOString(), starts_at: new Date(clock.nowMs() + 5 * 86_400_000).toISOString(), status: 'on_sale' } };
  });
  t = await createTestApp({ clock, env: { EVENT_SERVICE_URL: events.url, ANOMALY_DETECTION_ENABLED: 'false' } });
});
afterAll(async () => {
  await t.close();
  await events.close();
});

describe('ml-analysis sellout refresh', () => {
  it("stores each event's refreshed baseline sellout prediction", async () => {
    const tenant = newTenant();
    for (let k = 0; k < 12; k++) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/analytics/sales/track',
        headers: await bearer(tenant, ['admin']),
        payload: { sale_id: `s${k}`, event_id: 'ev-1', tickets: 2, amount_cents: 5000, currency: 'EUR', sold_at: new Date(clock.nowMs() - (55 - 5 * k) * MIN).toISOString() },
      });
      expect(response.statusCode).toBe(201);
    }
    expect(await t.container.scheduler.runNow('ml-analysis')).toMatchObject({ status: 'ran' });
    const stored = await t.container.db.withTenant(tenant, (tx) =>
      tx.query<{ kind: string; subject: string; value: number; details: { remaining: number; prediction: { method: string } } }>('SELECT kind, subject, value, details FROM ml_analysis_results WHERE tenant_id = $1', [tenant]),
    );
    expect(stored.rows).toHaveLength(1);
    const [row] = stored.rows;
    expect(row).toMatchObject({ kind: 'sellout', subject: 'ev-1', details: { remaining: 76, prediction: { method: 'recent-rate' } } });
    expect(row?.value).toBeCloseTo(76 / (24 / (55 / 60)), 6);
  });
});
