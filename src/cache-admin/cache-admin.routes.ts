import { Type } from '@sinclair/typebox';
import { principalOf } from '../auth/index.js';
import type { Container } from '../container.js';
import { ForbiddenError } from '../errors.js';
import type { App } from '../platform/http/types.js';
import { READ_CACHE_PREFIX, tenantReadPrefix } from './read-cache.js';

const ADMIN = { roles: ['admin'], services: true } as const;
/** The whole cache is the platform's: its admins (SYSTEM_TENANT_ID) and signed services only. */
const PLATFORM_ADMIN = { ...ADMIN, platform: true } as const;

/**
 * Cache statistics (platform-wide) and a flush of cached reads: a tenant's admin flushes the
 * tenant's own reads; `?scope=all` (every tenant's reads) is for the platform only.
 */
export function cacheAdminRoutes(container: Container) {
  return async (app: App) => {
    app.get(
      '/cache/stats',
      {
        preHandler: container.auth.require(PLATFORM_ADMIN),
        schema: {
          tags: ['cache'],
          summary: "Hits, misses, hit rate and keys of this service's cache namespace (platform tenant's admins and signed services)",
          response: {
            200: Type.Object({
              kind: Type.Union([Type.Literal('memory'), Type.Literal('redis')]),
              hits: Type.Integer(),
              misses: Type.Integer(),
              hit_rate: Type.Union([Type.Number(), Type.Null()]),
              keys: Type.Integer(),
            }),
          },
        },
      },
      async () => {
        const stats = await container.cache.stats();
        const lookups = stats.hits + stats.misses;
        return { ...stats, hit_rate: lookups === 0 ? null : Math.round((stats.hits / lookups) * 10_000) / 10_000 };
      },
    );

    app.delete(
      '/cache/flush',
      {
        preHandler: container.auth.require(ADMIN),
        schema: {
          tags: ['cache'],
          summary: "Drop the caller tenant's cached reads (dashboards, SLA), or with scope=all every tenant's (platform only); nonces and rate-limit counters are kept",
          querystring: Type.Object({ scope: Type.Union([Type.Literal('tenant'), Type.Literal('all')], { default: 'tenant' }) }),
          response: { 200: Type.Object({ flushed: Type.Integer(), scope: Type.Union([Type.Literal('tenant'), Type.Literal('all')]), prefix: Type.String() }) },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const scope = request.query.scope;
        if (scope === 'all' && !container.auth.isPlatform(principal)) throw new ForbiddenError("Flushing every tenant's reads is a platform-wide operation: only the platform tenant or a signed service may do it", { scope: 'platform' });
        const prefix = scope === 'all' ? READ_CACHE_PREFIX : tenantReadPrefix(principal.tenantId);
        const flushed = await container.cache.deletePrefix(prefix);
        request.log.info({ flushed, scope, tenantId: principal.tenantId }, 'read cache flushed');
        return { flushed, scope, prefix };
      },
    );
  };
}
