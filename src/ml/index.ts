import type { SampleSource } from '../metrics/index.js';
import type { Logger } from 'pino';
import type { AlertInput } from '../alerts/alert-store.js';
import type { Config } from '../config.js';
import type { Ingest } from '../metrics/ingest.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import type { Scheduler } from '../platform/scheduler.js';
import { createAnomalyService, type AnomalyService } from './anomaly/anomaly-service.js';
import { createForecastService, type ForecastService } from './forecast/forecast-service.js';
import { createModelStore, type ModelStore } from './model-store.js';
import { createTrainer, type Trainer } from './tf/trainer.js';

export { createModelStore, type ModelStore, type StoredModel, type ModelKind } from './model-store.js';
export { createTrainer, type Trainer } from './tf/trainer.js';
export { denseForward, denseLayersOf, type DenseLayer } from './tf/artifacts.js';

export const ANOMALY_TRAINING_JOB = 'anomaly-model-training';
/** How long an instance trusts what it knows of a model before asking the database (another instance may train). */
const MODEL_REFRESH_MS = 60_000;

export interface Ml {
  trainer: Trainer;
  /** A second worker for predictions, so a request never waits behind a training run. */
  inference: Trainer;
  models: ModelStore;
  anomalies: AnomalyService;
  forecasts: ForecastService;
  close(): Promise<void>;
}

/**
 * The ML domain: one training worker (TensorFlow.js, WebAssembly backend, off the event loop),
 * versioned models in the database loaded at start, and live anomaly scoring of ingested samples.
 */
export async function createMl(deps: {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  ingest: Ingest;
  scheduler: Scheduler;
  raise: (tenantId: string, input: AlertInput) => Promise<unknown>;
  /** Where samples are read (the database, or the time-series database). */
  samples: SampleSource;
}): Promise<Ml> {
  const { config } = deps;
  const trainer = createTrainer();
  const inference = createTrainer();
  const models = createModelStore(deps.db, { clock: deps.clock, refreshMs: MODEL_REFRESH_MS });
  const loaded = await models.loadAll();
  deps.logger.debug({ models: loaded }, 'ml models loaded');
  const anomalies = createAnomalyService({
    db: deps.db,
    samples: deps.samples,
    clock: deps.clock,
    logger: deps.logger,
    models,
    trainer,
    raise: deps.raise,
    settings: {
      enabled: config.ANOMALY_DETECTION_ENABLED,
      alertScore: config.ANOMALY_ALERT_SCORE,
      warmupRows: config.ANOMALY_WARMUP_ROWS,
      maxSeries: config.ANOMALY_MAX_SERIES,
      queueMax: config.ANOMALY_QUEUE_MAX,
      trainingDays: config.ANOMALY_TRAINING_DAYS,
      trainingMinSamples: config.ANOMALY_TRAINING_MIN_SAMPLES,
      trainingMaxSeries: config.ANOMALY_TRAINING_MAX_SERIES,
      trainingMaxWindows: config.ANOMALY_TRAINING_MAX_WINDOWS,
      epochs: config.ANOMALY_TRAINING_EPOCHS,
      batchSize: config.ANOMALY_TRAINING_BATCH_SIZE,
    },
  });
  const forecasts = createForecastService({ db: deps.db, clock: deps.clock, rawMaxRangeMs: config.METRICS_RAW_QUERY_MAX_RANGE_MS, latencyTargetMs: config.FORECAST_LATENCY_TARGET_MS, riskWindowMs: config.FAILURE_RISK_WINDOW_MS, samples: deps.samples });
  const unsubscribe = deps.ingest.onCommitted('anomaly', (batch) => anomalies.onCommitted(batch));
  deps.scheduler.add({
    name: ANOMALY_TRAINING_JOB,
    intervalMs: config.ANOMALY_TRAINING_INTERVAL_MS,
    async run({ signal, unitFailed }) {
      const trained = await anomalies.trainBusiest(signal, unitFailed);
      deps.logger.info({ models: trained.length }, 'anomaly autoencoders retrained');
    },
  });
  return {
    trainer,
    inference,
    models,
    // Batches committed but not yet handed over by the ingest dispatch queue are waiting for scoring too.
    anomalies: {
      ...anomalies,
      async idle() {
        await deps.ingest.dispatched();
        await anomalies.idle();
      },
    },
    forecasts,
    async close() {
      unsubscribe();
      await anomalies.idle();
      await Promise.all([trainer.close(), inference.close()]);
    },
  };
}
