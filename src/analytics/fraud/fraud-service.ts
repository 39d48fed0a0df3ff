import type { Logger } from 'pino';
import type { AlertInput } from '../../alerts/alert-store.js';
import { AppError, NotFoundError } from '../../errors.js';
import { denseForward, denseLayersOf, type DenseLayer, type ModelStore, type Trainer } from '../../ml/index.js';
import type { Bus } from '../../platform/bus/index.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import type { UnitFailed } from '../../platform/scheduler.js';
import { createFraudEventWriter } from './fraud-event-writer.js';
import { backtestFraud, blendedScore, type FraudBacktest, type FraudScorer } from './fraud-backtest.js';
import { evaluateRules, featuresOf, IpRanges, riskLevelOf, type FraudPattern, type FraudSignals, type Reason, type RiskLevel } from './fraud-rules.js';
import { countsOverTime, findEvent, investigationCounts, labelledExamples, listEvents, markInvestigated, tenantsToRetrain, type FraudEventRow } from './fraud.repository.js';

export interface FraudSettings {
  vpnCidrs: readonly string[];
  datacenterCidrs: readonly string[];
  storeScore: number;
  modelWeightPercent: number;
  dedupWindowMs: number;
  trainingMinEvents: number;
  trainingEpochs: number;
}

export interface FraudCheckResult {
  risk_score: number;
  risk_level: RiskLevel;
  pattern: FraudPattern;
  reasons: Reason[];
  rule_score: number;
  model_score: number | null;
  model_version: number | null;
  /** What made risk_score: the rules alone until a backtest shows the blend with the network does better. */
  served_by: FraudScorer;
  vpn: boolean;
  datacenter: boolean;
  stored: boolean;
  event_id: string | null;
}

export interface FraudModelSummary {
  version: number;
  examples: number;
  confirmed: number;
  false_positives: number;
  initial_loss: number;
  final_loss: number;
  attempts: number;
  backtest: FraudBacktest;
}

interface LoadedModel {
  version: number;
  layers: DenseLayer[];
  servedBy: FraudScorer;
}

const HOLDOUT_SHARE = 0.2;
const HOLDOUT_MIN = 2;

/**
 * Fraud checks: the audit's rules plus, once trained, the tenant's network (10 -> 128 -> 64 -> 32 -> 1)
 * run on the main thread from its stored weights. High-risk checks are stored (deduplicated per
 * user, pattern and time bucket), published to `fraud-events` with acks from all replicas and alerted.
 */
export function createFraudService(deps: { db: Db; bus: Bus; clock: Clock; logger: Logger; models: ModelStore; trainer: Trainer; raise: (tenantId: string, input: AlertInput) => Promise<unknown>; settings: FraudSettings }) {
  const { settings } = deps;
  const ranges = { vpn: new IpRanges(settings.vpnCidrs), datacenter: new IpRanges(settings.datacenterCidrs) };
  const loaded = new Map<string, LoadedModel>();
  const writer = createFraudEventWriter({ db: deps.db, bus: deps.bus, logger: deps.logger, raise: deps.raise });

  /** The tenant's latest network (the model store checks the database once a period, not per check). */
  const modelFor = async (tenantId: string): Promise<LoadedModel | undefined> => {
    const stored = await deps.models.latest(tenantId, 'fraud', '');
    if (stored === undefined) return undefined;
    const current = loaded.get(tenantId);
    if (current?.version === stored.version) return current;
    // A model stored before backtests existed has no verdict: the rules, the baseline, keep serving.
    const servedBy: FraudScorer = stored.params.servedBy === 'rules+network' ? 'rules+network' : 'rules';
    const model = { version: stored.version, layers: denseLayersOf(stored.artifacts), servedBy };
    loaded.set(tenantId, model);
    return model;
  };

  return {
    async check(tenantId: string, signals: FraudSignals): Promise<FraudCheckResult> {
      const rules = evaluateRules(signals, ranges);
      const features = featuresOf(signals, rules);
      const model = await modelFor(tenantId);
      const probability = model === undefined ? null : (denseForward(model.layers, features)[0] ?? 0);
      const servedBy: FraudScorer = probability === null || model?.servedBy !== 'rules+network' ? 'rules' : 'rules+network';
      const score = probability === null || servedBy === 'rules' ? rules.score : blendedScore(rules.score, probability, settings.modelWeightPercent);
      const level = riskLevelOf(score);
      const result: FraudCheckResult = { risk_score: score, risk_level: level, pattern: rules.pattern, reasons: rules.reasons, rule_score: rules.score, model_score: probability, model_version: model?.version ?? null, served_by: servedBy, vpn: rules.vpn, datacenter: rules.datacenter, stored: false, event_id: null };
      if (score < settings.storeScore) return result;
      const now = deps.clock.nowMs();
      const bucket = new Date(now - (now % settings.dedupWindowMs));
      const event = await writer.store({
        tenantId,
        event: { userId: signals.user_id, pattern: rules.pattern, riskLevel: level, riskScore: score, timestamp: bucket, data: { signals, features, reasons: rules.reasons, rule_score: rules.score, model_score: probability, model_version: model?.version ?? null } },
        reasons: rules.reasons,
      });
      // Durable once stored; publishing and alerting follow without holding the caller.
      if (event === null) return result;
      return { ...result, stored: true, event_id: event.id };
    },

    async investigate(tenantId: string, id: string, outcome: 'confirmed' | 'false_positive', by: string): Promise<FraudEventRow> {
      return deps.db.withTenant(tenantId, async (tx) => {
        const event = await findEvent(tx, tenantId, id);
        if (event === undefined) throw new NotFoundError('Fraud event', id);
        if (event.investigated) throw new AppError('ALREADY_INVESTIGATED', `Fraud event ${id} was already investigated (${event.investigation_outcome ?? 'no outcome'})`, { details: { outcome: event.investigation_outcome } });
        const updated = await markInvestigated(tx, tenantId, id, outcome, by, deps.clock.now());
        if (updated === undefined) throw new NotFoundError('Fraud event', id);
        return updated;
      });
    },

    /** Resolves when every started publish/alert has finished (shutdown, tests). */
    idle: () => writer.idle(),

    list: (tenantId: string, filter: { investigated?: boolean; pattern?: string; limit: number }) => deps.db.withTenant(tenantId, (tx) => listEvents(tx, tenantId, filter)),

    /** Trains this tenant's network on its investigated events, in the training worker. */
    async train(tenantId: string): Promise<FraudModelSummary> {
      const examples = await deps.db.withTenant(tenantId, (tx) => labelledExamples(tx, tenantId, 50_000));
      const confirmed = examples.filter((e) => e.label === 1).length;
      const falsePositives = examples.length - confirmed;
      if (examples.length < settings.trainingMinEvents || confirmed === 0 || falsePositives === 0) {
        throw new AppError('INSUFFICIENT_HISTORY', `Training needs ${settings.trainingMinEvents} investigated events with both outcomes; this tenant has ${confirmed} confirmed and ${falsePositives} false positives`, { details: { required: settings.trainingMinEvents, confirmed, false_positives: falsePositives } });
      }
      // The newest investigations (with the rule score their check gave) are held out for the backtest.
      const holdoutSize = Math.max(HOLDOUT_MIN, Math.round(examples.length * HOLDOUT_SHARE));
      const held = new Set(examples.flatMap((e, index) => (e.ruleScore === null ? [] : [index])).slice(0, holdoutSize));
      const holdout = examples.flatMap((e, index) => (held.has(index) && e.ruleScore !== null ? [{ ...e, ruleScore: e.ruleScore }] : []));
      const training = examples.filter((_, index) => !held.has(index));
      if (!training.some((e) => e.label === 1) || !training.some((e) => e.label === 0)) {
        throw new AppError('INSUFFICIENT_HISTORY', `After holding out the newest ${holdout.length} investigations for the backtest, training has only one outcome`, { details: { holdout: holdout.length, training: training.length } });
      }
      const result = await deps.trainer.train({ kind: 'fraud', features: training.map((e) => e.features), labels: training.map((e) => e.label), epochs: settings.trainingEpochs, batchSize: 32 });
      const layers = denseLayersOf(result.artifacts);
      const backtest = backtestFraud(
        holdout.map((e) => ({ ruleScore: e.ruleScore, probability: denseForward(layers, e.features)[0] ?? 0, label: e.label })),
        { weightPercent: settings.modelWeightPercent, threshold: settings.storeScore },
      );
      const stored = await deps.models.save(tenantId, {
        kind: 'fraud',
        key: '',
        artifacts: result.artifacts,
        params: { inputs: 10, servedBy: backtest.served_by },
        metrics: { examples: examples.length, training: training.length, confirmed, false_positives: falsePositives, initial_loss: result.initialLoss, final_loss: result.finalLoss, attempts: result.attempts, backtest },
        trainedAt: deps.clock.now(),
      });
      return { version: stored.version, examples: examples.length, confirmed, false_positives: falsePositives, initial_loss: result.initialLoss, final_loss: result.finalLoss, attempts: result.attempts, backtest };
    },

    /** Training job: every tenant whose investigations are newer than its model. */
    async trainDue(signal?: AbortSignal, onUnitFailure?: UnitFailed): Promise<number> {
      const tenants = await deps.db.asSystem((tx) => tenantsToRetrain(tx, settings.trainingMinEvents));
      let trained = 0;
      for (const tenantId of tenants) {
        if (signal?.aborted === true) break;
        try {
          await this.train(tenantId);
          trained += 1;
        } catch (error) {
          deps.logger.warn({ err: error, tenantId }, 'fraud model training failed');
          onUnitFailure?.({ tenantId }, error);
        }
      }
      return trained;
    },

    async metrics(tenantId: string, hours: number) {
      const to = deps.clock.now();
      const from = new Date(to.getTime() - hours * 3_600_000);
      const bucket = hours <= 72 ? 'hour' : 'day';
      const [series, investigations] = await deps.db.withTenant(tenantId, async (tx) => [await countsOverTime(tx, tenantId, from, to, bucket), await investigationCounts(tx, tenantId, from, to)] as const);
      const byPattern: Record<string, number> = {};
      const byRisk: Record<string, number> = {};
      for (const row of series) {
        byPattern[row.pattern] = (byPattern[row.pattern] ?? 0) + row.count;
        byRisk[row.risk_level] = (byRisk[row.risk_level] ?? 0) + row.count;
      }
      const model = await deps.models.latest(tenantId, 'fraud', '');
      return {
        from: from.toISOString(),
        to: to.toISOString(),
        bucket,
        total: series.reduce((a, row) => a + row.count, 0),
        by_pattern: byPattern,
        by_risk_level: byRisk,
        series: series.map((row) => ({ ...row, bucket: row.bucket.toISOString() })),
        investigated: investigations.investigated,
        confirmed: investigations.confirmed,
        false_positives: investigations.false_positive,
        open: investigations.open,
        precision: investigations.investigated === 0 ? null : investigations.confirmed / investigations.investigated,
        model: model === undefined ? null : { version: model.version, trained_at: model.trainedAt.toISOString(), metrics: model.metrics },
      };
    },
  };
}

export type FraudService = ReturnType<typeof createFraudService>;
