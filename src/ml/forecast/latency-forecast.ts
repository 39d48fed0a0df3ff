import type { Db, Tx } from '../../platform/db/index.js';
import { evenlySpaced, forecast, type ForecastMethod } from './forecasting.js';

/** p95 response time per service and step bucket, from `performance_metrics` (the performance dashboard's data). */
export async function latencyP95Buckets(tx: Tx, tenantId: string, from: Date, to: Date, stepMs: number): Promise<Map<string, Array<[number, number]>>> {
  const { rows } = await tx.query<{ service_name: string; bucket: number | string; p95: number }>(
    `SELECT service_name, floor(extract(epoch FROM "timestamp") * 1000 / $4) * $4 AS bucket,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95
     FROM performance_metrics WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3
     GROUP BY service_name, bucket ORDER BY service_name, bucket`,
    [tenantId, from, to, stepMs],
  );
  const byService = new Map<string, Array<[number, number]>>();
  for (const row of rows) {
    const points = byService.get(row.service_name);
    if (points === undefined) byService.set(row.service_name, [[Number(row.p95), Number(row.bucket)]]);
    else points.push([Number(row.p95), Number(row.bucket)]);
  }
  return byService;
}

export interface ServiceLatencyForecast {
  service_name: string;
  method: ForecastMethod | null;
  /** Why there is no forecast (too few buckets in the range). */
  reason: string | null;
  points: Array<{ timestamp: string; value: number; lower: number; upper: number }>;
}

/** Horizon of the dashboard forecast in steps; the step follows the range (about 120 buckets, at least a minute). */
const HORIZON_STEPS = 30;
const MIN_POINTS = 6;

/** The performance dashboard's `forecast`: each service's p95 for the next 30 steps (auto method, 95% intervals). */
export async function latencyForecast(db: Db, tenantId: string, range: { from: Date; to: Date }) {
  const rangeMs = range.to.getTime() - range.from.getTime();
  const stepMs = Math.max(60_000, Math.ceil(rangeMs / 120 / 60_000) * 60_000);
  const buckets = await db.withTenant(tenantId, (tx) => latencyP95Buckets(tx, tenantId, range.from, range.to, stepMs));
  const services: ServiceLatencyForecast[] = [];
  for (const [service, points] of buckets) {
    const { values, lastMs } = evenlySpaced(points, stepMs);
    if (values.length < MIN_POINTS) {
      services.push({ service_name: service, method: null, reason: `${values.length} of ${MIN_POINTS} buckets needed`, points: [] });
      continue;
    }
    const result = forecast(values, { horizon: HORIZON_STEPS, method: 'auto', window: Math.min(60, values.length), confidence: 0.95 });
    services.push({
      service_name: service,
      method: result.method,
      reason: null,
      points: result.points.map((p) => ({ timestamp: new Date(lastMs + p.step * stepMs).toISOString(), value: Math.max(0, p.value), lower: Math.max(0, p.lower), upper: p.upper })),
    });
  }
  return { metric: 'p95_response_time_ms', step_seconds: stepMs / 1000, horizon_minutes: (HORIZON_STEPS * stepMs) / 60_000, services };
}
