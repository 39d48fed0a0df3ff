import { AppError, ValidationError } from '../../errors.js';
import { querySeries } from '../../metrics/series.query.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import { failureRisk, type RiskSignals } from './failure-risk.js';
import { evenlySpaced, forecast, type ForecastBacktest, type ForecastMethod } from './forecasting.js';
import { latencyForecast } from './latency-forecast.js';

export interface ForecastRequest {
  metricName: string;
  serviceName?: string;
  horizonMinutes: number;
  stepSeconds: number;
  historyHours: number;
  method: ForecastMethod | 'auto';
  seasonLength?: number;
  window: number;
  confidence: number;
  aggregation: 'avg' | 'sum';
}

export interface ForecastResponse {
  metric_name: string;
  service_name: string | null;
  method: ForecastMethod;
  step_seconds: number;
  season_length: number | null;
  confidence: number;
  history_points: number;
  residual_std: number;
  params: Record<string, number>;
  last_observed_at: string;
  points: Array<{ timestamp: string; value: number; lower: number; upper: number }>;
  /** How `auto` chose: each candidate's error on the newest points (null when a method was asked for). */
  backtest: ForecastBacktest | null;
}

/** Most points a forecast reads or produces: bounds the work of one request. */
export const MAX_HISTORY_POINTS = 5_000;
export const MAX_HORIZON_POINTS = 1_000;
const MINUTE = 60_000;

const RISK_METRICS = ['service_up', 'http_request_count', 'http_server_error_count', 'http_response_time_p95_ms', 'http_response_time_ms', 'system_cpu_usage_percent', 'system_memory_usage_percent'];

/** Forecasts of stored series and the failure risk of a service, read from the `metrics` table (or its rollups for long ranges). */
export function createForecastService(deps: { db: Db; clock: Clock; rawMaxRangeMs: number; latencyTargetMs: number; riskWindowMs: number }) {
  const run = async (tenantId: string, request: ForecastRequest): Promise<ForecastResponse> => {
    const stepMs = request.stepSeconds * 1000;
    const horizon = Math.floor((request.horizonMinutes * MINUTE) / stepMs);
    if (horizon < 1) throw new ValidationError('horizon_minutes must cover at least one step', { horizon_minutes: request.horizonMinutes, step_seconds: request.stepSeconds });
    if (horizon > MAX_HORIZON_POINTS) throw new ValidationError(`horizon_minutes / step gives more than ${MAX_HORIZON_POINTS} points`, { horizon_minutes: request.horizonMinutes, step_seconds: request.stepSeconds });
    const historyMs = request.historyHours * 60 * MINUTE;
    if (historyMs / stepMs > MAX_HISTORY_POINTS) throw new ValidationError(`history_hours / step gives more than ${MAX_HISTORY_POINTS} points`, { history_hours: request.historyHours, step_seconds: request.stepSeconds });
    const now = deps.clock.nowMs();
    const result = await deps.db.withTenant(tenantId, (tx) =>
      querySeries(tx, tenantId, { name: request.metricName, service: request.serviceName, matchers: [], from: new Date(now - historyMs), to: new Date(now + 1), bucketMs: stepMs, aggregation: request.aggregation }, deps.rawMaxRangeMs),
    );
    if (result.series.length === 0) {
      throw new AppError('UNKNOWN_METRIC', `No samples of ${request.metricName}${request.serviceName === undefined ? '' : ` from ${request.serviceName}`} in the last ${request.historyHours} h`, { details: { metric_name: request.metricName, service_name: request.serviceName ?? null } });
    }
    // Several label sets of one metric are combined per bucket (mean or sum).
    const buckets = new Map<number, number[]>();
    for (const series of result.series) for (const [value, at] of series.points) buckets.set(at, [...(buckets.get(at) ?? []), value]);
    const combined = [...buckets.entries()].map(([at, values]): [number, number] => [request.aggregation === 'sum' ? values.reduce((s, v) => s + v, 0) : values.reduce((s, v) => s + v, 0) / values.length, at]);
    const { values, lastMs } = evenlySpaced(combined, result.bucketMs);
    if (values.length < 3) throw new AppError('INSUFFICIENT_HISTORY', `${request.metricName} has ${values.length} points at this step; a forecast needs 3`, { details: { points: values.length } });
    if (request.method === 'holt-winters') {
      const season = request.seasonLength;
      if (season !== undefined && values.length < 2 * season + 1) throw new AppError('INSUFFICIENT_HISTORY', `Holt-Winters with a season of ${season} steps needs ${2 * season + 1} points, ${values.length} stored`, { details: { points: values.length, season_length: season } });
    }
    const result2 = forecast(values, { horizon: Math.floor((request.horizonMinutes * MINUTE) / result.bucketMs) || 1, method: request.method, window: request.window, seasonLength: request.seasonLength, confidence: request.confidence });
    if (request.method === 'holt-winters' && result2.method !== 'holt-winters') throw new AppError('INSUFFICIENT_HISTORY', 'No seasonality found in the history; give season_length or use another method', { details: { points: values.length } });
    return {
      metric_name: request.metricName,
      service_name: request.serviceName ?? null,
      method: result2.method,
      step_seconds: result.bucketMs / 1000,
      season_length: result2.seasonLength,
      confidence: request.confidence,
      history_points: values.length,
      residual_std: result2.residualStd,
      params: result2.params,
      last_observed_at: new Date(lastMs).toISOString(),
      points: result2.points.map((p) => ({ timestamp: new Date(lastMs + p.step * result.bucketMs).toISOString(), value: p.value, lower: p.lower, upper: p.upper })),
      backtest: result2.backtest ?? null,
    };
  };

  /** Every signal of the window in one scan of the service's rows. */
  const signalsOf = async (tenantId: string, service: string): Promise<RiskSignals> => {
    const since = new Date(deps.clock.nowMs() - deps.riskWindowMs);
    const until = new Date(deps.clock.nowMs() + 1);
    const result = await deps.db.withTenant(tenantId, (tx) =>
      tx.query<{ down: string; total: string; latest: number | null; requests: number | null; errors: number | null; p95: number | null; response_time: number | null; cpu: number | null; memory: number | null }>(
        `SELECT count(*) FILTER (WHERE metric_name = 'service_up' AND value = 0) AS down,
                count(*) FILTER (WHERE metric_name = 'service_up') AS total,
                (array_agg(value ORDER BY "timestamp" DESC) FILTER (WHERE metric_name = 'service_up'))[1] AS latest,
                sum(value) FILTER (WHERE metric_name = 'http_request_count') AS requests,
                sum(value) FILTER (WHERE metric_name = 'http_server_error_count') AS errors,
                avg(value) FILTER (WHERE metric_name = 'http_response_time_p95_ms') AS p95,
                avg(value) FILTER (WHERE metric_name = 'http_response_time_ms') AS response_time,
                avg(value) FILTER (WHERE metric_name = 'system_cpu_usage_percent') AS cpu,
                avg(value) FILTER (WHERE metric_name = 'system_memory_usage_percent') AS memory
         FROM metrics WHERE tenant_id = $1 AND service_name = $2 AND "timestamp" >= $3 AND "timestamp" < $4 AND metric_name = ANY($5::text[])`,
        [tenantId, service, since, until, RISK_METRICS],
      ),
    );
    const row = result.rows[0];
    const num = (value: number | string | null | undefined) => (value === null || value === undefined ? null : Number(value));
    const total = Number(row?.total ?? 0);
    const latest = num(row?.latest);
    const requests = num(row?.requests);
    return {
      serviceUp: total === 0 || latest === null ? null : { downShare: Number(row?.down ?? 0) / total, latest },
      errorRate: requests === null || requests <= 0 ? null : (num(row?.errors) ?? 0) / requests,
      latencyP95Ms: num(row?.p95) ?? num(row?.response_time),
      cpuPercent: num(row?.cpu),
      memoryPercent: num(row?.memory),
    };
  };

  return {
    forecast: run,
    /** The performance dashboard's forecast of each service's p95 over the dashboard range. */
    latency: (tenantId: string, range: { from: Date; to: Date }) => latencyForecast(deps.db, tenantId, range),
    async failureRisk(tenantId: string, service: string) {
      const signals = await signalsOf(tenantId, service);
      const scored = failureRisk(signals, deps.latencyTargetMs);
      const known = scored.factors.filter((f) => f.score !== null).length;
      return { service_name: service, window_minutes: deps.riskWindowMs / MINUTE, risk: scored.risk, level: scored.level, factors_with_data: known, factors: scored.factors, computed_at: deps.clock.now().toISOString() };
    },
  };
}

export type ForecastService = ReturnType<typeof createForecastService>;
