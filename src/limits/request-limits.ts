import type { FastifyRequest } from 'fastify';
import { createIpAllowlist } from '../auth/index.js';
import { installRequestLimits } from '../platform/http/rate-limit.js';
import type { App } from '../platform/http/types.js';
import { requestKey, type TenantLimits } from './tenant-limits.js';

/** Kubernetes probes must answer while a client floods the service. */
const PROBES = new Set(['/health/live', '/health/ready']);

export interface RequestLimitsDeps {
  limits: TenantLimits;
  windowMs: number;
  concurrentPerTenant: number;
  queuedPerTenant: number;
  /** PROMETHEUS_ALLOWED_IPS: scrapes from these addresses are not counted. */
  scrapeAllowedIps: readonly string[];
  /** The tenant of a valid bearer token, read before the body (Authenticator.bearerTenant). */
  bearerTenant(request: FastifyRequest): Promise<string | undefined>;
}

/** Request rate per client IP (every request) and per tenant (authenticated requests). */
export async function requestLimits(app: App, deps: RequestLimitsDeps): Promise<void> {
  const { limits } = deps;
  const scraper = createIpAllowlist(deps.scrapeAllowedIps);
  const exempt = (request: FastifyRequest): boolean => {
    const route = request.routeOptions.url;
    if (route === undefined) return false;
    return PROBES.has(route) || (route === '/metrics' && scraper(request.ip));
  };
  await installRequestLimits(app, {
    counters: limits.counters,
    windowMs: deps.windowMs,
    perIp: limits.value('requests_per_ip'),
    perTenant: limits.value('requests'),
    concurrentPerTenant: deps.concurrentPerTenant,
    queuedPerTenant: deps.queuedPerTenant,
    keys: { ip: requestKey.ip, tenant: requestKey.tenant },
    exempt,
    seen: (tenantId) => limits.seen(tenantId),
    earlyTenant: (request) => deps.bearerTenant(request),
    refuse: ({ tenantId, limit, max, retryAfterSeconds }) =>
      limits.refuse(
        tenantId,
        limit,
        limit === 'requests'
          ? `More than ${max} requests of this tenant in ${deps.windowMs / 1000} s; retry in ${retryAfterSeconds} s`
          : `More than ${max} requests from this address in ${deps.windowMs / 1000} s; retry in ${retryAfterSeconds} s`,
        { current: max, retryAfterSeconds, windowMs: deps.windowMs },
      ),
  });
}
