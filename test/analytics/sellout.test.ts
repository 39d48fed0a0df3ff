import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import type { JobUnit } from '../../src/platform/scheduler.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { startFakeService, type FakeService } from '../support/fake-services.js';
import { failTenant } from '../support/tenant-faults.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ENV = { SELLOUT_STEPS: '6', SELLOUT_TRAINING_EPOCHS: '4', SELLOUT_TRAINING_MIN_EVENTS: '5' };
const clock = new ManualClock(Math.floor(Date.now() / HOUR) * HOUR);
const PAST_CAPACITY = 60;
const LIVE_CAPACITY = 200;

let t: TestApp;
let events: FakeService;
let dataDir: string;

beforeAll(async () => {
  events = await startFakeService();
  events.on('GET', '/api/v1/events/*', (request) => {
    const id = request.pathname.split('/').pop() ?? '';
    if (!id.startsWith('past-') && !id.startsWith('live-')) return { status: 404, json: { error: { code: 'NOT_FOUND', message: 'no such event' } } };
    const live = id.startsWith('live-');
    return {
      json: {
        id,
        venue_id: 'venue-1',
        name: `Show ${id}`,
        capacity: live ? LIVE_CAPACITY : PAST_CAPACITY,
        on_sale_at: new Date(clock.nowMs() - 10 * DAY).toISOString(),
        starts_at: new Date(clock.nowMs() + (live ? 3 : -1) * DAY).toISOString(),
        status: live ? 'on_sale' : 'completed',
      },
    };
  });
  dataDir = mkdtempSync(join(tmpdir(), 'sellout-'));
  t = await createTestApp({ clock, env: { ...ENV, EVENT_SERVICE_URL: events.url, DATA_DIR: dataDir } });
});
afterAll(async () => {
  await t.close();
  await events.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function track(tenant: string, sale: { sale_id: string; event_id: string; tickets: number; sold_at: Date }) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/api/v1/analytics/sales/track',
    headers: await bearer(tenant, ['admin']),
    payload: { sale_id: sale.sale_id, event_id: sale.event_id, tickets: sale.tickets, amount_cents: 2500 * sale.tickets, currency: 'EUR', sold_at: sale.sold_at.toISOString() },
  });
  expect(response.statusCode).toBe(201);
}

/** A past on-sale that sold out in 10 hours: 30 orders of 2, a rush at the start that slows down. */
async function sellOut(tenant: string, eventId: string, startMs: number) {
  for (let order = 1; order <= PAST_CAPACITY / 2; order++) {
    await track(tenant, { sale_id: `${eventId}-${order}`, event_id: eventId, tickets: 2, sold_at: new Date(startMs + 10 * HOUR * (order / 30) ** 2) });
  }
}

const get = async (tenant: string, url: string) => t.app.inject({ method: 'GET', url, headers: await bearer(tenant, ['viewer']) });

interface Prediction {
  method: string;
  model_version?: number;
  hours: number | null;
  sellout_at: string | null;
  earliest_at: string | null;
  latest_at: string | null;
}
interface Report {
  sold: number;
  prediction: Prediction;
  predictions: { baseline: Prediction; lstm: Prediction | null };
  served_by: 'lstm' | 'baseline';
}
interface ModelSummary {
  version: number;
  served_by: 'lstm' | 'baseline';
  events: { training: number; validation: number };
  sequences: { training: number; validation: number };
  backtest: { lstm_mae_hours: number | null; baseline_mae_hours: number | null; cut_points: number; baseline_coverage: number };
}

describe('LSTM sellout model', () => {
  const tenant = newTenant();

  it('refuses to train without enough sold-out events, with INSUFFICIENT_HISTORY, and stores nothing', async () => {
    const sparse = newTenant();
    await sellOut(sparse, 'past-only', clock.nowMs() - 3 * DAY);
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/sellout-model/train', headers: await bearer(sparse, ['admin']) });
    expect(response.statusCode).toBe(422);
    expect(response.json().error).toMatchObject({ code: 'INSUFFICIENT_HISTORY', details: { required: 5, sold_out_events: 1 } });
    expect((await get(sparse, '/api/v1/analytics/sellout-model')).json()).toBeNull();
    const viewer = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/sellout-model/train', headers: await bearer(sparse, ['viewer']) });
    expect(viewer.statusCode).toBe(403);
  });

  it('without EVENT_SERVICE_URL, training answers 503 NOT_CONFIGURED naming the variable', async () => {
    const bare = await createTestApp({ env: ENV });
    try {
      const response = await bare.app.inject({ method: 'POST', url: '/api/v1/analytics/sellout-model/train', headers: await bearer(newTenant(), ['admin']) });
      expect(response.statusCode).toBe(503);
      expect(response.json().error).toMatchObject({ code: 'NOT_CONFIGURED', details: { variable: 'EVENT_SERVICE_URL' } });
      expect(await bare.container.analytics.sellout.trainDue()).toBe(0);
    } finally {
      await bare.close();
    }
  });

  it('trains on the sold-out events, backtests against the baseline, and serves the winner beside the baseline', async () => {
    for (let k = 0; k < 6; k++) await sellOut(tenant, `past-${k}`, clock.nowMs() - (8 - k) * DAY);
    // The live event: on sale for 3 hours, 40 of 200 sold.
    for (let order = 0; order < 20; order++) await track(tenant, { sale_id: `live-${order}`, event_id: 'live-1', tickets: 2, sold_at: new Date(clock.nowMs() - 3 * HOUR + order * 9 * 60_000) });

    const before = (await get(tenant, '/api/v1/analytics/sales/live-1')).json<Report>();
    expect(before).toMatchObject({ sold: 40, served_by: 'baseline', predictions: { lstm: null } });
    expect(before.prediction).toEqual(before.predictions.baseline);

    const trained = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/sellout-model/train', headers: await bearer(tenant, ['admin']) });
    expect(trained.statusCode).toBe(201);
    const model = trained.json<ModelSummary>();
    // 6 sold-out events: the newest is held out; one cut point per hour until each sold out (10 h).
    expect(model).toMatchObject({ version: 1, events: { training: 5, validation: 1 }, sequences: { training: 45, validation: 9 } });
    const { lstm_mae_hours: lstmMae, baseline_mae_hours: baselineMae } = model.backtest;
    expect(lstmMae).toBeTypeOf('number');
    expect(baselineMae).toBeTypeOf('number');
    expect(model.served_by).toBe((lstmMae ?? Infinity) < (baselineMae ?? Infinity) ? 'lstm' : 'baseline');
    expect((await get(tenant, '/api/v1/analytics/sellout-model')).json()).toEqual(model);

    const report = (await get(tenant, '/api/v1/analytics/sales/live-1')).json<Report>();
    const lstm = report.predictions.lstm;
    expect(lstm).toMatchObject({ method: 'lstm', model_version: 1 });
    expect(lstm?.hours).toBeGreaterThan(0);
    const [earliest, expected, latest] = [lstm?.earliest_at, lstm?.sellout_at, lstm?.latest_at].map((at) => Date.parse(at ?? ''));
    expect(earliest).toBeLessThanOrEqual(expected ?? Number.NaN);
    expect(latest).toBeGreaterThanOrEqual(expected ?? Number.NaN);
    expect(report.served_by).toBe(model.served_by);
    expect(report.prediction).toEqual(model.served_by === 'lstm' ? lstm : report.predictions.baseline);
    expect(report.predictions.baseline).toEqual(before.predictions.baseline);
  }, 120_000);

  it('the stored model survives a restart and predicts the same', async () => {
    const before = (await get(tenant, '/api/v1/analytics/sales/live-1')).json<Report>();
    await t.close();
    t = await createTestApp({ clock, env: { ...ENV, EVENT_SERVICE_URL: events.url, DATA_DIR: dataDir } });
    const after = (await get(tenant, '/api/v1/analytics/sales/live-1')).json<Report>();
    expect(after.predictions.lstm?.model_version).toBe(1);
    expect(after.predictions.lstm?.hours).toBeCloseTo(before.predictions.lstm?.hours ?? Number.NaN, 6);
  }, 60_000);

  it('the training job trains tenants with sales newer than their model, and leaves current ones alone', async () => {
    clock.advance(60_000);
    await track(tenant, { sale_id: 'live-late', event_id: 'live-1', tickets: 1, sold_at: clock.now() });
    clock.advance(60_000);
    const trained = await t.container.analytics.sellout.trainDue();
    expect(trained).toBeGreaterThanOrEqual(1);
    expect((await get(tenant, '/api/v1/analytics/sellout-model')).json<ModelSummary>().version).toBe(2);
    await t.container.analytics.sellout.trainDue();
    expect((await get(tenant, '/api/v1/analytics/sellout-model')).json<ModelSummary>().version).toBe(2);
  }, 120_000);

  it("jobs over every tenant's sales go on past a tenant whose work fails, and report it (a failure stopped the sellout training loop)", async () => {
    // Tenants are trained in id order: this one comes before the tenant that is due.
    const failing = `00000000-0000-4000-8000-${randomUUID().slice(-12)}`;
    await track(failing, { sale_id: 'failing-1', event_id: 'live-1', tickets: 1, sold_at: clock.now() });
    clock.advance(60_000);
    await track(tenant, { sale_id: 'live-later', event_id: 'live-1', tickets: 1, sold_at: clock.now() });
    clock.advance(60_000);
    const reported: JobUnit[] = [];
    const undo = failTenant(t.container.db, failing);
    try {
      expect(await t.container.analytics.sellout.trainDue(undefined, (unit) => reported.push(unit))).toBeGreaterThanOrEqual(1);
      expect(reported).toContainEqual({ tenantId: failing });
      expect((await get(tenant, '/api/v1/analytics/sellout-model')).json<ModelSummary>().version).toBe(3);

      reported.length = 0;
      expect(await t.container.analytics.sales.trackAll(undefined, (unit) => reported.push(unit))).toBeGreaterThanOrEqual(1);
      expect(reported).toContainEqual({ tenantId: failing, eventId: 'live-1' });
      expect(reported).not.toContainEqual(expect.objectContaining({ tenantId: tenant }));
      const tracked = await get(tenant, '/api/v1/monitoring/metrics?name=event_tickets_sold&limit=1');
      expect(tracked.json<{ data: Array<{ labels: Record<string, string> }> }>().data).toEqual([expect.objectContaining({ labels: { event_id: 'live-1' } })]);
    } finally {
      undo();
    }
  }, 120_000);

  it('when the inference worker fails, the report still answers with the baseline and says why', async () => {
    await t.container.ml.inference.close();
    const response = await get(tenant, '/api/v1/analytics/sales/live-1');
    expect(response.statusCode).toBe(200);
    const report = response.json<Report & { lstm_unavailable?: string }>();
    expect(report).toMatchObject({ served_by: 'baseline', predictions: { lstm: null }, lstm_unavailable: 'trainer is closed' });
    expect(report.prediction).toEqual(report.predictions.baseline);
  });
});
