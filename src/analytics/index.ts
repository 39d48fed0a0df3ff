import type { Logger } from 'pino';
import type { AlertInput } from '../alerts/alert-store.js';
import type { Config } from '../config.js';
import type { Ml } from '../ml/index.js';
import type { Bus } from '../platform/bus/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import type { Scheduler } from '../platform/scheduler.js';
import type { Clients } from '../clients/index.js';
import type { CatalogueFeed, SampleSource } from '../metrics/index.js';
import type { Ingest } from '../metrics/ingest.js';
import { ML_ANALYSIS_JOB, runMlAnalysis } from '../ml/analysis/ml-analysis.job.js';
import { createFraudService, type FraudService } from './fraud/fraud-service.js';
import { createSalesService, type SalesService } from './sales/sales-service.js';
import { createSelloutModel, type SelloutModel } from './sales/sellout-model.js';

export const FRAUD_TRAINING_JOB = 'fraud-model-training';
export const SALES_TRACKING_JOB = 'sales-tracking';
export const SELLOUT_TRAINING_JOB = 'sellout-model-training';

export interface Analytics {
  fraud: FraudService;
  sales: SalesService;
  sellout: SelloutModel;
  close(): Promise<void>;
}

/** Analytics domain: fraud checks and investigations, sales tracking and sellout prediction. */
export function createAnalytics(deps: { config: Config; db: Db; bus: Bus; clock: Clock; logger: Logger; ml: Ml; scheduler: Scheduler; clients: Clients; catalogueFeed: Pick<CatalogueFeed, 'record'>; ingest: Ingest; samples: SampleSource; raise: (tenantId: string, input: AlertInput) => Promise<unknown> }): Analytics {
  const { config } = deps;
  const fraud = createFraudService({
    db: deps.db,
    bus: deps.bus,
    clock: deps.clock,
    logger: deps.logger,
    models: deps.ml.models,
    trainer: deps.ml.trainer,
    raise: deps.raise,
    settings: {
      vpnCidrs: config.FRAUD_VPN_CIDRS,
      datacenterCidrs: config.FRAUD_DATACENTER_CIDRS,
      storeScore: config.FRAUD_STORE_SCORE,
      modelWeightPercent: config.FRAUD_MODEL_WEIGHT_PERCENT,
      dedupWindowMs: config.FRAUD_DEDUP_WINDOW_MS,
      trainingMinEvents: config.FRAUD_TRAINING_MIN_EVENTS,
      trainingEpochs: config.FRAUD_TRAINING_EPOCHS,
    },
  });
  deps.scheduler.add({
    name: FRAUD_TRAINING_JOB,
    intervalMs: config.FRAUD_TRAINING_INTERVAL_MS,
    async run({ signal, unitFailed }) {
      const trained = await fraud.trainDue(signal, unitFailed);
      if (trained > 0) deps.logger.info({ tenants: trained }, 'fraud networks retrained');
    },
  });
  const sellout = createSelloutModel({
    db: deps.db,
    clock: deps.clock,
    logger: deps.logger,
    clients: deps.clients,
    models: deps.ml.models,
    trainer: deps.ml.trainer,
    inference: deps.ml.inference,
    settings: {
      bucketMs: config.SELLOUT_BUCKET_MS,
      steps: config.SELLOUT_STEPS,
      minEvents: config.SELLOUT_TRAINING_MIN_EVENTS,
      maxEvents: config.SELLOUT_TRAINING_MAX_EVENTS,
      maxCutsPerEvent: config.SELLOUT_TRAINING_MAX_CUTS_PER_EVENT,
      lookbackMs: config.SELLOUT_TRAINING_LOOKBACK_DAYS * 86_400_000,
      epochs: config.SELLOUT_TRAINING_EPOCHS,
    },
  });
  deps.scheduler.add({
    name: SELLOUT_TRAINING_JOB,
    intervalMs: config.SELLOUT_TRAINING_INTERVAL_MS,
    async run({ signal, unitFailed }) {
      const trained = await sellout.trainDue(signal, unitFailed);
      if (trained > 0) deps.logger.info({ tenants: trained }, 'sellout models retrained');
    },
  });
  const sales = createSalesService({ sellout, db: deps.db, clock: deps.clock, logger: deps.logger, clients: deps.clients, catalogueFeed: deps.catalogueFeed, ingest: deps.ingest, raise: deps.raise, selloutAlertWithinMs: config.SALES_SELLOUT_ALERT_WITHIN_MS });
  deps.scheduler.add({
    name: SALES_TRACKING_JOB,
    intervalMs: config.SALES_TRACKING_INTERVAL_MS,
    async run({ signal, unitFailed }) {
      await sales.trackAll(signal, unitFailed);
    },
  });
  // Needs both domains (anomaly detector and sales reports), so it is registered here.
  deps.scheduler.add({
    name: ML_ANALYSIS_JOB,
    intervalMs: config.ML_ANALYSIS_INTERVAL_MS,
    async run({ signal, unitFailed }) {
      const outcome = await runMlAnalysis(
        {
          db: deps.db,
          clock: deps.clock,
          logger: deps.logger,
          raise: deps.raise,
          salesReport: (tenantId, eventId) => sales.report(tenantId, eventId),
          samples: deps.samples,
          settings: { bucketMs: config.ML_ANALYSIS_BUCKET_MS, lookbackMs: config.ML_ANALYSIS_LOOKBACK_MS, alertScore: config.ANOMALY_ALERT_SCORE, retentionMs: config.ML_ANALYSIS_RETENTION_DAYS * 86_400_000, maxPaymentSamples: 200_000 },
        },
        signal,
        unitFailed,
      );
      deps.logger.info(outcome, 'ml analysis done');
    },
  });
  return { fraud, sales, sellout, close: () => fraud.idle() };
}
