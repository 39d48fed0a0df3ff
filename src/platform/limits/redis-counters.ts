import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import { createMemoryCounters, type BucketSpec, type LimitCounters } from './counters.js';

/** INCR with the window set on the first hit; answers [count, ms left]. */
const HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

/** Token bucket on Redis time (one clock for the cluster); answers [allowed, tokens, retry ms]. */
const TAKE = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = capacity
if state[1] then
  tokens = math.min(capacity, tonumber(state[1]) + (now - tonumber(state[2])) / 1000 * rate)
end
if tokens < amount then
  return {0, math.floor(tokens), math.ceil((amount - tokens) / rate * 1000)}
end
tokens = tokens - amount
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {1, math.floor(tokens), 0}`;

/** After a failed command the counters stay local this long, so an outage costs no command timeouts. */
const DEGRADED_MS = 5_000;

const asNumber = (value: unknown): number => (typeof value === 'number' ? value : Number(value ?? 0));

/**
 * Counters shared by every instance through Redis (keys under `namespace`). When Redis is not
 * connected, or a command failed in the last few seconds, each instance counts on its own: an
 * outage weakens the limits to per instance, it never fails or slows requests.
 */
export function createRedisCounters(options: { client: Redis; namespace: string; clock: Clock; logger?: Logger }): LimitCounters {
  const { client } = options;
  const local = createMemoryCounters(options.clock);
  const key = (name: string) => `${options.namespace}limits:${name}`;
  let degradedUntil = 0;
  const usable = () => client.status === 'ready' && Date.now() >= degradedUntil;
  const shared = async <T>(work: () => Promise<T>, fallback: () => Promise<T>): Promise<T> => {
    if (!usable()) return fallback();
    try {
      return await work();
    } catch (error) {
      if (Date.now() >= degradedUntil) options.logger?.warn({ err: error }, 'limit counters unavailable in Redis; counting per instance for a while');
      degradedUntil = Date.now() + DEGRADED_MS;
      return fallback();
    }
  };

  return {
    shared: true,
    hit: (name, windowMs) =>
      shared(
        async () => {
          const [count, ttl] = (await client.eval(HIT, 1, key(name), windowMs)) as unknown[];
          return { count: asNumber(count), resetMs: asNumber(ttl) };
        },
        () => local.hit(name, windowMs),
      ),
    peek: (names, windowMs) =>
      shared(
        async () => {
          if (names.length === 0) return [];
          const pipeline = client.pipeline();
          for (const name of names) pipeline.get(key(name)).pttl(key(name));
          const results = (await pipeline.exec()) ?? [];
          return names.map((_, index) => {
            const [countError, count] = results[index * 2] ?? [null, null];
            const [ttlError, ttl] = results[index * 2 + 1] ?? [null, -2];
            const failure = countError ?? ttlError;
            if (failure !== null) throw failure;
            return { count: asNumber(count), resetMs: Math.max(0, asNumber(ttl)) };
          });
        },
        () => local.peek(names, windowMs),
      ),
    take: (name, amount, bucket) =>
      shared(
        async () => {
          const [allowed, available, retryAfterMs] = (await client.eval(TAKE, 1, key(name), bucket.capacity, bucket.ratePerSecond, amount)) as unknown[];
          return { allowed: asNumber(allowed) === 1, available: asNumber(available), retryAfterMs: asNumber(retryAfterMs) };
        },
        () => local.take(name, amount, bucket),
      ),
    available: (names, bucket: BucketSpec) =>
      shared(
        async () => {
          if (names.length === 0) return [];
          const pipeline = client.pipeline().time();
          for (const name of names) pipeline.hmget(key(name), 'tokens', 'at');
          const results = (await pipeline.exec()) ?? [];
          const [timeError, time] = results[0] ?? [null, null];
          if (timeError !== null || !Array.isArray(time)) throw timeError ?? new Error('TIME failed');
          const now = asNumber(time[0]) * 1000 + Math.floor(asNumber(time[1]) / 1000);
          return names.map((_, index) => {
            const [error, state] = results[index + 1] ?? [null, null];
            if (error !== null) throw error;
            const [tokens, at] = (Array.isArray(state) ? state : []) as unknown[];
            if (tokens === null || tokens === undefined) return bucket.capacity;
            return Math.floor(Math.min(bucket.capacity, asNumber(tokens) + ((now - asNumber(at)) / 1000) * bucket.ratePerSecond));
          });
        },
        () => local.available(names, bucket),
      ),
  };
}
