import type { Tx } from '../platform/db/index.js';
import { lockKey } from '../platform/db/locks.js';
import type { LimitName, TenantLimits } from './tenant-limits.js';

/**
 * Refuses (429 RATE_LIMITED, details {limit, value, current}) when adding `adding` to the tenant's
 * count would pass the limit. Call it in the transaction that inserts: concurrent creates of one
 * tenant wait for each other here, so two cannot both take the last place.
 */
export async function assertWithinQuota(
  tx: Tx,
  limits: TenantLimits,
  quota: { limit: LimitName; tenantId: string; what: string; count: () => Promise<number>; adding?: number },
): Promise<void> {
  const adding = quota.adding ?? 1;
  await lockKey(tx, `limit:${quota.limit}:${quota.tenantId}`);
  const current = await quota.count();
  const value = limits.value(quota.limit);
  if (current + adding <= value) return;
  throw limits.refuse(quota.tenantId, quota.limit, `The tenant has ${current} ${quota.what}, at most ${value} are allowed (delete some first)`, { current, requested: adding });
}
