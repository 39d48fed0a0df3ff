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

/** Read-through helper with an explicit TTL; values are JSON. */
export async function cached<T>(cache: Cache, key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
  const hit = await cache.get(key);
  if (hit !== null) return JSON.parse(hit) as T;
  const value = await load();
  await cache.set(key, JSON.stringify(value), ttlMs);
  return value;
}
