import { randomUUID } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createBusMetrics, createKafkaBus, createRedisStreamsBus, instrumentBus, withRetryQueue, type DeliveredMessage } from '../../../src/platform/bus/index.js';
import { TEST_REDIS_URL } from '../../support/env.js';
import { unusedPort } from '../../support/health.js';
import { waitFor } from '../../support/ws.js';

const logger = pino({ level: 'silent' });
const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

const valueOf = async (registry: Registry, name: string, labels: Record<string, string> = {}) => {
  const metric = await registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected)).reduce((sum, value) => sum + value.value, 0);
};

describe('publishing while the broker is unreachable', () => {
  it('Kafka: keeps publishes in a bounded queue, retries them, and counts what a full queue drops', async () => {
    const registry = new Registry();
    const metrics = createBusMetrics(registry, undefined);
    const kafka = createKafkaBus({ brokers: [`127.0.0.1:${await unusedPort()}`], maxAttempts: 3, retryDelayMs: 10, logger, connectionTimeoutMs: 200, retry: { retries: 1, initialRetryTime: 20, maxRetryTime: 50 } });
    const bus = withRetryQueue(instrumentBus(kafka, metrics, 3), { maxQueued: 3, initialDelayMs: 50, flushTimeoutMs: 300, logger, metrics });

    await bus.publish('alerts-stream', [{ key: 'a', value: { n: 1 } }, { key: 'a', value: { n: 2 } }], { acks: 'all' });
    expect(bus.queued()).toBe(2);
    expect(await valueOf(registry, 'monitoring_bus_publish_failures_total', { topic: 'alerts-stream' })).toBe(1);
    expect(await valueOf(registry, 'monitoring_bus_retry_queue_depth')).toBe(2);

    await expect(bus.publish('fraud-events', [{ value: { n: 3 } }, { value: { n: 4 } }], { acks: 'all' })).rejects.toThrow(/retry queue full: 1 message/);
    expect(bus.queued()).toBe(3);
    expect(await valueOf(registry, 'monitoring_bus_retry_queue_dropped_total', { topic: 'fraud-events' })).toBe(1);

    // The queue keeps retrying in the background.
    await waitFor(async () => (await valueOf(registry, 'monitoring_bus_publish_failures_total')) >= 3, 10_000, 'retries');
    expect(await valueOf(registry, 'monitoring_bus_messages_published_total')).toBe(0);

    // Stopping with the broker still away drops what is queued, counted by topic.
    await bus.close();
    expect(await valueOf(registry, 'monitoring_bus_retry_queue_dropped_total', { topic: 'alerts-stream' })).toBe(2);
    expect(await valueOf(registry, 'monitoring_bus_retry_queue_dropped_total', { topic: 'fraud-events' })).toBe(2);
    expect(await valueOf(registry, 'monitoring_bus_retry_queue_depth')).toBe(0);
  });

  describe.skipIf(TEST_REDIS_URL === undefined)(`Redis Streams broker outage${TEST_REDIS_URL === undefined ? ' (skipped: set TEST_REDIS_URL to run)' : ''}`, () => {
    it('delivers what was queued, in order, once the broker is back', async () => {
      const target = new URL(TEST_REDIS_URL ?? '');
      const port = await unusedPort();
      const namespace = `test:outage:${randomUUID()}:`;
      const registry = new Registry();
      const metrics = createBusMetrics(registry, undefined);
      const consumer = createRedisStreamsBus({ url: TEST_REDIS_URL ?? '', namespace, partitions: 2, maxLen: 1_000, maxAttempts: 3, retryDelayMs: 10, leaseMs: 600, blockMs: 200, logger });
      cleanup.push(() => consumer.close());
      const received: DeliveredMessage[] = [];
      await consumer.subscribe('outage', 'g', async (message) => {
        received.push(message);
      });

      // The producer reaches Redis through a proxy that is down at first.
      const producer = createRedisStreamsBus({ url: `redis://127.0.0.1:${port}${target.pathname}`, namespace, partitions: 2, maxLen: 1_000, maxAttempts: 3, retryDelayMs: 10, logger });
      const bus = withRetryQueue(instrumentBus(producer, metrics, 3), { maxQueued: 100, initialDelayMs: 100, logger, metrics });
      cleanup.push(() => bus.close());
      await bus.publish('outage', [{ key: 'k', value: { n: 1 } }]);
      await bus.publish('outage', [{ key: 'k', value: { n: 2 } }]);
      expect(bus.queued()).toBe(2);

      const sockets = new Set<Socket>();
      const proxy: Server = createServer((client) => {
        const upstream = tcpConnect(Number(target.port || 6379), target.hostname);
        sockets.add(client).add(upstream);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
      cleanup.push(async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise((resolve) => proxy.close(resolve));
      });

      await waitFor(() => received.length === 2, 15_000, 'queued messages delivered');
      expect(received.map((message) => message.value)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(bus.queued()).toBe(0);
      expect(await valueOf(registry, 'monitoring_bus_messages_published_total')).toBe(2);
      expect(await valueOf(registry, 'monitoring_bus_retry_queue_dropped_total')).toBe(0);
    });
  });
});
