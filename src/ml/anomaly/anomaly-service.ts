import type { SampleSource } from '../../metrics/index.js';
import type { Logger } from 'pino';
import { nearestRank } from '../../platform/stats.js';
import { AppError } from '../../errors.js';
import type { AlertInput } from '../../alerts/alert-store.js';
import type { CommittedBatch } from '../../metrics/ingest.js';
import type { Sample } from '../../metrics/sample.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import type { UnitFailed } from '../../platform/scheduler.js';
import type { ModelStore } from '../model-store.js';
import type { Trainer } from '../tf/trainer.js';
import { AutoencoderScorer, WINDOW, paramsOf, windowsOf } from './autoencoder.js';
import { backtestAutoencoder, type AnomalyScorer, type AutoencoderBacktest } from './autoencoder-backtest.js';
import { busiestSeries, insertAnomalies, listAnomalies, seriesHistories, seriesHistory, type AnomalyFilter, type AnomalyRecord, type AnomalyRow } from './anomaly.repository.js';
import { RobustAnomalyDetector } from './robust-detector.js';

/** Samples scored between two yields to the event loop (about 5 ms of work). */
const SCORING_SLICE = 200;

export interface AnomalySettings {
  enabled: boolean;
  alertScore: number;
  warmupRows: number;
  maxSeries: number;
  queueMax: number;
  trainingDays: number;
  trainingMinSamples: number;
  trainingMaxSeries: number;
  trainingMaxWindows: number;
  epochs: number;
  batchSize: number;
}

interface SeriesState {
  detector: RobustAnomalyDetector;
  recent: number[];
  lastTimestamp: number;
}

export interface TrainedModelSummary {
  series_key: string;
  version: number;
  samples: number;
  windows: number;
  initial_loss: number;
  final_loss: number;
  attempts: number;
  error_p99: number;
  backtest: AutoencoderBacktest;
  served_by: AnomalyScorer;
}

/** The newest fifth of a series' history (at least two windows) is held out of training for the backtest. */
const HELD_OUT_SHARE = 0.2;

type RaiseAlert = (tenantId: string, input: AlertInput) => Promise<unknown>;

export interface AnomalyService {
  /** Ingest listener: queues the batch; scoring runs in order, off the request path. */
  onCommitted(batch: CommittedBatch): void;
  /** Resolves when every queued batch has been scored (tests, shutdown). */
  idle(): Promise<void>;
  stats(): { series: number; queued: number; dropped: number; scored: number };
  trainSeries(tenantId: string, seriesKey: string): Promise<TrainedModelSummary>;
  /** Training job: the busiest series of every tenant over the last days, each in the worker. */
  trainBusiest(signal?: AbortSignal, onUnitFailure?: UnitFailed): Promise<TrainedModelSummary[]>;
  list(tenantId: string, filter: AnomalyFilter): Promise<AnomalyRow[]>;
}


/**
 * Live anomaly scoring of every committed sample: the robust streaming detector on each series,
 * plus the series' autoencoder when one has been trained. Anomalies are stored and alerted.
 */
export function createAnomalyService(deps: { db: Db; clock: Clock; logger: Logger; models: ModelStore; trainer: Trainer; raise: RaiseAlert; settings: AnomalySettings; samples: SampleSource }): AnomalyService {
  const { settings } = deps;
  const states = new Map<string, SeriesState>();
  const scorers = new Map<string, AutoencoderScorer>();
  let chain: Promise<void> = Promise.resolve();
  let queued = 0;
  let dropped = 0;
  let scored = 0;

  const stateKey = (tenantId: string, seriesKey: string) => `${tenantId}|${seriesKey}`;

  const scorerFor = (tenantId: string, seriesKey: string, key: string): AutoencoderScorer | undefined => {
    const model = deps.models.cached(tenantId, 'anomaly-autoencoder', seriesKey);
    if (model === undefined) return undefined;
    const current = scorers.get(key);
    if (current !== undefined && current.version === model.version) return current;
    const params = paramsOf(model);
    if (params === undefined) return undefined;
    const scorer = new AutoencoderScorer(model.version, params, model, model.params.servedBy === 'robust+autoencoder' ? 'robust+autoencoder' : 'robust');
    scorers.set(key, scorer);
    return scorer;
  };

  const remember = (key: string, state: SeriesState) => {
    states.set(key, state);
    // Bounded memory: the least recently seen series is forgotten (it re-learns from the database).
    if (states.size > settings.maxSeries) {
      const oldest = states.keys().next().value;
      if (oldest !== undefined) states.delete(oldest);
    }
  };

  /**
   * Series of the batch that have no state yet learn their recent past from the database first,
   * all in one query (each up to its first sample in the batch).
   */
  const loadUnseen = async (tenantId: string, ordered: readonly Sample[]): Promise<void> => {
    const firstAt = new Map<string, Date>();
    for (const sample of ordered) {
      if (!states.has(stateKey(tenantId, sample.seriesKey)) && !firstAt.has(sample.seriesKey)) firstAt.set(sample.seriesKey, sample.timestamp);
    }
    if (firstAt.size === 0) return;
    const ranges = [...firstAt].map(([seriesKey, before]) => ({ seriesKey, since: new Date(before.getTime() - settings.trainingDays * 86_400_000), before }));
    const histories = await deps.db.withTenant(tenantId, (tx) => seriesHistories(tx, tenantId, ranges, settings.warmupRows, deps.samples));
    for (const [seriesKey, history] of histories) {
      const state: SeriesState = { detector: new RobustAnomalyDetector(), recent: [], lastTimestamp: Number.NEGATIVE_INFINITY };
      for (const point of history) learn(state, point.timestamp.getTime(), point.value);
      remember(stateKey(tenantId, seriesKey), state);
    }
  };

  /** The series' state, marked as the most recently seen. */
  const touch = (key: string): SeriesState | undefined => {
    const state = states.get(key);
    if (state !== undefined) {
      states.delete(key);
      states.set(key, state);
    }
    return state;
  };

  const learn = (state: SeriesState, timestampMs: number, value: number): number => {
    const score = state.detector.update(timestampMs, value);
    state.recent.push(value);
    if (state.recent.length > WINDOW) state.recent.shift();
    state.lastTimestamp = timestampMs;
    return score;
  };

  const processBatch = async (batch: CommittedBatch): Promise<void> => {
    const ordered = [...batch.samples].sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
    const found: AnomalyRecord[] = [];
    await loadUnseen(batch.tenantId, ordered);
    for (const [index, sample] of ordered.entries()) {
      // Scoring runs on the thread that answers requests: a large batch yields between slices
      // (~25 us a sample) instead of holding every other tenant's requests for its whole length.
      if (index > 0 && index % SCORING_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      const key = stateKey(batch.tenantId, sample.seriesKey);
      // A series forgotten since the batch began (more series than maxSeries) re-learns on its own.
      if (!states.has(key)) await loadUnseen(batch.tenantId, [sample]);
      const state = touch(key);
      if (state === undefined) continue;
      const at = sample.timestamp.getTime();
      // The streaming detector needs time order; a late sample is stored but not scored.
      if (at <= state.lastTimestamp) continue;
      const robustScore = learn(state, at, sample.value);
      const scorer = scorerFor(batch.tenantId, sample.seriesKey, key);
      scored += 1;
      // An autoencoder that does not serve only annotates an anomaly the robust detector found.
      const needed = scorer !== undefined && state.recent.length >= WINDOW && (scorer.servedBy === 'robust+autoencoder' || robustScore >= settings.alertScore);
      const modelScore = needed ? scorer.score(state.recent) : null;
      const joined = scorer?.servedBy === 'robust+autoencoder' && modelScore !== null;
      const score = joined ? Math.max(robustScore, modelScore) : robustScore;
      if (score < settings.alertScore) continue;
      found.push({
        seriesKey: sample.seriesKey,
        metricName: sample.name,
        serviceName: sample.service,
        labels: sample.labels,
        timestamp: sample.timestamp,
        value: sample.value,
        score,
        robustScore,
        modelScore,
        modelVersion: scorer?.version ?? null,
        detector: joined && modelScore > robustScore ? 'autoencoder' : 'robust',
      });
    }
    if (found.length === 0) return;
    await deps.db.withTenant(batch.tenantId, (tx) => insertAnomalies(tx, batch.tenantId, found));
    for (const anomaly of found) await raiseFor(batch.tenantId, anomaly);
  };

  const raiseFor = async (tenantId: string, anomaly: AnomalyRecord) => {
    await deps.raise(tenantId, {
      fingerprint: `anomaly:${anomaly.seriesKey}`,
      name: `Anomaly in ${anomaly.metricName}`,
      type: 'anomaly',
      severity: anomaly.score >= 0.9 ? 'critical' : 'warning',
      message: `${anomaly.metricName} of ${anomaly.serviceName} = ${anomaly.value} at ${anomaly.timestamp.toISOString()} is anomalous (score ${anomaly.score.toFixed(3)}, ${anomaly.detector} detector)`,
      source: 'ml-anomaly',
      serviceName: anomaly.serviceName,
      labels: { ...anomaly.labels, metric_name: anomaly.metricName },
      annotations: { score: anomaly.score.toFixed(4), detector: anomaly.detector, series_key: anomaly.seriesKey },
      value: anomaly.value,
    });
  };

  const trainSeries = async (tenantId: string, seriesKey: string): Promise<TrainedModelSummary> => {
    const now = deps.clock.now();
    const since = new Date(now.getTime() - settings.trainingDays * 86_400_000);
    const history = await deps.db.withTenant(tenantId, (tx) => seriesHistory(tx, tenantId, seriesKey, since, new Date(now.getTime() + 1), settings.trainingMaxWindows + WINDOW, deps.samples));
    const values = history.map((point) => point.value);
    if (values.length < Math.max(settings.trainingMinSamples, WINDOW + 1)) {
      throw new AppError('INSUFFICIENT_HISTORY', `series ${seriesKey} has ${values.length} samples in the training period; ${settings.trainingMinSamples} are needed`, { details: { series_key: seriesKey, samples: values.length, required: settings.trainingMinSamples } });
    }
    const heldOutFrom = values.length - Math.max(2 * WINDOW, Math.round(values.length * HELD_OUT_SHARE));
    const trainingValues = values.slice(0, heldOutFrom);
    const min = Math.min(...trainingValues);
    const max = Math.max(...trainingValues);
    const windows = windowsOf(trainingValues, { min, max }, settings.trainingMaxWindows);
    const result = await deps.trainer.train({ kind: 'autoencoder', windows, epochs: settings.epochs, batchSize: settings.batchSize });
    const errorP99 = nearestRank([...result.outputs].sort((a, b) => a - b), 0.99);
    const candidate = new AutoencoderScorer(0, { min, max, errorP99 }, result);
    const backtest = backtestAutoencoder({ timestamps: history.map((point) => point.timestamp.getTime()), values }, heldOutFrom, (last) => candidate.score(last), settings.alertScore);
    const stored = await deps.models.save(tenantId, {
      kind: 'anomaly-autoencoder',
      key: seriesKey,
      artifacts: result.artifacts,
      params: { min, max, errorP99, window: WINDOW, servedBy: backtest.served_by },
      metrics: { samples: values.length, windows: windows.length, initial_loss: result.initialLoss, final_loss: result.finalLoss, attempts: result.attempts, epochs: settings.epochs, backtest },
      trainedAt: deps.clock.now(),
    });
    return { series_key: seriesKey, version: stored.version, samples: values.length, windows: windows.length, initial_loss: result.initialLoss, final_loss: result.finalLoss, attempts: result.attempts, error_p99: errorP99, backtest, served_by: backtest.served_by };
  };

  return {
    onCommitted(batch) {
      if (!settings.enabled) return;
      if (queued + batch.samples.length > settings.queueMax) {
        dropped += batch.samples.length;
        deps.logger.warn({ dropped: batch.samples.length, queued }, 'anomaly scoring queue full: batch not scored');
        return;
      }
      queued += batch.samples.length;
      chain = chain
        .then(() => processBatch(batch))
        .catch((error: unknown) => deps.logger.error({ err: error }, 'anomaly scoring failed'))
        .finally(() => {
          queued -= batch.samples.length;
        });
    },
    idle: () => chain,
    stats: () => ({ series: states.size, queued, dropped, scored }),
    trainSeries,
    async trainBusiest(signal, onUnitFailure) {
      const since = new Date(deps.clock.nowMs() - settings.trainingDays * 86_400_000);
      const series = await deps.db.asSystem((tx) => busiestSeries(tx, since, settings.trainingMinSamples, settings.trainingMaxSeries));
      const trained: TrainedModelSummary[] = [];
      for (const entry of series) {
        if (signal?.aborted === true) break;
        try {
          trained.push(await trainSeries(entry.tenant_id, entry.series_key));
        } catch (error) {
          deps.logger.warn({ err: error, tenantId: entry.tenant_id, series: entry.series_key }, 'autoencoder training failed');
          onUnitFailure?.({ tenantId: entry.tenant_id, series: entry.series_key }, error);
        }
      }
      return trained;
    },
    list: (tenantId, filter) => deps.db.withTenant(tenantId, (tx) => listAnomalies(tx, tenantId, filter)),
  };
}
