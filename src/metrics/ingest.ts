import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ValidationError } from '../errors.js';
import { TOPICS, type Bus, type OutgoingMessage } from '../platform/bus/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { isCatalogueCounter } from './catalogue-feed.js';
import { accumulateCounterIncrements } from './counter-increments.js';
import { createCommitQueue, type ConsumerStats } from './commit-queue.js';
import { batchHashOf, checkIdempotencyKey, keyReusedError } from './idempotency.js';
import { claimIdempotencyKey } from './idempotency.repository.js';
import type { IngestLimits } from './ingest-limits.js';
import { ensurePartitions, insertSamples, utcDay } from './metrics.repository.js';
import { seriesKeyOf, type Sample, type SampleInput } from './sample.js';
import type { RemoteTsdb } from './store/remote-tsdb.js';
import { resolveSeriesIds, SeriesIdCache } from './store/series-ids.js';

const DAY_MS = 86_400_000;
/** Series ids kept in memory per instance (least recently used forgotten first): ~100 bytes each. */
const SERIES_ID_CACHE_SIZE = 100_000;

/** Samples per metrics-stream message (`{"tenant_id","metrics":[...]}`), well under Kafka's 1 MB default. */
const BUS_CHUNK = 500;

export type IngestSource = 'http' | 'bus' | 'collector' | 'health' | 'internal';

/** One batch as stored; every consumer gets this same object, so none may change it. */
export interface CommittedBatch {
  readonly tenantId: string;
  readonly source: IngestSource;
  readonly samples: ReadonlyArray<Readonly<Sample>>;
  readonly committedAt: Date;
}

/**
 * Runs after commit, off the request path: real-time fan-out, Prometheus catalogue, stream
 * processing, anomaly scoring, default rules. A returned promise is awaited before the listener's
 * next batch.
 */
export type CommitListener = (batch: CommittedBatch) => void | Promise<void>;

export interface IngestRequest {
  /**
   * A batch sent again under a key already recorded (IDEMPOTENCY_WINDOW_HOURS) stores nothing and
   * gets the first answer with `replayed`; a different batch under it is refused (IDEMPOTENCY_KEY_REUSED).
   */
  idempotencyKey?: string;
  /**
   * The values are Prometheus's (remote write, OTLP): a catalogue counter's value is a running
   * total, stored as sent. Otherwise (the push API, the metrics stream) it is an increment. A
   * sample typed `counter` is an increment either way.
   */
  cumulative?: boolean;
}

export interface IngestResult {
  accepted: number;
  /** The key was already recorded: nothing was stored, nothing published. */
  replayed?: true;
}

export interface Ingest {
  /** validate -> store (one statement, one transaction) -> publish -> fan out. Resolves after commit. */
  ingest(tenantId: string, inputs: readonly SampleInput[], source: IngestSource, request?: IngestRequest): Promise<IngestResult>;
  /**
   * Adds a consumer of committed batches, named for the counters (`consumer` label). It gets every
   * batch in commit order unless its backlog is over INGEST_COMMIT_QUEUE_MAX_SAMPLES: then it skips
   * whole batches, counted in monitoring_ingest_dispatch_dropped_samples_total and GET /status.
   */
  onCommitted(consumer: string, listener: CommitListener): () => void;
  /**
   * Resolves once every batch committed so far has been published and handed to every listener
   * (true), or when `timeoutMs` has passed first (false).
   */
  dispatched(timeoutMs?: number): Promise<boolean>;
  /** Backlog and skipped samples per consumer (`bus` is the metrics-stream publication). */
  dispatchStats(): ConsumerStats[];
  /**
   * Publishes and hands out what is queued, waiting up to `timeoutMs`; what a stuck consumer still
   * holds then is dropped and counted (shutdown).
   */
  close(timeoutMs: number): Promise<void>;
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
  /** Samples of committed batches one consumer may have waiting (INGEST_COMMIT_QUEUE_MAX_SAMPLES). */
  dispatchMaxSamples?: number;
  /** Where the dispatch counters are registered (the /metrics registry). */
  registry?: Registry;
  /**
   * METRICS_STORE=victoriametrics: samples go to the time-series database, inside the batch's
   * transaction (series catalogue, counter totals, idempotency key), which commits only once the
   * database has accepted them.
   */
  remoteTsdb?: RemoteTsdb;
}

/** The metrics-stream messages of a batch: one per chunk, keyed by tenant, each with an idempotency key. */
export function busMessagesOf(batch: CommittedBatch): OutgoingMessage[] {
  // One batch message per chunk: per-sample messages cost more than the insert. The idempotency key
  // lets consumers that honour it (this service's own does) store a publish retried after a timeout once.
  const batchId = randomUUID();
  const messages: OutgoingMessage[] = [];
  for (let start = 0; start < batch.samples.length; start += BUS_CHUNK) {
    // Published as pushed: a counter sent as an increment goes on as that increment, typed.
    const metrics = batch.samples
      .slice(start, start + BUS_CHUNK)
      .map((sample) => ({ name: sample.name, service: sample.service, value: sample.increment ?? sample.value, ...(sample.increment === undefined ? {} : { type: 'counter' }), labels: sample.labels, timestamp: sample.timestamp.toISOString() }));
    messages.push({ key: batch.tenantId, value: { tenant_id: batch.tenantId, metrics }, headers: { 'idempotency-key': `${batchId}:${start / BUS_CHUNK}` } });
  }
  return messages;
}

/** PostgreSQL's refusal of a row no partition accepts (SQLSTATE 23514, check_violation). */
function isMissingPartition(error: unknown): boolean {
  return error instanceof Error && (error as { code?: string }).code === '23514' && error.message.includes('no partition');
}

/** A counter increment above 2^53 cannot be counted exactly (nor can the totals it would reach). */
const MAX_INCREMENT = Number.MAX_SAFE_INTEGER;

export function createIngest(options: IngestOptions): Ingest {
  const queue = createCommitQueue({ maxSamples: options.dispatchMaxSamples ?? Number.POSITIVE_INFINITY, logger: options.logger, registry: options.registry });
  // The first consumer: metrics-stream. Samples that came from the bus are not published back to it.
  // A slow or frozen broker is the bus's retry queue's business (bounded, drops counted); a publish
  // that waits for it holds only this consumer's backlog.
  queue.consume(
    'bus',
    async (batch) => {
      await options.bus.publish(TOPICS.metrics, busMessagesOf(batch)).catch((error: unknown) => {
        options.logger.warn({ err: error }, 'metrics-stream publish failed after commit');
        options.onPublishFailure?.(error);
      });
    },
    (batch) => batch.source !== 'bus',
  );
  const knownDays = new Set<string>();
  const seriesIdCache = new SeriesIdCache(SERIES_ID_CACHE_SIZE);
  const maxFutureMs = options.maxFutureMs ?? 10 * 60_000;

  const validate = (inputs: readonly SampleInput[], now: Date, cumulative: boolean): Sample[] => {
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
      const catalogueCounter = isCatalogueCounter(input.name);
      if (input.type === 'gauge' && catalogueCounter) reject(`${input.name} is a counter of the catalogue: it cannot be pushed as a gauge`);
      // `type: counter` is always an increment (OTLP's delta sums say it too); a catalogue counter without a type is one only in the push API.
      const counter = input.type === 'counter' || (!cumulative && catalogueCounter);
      if (counter && !(input.value >= 0 && input.value <= MAX_INCREMENT)) reject(`${input.name} is a counter: its value is an increment, from 0 to 2^53`);
      const sample: Sample = { name: input.name, service: input.service, value: input.value, labels, timestamp, seriesKey: seriesKeyOf(input.name, input.service, labels) };
      if (counter) sample.increment = input.value;
      return sample;
    });
    if (problems.length > 0) throw new ValidationError(`${problems.length} of ${inputs.length} samples are invalid; nothing was stored`, { samples: problems });
    return samples;
  };

  return {
    async ingest(tenantId, inputs, source, request = {}) {
      const key = request.idempotencyKey;
      if (key !== undefined) checkIdempotencyKey(key);
      const now = options.clock.now();
      const samples = validate(inputs, now, request.cumulative === true);
      // A batch past a tenant limit is refused whole before anything is written.
      const admitted = await options.limits?.admit(tenantId, samples, source);
      const remote = options.remoteTsdb;
      // With the time-series database, a batch of known series without counter totals or key leaves
      // the database nothing to record: no transaction holds one of its connections meanwhile.
      const withoutDatabase = key === undefined && samples.every((sample) => sample.increment === undefined && seriesIdCache.get(tenantId, sample.seriesKey) !== undefined);
      // Distinct days by number first: formatting every sample's date cost more than the set.
      const dayNumbers = new Set(samples.map((sample) => Math.floor(sample.timestamp.getTime() / DAY_MS)));
      const days = [...dayNumbers].map((day) => utcDay(new Date(day * DAY_MS)));
      const store = (daysToEnsure: string[]) =>
        options.db.withTenant(tenantId, async (tx): Promise<IngestResult | Map<string, number>> => {
          if (key !== undefined) {
            // The key is claimed first, in the samples' transaction: a concurrent retry waits here.
            const batchHash = batchHashOf(inputs);
            const first = await claimIdempotencyKey(tx, tenantId, { key, accepted: samples.length, batchHash, at: now });
            if (first !== 'claimed') {
              if (first.batchHash !== batchHash) throw keyReusedError(key);
              return { accepted: first.accepted, replayed: true };
            }
          }
          if (remote === undefined) await ensurePartitions(tx, daysToEnsure);
          const series = await resolveSeriesIds(tx, tenantId, samples, seriesIdCache);
          await accumulateCounterIncrements(tx, tenantId, samples, series.ids);
          // One statement stores the samples and tells the aggregation job which buckets changed.
          if (remote === undefined) await insertSamples(tx, tenantId, samples, series.ids);
          else await remote.write(tenantId, samples);
          return series.learned;
        });
      const stored =
        remote !== undefined && withoutDatabase
          ? remote.write(tenantId, samples).then(() => new Map<string, number>())
          : store(days.filter((day) => !knownDays.has(day))).catch((error: unknown) => {
              // Compaction drops a day's head partition once it has moved it into chunks; a late sample
              // for that day creates it again.
              if (!isMissingPartition(error)) throw error;
              for (const day of days) knownDays.delete(day);
              return store(days);
            });
      const outcome = await stored.catch((error: unknown) => {
        admitted?.release();
        throw error;
      });
      for (const day of days) knownDays.add(day);
      // Stored now, or by the first delivery of a replayed batch: its series are active.
      admitted?.commit();
      // The first delivery published and fanned out this batch.
      if (!(outcome instanceof Map)) return outcome;
      for (const [seriesKey, id] of outcome) seriesIdCache.set(tenantId, seriesKey, id);

      // The answer waits for the commit only: publication and listeners take the batch from the
      // dispatch queue after it, one consumer at a time, and a full backlog skips it (counted), never
      // the caller's 202.
      queue.enqueue({ tenantId, source, samples, committedAt: options.clock.now() });
      return { accepted: samples.length };
    },
    onCommitted: (consumer, listener) => queue.consume(consumer, listener),
    dispatched: (timeoutMs) => queue.drained(timeoutMs),
    dispatchStats: () => queue.stats(),
    close: (timeoutMs) => queue.close(timeoutMs),
  };
}
