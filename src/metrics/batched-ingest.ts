import { createHash } from 'node:crypto';
import type { App } from '../platform/http/types.js';
import type { Ingest } from './ingest.js';
import type { SampleInput } from './sample.js';

/** Who may write through the protocol receivers (remote write, OTLP): users who may push, API keys with ingest. Signed services sign JSON bodies, not these. */
export const PROTOCOL_WRITE = { roles: ['admin', 'monitoring'], services: false, scope: 'ingest' } as const;

/** Takes application/x-protobuf bodies as a Buffer, up to `maxBodyBytes` (in the plugin that calls it). */
export function acceptProtobuf(app: App, maxBodyBytes: number): void {
  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) => done(null, body));
}

/**
 * Stores a protocol request's samples in batches of at most `maxBatch` (INGEST_MAX_BATCH), each
 * keyed by the body's SHA-256 and its position: a retried request (exporters retry 5xx and 429)
 * stores each sample once.
 */
export async function ingestInBatches(ingest: Ingest, tenantId: string, samples: readonly SampleInput[], request: { protocol: string; body: string | Buffer; maxBatch: number }): Promise<void> {
  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  for (let start = 0; start < samples.length; start += request.maxBatch) {
    await ingest.ingest(tenantId, samples.slice(start, start + request.maxBatch), 'http', { idempotencyKey: `${request.protocol}:${bodyHash}:${start}`, cumulative: true });
  }
}
