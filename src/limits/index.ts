/** The tenant limits: values, refusals, usage (API and /metrics), request rates. */
export { COUNT_LIMIT_RETRY_AFTER_SECONDS, createTenantLimits, LIMIT_NAMES, limitValues, samplesKey, type LimitName, type LimitScope, type LimitView, type RefusalDetails, type TenantLimits, type UsageReader } from './tenant-limits.js';
export { requestLimits } from './request-limits.js';
export { limitsRoutes } from './limits.routes.js';
export { assertWithinQuota } from './quota.js';
