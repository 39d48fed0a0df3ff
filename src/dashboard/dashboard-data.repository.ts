import type { SampleSource } from '../metrics/index.js';
import type { Tx } from '../platform/db/index.js';
import { finiteSum } from '../platform/db/finite-aggregates.js';

/** Reads behind the built-in dashboards; every figure comes from stored rows, nothing is filled in. */

export async function activeAlertsBySeverity(tx: Tx, tenantId: string): Promise<Array<{ severity: string; count: number }>> {
  const { rows } = await tx.query<{ severity: string; count: number }>(
    `SELECT severity, count(*)::int AS count FROM alerts WHERE tenant_id = $1 AND resolved = false AND status = 'firing' GROUP BY severity`,
    [tenantId],
  );
  return rows;
}

export async function activeIncidentsBySeverity(tx: Tx, tenantId: string): Promise<Array<{ severity: string; count: number }>> {
  const { rows } = await tx.query<{ severity: string; count: number }>(
    `SELECT severity, count(*)::int AS count FROM incidents WHERE tenant_id = $1 AND status <> 'resolved' GROUP BY severity`,
    [tenantId],
  );
  return rows;
}

export interface ServiceLatency {
  service_name: string;
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface EndpointLatency extends ServiceLatency {
  endpoint: string;
  method: string;
}

/** Requests and 5xx answers in a range (the overview's rates): counts only, so nothing is sorted. */
export async function requestCounts(tx: Tx, tenantId: string, from: Date, to: Date): Promise<{ requests: number; errors: number }> {
  const { rows } = await tx.query<{ requests: number; errors: number }>(
    `SELECT count(*)::int AS requests, (count(*) FILTER (WHERE status_code >= 500))::int AS errors FROM performance_metrics
     WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3`,
    [tenantId, from, to],
  );
  return rows[0] ?? { requests: 0, errors: 0 };
}

/**
 * p50/p95/p99 per service (by name) and per endpoint (most requested first, at most `limit`) from one scan and
 * one sort: GROUPING SETS computes both levels in the same pass (a service's percentiles cannot be derived from
 * its endpoints'). Service rows are the ones whose endpoint is NULL (the column is NOT NULL).
 */
export async function latencyByServiceAndEndpoint(
  tx: Tx,
  tenantId: string,
  from: Date,
  to: Date,
  service: string | null,
  limit: number,
): Promise<{ services: ServiceLatency[]; endpoints: EndpointLatency[] }> {
  const { rows } = await tx.query<ServiceLatency & { endpoint: string | null; method: string | null }>(
    `SELECT service_name, endpoint, method, count(*)::int AS requests, (count(*) FILTER (WHERE status_code >= 500))::int AS errors,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_ms) AS p50,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY response_time_ms) AS p99
     FROM performance_metrics
     WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 AND ($4::text IS NULL OR service_name = $4)
     GROUP BY GROUPING SETS ((service_name), (service_name, endpoint, method))
     ORDER BY GROUPING(endpoint, method) DESC, CASE GROUPING(endpoint, method) WHEN 0 THEN count(*) END DESC, service_name, endpoint, method`,
    [tenantId, from, to, service],
  );
  const services: ServiceLatency[] = [];
  const endpoints: EndpointLatency[] = [];
  for (const { endpoint, method, ...row } of rows) {
    if (endpoint === null || method === null) services.push(row);
    else if (endpoints.length < limit) endpoints.push({ ...row, endpoint, method });
  }
  return { services, endpoints };
}

export interface SumRow {
  metric_name: string;
  currency: string | null;
  total: number;
  samples: number;
  last_at: Date;
}

/**
 * Counters are stored as running totals (docs/metrics.md, Counters): the period's figure is what
 * each series grew by in it, summed: from its last value before the period (metric_value_before,
 * however long ago) to its last one in it, a drop being a reset that counts in full. A series
 * with no earlier value counts its first total in full: pushed counters start at 0.
 * Sums past the double range are +/-Infinity, never an error (finite-aggregates.ts).
 */
export async function sumsOf(tx: Tx, tenantId: string, names: readonly string[], from: Date, to: Date, samples: SampleSource): Promise<SumRow[]> {
  const params: unknown[] = [tenantId, names, from, to];
  const source = await samples.from(tx, tenantId, { names, from, to }, params);
  const before = await samples.valuesBefore(tx, tenantId, names, from, params);
  const { rows } = await tx.query<SumRow>(
    `WITH in_period AS (
       SELECT series_key, metric_name, labels->>'currency' AS currency, value, "timestamp", id
       FROM ${source} m WHERE tenant_id = $1 AND metric_name = ANY($2::text[]) AND "timestamp" >= $3 AND "timestamp" < $4
     ), before AS (
       SELECT keys.series_key, ${before ?? 'metric_value_before($1, keys.series_key, $3)'} AS value FROM (SELECT DISTINCT series_key FROM in_period) keys
     ), increases AS (
       SELECT p.metric_name, p.currency, p."timestamp", p.value,
              coalesce(lag(p.value) OVER (PARTITION BY p.series_key ORDER BY p."timestamp", p.id), b.value) AS previous
       FROM in_period p JOIN before b ON b.series_key = p.series_key
     )
     SELECT metric_name, currency, ${finiteSum({ value: 'increase' })} AS total, count(*)::int AS samples, max("timestamp") AS last_at
     FROM (SELECT metric_name, currency, "timestamp", CASE WHEN previous IS NULL OR value < previous THEN value ELSE value - previous END AS increase FROM increases) grown
     GROUP BY metric_name, currency`,
    params,
  );
  return rows;
}

/** Gauges: the newest value of each series, added up across series (e.g. active users by type). */
export async function latestOf(tx: Tx, tenantId: string, names: readonly string[], from: Date, to: Date, samples: SampleSource): Promise<SumRow[]> {
  const params: unknown[] = [tenantId, names, from, to];
  const source = await samples.from(tx, tenantId, { names, from, to }, params);
  const { rows } = await tx.query<SumRow>(
    `SELECT metric_name, NULL::text AS currency, ${finiteSum({ value: 'value' })} AS total, count(*)::int AS samples, max("timestamp") AS last_at FROM (
       SELECT DISTINCT ON (series_key) metric_name, value, "timestamp" FROM ${source} m
       WHERE tenant_id = $1 AND metric_name = ANY($2::text[]) AND "timestamp" >= $3 AND "timestamp" < $4
       ORDER BY series_key, "timestamp" DESC
     ) latest GROUP BY metric_name`,
    params,
  );
  return rows;
}
