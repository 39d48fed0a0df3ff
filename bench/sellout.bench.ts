/**
 * Sellout backtest: the LSTM sellout model against the recent-rate baseline on simulated on-sales
 * with a known demand curve. The model trains through the service (sales table, event service
 * client, training worker); held-out events it never saw are then replayed: at cut points along each
 * on-sale the sales report is asked, as of that moment, for both predictions, and their errors
 * against the known sellout time are compared. Also: report latency while the model retrains.
 */
import { loadavg } from 'node:os';
import { meanAbsolute } from '../src/analytics/sales/sellout-features.js';
import { ManualClock } from '../src/platform/clock.js';
import { bearer, createTestApp, newTenant } from '../test/support/app.js';
import { startFakeService } from '../test/support/fake-services.js';
import { simulateOnSales, type SimulatedOnSale } from '../test/support/onsale.js';
import { percentile, writeSection } from './results.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TRAINING_EVENTS = 20;
const TEST_EVENTS = 8;
const CUT_EVERY_MS = 2 * HOUR;

const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
const training = simulateOnSales(TRAINING_EVENTS, 101, { prefix: 'train', firstOnSaleMs: clock.nowMs() - 90 * DAY, spacingMs: 4 * DAY + 3 * HOUR });
const testing = simulateOnSales(TEST_EVENTS, 202, { prefix: 'test', firstOnSaleMs: clock.nowMs() + DAY, spacingMs: 5 * DAY + 5 * HOUR });
const byId = new Map([...training, ...testing].map((event) => [event.eventId, event]));

const events = await startFakeService();
events.on('GET', '/api/v1/events/*', (request) => {
  const event = byId.get(request.pathname.split('/').pop() ?? '');
  if (event === undefined) return { status: 404, json: { error: { code: 'NOT_FOUND', message: 'no such event' } } };
  return { json: { id: event.eventId, venue_id: 'venue-1', name: event.eventId, capacity: event.capacity, on_sale_at: event.onSaleAt.toISOString(), starts_at: new Date(event.onSaleAt.getTime() + 30 * DAY).toISOString(), status: 'on_sale' } };
});
const t = await createTestApp({ clock, env: { EVENT_SERVICE_URL: events.url } });
const settings = t.container.config;
const tenant = newTenant();

/** Bulk insert (setup, not measured): the rows the tracking endpoint would have written. */
async function insert(event: SimulatedOnSale) {
  await t.container.db.withTenant(tenant, (tx) =>
    tx.query(
      `INSERT INTO sales (tenant_id, sale_id, event_id, tickets, amount_cents, currency, channel, sold_at)
       SELECT $1, sale_id, $2, tickets, tickets * 5000, 'EUR', 'web', sold_at FROM unnest($3::text[], $4::int[], $5::timestamptz[]) AS s(sale_id, tickets, sold_at)`,
      [tenant, event.eventId, event.orders.map((o) => o.saleId), event.orders.map((o) => o.tickets), event.orders.map((o) => o.soldAt)],
    ),
  );
}

for (const event of training) await insert(event);
process.stderr.write(`training on ${training.length} simulated on-sales (${training.reduce((a, e) => a + e.orders.length, 0)} orders)\n`);
const trainStarted = performance.now();
const model = await t.container.analytics.sellout.train(tenant);
const trainSeconds = (performance.now() - trainStarted) / 1000;

// Replay the held-out on-sales: they are inserted only now, after training.
for (const event of testing) await insert(event);
interface Row { actual: number; baseline: number | null; lstm: number; inRange: boolean }
const rows: Row[] = [];
for (const event of testing) {
  const first = event.orders[0]?.soldAt.getTime() ?? event.onSaleAt.getTime();
  for (let cut = first + HOUR; cut < event.selloutAt.getTime(); cut += CUT_EVERY_MS) {
    clock.set(cut);
    const report = await t.container.analytics.sales.report(tenant, event.eventId);
    const lstm = report.predictions.lstm;
    if (lstm?.hours == null || lstm.earliest_at === null || lstm.latest_at === null) throw new Error('no LSTM prediction');
    const actualAt = event.selloutAt.getTime();
    rows.push({ actual: (actualAt - cut) / HOUR, baseline: report.predictions.baseline.hours, lstm: lstm.hours, inRange: Date.parse(lstm.earliest_at) <= actualAt && actualAt <= Date.parse(lstm.latest_at) });
  }
}
const medianAbs = (values: number[]) => percentile(values.map(Math.abs).sort((a, b) => a - b), 50);
const compared = rows.filter((row): row is Row & { baseline: number } => row.baseline !== null);
const lstmErrors = compared.map((row) => row.lstm - row.actual);
const baselineErrors = compared.map((row) => row.baseline - row.actual);

// Report latency while the model retrains: predictions go to the inference worker, not behind training.
const live = testing[0];
if (live === undefined) throw new Error('no test event');
clock.set(live.onSaleAt.getTime() + 6 * HOUR);
const headers = await bearer(tenant, ['viewer']);
const url = `/api/v1/analytics/sales/${live.eventId}`;
const sample = async (until: () => boolean) => {
  const latencies: number[] = [];
  while (!until()) {
    const started = performance.now();
    const response = await t.app.inject({ method: 'GET', url, headers });
    if (response.statusCode !== 200 || response.json<{ predictions: { lstm: unknown } }>().predictions.lstm === null) throw new Error(`report failed: ${response.body}`);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return latencies.sort((a, b) => a - b);
};
// Warm up (first calls load the model into the inference worker), then sample idle for 3 s.
for (let i = 0; i < 20; i++) await t.app.inject({ method: 'GET', url, headers });
const idleUntil = performance.now() + 3_000;
const idle = await sample(() => performance.now() > idleUntil);
let retrained = false;
const retraining = t.container.analytics.sellout.train(tenant).then(() => {
  retrained = true;
});
const during = await sample(() => retrained);
await retraining;
const load = loadavg()[0] ?? 0;

const h = (x: number) => x.toFixed(2);
const lines = [
  `Simulated on-sales (\`test/support/onsale.ts\`, seeded): capacity 1,500-4,000; a rush after the on-sale that decays over 1-3 h, then demand that follows the day (x0.1 at night, x1.9 in the afternoon) until sold out, 1-4 tickets per order; sellouts take ${h(Math.min(...testing.map((e) => (e.selloutAt.getTime() - e.onSaleAt.getTime()) / HOUR)))}-${h(Math.max(...testing.map((e) => (e.selloutAt.getTime() - e.onSaleAt.getTime()) / HOUR)))} h on the test events.`,
  '',
  `Training: ${training.length} on-sales through the service (sales table, event service client, training worker): ${model.events.training} to learn from, the newest ${model.events.validation} held out for the backtest that picks what serves; ${model.sequences.training} sequences of ${settings.SELLOUT_STEPS} x ${settings.SELLOUT_BUCKET_MS / HOUR} h, ${settings.SELLOUT_TRAINING_EPOCHS} epochs, ${h(trainSeconds)} s. The service's own backtest: LSTM MAE ${h(model.backtest.lstm_mae_hours ?? Number.NaN)} h, baseline ${h(model.backtest.baseline_mae_hours ?? Number.NaN)} h, serves: **${model.served_by}**.`,
  '',
  `### Backtest on ${testing.length} on-sales the model never saw (${rows.length} cut points every ${CUT_EVERY_MS / HOUR} h, each asked through the sales report as of that moment)`,
  '',
  '| predictor | MAE hours | median abs error hours | actual sellout inside the 90% range |',
  '|---|---|---|---|',
  `| baseline: remaining / last hour's rate | ${h(meanAbsolute(baselineErrors))} | ${h(medianAbs(baselineErrors))} | - |`,
  `| LSTM(128) -> LSTM(64) -> Dense(32) -> Dense(1) | ${h(meanAbsolute(lstmErrors))} | ${h(medianAbs(lstmErrors))} | ${((100 * rows.filter((r) => r.inRange).length) / rows.length).toFixed(0)}% |`,
  '',
  `Errors over the ${compared.length} of ${rows.length} cut points where the baseline has a prediction (it has none after an hour without sales). Mean actual time to sellout at the cut points: ${h(compared.reduce((a, r) => a + r.actual, 0) / compared.length)} h.`,
  '',
  `### GET /api/v1/analytics/sales/:eventId while the LSTM retrains (every 20 ms; load average ${load.toFixed(1)} on 2 cores after the run)`,
  '',
  '| state | requests | p50 ms | p99 ms | max ms |',
  '|---|---|---|---|---|',
  `| idle (3 s) | ${idle.length} | ${h(percentile(idle, 50))} | ${h(percentile(idle, 99))} | ${h(idle[idle.length - 1] ?? Number.NaN)} |`,
  `| retraining in the worker (${model.sequences.training} sequences) | ${during.length} | ${h(percentile(during, 50))} | ${h(percentile(during, 99))} | ${h(during[during.length - 1] ?? Number.NaN)} |`,
];
process.stdout.write(`${lines.join('\n')}\n`);
writeSection('Sales: LSTM sellout model vs baseline', lines.join('\n'));
await t.close();
await events.close();
