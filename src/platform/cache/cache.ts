/** The cache port: TTL'd keys, set-if-absent (nonces), counters (rate limits). */
export interface CacheStats {
  kind: 'memory' | 'redis';
  hits: number;
  misses: number;
  keys: number;
}

export interface Cache {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Stores the key only if it is absent; true when stored. Used for one-time nonces. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Increments a counter, starting its TTL on first increment. */
  increment(key: string, ttlMs: number): Promise<number>;
  delete(key: string): Promise<void>;
  /** Deletes every key under the prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  stats(): Promise<CacheStats>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const loading = new WeakMap<Cache, Map<string, Promise<unknown>>>();

/** Reads skipped or not stored because the cache failed (Redis down or frozen); reads went to the source. */
let degradedReads = 0;
export const cacheDegradedReads = (): number => degradedReads;

/** A cache that fails is a miss: the read goes to the source instead of failing the request. */
async function getOrMiss(cache: Cache, key: string): Promise<string | null> {
  try {
    return await cache.get(key);
  } catch {
    degradedReads += 1;
    return null;
  }
}

/**
 * Read-through helper with an explicit TTL; values are JSON. Concurrent misses of one key in this
 * process share one load, so an expired entry behind a slow query is recomputed once, not once per
 * waiting request. An unreachable cache degrades to uncached reads (counted), never to an error.
 */
export async function cached<T>(cache: Cache, key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
  const hit = await getOrMiss(cache, key);
  if (hit !== null) return JSON.parse(hit) as T;
  const loads = loading.get(cache) ?? new Map<string, Promise<unknown>>();
  loading.set(cache, loads);
  const pending = loads.get(key);
  if (pending !== undefined) return pending as Promise<T>;
  const fresh = (async () => {
    const value = await load();
    await cache.set(key, JSON.stringify(value), ttlMs).catch(() => {
      degradedReads += 1;
    });
    return value;
  })().finally(() => loads.delete(key));
  loads.set(key, fresh);
  return fresh;
}
