import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Catalogue } from './catalogue.js';

/** A finished request of this service, as the HTTP collector records it. */
export interface HttpObservation {
  method: string;
  /** The route pattern (`/api/v1/monitoring/alerts/:id`), or `unmatched` for 404s of unknown paths. */
  route: string;
  statusCode: number;
  durationMs: number;
}

export type HttpObserver = (observation: HttpObservation) => void;

/**
 * Times every request of every route (fastify-plugin: the hook lands on the root instance).
 * Labels use the route pattern, never the raw URL, so cardinality stays bounded.
 */
export function httpInstrumentation(deps: { catalogue: Catalogue; serviceName: string; observers: readonly HttpObserver[] }) {
  return fp(async (app: FastifyInstance) => {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const durationMs = reply.elapsedTime;
      const statusCode = reply.statusCode;
      deps.catalogue.httpRequestDurationMs.observe({ method: request.method, route, status_code: String(statusCode) }, durationMs);
      deps.catalogue.apiResponseTimeMs.observe({ endpoint: `${request.method} ${route}`, service: deps.serviceName }, durationMs);
      if (statusCode >= 500) deps.catalogue.errorsTotal.inc({ service: deps.serviceName, error_type: `http_${statusCode}`, severity: 'error' });
      for (const observer of deps.observers) observer({ method: request.method, route, statusCode, durationMs });
    });
  }, { name: 'http-instrumentation' });
}
