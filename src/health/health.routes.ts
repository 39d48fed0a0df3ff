import { Type } from '@sinclair/typebox';
import { PLATFORM_SERVICES } from '../config.js';
import type { Container } from '../container.js';
import type { App } from '../platform/http/types.js';
import { worst } from './check-result.js';
import { CheckResultSchema, DependenciesSchema, ErrorBodySchema, OverallHealthSchema, ServicesSchema } from './health.schemas.js';
import { dependencyStatus, type HealthService } from './health.service.js';

const HTTP_STATUS = (status: string): 200 | 503 => (status === 'unhealthy' ? 503 : 200);

/**
 * Public health endpoints (Kubernetes probes, load balancers, status pages): statuses, latencies
 * and error categories only; no URLs, connection strings or driver messages. /health/live and
 * /health/ready stay in status.routes.ts; static routes win over `/health/:service` in Fastify.
 */
export function healthRoutes(container: Container, health: HealthService) {
  return async (app: App) => {
    app.get(
      '/health',
      {
        schema: {
          tags: ['health'],
          summary: 'Overall health: 200 healthy or degraded, 503 when a required dependency is down',
          response: { 200: OverallHealthSchema, 503: OverallHealthSchema },
        },
      },
      async (_request, reply) => {
        const overall = await health.overall();
        return reply.status(HTTP_STATUS(overall.status)).send({
          ...overall,
          service: container.config.SERVICE_NAME,
          version: container.version,
          timestamp: container.clock.now().toISOString(),
          uptime_seconds: Math.max(0, Math.round((container.clock.nowMs() - container.startedAt.getTime()) / 1000)),
        });
      },
    );

    app.get(
      '/health/dependencies',
      {
        schema: {
          tags: ['health'],
          summary: 'Each dependency (PostgreSQL, Redis, MongoDB, Elasticsearch, Kafka when configured) with latency and error category',
          response: { 200: DependenciesSchema, 503: DependenciesSchema },
        },
      },
      async (_request, reply) => {
        const dependencies = await health.dependencies();
        const status = dependencyStatus(dependencies);
        return reply.status(HTTP_STATUS(status)).send({ status, dependencies });
      },
    );

    app.get(
      '/health/services/all',
      {
        schema: {
          tags: ['health'],
          summary: 'Live check of every configured platform service (signed GET /health, HEALTH_CHECK_TIMEOUT_MS timeout)',
          response: { 200: ServicesSchema },
        },
      },
      async () => {
        const services = await health.services();
        const configured = new Set<string>(health.serviceNames());
        return {
          status: worst(services.map((result) => result.status)),
          services,
          not_configured: Object.keys(PLATFORM_SERVICES).filter((name) => !configured.has(name)),
        };
      },
    );

    app.get(
      '/health/:service',
      {
        schema: {
          tags: ['health'],
          summary: 'Live check of one platform service: 200 healthy or degraded, 503 unhealthy',
          params: Type.Object({ service: Type.String({ pattern: '^[a-z][a-z-]{0,40}$' }) }),
          response: { 200: CheckResultSchema, 503: Type.Union([CheckResultSchema, ErrorBodySchema]) },
        },
      },
      async (request, reply) => {
        const result = await health.service(request.params.service);
        return reply.status(HTTP_STATUS(result.status)).send(result);
      },
    );
  };
}
