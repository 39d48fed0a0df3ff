import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import type { Clients } from '../../clients/index.js';
import { AppError, NotConfiguredError } from '../../errors.js';
import type { ModelStore, StoredModel, Trainer } from '../../ml/index.js';
import type { Clock } from '../../platform/clock.js';
import type { Db, Tx } from '../../platform/db/index.js';
import type { UnitFailed } from '../../platform/scheduler.js';
import { eventsWithSales, selloutTime, slotHistogram, tenantsWithSales } from './sales.repository.js';
import {
  baselineHoursAt,
  FEATURES,
  fitStandardizer,
  fromTarget,
  meanAbsolute,
  rawSequence,
  residualRange,
  servedBy,
  slotMsOf,
  soldByOf,
  standardize,
  toTarget,
  type SequenceShape,
  type SoldBy,
  type Standardizer,
} from './sellout-features.js';
import type { SelloutPrediction } from './sellout.js';

const HOUR = 3_600_000;
const MODEL_KEY = '';

export interface SelloutModelSettings extends SequenceShape {
  minEvents: number;
  maxEvents: number;
  maxCutsPerEvent: number;
  lookbackMs: number;
  epochs: number;
}

// null when there was nothing to measure (JSON has no NaN).
const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const finiteOrNull = (value: number) => (Number.isFinite(value) ? value : null);
const Split = Type.Object({ training: Type.Integer(), validation: Type.Integer() });

/** What the backtest measured and the serving decision, as stored with the model and shown by the API. */
export const SelloutModelSummarySchema = Type.Object({
  version: Type.Integer(),
  trained_at: Type.String(),
  served_by: Type.Union([Type.Literal('lstm'), Type.Literal('baseline')]),
  events: Split,
  sequences: Split,
  backtest: Type.Object({ lstm_mae_hours: NullableNumber, baseline_mae_hours: NullableNumber, cut_points: Type.Integer(), baseline_coverage: Type.Number() }),
  initial_loss: Type.Number(),
  final_loss: Type.Number(),
  bucket_ms: Type.Integer(),
  steps: Type.Integer(),
});
export type SelloutModelSummary = Static<typeof SelloutModelSummarySchema>;

interface ModelParams {
  bucketMs: number;
  steps: number;
  features: Standardizer;
  target: { mean: number; std: number };
  residual: { low: number; high: number };
  servedBy: 'lstm' | 'baseline';
}

interface SoldOutEvent {
  eventId: string;
  capacity: number;
  firstSaleMs: number;
  selloutMs: number;
  soldBy: SoldBy;
}

interface CutPoint {
  sequence: number[][];
  hours: number;
  baselineHours: number | null;
}

function isParams(value: Record<string, unknown>): value is Record<string, unknown> & ModelParams {
  return typeof value.bucketMs === 'number' && typeof value.steps === 'number' && typeof value.features === 'object' && typeof value.target === 'object' && typeof value.residual === 'object';
}

/** Cut points every bucket from one bucket after the first sale until the sellout, evenly thinned to `max`. */
function cutPointsOf(event: SoldOutEvent, shape: SequenceShape, max: number): CutPoint[] {
  const cuts: number[] = [];
  for (let cut = event.firstSaleMs + shape.bucketMs; cut < event.selloutMs; cut += shape.bucketMs) cuts.push(cut);
  const stride = Math.max(1, cuts.length / max);
  const chosen: number[] = [];
  for (let position = 0; Math.floor(position) < cuts.length; position += stride) chosen.push(cuts[Math.floor(position)] ?? 0);
  return chosen.map((cut) => ({
    sequence: rawSequence(event.soldBy, event.capacity, cut, shape),
    hours: (event.selloutMs - cut) / HOUR,
    baselineHours: baselineHoursAt(event.soldBy, event.capacity, cut, event.firstSaleMs),
  }));
}

/**
 * The audit's LSTM sellout model, per tenant, trained on this service's own sales of events that sold
 * out. The newest fifth of those events is held out: the backtest on it gives both errors, the
 * residual range of the LSTM, and decides whether the LSTM or the recent-rate baseline serves.
 */
export function createSelloutModel(deps: { db: Db; clock: Clock; logger: Logger; clients: Clients; models: ModelStore; trainer: Trainer; inference: Trainer; settings: SelloutModelSettings }) {
  const { settings } = deps;
  const shape: SequenceShape = { bucketMs: settings.bucketMs, steps: settings.steps };
  const slotMs = slotMsOf(shape);

  const soldOutEvents = async (tenantId: string): Promise<SoldOutEvent[]> => {
    const since = new Date(deps.clock.nowMs() - settings.lookbackMs);
    const candidates = await deps.db.withTenant(tenantId, (tx) => eventsWithSales(tx, tenantId, since, settings.maxEvents));
    // Capacities first (event service), then the sold-out events' sales in one transaction.
    const full: Array<(typeof candidates)[number] & { capacity: number }> = [];
    for (const candidate of candidates) {
      try {
        const { capacity } = await deps.clients.events.getEvent(tenantId, candidate.event_id);
        if (capacity > 0 && candidate.sold >= capacity) full.push({ ...candidate, capacity });
      } catch (error) {
        deps.logger.debug({ err: error, eventId: candidate.event_id }, 'event left out of sellout training: no capacity from the event service');
      }
    }
    const soldOut = await deps.db.withTenant(tenantId, async (tx) => {
      const events: SoldOutEvent[] = [];
      for (const candidate of full) {
        const sellout = await selloutTime(tx, tenantId, candidate.event_id, candidate.capacity);
        if (sellout === null) continue;
        // Slots start `steps` buckets before the first sale so the earliest sequences are complete (zeros).
        const fromMs = Math.floor(candidate.first_sale_at.getTime() / slotMs) * slotMs - settings.steps * settings.bucketMs;
        const histogram = await slotHistogram(tx, tenantId, candidate.event_id, new Date(fromMs), new Date(sellout.getTime() + 1), slotMs);
        events.push({ eventId: candidate.event_id, capacity: candidate.capacity, firstSaleMs: candidate.first_sale_at.getTime(), selloutMs: sellout.getTime(), soldBy: soldByOf({ fromMs, slotMs, ...histogram }) });
      }
      return events;
    });
    return soldOut.sort((a, b) => a.selloutMs - b.selloutMs);
  };

  const summaryOf = (model: StoredModel): SelloutModelSummary | null => {
    const summary = { ...model.metrics, version: model.version };
    return Value.Check(SelloutModelSummarySchema, summary) ? summary : null;
  };

  return {
    async train(tenantId: string): Promise<SelloutModelSummary> {
      // Without event capacities no event counts as sold out: say what is missing, not "no history".
      if (!deps.clients.events.configured) throw new NotConfiguredError('Sellout model training (event capacities)', 'EVENT_SERVICE_URL');
      const events = await soldOutEvents(tenantId);
      if (events.length < settings.minEvents) {
        throw new AppError('INSUFFICIENT_HISTORY', `The sellout model needs ${settings.minEvents} sold-out events in this service's sales history; this tenant has ${events.length}`, {
          details: { required: settings.minEvents, sold_out_events: events.length },
        });
      }
      const validationCount = Math.max(1, Math.round(events.length / 5));
      const trainingEvents = events.slice(0, events.length - validationCount);
      const validationEvents = events.slice(events.length - validationCount);
      const training = trainingEvents.flatMap((event) => cutPointsOf(event, shape, settings.maxCutsPerEvent));
      const validation = validationEvents.flatMap((event) => cutPointsOf(event, shape, settings.maxCutsPerEvent));
      if (training.length === 0 || validation.length === 0) {
        throw new AppError('INSUFFICIENT_HISTORY', 'The sold-out events sold out within one bucket: there is no sequence to learn from', { details: { bucket_ms: settings.bucketMs } });
      }
      const features = fitStandardizer(training.map((cut) => cut.sequence));
      const targets = training.map((cut) => toTarget(cut.hours));
      const targetMean = targets.reduce((a, b) => a + b, 0) / targets.length;
      const targetStd = Math.sqrt(targets.reduce((a, b) => a + (b - targetMean) ** 2, 0) / targets.length) || 1;
      const result = await deps.trainer.train({
        kind: 'sellout',
        sequences: training.map((cut) => standardize(cut.sequence, features)),
        targets: targets.map((target) => (target - targetMean) / targetStd),
        epochs: settings.epochs,
        batchSize: 32,
      });
      const predicted = await deps.trainer.predict({ kind: 'sellout-predict', artifacts: result.artifacts, sequences: validation.map((cut) => standardize(cut.sequence, features)) });
      const predictedTargets = predicted.map((value) => value * targetStd + targetMean);
      const lstmErrors = validation.map((cut, index) => fromTarget(predictedTargets[index] ?? Number.NaN) - cut.hours);
      const compared = validation.flatMap((cut, index) => (cut.baselineHours === null ? [] : [{ lstm: lstmErrors[index] ?? Number.NaN, baseline: cut.baselineHours - cut.hours }]));
      // Both errors over the cut points where the baseline has a prediction (it has none without recent sales).
      const backtest = { lstmMaeHours: meanAbsolute(compared.map((c) => c.lstm)), baselineMaeHours: meanAbsolute(compared.map((c) => c.baseline)) };
      const served = servedBy(backtest);
      const params: ModelParams = {
        bucketMs: settings.bucketMs,
        steps: settings.steps,
        features,
        target: { mean: targetMean, std: targetStd },
        residual: residualRange(validation.map((cut) => toTarget(cut.hours)), predictedTargets),
        servedBy: served,
      };
      const trainedAt = deps.clock.now();
      const metrics: Omit<SelloutModelSummary, 'version'> = {
        trained_at: trainedAt.toISOString(),
        served_by: served,
        events: { training: trainingEvents.length, validation: validationEvents.length },
        sequences: { training: training.length, validation: validation.length },
        backtest: { lstm_mae_hours: finiteOrNull(backtest.lstmMaeHours), baseline_mae_hours: finiteOrNull(backtest.baselineMaeHours), cut_points: compared.length, baseline_coverage: compared.length / validation.length },
        initial_loss: result.initialLoss,
        final_loss: result.finalLoss,
        bucket_ms: settings.bucketMs,
        steps: settings.steps,
      };
      const stored = await deps.models.save(tenantId, { kind: 'sellout', key: MODEL_KEY, artifacts: result.artifacts, params: { ...params }, metrics: { ...metrics }, trainedAt });
      const summary = { ...metrics, version: stored.version };
      deps.logger.info({ tenantId, version: stored.version, servedBy: served, lstmMaeHours: backtest.lstmMaeHours, baselineMaeHours: backtest.baselineMaeHours }, 'sellout model trained');
      return summary;
    },

    /** Training job: every tenant with sales newer than its model; a tenant that fails is logged and reported, the others go on. */
    async trainDue(signal?: AbortSignal, onUnitFailure?: UnitFailed): Promise<number> {
      if (!deps.clients.events.configured) return 0;
      const since = new Date(deps.clock.nowMs() - settings.lookbackMs);
      const tenants = await deps.db.asSystem((tx) => tenantsWithSales(tx, since));
      let trained = 0;
      for (const { tenant_id: tenantId, last_sale_at: lastSale } of tenants) {
        if (signal?.aborted === true) break;
        try {
          const current = await deps.models.latest(tenantId, 'sellout', MODEL_KEY);
          if (current !== undefined && current.trainedAt >= lastSale) continue;
          await this.train(tenantId);
          trained += 1;
        } catch (error) {
          if (error instanceof AppError && error.code === 'INSUFFICIENT_HISTORY') deps.logger.debug({ tenantId, details: error.details }, 'no sellout model yet');
          else {
            deps.logger.warn({ err: error, tenantId }, 'sellout model training failed');
            onUnitFailure?.({ tenantId }, error);
          }
        }
      }
      return trained;
    },

    async summary(tenantId: string): Promise<SelloutModelSummary | null> {
      const model = await deps.models.latest(tenantId, 'sellout', MODEL_KEY);
      return model === undefined ? null : summaryOf(model);
    },

    /**
     * The tenant's latest model, or null without one. `readRecent` reads an event's last steps in the
     * caller's transaction (beside the report's other reads); `predict` runs in the inference worker,
     * which never queues behind a training run.
     */
    async predictor(tenantId: string) {
      const model = await deps.models.latest(tenantId, 'sellout', MODEL_KEY);
      if (model === undefined || !isParams(model.params)) return null;
      const params = model.params;
      const modelShape = { bucketMs: params.bucketMs, steps: params.steps };
      const modelSlotMs = slotMsOf(modelShape);
      return {
        async readRecent(tx: Tx, eventId: string, nowMs: number): Promise<SoldBy> {
          const fromMs = nowMs - params.steps * params.bucketMs;
          const counts = await slotHistogram(tx, tenantId, eventId, new Date(fromMs), new Date(nowMs + 1), modelSlotMs);
          return soldByOf({ fromMs, slotMs: modelSlotMs, ...counts });
        },

        async predict(recent: SoldBy, input: { capacity: number; sold: number; now: Date; startsAt: Date }): Promise<{ prediction: SelloutPrediction; servedBy: 'lstm' | 'baseline' } | null> {
          const nowMs = input.now.getTime();
          const at = (hours: number) => new Date(nowMs + hours * HOUR).toISOString();
          const base = { method: 'lstm' as const, model_version: model.version };
          if (input.sold >= input.capacity) {
            return { prediction: { ...base, hours: 0, sellout_at: at(0), earliest_at: at(0), latest_at: at(0), before_start: true }, servedBy: params.servedBy };
          }
          const sequence = standardize(rawSequence(recent, input.capacity, nowMs, modelShape), params.features);
          if (sequence[0]?.length !== FEATURES) return null;
          const [output] = await deps.inference.predict({ kind: 'sellout-predict', modelId: model.id, artifacts: model.artifacts, sequences: [sequence] });
          const target = (output ?? Number.NaN) * params.target.std + params.target.mean;
          const hours = fromTarget(target);
          return {
            prediction: { ...base, hours, sellout_at: at(hours), earliest_at: at(fromTarget(target + params.residual.low)), latest_at: at(fromTarget(target + params.residual.high)), before_start: nowMs + hours * HOUR <= input.startsAt.getTime() },
            servedBy: params.servedBy,
          };
        },
      };
    },
  };
}

export type SelloutModel = ReturnType<typeof createSelloutModel>;
