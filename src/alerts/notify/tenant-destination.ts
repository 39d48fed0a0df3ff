import type { Config } from '../../config.js';
import { checkTenantDestination } from '../../platform/http/destination-guard.js';
import type { DeliveryOutcome } from './outcome.js';

/**
 * A tenant's webhook or Slack incoming-webhook URL is called only when it leads outside the
 * platform's network; the platform tenant's receivers (set by its operators) are trusted. Returns
 * the outcome of a refused attempt, or undefined when the call may go ahead.
 */
export async function refusedTenantDestination(config: Pick<Config, 'SYSTEM_TENANT_ID' | 'RECEIVER_ALLOW_PRIVATE_NETWORKS'>, tenantId: string, url: string): Promise<DeliveryOutcome | undefined> {
  if (config.RECEIVER_ALLOW_PRIVATE_NETWORKS || tenantId === config.SYSTEM_TENANT_ID) return undefined;
  const check = await checkTenantDestination(url);
  if (check.allowed) return undefined;
  return check.permanent ? { status: 'failed', error: check.reason } : { status: 'retryable', error: check.reason };
}
