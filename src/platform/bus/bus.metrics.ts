import { Counter, Gauge, type Registry } from 'prom-client';
import type { Bus, ConsumerLag } from './bus.js';
import type { UndecodableDelivery } from './decode.js';

/** Bus figures on /metrics: what was published, what failed, what waits for the broker, what lags. */
export function createBusMetrics(registry: Registry, lag: (() => Promise<ConsumerLag[]>) | undefined) {
  return {
    published: new Counter({ name: 'monitoring_bus_messages_published_total', help: 'Messages accepted by the bus, by topic', labelNames: ['topic'], registers: [registry] }),
    publishFailures: new Counter({ name: 'monitoring_bus_publish_failures_total', help: 'Publish attempts the broker did not accept, by topic', labelNames: ['topic'], registers: [registry] }),
    retryQueueDepth: new Gauge({ name: 'monitoring_bus_retry_queue_depth', help: 'Messages waiting in memory for the broker to come back', registers: [registry] }),
    retryQueueDropped: new Counter({ name: 'monitoring_bus_retry_queue_dropped_total', help: 'Messages dropped because the retry queue was full or the process stopped, by topic', labelNames: ['topic'], registers: [registry] }),
    consumed: new Counter({
      name: 'monitoring_bus_messages_consumed_total',
      help: 'Deliveries handled by consumers, by topic, group and outcome (ok, failed, parked)',
      labelNames: ['topic', 'group', 'outcome'],
      registers: [registry],
    }),
    undecodable: new Counter({
      name: 'monitoring_bus_messages_undecodable_total',
      help: 'Deliveries parked without reaching a handler because they could not be decoded (value absent, not UTF-8 or not JSON; headers not a JSON object of strings), by topic, group and reason',
      labelNames: ['topic', 'group', 'reason'],
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'monitoring_bus_consumer_lag',
      help: 'Messages not yet delivered to a consumer group (absent where the broker does not report it)',
      labelNames: ['topic', 'group'],
      registers: [registry],
      async collect() {
        if (lag === undefined) return;
        this.reset();
        try {
          for (const entry of await lag()) this.set({ topic: entry.topic, group: entry.group }, entry.lag);
        } catch {
          // Unknown lag stays absent rather than reported as zero.
        }
      },
    }),
  };
}

export type BusMetrics = ReturnType<typeof createBusMetrics>;

/** The adapters' `onUndecodable`: counts a delivery parked without reaching a handler. */
export const countUndecodable =
  (metrics: BusMetrics) =>
  ({ topic, group, reason }: UndecodableDelivery): void => {
    metrics.undecodable.inc({ topic, group, reason });
  };

/** Counts publishes and handler outcomes of any adapter. */
export function instrumentBus(bus: Bus, metrics: BusMetrics, maxAttempts: number): Bus {
  return {
    kind: bus.kind,
    lag: bus.lag,
    async publish(topic, messages, options) {
      try {
        await bus.publish(topic, messages, options);
        metrics.published.inc({ topic }, messages.length);
      } catch (error) {
        metrics.publishFailures.inc({ topic });
        throw error;
      }
    },
    subscribe(topic, group, handler) {
      return bus.subscribe(topic, group, async (message) => {
        try {
          await handler(message);
          metrics.consumed.inc({ topic, group, outcome: 'ok' });
        } catch (error) {
          metrics.consumed.inc({ topic, group, outcome: message.attempt >= maxAttempts ? 'parked' : 'failed' });
          throw error;
        }
      });
    },
    close: () => bus.close(),
  };
}
