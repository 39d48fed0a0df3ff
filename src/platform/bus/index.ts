import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { busKind, type Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import type { Bus } from './bus.js';
import { countUndecodable, createBusMetrics, instrumentBus } from './bus.metrics.js';
import { createKafkaBus } from './kafka.js';
import { createMemoryBus } from './memory.js';
import { withOrigin } from './origin.js';
import { createRedisStreamsBus } from './redis-streams.js';
import { withRetryQueue } from './retry-queue.js';

export * from './bus.js';
export { createMemoryBus } from './memory.js';
export { createRedisStreamsBus } from './redis-streams.js';
export { createKafkaBus } from './kafka.js';
export { withRetryQueue, type RetryingBus } from './retry-queue.js';
export { countUndecodable, createBusMetrics, instrumentBus, type BusMetrics } from './bus.metrics.js';
export { decodeDelivery, type Decoded, type RawDelivery, type UndecodableDelivery, type UndecodableReason } from './decode.js';
export { ORIGIN_HEADER, originOf, withOrigin } from './origin.js';

/**
 * The bus chosen by BUS (default: kafka when KAFKA_BROKERS is set, else in-process), counted
 * on the registry, behind a bounded retry queue when a broker can be unreachable, and stamped
 * with this service's name as origin.
 */
export function createBus(config: Config, deps: { registry: Registry; logger: Logger }): Bus {
  const kind = busKind(config);
  const logger = deps.logger.child({ component: 'bus', bus: kind });
  // The metrics come first so the adapters can count what they park undecoded; lag is read later.
  let adapter: Bus | undefined;
  const metrics = createBusMetrics(deps.registry, kind === 'memory' ? undefined : () => adapter?.lag?.() ?? Promise.resolve([]));
  const onUndecodable = countUndecodable(metrics);
  if (kind === 'redis') {
    if (config.REDIS_URL === undefined) throw new ConfigError(['BUS: BUS=redis needs REDIS_URL']);
    adapter = createRedisStreamsBus({
      url: config.REDIS_URL,
      partitions: config.BUS_REDIS_PARTITIONS,
      maxLen: config.BUS_REDIS_MAXLEN,
      maxAttempts: config.BUS_MAX_ATTEMPTS,
      retryDelayMs: config.BUS_RETRY_DELAY_MS,
      commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
      logger,
      onUndecodable,
    });
  } else if (kind === 'kafka') {
    if (config.KAFKA_BROKERS.length === 0) throw new ConfigError(['BUS: BUS=kafka needs KAFKA_BROKERS']);
    adapter = createKafkaBus({ brokers: config.KAFKA_BROKERS, maxAttempts: config.BUS_MAX_ATTEMPTS, retryDelayMs: config.BUS_RETRY_DELAY_MS, logger, onUndecodable });
  } else {
    adapter = createMemoryBus({ maxAttempts: config.BUS_MAX_ATTEMPTS });
  }
  let bus = instrumentBus(adapter, metrics, config.BUS_MAX_ATTEMPTS);
  if (kind !== 'memory') bus = withRetryQueue(bus, { maxQueued: config.BUS_RETRY_QUEUE_MAX, initialDelayMs: config.BUS_RETRY_INTERVAL_MS, logger, metrics });
  return withOrigin(bus, config.SERVICE_NAME);
}
