import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { CommittedBatch } from './ingest.js';

/** What a consumer of committed batches does with one; a returned promise is awaited before its next batch. */
export type BatchHandler = (batch: CommittedBatch) => void | Promise<void>;

export interface ConsumerStats {
  consumer: string;
  /** Samples of committed batches waiting for this consumer. */
  queued_samples: number;
  /** Samples of committed batches this consumer skipped because its backlog was full (or left at shutdown). */
  dropped_samples: number;
}

export interface CommitQueue {
  /** O(1) per consumer: the batch joins every consumer's backlog, or is skipped (and counted) where that backlog is full. */
  enqueue(batch: CommittedBatch): void;
  /** Adds a consumer (its name labels the counters) of the batches `wants` (default: all); returns its removal. */
  consume(consumer: string, handler: BatchHandler, wants?: (batch: CommittedBatch) => boolean): () => void;
  /** Resolves once every batch enqueued so far has been handled by every consumer (true), or after `timeoutMs` (false). */
  drained(timeoutMs?: number): Promise<boolean>;
  /**
   * Shutdown: waits up to `timeoutMs` for the backlogs to drain; what is left then (a consumer stuck
   * on a batch) is dropped and counted, so a stuck consumer never holds the rest of the shutdown.
   */
  close(timeoutMs: number): Promise<void>;
  stats(): ConsumerStats[];
}

export interface CommitQueueOptions {
  /** Samples one consumer may have waiting (INGEST_COMMIT_QUEUE_MAX_SAMPLES); a batch beyond is skipped whole. */
  maxSamples: number;
  logger: Logger;
  /** Where the dropped and queued counts are registered (the /metrics registry); absent in unit use. */
  registry?: Registry;
}

interface Lane {
  consumer: string;
  handler: BatchHandler;
  wants: ((batch: CommittedBatch) => boolean) | undefined;
  /** Batches in commit order from `head`, so taking the next one is O(1). */
  batches: Array<CommittedBatch | undefined>;
  head: number;
  samples: number;
  dropped: number;
  /** The handler's promise for the batch in hand is pending. */
  busy: boolean;
  /** Skips are logged once per 10 s per consumer (all are counted): an overload repeats them per batch. */
  lastSkipLogAt: number;
}

const FAILED = 'consumer of committed batches failed';

/**
 * The committed batches of the ingest pipeline on their way to what needs them after the caller's
 * answer: bus publication, WebSocket fan-out, catalogue, stream processor, anomaly scoring, default
 * rules. Each consumer has its own backlog of the same batch objects (never a copy) and handles them
 * one at a time in commit order, so a tenant's batches keep their order. A consumer whose backlog is
 * full skips whole batches, counted under its name, and the others go on. The drain handles one batch
 * per consumer per turn of the event loop (setImmediate), so requests interleave with it.
 */
export function createCommitQueue(options: CommitQueueOptions): CommitQueue {
  const lanes: Lane[] = [];
  const registers = options.registry === undefined ? [] : [options.registry];
  let scheduled: NodeJS.Immediate | undefined;
  let waiters: Array<() => void> = [];
  const droppedSamples = new Counter({
    name: 'monitoring_ingest_dispatch_dropped_samples_total',
    help: 'Samples of committed (stored and acknowledged) batches a consumer skipped: its backlog was over INGEST_COMMIT_QUEUE_MAX_SAMPLES, or still full at shutdown; by consumer',
    labelNames: ['consumer'],
    registers,
  });
  const queuedSamples = new Gauge({ name: 'monitoring_ingest_dispatch_queued_samples', help: 'Samples of committed batches waiting for a consumer, by consumer', labelNames: ['consumer'], registers });

  const waiting = (lane: Lane) => lane.head < lane.batches.length;
  const ready = (lane: Lane) => !lane.busy && waiting(lane);
  const idle = () => lanes.every((lane) => !lane.busy && !waiting(lane));

  const settle = () => {
    if (!idle()) return;
    const resolved = waiters;
    waiters = [];
    for (const resolve of resolved) resolve();
  };

  const drop = (lane: Lane, samples: number) => {
    lane.dropped += samples;
    droppedSamples.inc({ consumer: lane.consumer }, samples);
  };

  const take = (lane: Lane): CommittedBatch | undefined => {
    const batch = lane.batches[lane.head];
    lane.batches[lane.head] = undefined;
    lane.head += 1;
    if (lane.head === lane.batches.length) {
      lane.batches = [];
      lane.head = 0;
    } else if (lane.head >= 1024 && lane.head * 2 >= lane.batches.length) {
      lane.batches = lane.batches.slice(lane.head);
      lane.head = 0;
    }
    return batch;
  };

  const handle = (lane: Lane) => {
    const batch = take(lane);
    if (batch === undefined) return;
    const done = () => {
      lane.samples -= batch.samples.length;
      queuedSamples.set({ consumer: lane.consumer }, lane.samples);
    };
    let result: void | Promise<void>;
    try {
      result = lane.handler(batch);
    } catch (error) {
      options.logger.error({ err: error, consumer: lane.consumer }, FAILED);
      done();
      return;
    }
    if (!(result instanceof Promise)) {
      done();
      return;
    }
    lane.busy = true;
    result
      .catch((error: unknown) => options.logger.error({ err: error, consumer: lane.consumer }, FAILED))
      .finally(() => {
        lane.busy = false;
        done();
        schedule();
        settle();
      });
  };

  /** One batch per ready consumer, then back to the event loop. */
  const turn = () => {
    scheduled = undefined;
    for (const lane of [...lanes]) if (ready(lane)) handle(lane);
    if (lanes.some(ready)) schedule();
    settle();
  };

  function schedule() {
    scheduled ??= setImmediate(turn);
  }

  const drained = (timeoutMs?: number): Promise<boolean> => {
    if (idle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              waiters = waiters.filter((waiter) => waiter !== done);
              resolve(false);
            }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      waiters.push(done);
    });
  };

  return {
    enqueue(batch) {
      const size = batch.samples.length;
      for (const lane of lanes) {
        if (lane.wants !== undefined && !lane.wants(batch)) continue;
        if (lane.samples + size > options.maxSamples) {
          // The newest batch is skipped, as the bus retry queue and anomaly scoring do: what waits keeps its order.
          drop(lane, size);
          if (Date.now() - lane.lastSkipLogAt >= 10_000) {
            lane.lastSkipLogAt = Date.now();
            options.logger.warn({ consumer: lane.consumer, tenantId: batch.tenantId, skipped: size, queued: lane.samples, dropped_total: lane.dropped }, 'committed batch skipped by a consumer whose backlog is full');
          }
          continue;
        }
        lane.batches.push(batch);
        lane.samples += size;
        queuedSamples.set({ consumer: lane.consumer }, lane.samples);
      }
      schedule();
    },
    consume(consumer, handler, wants) {
      const lane: Lane = { consumer, handler, wants, batches: [], head: 0, samples: 0, dropped: 0, busy: false, lastSkipLogAt: 0 };
      lanes.push(lane);
      // Every consumer's series exists from the start: a rate over it needs the zero.
      droppedSamples.inc({ consumer }, 0);
      queuedSamples.set({ consumer }, 0);
      return () => {
        const index = lanes.indexOf(lane);
        if (index >= 0) lanes.splice(index, 1);
        queuedSamples.remove({ consumer });
        settle();
      };
    },
    drained,
    async close(timeoutMs) {
      if (await drained(timeoutMs)) return;
      for (const lane of lanes) {
        // The batch in hand (a pending handler) is left to finish; the ones behind it are dropped.
        const left = lane.batches.slice(lane.head).reduce((sum, batch) => sum + (batch?.samples.length ?? 0), 0);
        if (left === 0) continue;
        options.logger.error({ consumer: lane.consumer, dropped: left }, 'committed batches not handed to a consumer by the end of the shutdown drain: dropped');
        drop(lane, left);
        lane.batches = [];
        lane.head = 0;
        lane.samples -= left;
        queuedSamples.set({ consumer: lane.consumer }, lane.samples);
      }
    },
    stats: () => lanes.map((lane) => ({ consumer: lane.consumer, queued_samples: lane.samples, dropped_samples: lane.dropped })),
  };
}
