import { cached, type Cache } from '../platform/cache/index.js';

/**
 * Prefix of every cached read (dashboards, SLA). DELETE /cache/flush removes only these keys:
 * nonces and rate-limit counters share the namespace and must survive a flush (replay protection).
 */
export const READ_CACHE_PREFIX = 'view:';

/** Explicit TTLs, one per kind of read, chosen against how fast the underlying data moves. */
export const READ_TTL_MS = {
  overview: 15_000,
  performance: 30_000,
  business: 60_000,
  sla: 60_000,
  incidents: 10_000,
} as const;

const keyOf = (parts: ReadonlyArray<string | number | null | undefined>): string =>
  READ_CACHE_PREFIX + parts.map((part) => (part === null || part === undefined ? '-' : encodeURIComponent(String(part)))).join(':');

export function readThrough<T>(cache: Cache, parts: ReadonlyArray<string | number | null | undefined>, ttlMs: number, load: () => Promise<T>): Promise<T> {
  return cached(cache, keyOf(parts), ttlMs, load);
}

/**
 * Drops one cached read (after a write that changes it). The write has committed: an unreachable
 * cache must not fail it, and the stale entry lives at most its TTL.
 */
export async function forgetRead(cache: Cache, parts: ReadonlyArray<string | number | null | undefined>): Promise<void> {
  await cache.delete(keyOf(parts)).catch(() => undefined);
}
