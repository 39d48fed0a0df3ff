import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Cache } from '../cache/index.js';
import type { Clock } from '../clock.js';
import { createMemoryCounters, type LimitCounters } from './counters.js';
import { createRedisCounters } from './redis-counters.js';

export * from './counters.js';
export { createRedisCounters } from './redis-counters.js';

/** Shared counters on the cache's Redis connection when the cache is Redis, else per instance. */
export function createLimitCounters(cache: Cache, options: { namespace: string; clock: Clock; logger?: Logger }): LimitCounters {
  const client = 'client' in cache && cache.client instanceof Redis ? (cache.client as Redis) : undefined;
  if (client !== undefined) return createRedisCounters({ client, namespace: options.namespace, clock: options.clock, logger: options.logger });
  return createMemoryCounters(options.clock);
}
