import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaBus, createMemoryBus, createRedisStreamsBus, parkedTopic, type Bus, type DeliveredMessage } from '../../../src/platform/bus/index.js';
import { TEST_KAFKA_BROKERS, TEST_REDIS_URL } from '../../support/env.js';
import { waitFor } from '../../support/ws.js';

/**
 * One contract for every Bus adapter: per-key order, sharing within a group (and every group
 * gets every message), redelivery of a message whose handler failed, parking of a poison message.
 */
const logger = pino({ level: 'silent' });
const MAX_ATTEMPTS = 3;
const opened: Bus[] = [];

interface AdapterCase {
  name: string;
  available: boolean;
  skipReason: string;
  make(): Bus;
  /** The in-process bus is one process: its group members share one instance. */
  oneProcess: boolean;
  /** Time for group membership to settle after subscribing. */
  settleMs: number;
  timeoutMs: number;
}

const namespace = `test:bus:${randomUUID()}:`;
const cases: AdapterCase[] = [
  { name: 'memory', available: true, skipReason: '', make: () => createMemoryBus({ maxAttempts: MAX_ATTEMPTS }), oneProcess: true, settleMs: 0, timeoutMs: 5_000 },
  {
    name: 'redis-streams',
    available: TEST_REDIS_URL !== undefined,
    skipReason: 'set TEST_REDIS_URL to run',
    make: () =>
      createRedisStreamsBus({ url: TEST_REDIS_URL ?? '', namespace, partitions: 4, maxLen: 10_000, maxAttempts: MAX_ATTEMPTS, retryDelayMs: 10, leaseMs: 600, blockMs: 200, logger }),
    oneProcess: false,
    settleMs: 1_200,
    timeoutMs: 10_000,
  },
  {
    name: 'kafka',
    available: TEST_KAFKA_BROKERS !== undefined,
    skipReason: 'set TEST_KAFKA_BROKERS to run',
    make: () => createKafkaBus({ brokers: (TEST_KAFKA_BROKERS ?? '').split(','), maxAttempts: MAX_ATTEMPTS, retryDelayMs: 10, logger }),
    oneProcess: false,
    settleMs: 8_000,
    timeoutMs: 60_000,
  },
];

afterAll(async () => {
  await Promise.all(opened.map((bus) => bus.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const adapter of cases) {
  describe.skipIf(!adapter.available)(`Bus contract: ${adapter.name}${adapter.available ? '' : ` (skipped: ${adapter.skipReason})`}`, () => {
    const make = () => {
      const bus = adapter.make();
      opened.push(bus);
      return bus;
    };
    const topic = () => `contract-${randomUUID()}`;

    it('delivers the messages of one key in publish order', { timeout: adapter.timeoutMs * 2 }, async () => {
      const bus = make();
      const name = topic();
      const received: DeliveredMessage[] = [];
      await bus.subscribe(name, 'g', async (message) => {
        received.push(message);
      });
      await sleep(adapter.settleMs);
      for (let sequence = 0; sequence < 20; sequence += 1) {
        await bus.publish(name, ['k1', 'k2', 'k3', 'k4', 'k5'].map((key) => ({ key, value: { key, sequence } })));
      }
      await waitFor(() => received.length >= 100, adapter.timeoutMs, '100 messages');
      for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) {
        const sequences = received.filter((message) => message.key === key).map((message) => (message.value as { sequence: number }).sequence);
        expect(sequences).toEqual(Array.from({ length: 20 }, (_, index) => index));
      }
      expect(received.every((message) => message.attempt === 1 && message.topic === name)).toBe(true);
    });

    it('shares a topic between the members of a group, keeps key order, and gives every group every message', { timeout: adapter.timeoutMs * 3 }, async () => {
      const bus = make();
      const other = adapter.oneProcess ? bus : make();
      const name = topic();
      const first: DeliveredMessage[] = [];
      const second: DeliveredMessage[] = [];
      const inspector: DeliveredMessage[] = [];
      await bus.subscribe(name, 'shared', async (message) => {
        first.push(message);
      });
      await other.subscribe(name, 'shared', async (message) => {
        second.push(message);
      });
      await bus.subscribe(name, 'inspector', async (message) => {
        inspector.push(message);
      });
      await sleep(adapter.settleMs);
      const keys = Array.from({ length: 16 }, (_, index) => `key-${index}`);
      for (let sequence = 0; sequence < 5; sequence += 1) {
        await bus.publish(name, keys.map((key) => ({ key, value: { key, sequence }, headers: { trace: `${key}/${sequence}` } })));
      }
      await waitFor(() => first.length + second.length >= 80 && inspector.length >= 80, adapter.timeoutMs, 'all deliveries');
      await sleep(200);
      const shared = [...first, ...second].map((message) => message.headers['trace']);
      expect(new Set(shared).size).toBe(80);
      expect(shared).toHaveLength(80);
      expect(first.length).toBeGreaterThan(0);
      expect(second.length).toBeGreaterThan(0);
      expect(inspector).toHaveLength(80);
      for (const member of [first, second]) {
        for (const key of keys) {
          const sequences = member.filter((message) => message.key === key).map((message) => (message.value as { sequence: number }).sequence);
          expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
        }
      }
    });

    it('redelivers a message whose handler failed, with a higher attempt', { timeout: adapter.timeoutMs * 2 }, async () => {
      const bus = make();
      const name = topic();
      const attempts: number[] = [];
      const done: string[] = [];
      await bus.subscribe(name, 'g', async (message) => {
        if ((message.value as { id: string }).id === 'flaky') {
          attempts.push(message.attempt);
          if (message.attempt === 1) throw new Error('transient failure');
        }
        done.push((message.value as { id: string }).id);
      });
      await sleep(adapter.settleMs);
      await bus.publish(name, [{ key: 'a', value: { id: 'flaky' } }, { key: 'a', value: { id: 'after' } }]);
      await waitFor(() => done.length >= 2, adapter.timeoutMs, 'both handled');
      expect(attempts).toEqual([1, 2]);
      expect(done).toEqual(['flaky', 'after']);
    });

    it('parks a poison message on <topic>.parked after the last attempt and goes on', { timeout: adapter.timeoutMs * 2 }, async () => {
      const bus = make();
      const name = topic();
      const attempts: number[] = [];
      const handled: string[] = [];
      const parked: DeliveredMessage[] = [];
      await bus.subscribe(parkedTopic(name), 'inspector', async (message) => {
        parked.push(message);
      });
      await bus.subscribe(name, 'g', async (message) => {
        const id = (message.value as { id: string }).id;
        if (id === 'poison') {
          attempts.push(message.attempt);
          throw new Error('cannot handle this');
        }
        handled.push(id);
      });
      await sleep(adapter.settleMs);
      await bus.publish(name, [{ key: 'p', value: { id: 'poison' }, headers: { origin: 'ticket-service' } }, { key: 'p', value: { id: 'healthy' } }]);
      await waitFor(() => parked.length === 1 && handled.length === 1, adapter.timeoutMs, 'parked and next handled');
      expect(attempts).toEqual([1, 2, 3]);
      expect(parked[0]?.value).toEqual({ id: 'poison' });
      expect(parked[0]?.key).toBe('p');
      expect(parked[0]?.headers['origin']).toBe('ticket-service');
      expect(handled).toEqual(['healthy']);
    });
  });
}

describe.skipIf(TEST_REDIS_URL === undefined)(`Redis Streams takeover${TEST_REDIS_URL === undefined ? ' (skipped: set TEST_REDIS_URL to run)' : ''}`, () => {
  it('a message read but never acknowledged by a member that died is claimed and redelivered to the next owner', async () => {
    const url = TEST_REDIS_URL ?? '';
    const raw = new Redis(url);
    const name = `takeover-${randomUUID()}`;
    const partitions = 2;
    const ns = `test:takeover:${randomUUID()}:`;
    try {
      for (let partition = 0; partition < partitions; partition += 1) await raw.xgroup('CREATE', `${ns}${name}:${partition}`, 'g', '$', 'MKSTREAM');
      const bus = createRedisStreamsBus({ url, namespace: ns, partitions, maxLen: 1_000, maxAttempts: MAX_ATTEMPTS, retryDelayMs: 10, leaseMs: 600, blockMs: 200, logger });
      opened.push(bus);
      await bus.publish(name, [{ key: 'order-1', value: { id: 'unacked' } }]);
      // A member that read the message and crashed before acknowledging it.
      const read = await raw.xreadgroup('GROUP', 'g', 'dead-member', 'COUNT', 10, 'STREAMS', `${ns}${name}:0`, `${ns}${name}:1`, '>', '>');
      expect(read).not.toBeNull();
      const received: DeliveredMessage[] = [];
      await bus.subscribe(name, 'g', async (message) => {
        received.push(message);
      });
      await waitFor(() => received.length === 1, 5_000, 'redelivery');
      expect(received[0]).toMatchObject({ value: { id: 'unacked' }, attempt: 2 });
      await waitFor(async () => {
        const pending = await Promise.all([0, 1].map((partition) => raw.xpending(`${ns}${name}:${partition}`, 'g') as Promise<[number, ...unknown[]]>));
        return pending.every((summary) => summary[0] === 0);
      }, 5_000, 'acknowledged');
    } finally {
      raw.disconnect();
    }
  });
});
