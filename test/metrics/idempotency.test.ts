import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCleanup } from '../../src/metrics/cleanup.job.js';
import { parkedTopic, TOPICS, type DeliveredMessage } from '../../src/platform/bus/index.js';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';
import { waitFor } from '../support/ws.js';

let t: TestApp;
const clock = new ManualClock(Date.now());
const parked: DeliveredMessage[] = [];

beforeAll(async () => {
  t = await createTestApp({ clock });
  await t.container.bus.subscribe(parkedTopic(TOPICS.metrics), 'test-idempotency-parked', async (message) => {
    parked.push(message);
  });
}, 180_000);
afterAll(async () => t.close());

const URL = '/api/v1/monitoring/metrics';
const HOUR_MS = 3_600_000;

async function push(tenant: string, payload: unknown, key?: string) {
  const headers: Record<string, string> = { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/json' };
  if (key !== undefined) headers['idempotency-key'] = key;
  return t.app.inject({ method: 'POST', url: URL, headers, payload: JSON.stringify(payload) });
}

async function sql<R extends object>(tenant: string, text: string): Promise<R[]> {
  const result = await t.container.db.withTenant(tenant, (tx) => tx.query<R>(text, [tenant]));
  return result.rows;
}

const storedRows = async (tenant: string) => (await sql<{ n: number }>(tenant, 'SELECT count(*)::int AS n FROM metrics WHERE tenant_id = $1'))[0]?.n ?? -1;
const storedKeys = async (tenant: string) => (await sql<{ k: string }>(tenant, 'SELECT idempotency_key AS k FROM ingest_idempotency WHERE tenant_id = $1 ORDER BY 1')).map((row) => row.k);

const batch = (values: number[]) => ({ metrics: values.map((value) => ({ name: 'orders_paid', service: 'payment', value, labels: { region: 'eu', shop: 's1' } })) });

const consumed = async (outcome: string) => {
  const metric = await t.container.registry.getSingleMetric('monitoring_stream_messages_total')?.get();
  return metric?.values.find((value) => value.labels['topic'] === TOPICS.metrics && value.labels['outcome'] === outcome)?.value ?? 0;
};

describe('Idempotency-Key on POST /metrics', () => {
  it('stores a batch sent twice under one key once and answers the retry with the first answer and idempotent-replayed', async () => {
    const tenant = newTenant();
    const key = randomUUID();
    const first = await push(tenant, batch([1, 2, 3]), key);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ accepted: 3 });
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const retry = await push(tenant, batch([1, 2, 3]), key);
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toEqual({ accepted: 3 });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await storedRows(tenant)).toBe(3);
  });

  it('treats the same samples as the same batch whatever the body form and label order', async () => {
    const tenant = newTenant();
    const key = 'retry-of-one-sample';
    const sample = { name: 'queue_depth', service: 'ticket', value: 4, labels: { a: '1', b: '2' }, timestamp: new Date(clock.nowMs() - 60_000).toISOString() };
    expect((await push(tenant, sample, key)).statusCode).toBe(202);
    const retry = await push(tenant, { metrics: [{ ...sample, labels: { b: '2', a: '1' }, timestamp: Date.parse(sample.timestamp) }] }, key);
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await storedRows(tenant)).toBe(1);
  });

  it('refuses a different batch under a used key with 422 IDEMPOTENCY_KEY_REUSED and stores nothing of it', async () => {
    const tenant = newTenant();
    const key = randomUUID();
    expect((await push(tenant, batch([1, 2]), key)).statusCode).toBe(202);
    for (const other of [batch([1, 2, 3]), batch([1, 5]), { metrics: [{ name: 'orders_paid', service: 'payment', value: 1, labels: { region: 'us', shop: 's1' } }, { name: 'orders_paid', service: 'payment', value: 2, labels: { region: 'eu', shop: 's1' } }] }]) {
      const response = await push(tenant, other, key);
      expect(response.statusCode).toBe(422);
      expect(response.json().error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { idempotency_key: key } });
    }
    expect(await storedRows(tenant)).toBe(2);
    // The first answer is still what a true retry gets.
    const retry = await push(tenant, batch([1, 2]), key);
    expect([retry.statusCode, retry.json(), retry.headers['idempotent-replayed']]).toEqual([202, { accepted: 2 }, 'true']);
  });

  it('stores a batch once when 20 pushes with one key arrive at the same time, and answers every one 202', async () => {
    const tenant = newTenant();
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 20 }, () => push(tenant, batch([1, 2, 3, 4]), key)));
    expect(responses.map((response) => response.statusCode)).toEqual(Array.from({ length: 20 }, () => 202));
    expect(responses.every((response) => response.json<{ accepted: number }>().accepted === 4)).toBe(true);
    expect(responses.filter((response) => response.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(await storedRows(tenant)).toBe(4);
    expect(await storedKeys(tenant)).toEqual([key]);
  });

  it('lets two tenants use the same key independently', async () => {
    const [a, b] = [newTenant(), newTenant()];
    const key = 'shared-key-1';
    const first = await push(a, batch([1]), key);
    const second = await push(b, batch([7, 8]), key);
    expect([first.statusCode, first.headers['idempotent-replayed']]).toEqual([202, undefined]);
    expect([second.statusCode, second.json(), second.headers['idempotent-replayed']]).toEqual([202, { accepted: 2 }, undefined]);
    expect([await storedRows(a), await storedRows(b)]).toEqual([1, 2]);
  });

  it('refuses a key that is empty, longer than 255 characters or not printable ASCII with 400 and stores nothing', async () => {
    const tenant = newTenant();
    for (const key of ['', 'x'.repeat(256), 'clé-1', 'tab\there']) {
      const response = await push(tenant, batch([1]), key);
      expect(response.statusCode, JSON.stringify(key)).toBe(400);
      expect(response.json().error.code).toBe('VALIDATION_FAILED');
    }
    expect(await storedRows(tenant)).toBe(0);
    expect(await storedKeys(tenant)).toEqual([]);
    // The longest key and one with spaces are fine.
    expect((await push(tenant, batch([1]), 'k'.repeat(255))).statusCode).toBe(202);
    expect((await push(tenant, batch([2]), 'order 42 / retry ~ok')).statusCode).toBe(202);
  });

  it('records no key for a batch refused by validation, so a corrected retry under the key is stored', async () => {
    const tenant = newTenant();
    const key = randomUUID();
    const refused = await push(tenant, { metrics: [{ name: 'bad name', service: 'svc', value: 1 }] }, key);
    expect(refused.statusCode).toBe(400);
    expect(await storedKeys(tenant)).toEqual([]);
    expect((await push(tenant, batch([1]), key)).headers['idempotent-replayed']).toBeUndefined();
    expect(await storedRows(tenant)).toBe(1);
  });

  it('keeps working for signed service pushes: the key is not part of the signed string', async () => {
    const tenant = newTenant();
    const key = randomUUID();
    const send = () => {
      const signed = signedHeaders({ method: 'POST', path: URL, body: batch([5, 6]), tenantId: tenant });
      return t.app.inject({ method: 'POST', url: URL, headers: { ...signed.headers, 'idempotency-key': key }, payload: signed.payload });
    };
    const first = await send();
    expect([first.statusCode, first.json()]).toEqual([202, { accepted: 2 }]);
    const retry = await send();
    expect([retry.statusCode, retry.headers['idempotent-replayed']]).toEqual([202, 'true']);
    expect(await storedRows(tenant)).toBe(2);
  });

  it('publishes a batch to metrics-stream once: a replay publishes nothing', async () => {
    const tenant = newTenant();
    const published: DeliveredMessage[] = [];
    const subscription = await t.container.bus.subscribe(TOPICS.metrics, `test-replay-${tenant}`, async (message) => {
      if (message.key === tenant) published.push(message);
    });
    try {
      const key = randomUUID();
      await push(tenant, batch([1]), key);
      await push(tenant, batch([1]), key);
      await push(tenant, batch([2]));
      await waitFor(() => published.length === 2, 5_000, 'two published batches');
      expect(published.map((message) => (message.value as { metrics: Array<{ value: number }> }).metrics.map((sample) => sample.value))).toEqual([[1], [2]]);
    } finally {
      await subscription.close();
    }
  });
});

describe('idempotency window', () => {
  it('the cleanup job forgets keys older than IDEMPOTENCY_WINDOW_HOURS and keeps newer ones', async () => {
    const tenant = newTenant();
    const recordedAt = clock.nowMs();
    expect((await push(tenant, batch([1]), 'old-key')).statusCode).toBe(202);
    expect(t.container.config.IDEMPOTENCY_WINDOW_HOURS).toBe(24);
    const cleanup = (at: number) => runCleanup({ db: t.container.db, logger: t.container.logger, config: t.container.config }, new Date(at));

    await cleanup(recordedAt + 24 * HOUR_MS - 1);
    expect(await storedKeys(tenant)).toEqual(['old-key']);

    const outcome = await cleanup(recordedAt + 24 * HOUR_MS + 1);
    expect(outcome.deletedIdempotencyKeys).toBeGreaterThanOrEqual(1);
    expect(await storedKeys(tenant)).toEqual([]);

    // Past the window the key is new again.
    const again = await push(tenant, batch([1]), 'old-key');
    expect([again.statusCode, again.headers['idempotent-replayed']]).toEqual([202, undefined]);
    expect(await storedRows(tenant)).toBe(2);
  });
});

describe('idempotency-key on metrics-stream messages', () => {
  const FROM = (key: string) => ({ origin: 'ticket-service', 'idempotency-key': key });

  it('stores a message delivered twice once', async () => {
    const tenant = newTenant();
    const duplicatesBefore = await consumed('duplicate');
    const message = { key: tenant, value: { tenant_id: tenant, metrics: [{ name: 'tickets_sold', service: 'ticket-service', value: 3 }, { name: 'tickets_sold', service: 'ticket-service', value: 4 }] }, headers: FROM('sale-batch-1') };
    await t.container.bus.publish(TOPICS.metrics, [message]);
    await t.container.bus.publish(TOPICS.metrics, [message]);
    await waitFor(async () => (await consumed('duplicate')) > duplicatesBefore, 5_000, 'second delivery handled');
    expect(await storedRows(tenant)).toBe(2);
    expect(await storedKeys(tenant)).toEqual(['sale-batch-1']);
  });

  it('shares the keys of HTTP pushes: a batch pushed over HTTP and then over the bus under one key is stored once', async () => {
    const tenant = newTenant();
    const key = randomUUID();
    const samples = [{ name: 'tickets_sold', service: 'ticket-service', value: 9 }];
    expect((await push(tenant, { metrics: samples }, key)).statusCode).toBe(202);
    const duplicatesBefore = await consumed('duplicate');
    await t.container.bus.publish(TOPICS.metrics, [{ key: tenant, value: { tenant_id: tenant, metrics: samples }, headers: FROM(key) }]);
    await waitFor(async () => (await consumed('duplicate')) > duplicatesBefore, 5_000, 'bus copy handled');
    expect(await storedRows(tenant)).toBe(1);
  });

  it('parks a message whose key was used for another batch, or whose key is invalid, and stores nothing of it', async () => {
    const tenant = newTenant();
    const value = (amount: number) => ({ tenant_id: tenant, name: 'tickets_sold', service: 'ticket-service', value: amount });
    await t.container.bus.publish(TOPICS.metrics, [{ key: tenant, value: value(1), headers: FROM('sale-7') }]);
    await waitFor(async () => (await storedRows(tenant)) === 1, 5_000, 'first message stored');
    await t.container.bus.publish(TOPICS.metrics, [
      { key: tenant, value: value(2), headers: FROM('sale-7') },
      { key: tenant, value: value(3), headers: FROM('x'.repeat(256)) },
    ]);
    const mine = () => parked.filter((message) => JSON.stringify(message.value).includes(tenant));
    await waitFor(() => mine().length === 2, 5_000, 'two messages parked');
    expect(mine().map((message) => message.headers['parked-reason'])).toEqual([expect.stringContaining('already used for a different batch'), expect.stringContaining('printable ASCII')]);
    expect(await storedRows(tenant)).toBe(1);
  });
});
