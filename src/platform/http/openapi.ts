import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/** OpenAPI generated from the route schemas, served at /docs (JSON at /docs/json). */
export async function installOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'Monitoring service', version, description: 'Metrics, alerting, health, SLA, incidents, analytics and reports for the ticketing platform.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          service: { type: 'apiKey', in: 'header', name: 'x-signature', description: 'HMAC-SHA256 service signature (see README)' },
        },
      },
      security: [{ bearer: [] }, { service: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
}
