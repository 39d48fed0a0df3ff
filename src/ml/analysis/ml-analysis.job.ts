import type { SampleSource } from '../../metrics/index.js';
import type { Logger } from 'pino';
import type { AlertInput } from '../../alerts/alert-store.js';
import { activeEvents } from '../../analytics/sales/sales.repository.js';
import type { EventSalesReport } from '../../analytics/sales/sales-service.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import type { UnitFailed } from '../../platform/scheduler.js';
import { latencyP95Buckets } from '../forecast/latency-forecast.js';
import { failureRates, isMeaningfulRise, newestScore, paymentBuckets } from './analysis.js';
import { deleteResultsBefore, insertResults, paymentSamples, tenantsWithData, type AnalysisResult } from './analysis.repository.js';

export const ML_ANALYSIS_JOB = 'ml-analysis';

export interface MlAnalysisSettings {
  bucketMs: number;
  lookbackMs: number;
  alertScore: number;
  retentionMs: number;
  maxPaymentSamples: number;
}

export interface MlAnalysisDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  raise: (tenantId: string, input: AlertInput) => Promise<unknown>;
  /** The sales domain's event report (baseline sellout prediction). */
  salesReport: (tenantId: string, eventId: string) => Promise<EventSalesReport>;
  settings: MlAnalysisSettings;
  /** Where the payment samples are read. */
  samples: SampleSource;
}

/**
 * One analysis run: per tenant, payment failure-rate anomalies per provider and p95 latency
 * anomalies per service (each over buckets of the lookback, newest bucket scored by the robust
 * detector), and a refresh of the sellout prediction of every event with sales in the lookback.
 * Every subject's result is stored; anomalies of a recent bucket raise an `anomaly` alert.
 */
export async function runMlAnalysis(deps: MlAnalysisDeps, signal?: AbortSignal, onUnitFailure?: UnitFailed): Promise<{ tenants: number; results: number; anomalies: number }> {
  const { settings } = deps;
  const runAt = deps.clock.now();
  const since = new Date(runAt.getTime() - settings.lookbackMs);
  // Only the newest complete or current bucket (and the one before, for a run just after a boundary) alerts.
  const recentFrom = Math.floor(runAt.getTime() / settings.bucketMs) * settings.bucketMs - settings.bucketMs;
  const tenants = await deps.db.asSystem((tx) => tenantsWithData(tx, since, deps.samples));
  const events = await deps.db.asSystem((tx) => activeEvents(tx, since));
  const work = new Map<string, string[]>(tenants.map((tenant) => [tenant, []]));
  for (const event of events) {
    const eventIds = work.get(event.tenant_id);
    if (eventIds === undefined) work.set(event.tenant_id, [event.event_id]);
    else eventIds.push(event.event_id);
  }

  let stored = 0;
  let anomalies = 0;
  for (const [tenantId, eventIds] of work) {
    if (signal?.aborted === true) break;
    try {
      const results: AnalysisResult[] = [];
      const { samples, latency } = await deps.db.withTenant(tenantId, async (tx) => ({
        samples: await paymentSamples(tx, tenantId, since, settings.maxPaymentSamples, deps.samples),
        latency: await latencyP95Buckets(tx, tenantId, since, new Date(runAt.getTime() + 1), settings.bucketMs),
      }));
      for (const [provider, buckets] of paymentBuckets(samples, settings.bucketMs)) {
        const rates = failureRates(buckets);
        const newest = rates[rates.length - 1];
        if (newest === undefined) continue;
        const score = newestScore(rates.map(([rate, at]) => [rate, at] as const));
        results.push({ kind: 'payment_failure_rate', subject: provider, bucketStart: new Date(newest[1]), value: newest[0], score, anomalous: score !== null && score >= settings.alertScore && newest[1] >= recentFrom && isMeaningfulRise('payment_failure_rate', rates.slice(0, -1).map(([rate]) => rate), newest[0]), details: { attempts: newest[2], buckets: rates.length } });
      }
      for (const [service, points] of latency) {
        const newest = points[points.length - 1];
        if (newest === undefined) continue;
        const score = newestScore(points);
        results.push({ kind: 'latency_p95', subject: service, bucketStart: new Date(newest[1]), value: newest[0], score, anomalous: score !== null && score >= settings.alertScore && newest[1] >= recentFrom && isMeaningfulRise('latency_p95', points.slice(0, -1).map(([value]) => value), newest[0]), details: { buckets: points.length } });
      }
      for (const eventId of eventIds) {
        try {
          const report = await deps.salesReport(tenantId, eventId);
          results.push({ kind: 'sellout', subject: eventId, bucketStart: null, value: report.prediction.hours, score: null, anomalous: false, details: { remaining: report.remaining, velocity_per_hour: report.velocity_per_hour, trend: report.trend, prediction: report.prediction } });
        } catch (error) {
          deps.logger.warn({ err: error, tenantId, eventId }, 'ml-analysis: sellout refresh of an event failed');
        }
      }
      await deps.db.withTenant(tenantId, (tx) => insertResults(tx, tenantId, runAt, results));
      stored += results.length;
      for (const result of results.filter((r) => r.anomalous)) {
        anomalies += 1;
        const payment = result.kind === 'payment_failure_rate';
        await deps.raise(tenantId, {
          fingerprint: `ml-analysis:${result.kind}:${result.subject}`,
          name: payment ? `Payment failure rate anomaly (${result.subject})` : `Latency anomaly in ${result.subject}`,
          type: 'anomaly',
          severity: 'warning',
          message: payment
            ? `Payment failure rate of ${result.subject} is ${((result.value ?? 0) * 100).toFixed(1)}% (anomaly score ${(result.score ?? 0).toFixed(2)})`
            : `p95 latency of ${result.subject} is ${(result.value ?? 0).toFixed(0)} ms (anomaly score ${(result.score ?? 0).toFixed(2)})`,
          source: ML_ANALYSIS_JOB,
          ...(payment ? {} : { serviceName: result.subject }),
          labels: { kind: result.kind, subject: result.subject },
          value: result.value ?? undefined,
        });
      }
    } catch (error) {
      deps.logger.warn({ err: error, tenantId }, 'ml-analysis of a tenant failed');
      onUnitFailure?.({ tenantId }, error);
    }
  }
  await deps.db.asSystem((tx) => deleteResultsBefore(tx, new Date(runAt.getTime() - settings.retentionMs)));
  return { tenants: work.size, results: stored, anomalies };
}
