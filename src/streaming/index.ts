import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AlertStore } from '../alerts/alert-store.js';
import type { Config } from '../config.js';
import type { Ingest } from '../metrics/ingest.js';
import type { Bus, Subscription } from '../platform/bus/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import type { Scheduler } from '../platform/scheduler.js';
import { startConsumers } from './consumers.js';
import { registerMessageFormats } from './formats.js';
import { createStreamProcessor, type StreamProcessor } from './stream-processor.js';
import { createStreamingMetrics } from './streaming.metrics.js';

export { WINDOW_MS, RETAIN_MS, type StreamProcessor, type WindowCounts } from './stream-processor.js';

export const STREAM_PROCESSOR_JOB = 'stream-processor';

export interface Streaming {
  readonly processor: StreamProcessor;
  close(): Promise<void>;
}

export interface StreamingDeps {
  config: Config;
  db: Db;
  bus: Bus;
  ingest: Ingest;
  alerts: AlertStore;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  scheduler: Scheduler;
}

/** Consumers of other services' topics and the stream processor over every committed sample. */
export async function createStreaming(deps: StreamingDeps): Promise<Streaming> {
  registerMessageFormats();
  const logger = deps.logger.child({ component: 'streaming' });
  const processor = createStreamProcessor({
    clock: deps.clock,
    logger,
    alerts: deps.alerts,
    highFrequencyThreshold: deps.config.STREAM_HIGH_FREQUENCY_THRESHOLD,
    fraudSpikeThreshold: deps.config.STREAM_FRAUD_SPIKE_THRESHOLD,
    metrics: () => metrics,
  });
  const metrics = createStreamingMetrics(deps.registry, () => processor.windowCount());
  const offCommitted = deps.ingest.onCommitted('stream_processor', (batch) => processor.recordSamples(batch.tenantId, batch.samples.map((sample) => sample.name), batch.committedAt));

  deps.scheduler.add({
    name: STREAM_PROCESSOR_JOB,
    intervalMs: deps.config.STREAM_PROCESSOR_INTERVAL_MS,
    // Windows live in each instance's memory, so each instance ticks its own.
    clusterWide: false,
    run: async ({ unitFailed }) => {
      await processor.tick(unitFailed);
    },
  });

  let subscriptions: Subscription[] = [];
  if (deps.config.BUS_CONSUMERS_ENABLED) {
    subscriptions = await startConsumers({ bus: deps.bus, db: deps.db, ingest: deps.ingest, alerts: deps.alerts, processor, clock: deps.clock, logger, metrics, serviceName: deps.config.SERVICE_NAME });
  }

  let closed = false;
  return {
    processor,
    async close() {
      if (closed) return;
      closed = true;
      offCommitted();
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
    },
  };
}
