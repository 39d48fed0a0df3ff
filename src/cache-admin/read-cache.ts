import { cached, type Cache } from '../platform/cache/index.js';

/**
 * Prefix of every cached read (dashboards, SLA). DELETE /cache/flush removes only these keys:
 * nonces and rate-limit counters share the namespace and must survive a flush (replay protection).
 * Every key goes on with the tenant id, so a tenant's flush removes its own reads and no other's.
 */
export const READ_CACHE_PREFIX = 'view:';

/** Prefix of one tenant's cached reads. */
export const tenantReadPrefix = (tenantId: string): string => `${READ_CACHE_PREFIX}${encodeURIComponent(tenantId)}:`;

/** Explicit TTLs, one per kind of read, chosen against how fast the underlying data moves. */
export const READ_TTL_MS = {
  overview: 15_000,
  performance: 30_000,
  business: 60_000,
  sla: 60_000,
  incidents: 10_000,
} as const;

type KeyParts = ReadonlyArray<string | number | null | undefined>;

const keyOf = (tenantId: string, parts: KeyParts): string =>
  tenantReadPrefix(tenantId) + parts.map((part) => (part === null || part === undefined ? '-' : encodeURIComponent(String(part)))).join(':');

/** The tenant's read named by `parts`, from the cache or loaded and kept for `ttlMs`. */
export function readThrough<T>(cache: Cache, tenantId: string, parts: KeyParts, ttlMs: number, load: () => Promise<T>): Promise<T> {
  return cached(cache, keyOf(tenantId, parts), ttlMs, load);
}

/**
 * Drops one cached read (after a write that changes it). The write has committed: an unreachable
 * cache must not fail it, and the stale entry lives at most its TTL.
 */
export async function forgetRead(cache: Cache, tenantId: string, parts: KeyParts): Promise<void> {
  await cache.delete(keyOf(tenantId, parts)).catch(() => undefined);
}
