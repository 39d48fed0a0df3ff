import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedisClient } from '../redis/client.js';
import type { Cache } from './cache.js';

export interface RedisCacheOptions {
  /** A command not answered in this time fails (Redis stopped or frozen): reads degrade, nonces answer 503. */
  commandTimeoutMs?: number;
  logger?: Logger;
}

/** Redis cache; every key lives under `namespace` so a flush never touches other tenants of the server. */
export function createRedisCache(url: string, namespace = 'monitoring:', options: RedisCacheOptions = {}): Cache & { client: Redis } {
  // Connection errors surface through the failing commands and the health check, not as crashes.
  const client = createRedisClient(url, { role: 'cache', commandTimeoutMs: options.commandTimeoutMs ?? 1_000, logger: options.logger });
  const k = (key: string) => namespace + key;
  let hits = 0;
  let misses = 0;
  let closed = false;

  return {
    kind: 'redis',
    client,
    async get(key) {
      const value = await client.get(k(key));
      if (value === null) misses += 1;
      else hits += 1;
      return value;
    },
    async set(key, value, ttlMs) {
      await client.set(k(key), value, 'PX', ttlMs);
    },
    async setIfAbsent(key, value, ttlMs) {
      const result = await client.set(k(key), value, 'PX', ttlMs, 'NX');
      return result === 'OK';
    },
    async increment(key, ttlMs) {
      const [[incrError, count] = [null, 0]] = (await client.multi().incr(k(key)).pexpire(k(key), ttlMs, 'NX').exec()) ?? [];
      if (incrError !== null) throw incrError;
      return Number(count);
    },
    async delete(key) {
      await client.del(k(key));
    },
    async deletePrefix(prefix) {
      let removed = 0;
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${k(prefix)}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) removed += await client.del(...keys);
      } while (cursor !== '0');
      return removed;
    },
    async stats() {
      let keys = 0;
      let cursor = '0';
      do {
        const [next, found] = await client.scan(cursor, 'MATCH', `${namespace}*`, 'COUNT', 1000);
        cursor = next;
        keys += found.length;
      } while (cursor !== '0');
      return { kind: 'redis', hits, misses, keys };
    },
    async ping() {
      await client.ping();
    },
    async close() {
      if (closed) return;
      closed = true;
      await client.quit().catch(() => client.disconnect());
    },
  };
}
