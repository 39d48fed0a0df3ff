import type { Clock } from '../clock.js';

/** A fixed-window hit counter (request rates): how many hits a key has in its current window. */
export interface WindowCount {
  count: number;
  /** Milliseconds until the window of the key ends (0 when it has no window). */
  resetMs: number;
}

/**
 * A token bucket per key (sample rates): `capacity` tokens, refilled at `ratePerSecond`.
 * `take` removes `amount` tokens only if all are there.
 */
export interface BucketTake {
  allowed: boolean;
  /** Tokens left after the take (or before it, when refused). */
  available: number;
  /** When refused: milliseconds until `amount` tokens are there. */
  retryAfterMs: number;
}

export interface BucketSpec {
  ratePerSecond: number;
  capacity: number;
}

/** The counters behind the tenant limits: in memory (one instance) or in Redis (the cluster). */
export interface LimitCounters {
  readonly shared: boolean;
  hit(key: string, windowMs: number): Promise<WindowCount>;
  /** The counts of keys without hitting them (usage views). */
  peek(keys: readonly string[], windowMs: number): Promise<WindowCount[]>;
  take(key: string, amount: number, bucket: BucketSpec): Promise<BucketTake>;
  /** Tokens available in each key's bucket now, without taking any. */
  available(keys: readonly string[], bucket: BucketSpec): Promise<number[]>;
}

interface Window {
  count: number;
  endsAt: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Most keys an in-memory counter holds; the least recently used go first (their count restarts). */
const DEFAULT_MAX_KEYS = 50_000;

/** Per-instance counters, bounded in keys. */
export function createMemoryCounters(clock: Clock, maxKeys = DEFAULT_MAX_KEYS): LimitCounters {
  const windows = new Map<string, Window>();
  const buckets = new Map<string, Bucket>();
  const touch = <T>(map: Map<string, T>, key: string, value: T) => {
    map.delete(key);
    map.set(key, value);
    if (map.size > maxKeys) {
      const oldest = map.keys().next();
      if (oldest.done !== true) map.delete(oldest.value);
    }
  };
  const windowOf = (key: string, now: number): Window | undefined => {
    const window = windows.get(key);
    return window !== undefined && window.endsAt > now ? window : undefined;
  };
  const level = (key: string, bucket: BucketSpec, now: number): number => {
    const state = buckets.get(key);
    if (state === undefined) return bucket.capacity;
    return Math.min(bucket.capacity, state.tokens + ((now - state.at) / 1000) * bucket.ratePerSecond);
  };

  return {
    shared: false,
    async hit(key, windowMs) {
      const now = clock.nowMs();
      const window = windowOf(key, now) ?? { count: 0, endsAt: now + windowMs };
      window.count += 1;
      touch(windows, key, window);
      return { count: window.count, resetMs: window.endsAt - now };
    },
    async peek(keys) {
      const now = clock.nowMs();
      return keys.map((key) => {
        const window = windowOf(key, now);
        return window === undefined ? { count: 0, resetMs: 0 } : { count: window.count, resetMs: window.endsAt - now };
      });
    },
    async take(key, amount, bucket) {
      const now = clock.nowMs();
      const tokens = level(key, bucket, now);
      if (tokens < amount) {
        return { allowed: false, available: Math.floor(tokens), retryAfterMs: Math.ceil(((amount - tokens) / bucket.ratePerSecond) * 1000) };
      }
      touch(buckets, key, { tokens: tokens - amount, at: now });
      return { allowed: true, available: Math.floor(tokens - amount), retryAfterMs: 0 };
    },
    async available(keys, bucket) {
      const now = clock.nowMs();
      return keys.map((key) => Math.floor(level(key, bucket, now)));
    },
  };
}
