import type { Tx } from '../../platform/db/index.js';

export interface SeriesRow {
  series_key: string;
  metric_name: string;
  service_name: string;
  labels: Record<string, string>;
  metric_type: string | null;
  help: string | null;
  unit: string | null;
}

/** The tenant's series, of one metric name when given; at most `limit` (the caller refuses past it). */
export async function tenantSeries(tx: Tx, tenantId: string, metricName: string | undefined, limit: number): Promise<SeriesRow[]> {
  const result = await tx.query<SeriesRow>(
    `SELECT series_key, metric_name, service_name, labels, metric_type, help, unit FROM metric_series
     WHERE tenant_id = $1 AND ($2::text IS NULL OR metric_name = $2) ORDER BY id LIMIT $3`,
    [tenantId, metricName ?? null, limit],
  );
  return result.rows;
}

/** Samples of the given series in [from, to]: per series, its times (epoch ms) and values in time order. */
export async function samplesOf(tx: Tx, tenantId: string, seriesKeys: readonly string[], from: Date, to: Date): Promise<Array<{ series_key: string; times: number[]; values: number[] }>> {
  if (seriesKeys.length === 0) return [];
  // One row per series with two arrays: far fewer rows to send and parse than one per sample. The
  // input is sorted once (two ordered aggregates sorted it twice) and the aggregation keeps that
  // order; date_part is float8 arithmetic (extract is numeric since PostgreSQL 14).
  const result = await tx.query<{ series_key: string; times: number[]; values: number[] }>(
    `SELECT series_key, array_agg(at) AS times, array_agg(value) AS values FROM (
       SELECT series_key, date_part('epoch', "timestamp") * 1000 AS at, value
       FROM metric_samples_in($2, $3) WHERE tenant_id = $1 AND series_key = ANY($4::text[])
       ORDER BY series_key, "timestamp"
     ) ordered GROUP BY series_key`,
    [tenantId, from, to, seriesKeys],
  );
  return result.rows;
}
