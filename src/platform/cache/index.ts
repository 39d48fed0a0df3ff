import type { Config } from '../../config.js';
import type { Cache } from './cache.js';
import { createMemoryCache } from './memory.js';
import { createRedisCache } from './redis.js';

export * from './cache.js';
export { createMemoryCache } from './memory.js';
export { createRedisCache } from './redis.js';

export function createCache(config: Pick<Config, 'REDIS_URL' | 'CACHE_NAMESPACE'>): Cache {
  return config.REDIS_URL === undefined ? createMemoryCache() : createRedisCache(config.REDIS_URL, config.CACHE_NAMESPACE);
}
