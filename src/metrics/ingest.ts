import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ValidationError } from '../errors.js';
import { TOPICS, type Bus } from '../platform/bus/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { catalogueProblem } from './catalogue-feed.js';
import { batchHashOf, checkIdempotencyKey, keyReusedError } from './idempotency.js';
import { claimIdempotencyKey } from './idempotency.repository.js';
import type { IngestLimits } from './ingest-limits.js';
import { ensurePartitions, insertSamples, utcDay } from './metrics.repository.js';
import { seriesKeyOf, type Sample, type SampleInput } from './sample.js';

/** Samples per metrics-stream message (`{"tenant_id","metrics":[...]}`), well under Kafka's 1 MB default. */
const BUS_CHUNK = 500;

export type IngestSource = 'http' | 'bus' | 'collector' | 'health' | 'internal';

export interface CommittedBatch {
  tenantId: string;
  source: IngestSource;
  samples: readonly Sample[];
  committedAt: Date;
}

/** Runs after commit: real-time fan-out, Prometheus catalogue, stream processing, anomaly scoring. */
export type CommitListener = (batch: CommittedBatch) => void | Promise<void>;

export interface IngestRequest {
  /**
   * A batch sent again under a key already recorded (IDEMPOTENCY_WINDOW_HOURS) stores nothing and
   * gets the first answer with `replayed`; a different batch under it is refused (IDEMPOTENCY_KEY_REUSED).
   */
  idempotencyKey?: string;
}

export interface IngestResult {
  accepted: number;
  /** The key was already recorded: nothing was stored, nothing published. */
  replayed?: true;
}

export interface Ingest {
  /** validate -> store (one statement, one transaction) -> publish -> fan out. Resolves after commit. */
  ingest(tenantId: string, inputs: readonly SampleInput[], source: IngestSource, request?: IngestRequest): Promise<IngestResult>;
  onCommitted(listener: CommitListener): () => void;
}

export interface IngestOptions {
  db: Db;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  retentionDays: number;
  maxBatch: number;
  /** Samples per second and series per tenant; absent = unlimited (tests of other parts). */
  limits?: IngestLimits;
  /** Samples further ahead than this are refused (clock skew allowance). */
  maxFutureMs?: number;
  onPublishFailure?: (error: unknown) => void;
}

export function createIngest(options: IngestOptions): Ingest {
  const listeners = new Set<CommitListener>();
  const knownDays = new Set<string>();
  const maxFutureMs = options.maxFutureMs ?? 10 * 60_000;

  const validate = (inputs: readonly SampleInput[], now: Date): Sample[] => {
    if (inputs.length === 0) throw new ValidationError('No samples in the request');
    if (inputs.length > options.maxBatch) throw new ValidationError(`At most ${options.maxBatch} samples per request`, { limit: options.maxBatch, received: inputs.length });
    const oldest = now.getTime() - options.retentionDays * 86_400_000;
    const problems: Array<{ index: number; name: string | undefined; reason: string }> = [];
    const samples = inputs.map((input, index) => {
      const timestamp = input.timestamp === undefined ? now : new Date(input.timestamp);
      const reject = (reason: string) => problems.push({ index, name: input.name, reason });
      if (!Number.isFinite(input.value)) reject('value must be a finite number');
      if (Number.isNaN(timestamp.getTime())) reject('timestamp is not a valid date');
      else if (timestamp.getTime() < oldest) reject(`timestamp is older than the ${options.retentionDays}-day retention`);
      else if (timestamp.getTime() > now.getTime() + maxFutureMs) reject('timestamp is in the future');
      const labels = input.labels ?? {};
      if (Object.keys(labels).length > 30) reject('at most 30 labels per sample');
      const catalogueReason = catalogueProblem(input.name, input.value);
      if (catalogueReason !== undefined) reject(catalogueReason);
      return { name: input.name, service: input.service, value: input.value, labels, timestamp, seriesKey: seriesKeyOf(input.name, input.service, labels) };
    });
    if (problems.length > 0) throw new ValidationError(`${problems.length} of ${inputs.length} samples are invalid; nothing was stored`, { samples: problems });
    return samples;
  };

  return {
    async ingest(tenantId, inputs, source, request = {}) {
      const key = request.idempotencyKey;
      if (key !== undefined) checkIdempotencyKey(key);
      const now = options.clock.now();
      const samples = validate(inputs, now);
      // A batch past a tenant limit is refused whole before anything is written.
      const admitted = await options.limits?.admit(tenantId, samples, source);
      const days = [...new Set(samples.map((sample) => utcDay(sample.timestamp)))];
      const missingDays = days.filter((day) => !knownDays.has(day));
      const replay = await options.db.withTenant(tenantId, async (tx): Promise<IngestResult | undefined> => {
        if (key !== undefined) {
          // The key is claimed first, in the samples' transaction: a concurrent retry waits here.
          const batchHash = batchHashOf(inputs);
          const first = await claimIdempotencyKey(tx, tenantId, { key, accepted: samples.length, batchHash, at: now });
          if (first !== 'claimed') {
            if (first.batchHash !== batchHash) throw keyReusedError(key);
            return { accepted: first.accepted, replayed: true };
          }
        }
        await ensurePartitions(tx, missingDays);
        // One statement stores the samples and tells the aggregation job which buckets changed.
        await insertSamples(tx, tenantId, samples);
        return undefined;
      }).catch((error: unknown) => {
        admitted?.release();
        throw error;
      });
      // Stored now, or by the first delivery of a replayed batch: its series are active.
      admitted?.commit();
      // The first delivery published and fanned out this batch.
      if (replay !== undefined) return replay;
      for (const day of missingDays) knownDays.add(day);

      const batch: CommittedBatch = { tenantId, source, samples, committedAt: options.clock.now() };
      // Samples that came from the bus are not published back to it.
      if (source !== 'bus') {
        // One batch message per chunk, keyed by tenant: per-sample messages cost more than the insert.
        // Each chunk carries an idempotency key: a publish retried after a timeout that did land
        // is stored once by consumers that honour it (this service's own consumer does).
        const batchId = randomUUID();
        const messages = [];
        for (let start = 0; start < samples.length; start += BUS_CHUNK) {
          const metrics = samples.slice(start, start + BUS_CHUNK).map((sample) => ({ name: sample.name, service: sample.service, value: sample.value, labels: sample.labels, timestamp: sample.timestamp.toISOString() }));
          messages.push({ key: tenantId, value: { tenant_id: tenantId, metrics }, headers: { 'idempotency-key': `${batchId}:${start / BUS_CHUNK}` } });
        }
        // Not awaited: the answer waits for the commit only. A slow or frozen broker is the bus's
        // retry queue's business (bounded, drops counted), never the caller's.
        options.bus.publish(TOPICS.metrics, messages).catch((error: unknown) => {
          options.logger.warn({ err: error }, 'metrics-stream publish failed after commit');
          options.onPublishFailure?.(error);
        });
      }
      // Listeners start now but are not awaited: the caller's acknowledgement waits only for the commit.
      for (const listener of listeners) {
        Promise.resolve()
          .then(() => listener(batch))
          .catch((error: unknown) => options.logger.error({ err: error }, 'ingest listener failed'));
      }
      return { accepted: samples.length };
    },
    onCommitted(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
