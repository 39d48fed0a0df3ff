import { Type } from '@sinclair/typebox';
import type { Container } from '../container.js';
import type { App } from '../platform/http/types.js';
import { READ_CACHE_PREFIX } from './read-cache.js';

const ADMIN = { roles: ['admin'], services: true } as const;

/** Cache statistics and a flush of this service's cached reads (admins and signed services). */
export function cacheAdminRoutes(container: Container) {
  return async (app: App) => {
    app.get(
      '/cache/stats',
      {
        preHandler: container.auth.require(ADMIN),
        schema: {
          tags: ['cache'],
          summary: 'Hits, misses, hit rate and keys of this service cache namespace',
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
          summary: 'Drop every cached read (dashboards, SLA); nonces and rate-limit counters are kept',
          response: { 200: Type.Object({ flushed: Type.Integer(), prefix: Type.String() }) },
        },
      },
      async (request) => {
        const flushed = await container.cache.deletePrefix(READ_CACHE_PREFIX);
        request.log.info({ flushed }, 'read cache flushed');
        return { flushed, prefix: READ_CACHE_PREFIX };
      },
    );
  };
}
