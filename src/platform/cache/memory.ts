import type { Cache } from './cache.js';

interface Entry {
  value: string;
  expiresAt: number;
}

/** In-process cache with TTLs and a size bound (oldest entries go first). */
export function createMemoryCache(options: { maxEntries?: number; now?: () => number } = {}): Cache {
  const maxEntries = options.maxEntries ?? 100_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let hits = 0;
  let misses = 0;

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  const store = (key: string, value: string, ttlMs: number) => {
    entries.delete(key);
    entries.set(key, { value, expiresAt: now() + ttlMs });
    while (entries.size > maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done === true) break;
      entries.delete(oldest.value);
    }
  };

  return {
    kind: 'memory',
    async get(key) {
      const entry = live(key);
      if (entry === undefined) misses += 1;
      else hits += 1;
      return entry?.value ?? null;
    },
    async set(key, value, ttlMs) {
      store(key, value, ttlMs);
    },
    async setIfAbsent(key, value, ttlMs) {
      if (live(key) !== undefined) return false;
      store(key, value, ttlMs);
      return true;
    },
    async increment(key, ttlMs) {
      const entry = live(key);
      if (entry === undefined) {
        store(key, '1', ttlMs);
        return 1;
      }
      const next = Number(entry.value) + 1;
      entry.value = String(next);
      return next;
    },
    async delete(key) {
      entries.delete(key);
    },
    async deletePrefix(prefix) {
      let removed = 0;
      for (const key of [...entries.keys()]) {
        if (key.startsWith(prefix)) {
          entries.delete(key);
          removed += 1;
        }
      }
      return removed;
    },
    async stats() {
      for (const key of [...entries.keys()]) live(key);
      return { kind: 'memory', hits, misses, keys: entries.size };
    },
    async ping() {},
    async close() {
      entries.clear();
    },
  };
}
