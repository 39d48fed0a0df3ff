import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Cache } from './cache.js';
import { createMemoryCache } from './memory.js';
import { createRedisCache } from './redis.js';

export * from './cache.js';
export { createMemoryCache } from './memory.js';
export { createRedisCache } from './redis.js';

export function createCache(config: Pick<Config, 'REDIS_URL' | 'CACHE_NAMESPACE' | 'REDIS_COMMAND_TIMEOUT_MS'>, logger?: Logger): Cache {
  if (config.REDIS_URL === undefined) return createMemoryCache();
  return createRedisCache(config.REDIS_URL, config.CACHE_NAMESPACE, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
}
