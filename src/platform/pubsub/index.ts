import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { createMemoryPubSub } from './memory.js';
import type { PubSub } from './pubsub.js';
import { createRedisPubSub } from './redis.js';

export * from './pubsub.js';
export { createMemoryPubSub } from './memory.js';
export { createRedisPubSub } from './redis.js';

/**
 * Redis when REDIS_URL is set (instances reach each other), else in-process. Redis channels
 * ignore the database number, so the namespace carries it: deployments on different databases
 * of one server stay apart.
 */
export function createPubSub(config: Pick<Config, 'REDIS_URL' | 'REDIS_COMMAND_TIMEOUT_MS'>, logger?: Logger): PubSub {
  if (config.REDIS_URL === undefined) return createMemoryPubSub();
  const database = new URL(config.REDIS_URL).pathname.replace(/^\//, '') || '0';
  return createRedisPubSub(config.REDIS_URL, `monitoring:db${database}:`, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, logger });
}
