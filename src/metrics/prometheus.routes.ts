import type { Container } from '../container.js';
import type { App } from '../platform/http/types.js';

/** Prometheus scrape endpoint behind the IP allowlist and optional Basic auth. */
export function prometheusRoutes(container: Container) {
  return async (app: App) => {
    app.get(
      '/metrics',
      {
        schema: { tags: ['metrics'], summary: 'Prometheus text format 0.0.4 (IP allowlist, optional Basic auth)', hide: false },
        preHandler: async (request, reply) => {
          try {
            container.metricsGuard({ ip: request.ip, authorization: request.headers.authorization });
          } catch (error) {
            void reply.header('www-authenticate', 'Basic realm="metrics", charset="UTF-8"');
            throw error;
          }
        },
      },
      async (_request, reply) => {
        const body = await container.registry.metrics();
        return reply.type(container.registry.contentType).send(body);
      },
    );
  };
}
