import { Counter, type Registry } from 'prom-client';
import { principalOf, type Authenticator } from '../../auth/index.js';
import { AppError, ValidationError } from '../../errors.js';
import type { Db } from '../../platform/db/index.js';
import type { App } from '../../platform/http/types.js';
import { setSeriesMetadata } from '../store/series-metadata.repository.js';
import { acceptProtobuf, ingestInBatches, PROTOCOL_WRITE } from '../batched-ingest.js';
import type { Ingest } from '../ingest.js';
import { seriesProblem, type SampleInput } from '../sample.js';
import { decodeWriteRequest, RemoteWriteDecodeError, type RemoteTimeSeries, type WriteRequest } from './codec.js';

/** A series without a job label is stored under this service. */
export const REMOTE_WRITE_SERVICE = 'remote_write';

export interface RemoteWriteDeps {
  auth: Authenticator;
  db: Db;
  ingest: Ingest;
  registry: Registry;
  /** Samples per stored batch (INGEST_MAX_BATCH): a larger request is stored in several. */
  maxBatch: number;
  /** Largest compressed body (REMOTE_WRITE_MAX_BODY_BYTES) and its largest inflated size (4x). */
  maxBodyBytes: number;
}

/** One series' samples as the push API's samples: `__name__` is the name, `job` the service, the other labels stay labels. */
function samplesOf(series: RemoteTimeSeries, index: number, skip: (reason: 'non_finite') => void): SampleInput[] {
  const labels: Record<string, string> = {};
  let name: string | undefined;
  let service = REMOTE_WRITE_SERVICE;
  for (const label of series.labels) {
    if (label.name === '__name__') name = label.value;
    else if (label.name === 'job' && label.value !== '') service = label.value;
    else labels[label.name] = label.value;
  }
  const problem = seriesProblem(name, service, labels);
  if (problem !== undefined || name === undefined) throw new ValidationError(`Series ${index} ${problem ?? 'has no __name__ label'}; nothing was stored`, { series: index });
  const samples: SampleInput[] = [];
  for (const sample of series.samples) {
    // NaN (also Prometheus's staleness marker) and infinities have no place in the store: skipped, counted.
    if (!Number.isFinite(sample.value)) {
      skip('non_finite');
      continue;
    }
    samples.push({ name, service, value: sample.value, labels, timestamp: sample.timestamp });
  }
  return samples;
}

function decode(body: Buffer, maxBytes: number): WriteRequest {
  try {
    return decodeWriteRequest(body, maxBytes);
  } catch (error) {
    if (error instanceof RemoteWriteDecodeError) throw new ValidationError(`Not a remote-write body: ${error.message}`, { reason: 'undecodable' });
    throw error;
  }
}

/**
 * `POST /api/v1/write`: Prometheus remote write 1.0 (snappy-compressed protobuf WriteRequest) into
 * the same ingest as the push API, with its validation and tenant limits. The tenant is the
 * credential's. Metadata and exemplars are ignored. A request larger than INGEST_MAX_BATCH is stored
 * in batches, each keyed by the body's SHA-256 and its position, so a retried request (Prometheus
 * retries 5xx, and 429 when told to) stores each sample once.
 */
export function remoteWriteRoutes(deps: RemoteWriteDeps) {
  const skipped = new Counter({
    name: 'monitoring_remote_write_skipped_samples_total',
    help: 'Samples of accepted remote-write requests that were not stored: non_finite = NaN (staleness markers included) or +/-Inf',
    labelNames: ['reason'],
    registers: [deps.registry],
  });

  return async (app: App) => {
    acceptProtobuf(app, deps.maxBodyBytes);
    app.post(
      '/api/v1/write',
      {
        preHandler: deps.auth.require(PROTOCOL_WRITE),
        bodyLimit: deps.maxBodyBytes,
        schema: {
          tags: ['prometheus'],
          summary: 'Prometheus remote write 1.0 (Content-Type: application/x-protobuf, Content-Encoding: snappy); 204 once stored',
          description: 'The tenant is the credential\'s (an API key with the ingest scope, as bearer token or Basic password). `__name__` is the metric name, `job` the service (`remote_write` without one); NaN and infinite samples are skipped and counted. Metadata is kept for /api/v1/metadata; exemplars are ignored.',
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        if (!Buffer.isBuffer(request.body)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send a snappy-compressed protobuf WriteRequest with Content-Type: application/x-protobuf');
        const decoded = decode(request.body, deps.maxBodyBytes * 4);
        const skips = { non_finite: 0 };
        const samples = decoded.timeseries.flatMap((series, index) => samplesOf(series, index, (reason) => (skips[reason] += 1)));
        await ingestInBatches(deps.ingest, tenantId, samples, { protocol: 'remote-write', body: request.body, maxBatch: deps.maxBatch });
        if (skips.non_finite > 0) skipped.inc({ reason: 'non_finite' }, skips.non_finite);
        // Prometheus sends each family's type, help and unit (every minute, apart from samples): kept on its series.
        const metadata = decoded.metadata.filter((entry) => entry.metric_family_name !== '').map((entry) => ({ family: entry.metric_family_name, type: entry.type.toLowerCase(), help: entry.help, unit: entry.unit }));
        if (metadata.length > 0) await deps.db.withTenant(tenantId, (tx) => setSeriesMetadata(tx, tenantId, metadata));
        return reply.status(204).send();
      },
    );
  };
}
