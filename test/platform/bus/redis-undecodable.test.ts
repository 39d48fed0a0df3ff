import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countUndecodable, createBusMetrics, createRedisStreamsBus, parkedTopic, type Bus, type DeliveredMessage } from '../../../src/platform/bus/index.js';
import { keyHash } from '../../../src/platform/bus/partition.js';
import { TEST_REDIS_URL } from '../../support/env.js';
import { waitFor } from '../../support/ws.js';

/**
 * Entries another service writes straight into the streams (docs/realtime.md, "Producing to these
 * topics") that cannot be decoded: before the fix they threw before the retry/park logic and
 * stayed pending, unacknowledged, for ever. Against real Redis, under a private key prefix.
 */
const SKIP_REASON = 'set TEST_REDIS_URL to run the Redis Streams undecodable-message tests';
if (TEST_REDIS_URL === undefined) console.warn(`[tests] skipped: ${SKIP_REASON}`);

const logger = pino({ level: 'silent' });
const PARTITIONS = 2;
const KEY = 'tenant-1';
const namespace = `test:bus-undecodable:${randomUUID()}:`;
const url = TEST_REDIS_URL ?? '';
const opened: Bus[] = [];
let raw: Redis | undefined;

const stream = (topic: string) => `${namespace}${topic}:${keyHash(KEY) % PARTITIONS}`;

function makeBus(registry: Registry): Bus {
  const bus = createRedisStreamsBus({
    url,
    namespace,
    partitions: PARTITIONS,
    maxLen: 1_000,
    maxAttempts: 3,
    retryDelayMs: 10,
    leaseMs: 600,
    blockMs: 200,
    logger,
    onUndecodable: countUndecodable(createBusMetrics(registry, undefined)),
  });
  opened.push(bus);
  return bus;
}

const redis = (): Redis => {
  raw ??= new Redis(url);
  return raw;
};

async function pendingCount(topic: string): Promise<number> {
  let total = 0;
  for (let partition = 0; partition < PARTITIONS; partition += 1) {
    const summary = (await redis().xpending(`${namespace}${topic}:${partition}`, 'g')) as [number, ...unknown[]];
    total += summary[0];
  }
  return total;
}

describe.skipIf(TEST_REDIS_URL === undefined)(`Redis Streams: entries that cannot be decoded${TEST_REDIS_URL === undefined ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  beforeAll(() => {
    redis();
  });

  afterAll(async () => {
    await Promise.all(opened.map((bus) => bus.close()));
    const client = redis();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== '0');
    client.disconnect();
  });

  it('parks and acknowledges a value that is not JSON, an entry without a value and headers that are not JSON, counts each, and handles the next entry', { timeout: 15_000 }, async () => {
    const registry = new Registry();
    const bus = makeBus(registry);
    const topic = `undecodable-${randomUUID()}`;
    const handled: DeliveredMessage[] = [];
    const parked: DeliveredMessage[] = [];
    await bus.subscribe(parkedTopic(topic), 'inspector', async (message) => {
      parked.push(message);
    });
    await bus.subscribe(topic, 'g', async (message) => {
      handled.push(message);
    });
    const key = stream(topic);
    await redis().xadd(key, '*', 'value', '{"tenant_id": not json', 'headers', '{"origin":"ticket-service"}', 'key', KEY);
    await redis().xadd(key, '*', 'headers', '{}', 'key', KEY);
    await redis().xadd(key, '*', 'value', '{"id":"bad-headers"}', 'headers', '{origin:', 'key', KEY);
    await redis().xadd(key, '*', 'value', '{"id":"good"}', 'headers', '{"origin":"ticket-service"}', 'key', KEY);

    await waitFor(() => handled.length === 1 && parked.length === 3, 10_000, 'the good entry handled and three parked');
    expect(handled[0]).toMatchObject({ key: KEY, value: { id: 'good' }, headers: { origin: 'ticket-service' }, attempt: 1 });
    expect(parked.map((message) => [message.key, message.value, message.headers['parked-value']])).toEqual([
      [KEY, '{"tenant_id": not json', 'raw-text'],
      [KEY, null, 'absent'],
      [KEY, '{"id":"bad-headers"}', 'raw-text'],
    ]);
    expect(parked[0]?.headers).toMatchObject({ origin: 'ticket-service', 'parked-attempts': '0' });
    expect(parked[0]?.headers['parked-reason']).toMatch(/^undecodable: the value is not JSON/);
    expect(parked[1]?.headers['parked-reason']).toBe('undecodable: the message has no value');
    expect(parked[2]?.headers['parked-headers']).toBe('{origin:');

    const text = await registry.metrics();
    for (const reason of ['value-not-json', 'value-missing', 'headers-invalid']) {
      expect(text).toContain(`monitoring_bus_messages_undecodable_total{topic="${topic}",group="g",reason="${reason}"} 1`);
    }
    await waitFor(async () => (await pendingCount(topic)) === 0, 5_000, 'nothing pending');
  });

  it('keeps an undecodable entry pending while parking fails, handles nothing after it meanwhile, and parks it and goes on once Redis accepts the park', { timeout: 15_000 }, async () => {
    const bus = makeBus(new Registry());
    const topic = `undecodable-${randomUUID()}`;
    const handled: DeliveredMessage[] = [];
    await bus.subscribe(topic, 'g', async (message) => {
      handled.push(message);
    });
    // A key of the wrong type where the parked stream should be: every XADD to it fails.
    const parkedStream = stream(parkedTopic(topic));
    await redis().set(parkedStream, 'not a stream');
    await redis().xadd(stream(topic), '*', 'value', 'oops', 'headers', '{}', 'key', KEY);
    await redis().xadd(stream(topic), '*', 'value', '{"id":"after"}', 'headers', '{}', 'key', KEY);

    await waitFor(async () => (await pendingCount(topic)) >= 1, 5_000, 'the entry read');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(handled).toEqual([]);
    expect(await pendingCount(topic)).toBeGreaterThanOrEqual(1);

    await redis().del(parkedStream);
    await waitFor(() => handled.length === 1, 5_000, 'the next entry handled');
    expect(handled[0]?.value).toEqual({ id: 'after' });
    const parked = await redis().xrange(parkedStream, '-', '+');
    expect(parked).toHaveLength(1);
    expect(parked[0]?.[1]).toEqual(expect.arrayContaining(['value', JSON.stringify('oops')]));
    await waitFor(async () => (await pendingCount(topic)) === 0, 5_000, 'nothing pending');
  });
});
