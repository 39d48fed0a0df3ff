import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Container } from './container.js';
import { metricsRoutes } from './metrics/metrics.routes.js';
import { prometheusRoutes } from './metrics/prometheus.routes.js';
import { httpInstrumentation } from './metrics/http-instrumentation.js';
import { grafanaRoutes } from './grafana/grafana.routes.js';
import { sourceStatusRoutes } from './clients/index.js';
import { nftTransferRoutes } from './collectors/blockchain/index.js';
import { reportRoutes } from './reports/index.js';
import { alertingRoutes } from './alerts/index.js';
import { clientErrorHandler, frameworkErrors, installErrorHandling, installJsonParser } from './platform/http/errors.js';
import { installInputGuards } from './platform/http/input-guard.js';
import { createValidatorFactory } from './platform/http/validation.js';
import { AppError } from './errors.js';
import { installOpenApi } from './platform/http/openapi.js';
import type { App } from './platform/http/types.js';
import { healthRoutes } from './health/index.js';
import { slaRoutes } from './sla/index.js';
import { incidentRoutes } from './incidents/index.js';
import { dashboardRoutes, dashboardsRoutes } from './dashboard/index.js';
import { cacheAdminRoutes } from './cache-admin/index.js';
import { analyticsRoutes } from './analytics/analytics.routes.js';
import { statusRoutes } from './status/status.routes.js';
import { limitsRoutes, requestLimits } from './limits/index.js';
import { apiKeyRoutes } from './auth/api-keys.routes.js';
import { remoteWriteRoutes } from './metrics/remote-write/remote-write.routes.js';
import { prometheusApiRoutes } from './metrics/prometheus-api/prometheus-api.routes.js';
import { otlpRoutes } from './metrics/otlp/otlp.routes.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The HTTP application over a built container. Tests embed it; main.ts listens with it. */
export async function buildApp(container: Container): Promise<App> {
  const loggerInstance: FastifyBaseLogger = container.logger;
  const app = Fastify({
    loggerInstance,
    trustProxy: container.config.TRUST_PROXY,
    bodyLimit: container.config.BODY_LIMIT_BYTES,
    requestIdHeader: 'x-request-id',
    // Requests that arrive while closing are refused by the hook below, in the error envelope.
    return503OnClosing: false,
    genReqId: (request) => {
      const supplied = request.headers['x-request-id'];
      return typeof supplied === 'string' && REQUEST_ID.test(supplied) ? supplied : randomUUID();
    },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: true },
      // ajv-formats' uuid also accepts a `urn:uuid:` prefix, which PostgreSQL's uuid type refuses: an
      // id like that passed validation and failed in SQL with a 500. Plain UUIDs only, for every route.
      onCreate: (ajv) => ajv.addFormat('uuid', UUID),
    },
    // Bodies are validated without type coercion; query strings, params and headers with it.
    schemaController: { compilersFactory: { buildValidator: createValidatorFactory() } },
    // The router's and Node's own refusals (bad URL 400, long parameter 414, large headers 431) in the error envelope.
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorateRequest('principal', undefined);
  app.decorateRequest('rawBody', undefined);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  app.addHook('onClose', async () => container.close());
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new AppError('SHUTTING_DOWN', 'The service is shutting down; retry on another instance');
  });

  installJsonParser(app);
  installErrorHandling(app, { rateRefusalDelayMs: container.config.LIMIT_RATE_REFUSAL_DELAY_MS });
  installInputGuards(app);
  // Before any route: request rates per client IP (onRequest) and per tenant (after each route's authentication).
  await requestLimits(app, {
    limits: container.limits,
    windowMs: container.config.LIMIT_REQUEST_WINDOW_MS,
    concurrentPerTenant: container.config.LIMIT_CONCURRENT_REQUESTS_PER_TENANT,
    queuedPerTenant: container.config.LIMIT_QUEUED_REQUESTS_PER_TENANT,
    scrapeAllowedIps: container.config.PROMETHEUS_ALLOWED_IPS,
    bearerTenant: (request) => container.auth.bearerTenant(request),
  });
  await installOpenApi(app, container.version);
  // Before any route: times every request of every route (http_request_duration_ms, HTTP collector).
  await app.register(httpInstrumentation({ catalogue: container.catalogue, serviceName: container.config.SERVICE_NAME, observers: [(observation) => container.selfCollectors.http.observe(observation)] }));

  await app.register(statusRoutes(container));
  await app.register(metricsRoutes(container));
  await app.register(
    prometheusApiRoutes({
      auth: container.auth,
      db: container.db,
      now: () => container.clock.nowMs(),
      limits: { maxSamples: container.config.PROMQL_MAX_SAMPLES, timeoutMs: container.config.PROMQL_TIMEOUT_MS, maxSeries: container.config.PROMQL_MAX_SERIES },
      version: container.version,
      remoteTsdb: container.remoteTsdb,
      lookbackMs: container.config.METRICS_RETENTION_DAYS * 86_400_000,
    }),
  );
  await app.register(otlpRoutes({ auth: container.auth, ingest: container.ingest, registry: container.registry, now: () => container.clock.nowMs(), maxBatch: container.config.INGEST_MAX_BATCH, maxBodyBytes: container.config.REMOTE_WRITE_MAX_BODY_BYTES }));
  await app.register(remoteWriteRoutes({ auth: container.auth, db: container.db, ingest: container.ingest, registry: container.registry, maxBatch: container.config.INGEST_MAX_BATCH, maxBodyBytes: container.config.REMOTE_WRITE_MAX_BODY_BYTES }));
  await app.register(prometheusRoutes(container));
  // --- domain routes: one line per domain plugin ---
  await app.register(alertingRoutes(container));
  await app.register(container.realtime.routes());
  await app.register(grafanaRoutes(container));
  await app.register(sourceStatusRoutes({ auth: container.auth, status: container.collectorStatus, scheduler: container.scheduler, clock: container.clock, collectors: container.collectorJobs, clients: Object.values(container.clients.http) }));
  await app.register(nftTransferRoutes({ auth: container.auth, db: container.db, clock: container.clock }));
  await app.register(reportRoutes({ auth: container.auth, db: container.db, clock: container.clock, files: container.reports.files, generator: container.reports.generator }));
  await app.register(healthRoutes(container, container.health));
  await app.register(slaRoutes(container, container.sla));
  await app.register(incidentRoutes(container, container.incidents));
  await app.register(dashboardRoutes(container, container.dashboard));
  await app.register(dashboardsRoutes(container));
  await app.register(cacheAdminRoutes(container));
  await app.register(analyticsRoutes(container));
  await app.register(limitsRoutes({ auth: container.auth, limits: container.limits }));
  await app.register(apiKeyRoutes({ auth: container.auth, apiKeys: container.apiKeys }));

  return app;
}
