import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../src/platform/bus/index.js';
import { ManualClock } from '../../src/platform/clock.js';
import { STREAM_PROCESSOR_JOB } from '../../src/streaming/index.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { waitFor } from '../support/ws.js';

let t: TestApp;
// Start on a minute boundary so a test's samples fall in one window.
const clock = new ManualClock(Math.floor(Date.now() / 60_000) * 60_000);

beforeAll(async () => {
  t = await createTestApp({ clock });
}, 180_000);
afterAll(async () => t.close());

const alertsOf = (tenant: string) =>
  t.container.db.withTenant(tenant, (tx) =>
    tx.query<{ name: string; type: string; severity: string; status: string; fingerprint: string; labels: Record<string, string> }>(
      'SELECT name, type, severity, status, fingerprint, labels FROM alerts WHERE tenant_id = $1 ORDER BY created_at',
      [tenant],
    ),
  );
const samples = (name: string, n: number) => Array.from({ length: n }, (_, index) => ({ name, service: 'ticket-service', value: index }));

describe('stream processor', () => {
  it('counts samples per metric in one-minute windows and alerts above 100 a minute', async () => {
    clock.advance(60_000);
    const tenant = newTenant();
    await t.container.ingest.ingest(tenant, samples('checkout_requests', 60), 'http');
    await t.container.ingest.ingest(tenant, samples('checkout_requests', 40), 'http');
    await t.container.ingest.ingest(tenant, samples('quiet_metric', 5), 'http');
    // The processor counts committed batches after the answer, from the dispatch queue.
    await t.container.ingest.dispatched();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await alertsOf(tenant)).rows).toEqual([]);
    const window = t.container.streaming.processor.snapshot().at(-1);
    expect(window?.metrics[tenant]).toEqual({ checkout_requests: 100, quiet_metric: 5 });

    await t.container.ingest.ingest(tenant, samples('checkout_requests', 1), 'http');
    await waitFor(async () => (await alertsOf(tenant)).rows.length === 1, 5_000, 'pattern alert');
    expect((await alertsOf(tenant)).rows[0]).toMatchObject({
      name: 'HighFrequencyMetric',
      type: 'pattern',
      severity: 'warning',
      status: 'firing',
      fingerprint: 'pattern:high_frequency:checkout_requests',
      labels: { metric_name: 'checkout_requests', pattern: 'high_frequency' },
    });
  });

  it('a new window starts from zero, and a quiet window resolves the pattern alert', async () => {
    clock.advance(60_000);
    const tenant = newTenant();
    await t.container.ingest.ingest(tenant, samples('burst', 101), 'http');
    await waitFor(async () => (await alertsOf(tenant)).rows.length === 1, 5_000, 'pattern alert');
    clock.advance(60_000);
    await t.container.ingest.ingest(tenant, samples('burst', 100), 'http');
    await t.container.ingest.dispatched();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await alertsOf(tenant)).rows).toHaveLength(1);
    clock.advance(60_000);
    await t.container.scheduler.runNow(STREAM_PROCESSOR_JOB);
    expect((await alertsOf(tenant)).rows[0]?.status).toBe('resolved');
  });

  it('alerts on more than 5 fraud events a minute', async () => {
    clock.advance(60_000);
    const tenant = newTenant();
    const event = (index: number) => ({ value: { tenant_id: tenant, user_id: `user-${index}`, pattern: 'card_testing', risk_level: 'high' }, headers: { origin: 'payment-service' } });
    await t.container.bus.publish(TOPICS.fraud, [0, 1, 2, 3, 4].map(event));
    await waitFor(() => t.container.streaming.processor.snapshot().at(-1)?.fraud[tenant] === 5, 5_000, 'five counted');
    expect((await alertsOf(tenant)).rows).toEqual([]);
    await t.container.bus.publish(TOPICS.fraud, [event(5)]);
    await waitFor(async () => (await alertsOf(tenant)).rows.length === 1, 5_000, 'fraud spike alert');
    expect((await alertsOf(tenant)).rows[0]).toMatchObject({ name: 'FraudEventSpike', type: 'pattern', severity: 'critical', fingerprint: 'pattern:fraud_spike' });
  });

  it('discards windows older than five minutes', async () => {
    const tenant = newTenant();
    await t.container.ingest.ingest(tenant, samples('old_metric', 1), 'http');
    // Counted first, so the test shows the window going away rather than never existing.
    await waitFor(() => t.container.streaming.processor.snapshot().some((window) => window.metrics[tenant] !== undefined), 5_000, 'window counted');
    clock.advance(6 * 60_000);
    await t.container.scheduler.runNow(STREAM_PROCESSOR_JOB);
    const windows = t.container.streaming.processor.snapshot();
    expect(windows.every((window) => Date.parse(window.start) >= clock.nowMs() - 5 * 60_000)).toBe(true);
    expect(windows.some((window) => window.metrics[tenant] !== undefined)).toBe(false);
  });
});
