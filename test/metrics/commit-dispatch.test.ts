import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommittedBatch } from '../../src/metrics/index.js';
import { TOPICS, type DeliveredMessage } from '../../src/platform/bus/index.js';
import { bearer, createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';
import { connectAs, isMetric, listen, subscribe, waitFor } from '../support/ws.js';

/** A promise the test resolves when it chooses: a listener awaiting it is slow for exactly as long. */
function gate() {
  let open = () => undefined as void;
  const closed = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { closed, open };
}

/** A listener named `consumer` that records every batch of `tenant` and holds each until `hold` opens. */
function slowListener(t: TestApp, consumer: string, tenant: string, hold: Promise<void>) {
  const seen: CommittedBatch[] = [];
  const off = t.container.ingest.onCommitted(consumer, async (batch) => {
    if (batch.tenantId !== tenant) return;
    seen.push(batch);
    await hold;
  });
  return { seen, off };
}

const samples = (name: string, values: readonly number[]) => values.map((value) => ({ name, service: 'checkout', value }));

async function push(t: TestApp, tenant: string, name: string, values: readonly number[]) {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: await bearer(tenant, ['monitoring']), payload: { metrics: samples(name, values) } });
  expect(response.statusCode, response.body).toBe(202);
  expect(response.json()).toEqual({ accepted: values.length });
}

interface DispatchStatus {
  max_queued_samples: number;
  consumers: Array<{ consumer: string; queued_samples: number; dropped_samples: number }>;
}

async function dispatchStatus(t: TestApp): Promise<DispatchStatus> {
  const response = await t.app.inject({ method: 'GET', url: '/status' });
  expect(response.statusCode).toBe(200);
  return response.json<{ ingest_dispatch: DispatchStatus }>().ingest_dispatch;
}

async function storedValues(t: TestApp, tenant: string, name: string): Promise<number[]> {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/metrics?name=${name}&limit=1000`, headers: await bearer(tenant, ['viewer']) });
  expect(response.statusCode).toBe(200);
  return response
    .json<{ data: Array<{ value: number }> }>()
    .data.map((row) => row.value)
    .sort((a, b) => a - b);
}

/** Values of `tenant`'s metrics-stream messages as they arrive, on a group of its own. */
async function watchStream(t: TestApp, tenant: string) {
  const values: number[] = [];
  const subscription = await t.container.bus.subscribe(TOPICS.metrics, `test-dispatch-${tenant}`, async (message: DeliveredMessage) => {
    if (message.key !== tenant) return;
    values.push(...(message.value as { metrics: Array<{ value: number }> }).metrics.map((sample) => sample.value));
  });
  return { values, subscription };
}

describe('after the commit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => t.close());

  it('a push whose listener is slow is answered 202 at once: the answer arrives before the listener is released', async () => {
    const tenant = newTenant();
    const hold = gate();
    const slow = slowListener(t, 'test_slow', tenant, hold.closed);
    try {
      await push(t, tenant, 'slow_listener_probe', [1, 2]);
      // The listener is still held on the first batch: the next push is answered all the same.
      await waitFor(() => slow.seen.length === 1, 5_000, 'the slow listener to get the first batch');
      await push(t, tenant, 'slow_listener_probe', [3]);
      expect(slow.seen).toHaveLength(1);
      hold.open();
      await t.container.ingest.dispatched();
      expect(slow.seen.map((batch) => batch.samples.map((sample) => sample.value))).toEqual([[1, 2], [3]]);
      expect(await storedValues(t, tenant, 'slow_listener_probe')).toEqual([1, 2, 3]);
    } finally {
      hold.open();
      slow.off();
    }
  });

  it('WebSocket subscribers and metrics-stream get every batch of a tenant, in commit order', async () => {
    const tenant = newTenant();
    const url = await listen(t.app);
    const client = await connectAs(url, await tokenFor(tenant, ['viewer']));
    await subscribe(client, ['ordered_probe']);
    const stream = await watchStream(t, tenant);
    try {
      const batches = Array.from({ length: 20 }, (_, index) => [index * 3, index * 3 + 1, index * 3 + 2]);
      for (const values of batches) await push(t, tenant, 'ordered_probe', values);
      const expected = batches.flat();
      await waitFor(() => client.received(isMetric('ordered_probe')).length === batches.length, 5_000, 'a WebSocket message per batch');
      const sent = client.received(isMetric('ordered_probe')).flatMap((message) => (message['samples'] as Array<{ value: number }>).map((sample) => sample.value));
      expect(sent).toEqual(expected);
      await waitFor(() => stream.values.length === expected.length, 5_000, 'every sample on metrics-stream');
      expect(stream.values).toEqual(expected);
      const status = await dispatchStatus(t);
      expect(status.consumers.filter((consumer) => consumer.dropped_samples > 0)).toEqual([]);
    } finally {
      await stream.subscription.close();
      await client.close();
    }
  });
});

describe('a consumer past INGEST_COMMIT_QUEUE_MAX_SAMPLES', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { INGEST_COMMIT_QUEUE_MAX_SAMPLES: '5' } });
  });
  afterAll(async () => t.close());

  it('skips whole batches, counted on /metrics and /status; the pushes are answered 202, stored whole, and the other consumers get every batch', async () => {
    const tenant = newTenant();
    const hold = gate();
    const slow = slowListener(t, 'test_stuck', tenant, hold.closed);
    const stream = await watchStream(t, tenant);
    const queuedElsewhere = async () => (await dispatchStatus(t)).consumers.filter((consumer) => consumer.consumer !== 'test_stuck').reduce((sum, consumer) => sum + consumer.queued_samples, 0);
    try {
      // The stuck listener holds the first batch (2 samples), has room for the second (4 of 5),
      // not for the third. Each push waits until the other consumers have nothing queued, so only
      // the stuck one is ever near the bound.
      await push(t, tenant, 'bounded_probe', [1, 2]);
      await waitFor(() => slow.seen.length === 1, 5_000, 'the stuck listener to hold the first batch');
      await waitFor(async () => (await queuedElsewhere()) === 0, 5_000, 'the other consumers to catch up');
      await push(t, tenant, 'bounded_probe', [3, 4]);
      await waitFor(async () => (await queuedElsewhere()) === 0, 5_000, 'the other consumers to catch up');
      await push(t, tenant, 'bounded_probe', [5, 6]);

      const status = await dispatchStatus(t);
      expect(status.max_queued_samples).toBe(5);
      expect(status.consumers.find((consumer) => consumer.consumer === 'test_stuck')).toEqual({ consumer: 'test_stuck', queued_samples: 4, dropped_samples: 2 });
      const others = status.consumers.filter((consumer) => consumer.consumer !== 'test_stuck');
      expect(others.map((consumer) => consumer.consumer).sort()).toEqual(['anomaly', 'bus', 'catalogue', 'default_rules', 'realtime', 'stream_processor']);
      expect(others.every((consumer) => consumer.dropped_samples === 0)).toBe(true);
      const scrape = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
      expect(scrape.body).toContain('monitoring_ingest_dispatch_dropped_samples_total{consumer="test_stuck"} 2\n');
      expect(scrape.body).toContain('monitoring_ingest_dispatch_dropped_samples_total{consumer="bus"} 0\n');
      expect(scrape.body).toContain('monitoring_ingest_dispatch_queued_samples{consumer="test_stuck"} 4\n');

      expect(await storedValues(t, tenant, 'bounded_probe')).toEqual([1, 2, 3, 4, 5, 6]);
      await waitFor(() => stream.values.length === 6, 5_000, 'every sample on metrics-stream');
      expect(stream.values).toEqual([1, 2, 3, 4, 5, 6]);

      hold.open();
      await t.container.ingest.dispatched();
      expect(slow.seen.map((batch) => batch.samples.map((sample) => sample.value))).toEqual([[1, 2], [3, 4]]);
    } finally {
      hold.open();
      slow.off();
      await stream.subscription.close();
    }
  });
});

describe('shutdown', () => {
  it('hands the acknowledged batches to the listeners and publishes them before the bus closes', async () => {
    const t = await createTestApp();
    const tenant = newTenant();
    const hold = gate();
    const slow = slowListener(t, 'test_draining', tenant, hold.closed);
    const stream = await watchStream(t, tenant);
    await push(t, tenant, 'drain_probe', [1]);
    await push(t, tenant, 'drain_probe', [2]);
    await push(t, tenant, 'drain_probe', [3]);
    // Two batches still wait behind the held one when the stop begins.
    await waitFor(() => slow.seen.length === 1, 5_000, 'the listener to hold the first batch');
    const closing = t.close();
    hold.open();
    await closing;
    expect(slow.seen.map((batch) => batch.samples.map((sample) => sample.value))).toEqual([[1], [2], [3]]);
    expect(stream.values).toEqual([1, 2, 3]);
    expect(t.container.ingest.dispatchStats().every((consumer) => consumer.dropped_samples === 0)).toBe(true);
  });

  it('a listener stuck past its share of SHUTDOWN_TIMEOUT_MS does not hold the stop: what it still has is dropped and counted', async () => {
    const t = await createTestApp({ env: { SHUTDOWN_TIMEOUT_MS: '2000' } });
    const tenant = newTenant();
    const never = gate();
    const stuck = slowListener(t, 'test_stuck_at_stop', tenant, never.closed);
    const stream = await watchStream(t, tenant);
    await push(t, tenant, 'stuck_probe', [1]);
    await push(t, tenant, 'stuck_probe', [2, 3]);
    await waitFor(() => stuck.seen.length === 1, 5_000, 'the listener to hold the first batch');
    await t.close();
    expect(t.container.ingest.dispatchStats().find((consumer) => consumer.consumer === 'test_stuck_at_stop')).toMatchObject({ dropped_samples: 2 });
    // The other consumers were not held by it: both batches were published.
    expect(stream.values).toEqual([1, 2, 3]);
    never.open();
  });
});
