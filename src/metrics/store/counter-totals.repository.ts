import type { Tx } from '../../platform/db/index.js';

/**
 * Adds each series' increments to its running total and returns, per series id, the total they
 * reach. The upsert's row lock orders concurrent batches of one series. A series' first total marks
 * it a counter (its metadata), which the export's TYPE line and the Prometheus API's metadata read.
 */
export async function addToCounterTotals(tx: Tx, tenantId: string, added: ReadonlyMap<number, number>): Promise<Map<number, number>> {
  const seriesIds = [...added.keys()];
  const result = await tx.query<{ series_id: string | number; total: number }>(
    `WITH input AS (
       SELECT * FROM unnest($2::bigint[], $3::float8[]) AS i(series_id, added)
     ), upserted AS (
       INSERT INTO metric_counter_totals (tenant_id, series_id, total)
       SELECT $1::uuid, series_id, added FROM input
       ON CONFLICT (tenant_id, series_id) DO UPDATE SET total = metric_counter_totals.total + EXCLUDED.total
       RETURNING series_id, total, (xmax = 0) AS created
     ), typed AS (
       UPDATE metric_series s SET metric_type = 'counter' FROM upserted u
       WHERE s.tenant_id = $1::uuid AND s.id = u.series_id AND u.created AND s.metric_type IS DISTINCT FROM 'counter'
     )
     SELECT series_id, total FROM upserted`,
    [tenantId, seriesIds, seriesIds.map((id) => added.get(id) ?? 0)],
  );
  return new Map(result.rows.map((row) => [Number(row.series_id), row.total]));
}
