import { Counter, type Registry } from 'prom-client';
import { principalOf, type Authenticator } from '../../auth/index.js';
import { AppError, ValidationError } from '../../errors.js';
import type { App } from '../../platform/http/types.js';
import type { Ingest } from '../ingest.js';
import { seriesProblem } from '../sample.js';
import { acceptProtobuf, ingestInBatches, PROTOCOL_WRITE } from '../batched-ingest.js';
import { checkJson, decodeProtobuf, encodeResponse, OtlpDecodeError, type ExportRequest } from './codec.js';
import { DeltaTotals, translate } from './translate.js';

export interface OtlpDeps {
  auth: Authenticator;
  ingest: Ingest;
  registry: Registry;
  now: () => number;
  maxBatch: number;
  maxBodyBytes: number;
}

function decode(body: unknown): { request: ExportRequest; json: boolean } {
  try {
    if (Buffer.isBuffer(body)) return { request: decodeProtobuf(body), json: false };
    if (typeof body === 'object' && body !== null) return { request: checkJson(body), json: true };
  } catch (error) {
    if (error instanceof OtlpDecodeError) throw new ValidationError(error.message, { reason: 'undecodable' });
    throw error;
  }
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send an OTLP ExportMetricsServiceRequest as application/x-protobuf or application/json');
}

/**
 * `POST /v1/metrics`: OTLP/HTTP metrics (protobuf or JSON) into the same ingest as pushes, with
 * its checks and tenant limits; the tenant is the credential's. What cannot be stored as a
 * Prometheus series (exponential histograms, points without a value, NaN, negative deltas of monotonic sums) is answered
 * as a partial success and counted.
 */
export function otlpRoutes(deps: OtlpDeps) {
  const skipped = new Counter({ name: 'monitoring_otlp_skipped_points_total', help: 'OTLP data points of accepted requests that were not stored, by reason', labelNames: ['reason'], registers: [deps.registry] });
  const deltas = new DeltaTotals();

  return async (app: App) => {
    acceptProtobuf(app, deps.maxBodyBytes);
    app.post(
      '/v1/metrics',
      {
        preHandler: deps.auth.require(PROTOCOL_WRITE),
        bodyLimit: deps.maxBodyBytes,
        schema: {
          tags: ['opentelemetry'],
          summary: 'OTLP/HTTP metrics (application/x-protobuf or application/json), stored as Prometheus series',
          description: "The tenant is the credential's (an API key with the ingest scope, or a user with monitoring). service.name is the job (the service), service.instance.id the instance label; see docs/metrics.md.",
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const { request: exported, json } = decode(request.body);
        const { samples, skipped: skips } = translate(exported, tenantId, deltas, deps.now());
        samples.forEach((sample, index) => {
          const problem = seriesProblem(sample.name, sample.service, sample.labels ?? {});
          if (problem !== undefined) throw new ValidationError(`Data point ${index} (${sample.name}) ${problem}; nothing was stored`, { point: index });
        });
        await ingestInBatches(deps.ingest, tenantId, samples, { protocol: 'otlp', body: json ? (request.rawBody ?? '') : (request.body as Buffer), maxBatch: deps.maxBatch });
        const rejected = [...skips.values()].reduce((total, count) => total + count, 0);
        for (const [reason, count] of skips) skipped.inc({ reason }, count);
        const message = rejected === 0 ? '' : `not stored: ${[...skips].map(([reason, count]) => `${count} ${reason}`).join(', ')}`;
        if (json) return reply.status(200).send(rejected === 0 ? {} : { partialSuccess: { rejectedDataPoints: String(rejected), errorMessage: message } });
        return reply.status(200).header('content-type', 'application/x-protobuf').send(Buffer.from(encodeResponse(rejected, message)));
      },
    );
  };
}
