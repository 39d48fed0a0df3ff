import type { Db } from '../src/platform/db/index.js';

export interface ChunkSize {
  /** This tenant's share of the chunk partitions (tables, indexes, TOAST) plus its series rows. */
  bytes: number;
  samples: number;
  chunks: number;
  /** Chunks whose timestamps are a step (no offsets stored). */
  regular: number;
}

/**
 * A shared bench database holds other runs' chunks, whose values compress differently: the
 * partitions' bytes are shared out by each tenant's compressed payload (pg_column_size of the
 * arrays as stored), not by sample count. The series table is shared out by series.
 */
export async function chunkSizeOf(db: Db, tenant: string): Promise<ChunkSize> {
  const result = await db.asSystem((tx) =>
    tx.query<{ bytes: number; mine: number; total: number; samples: number; chunks: number; regular: number; series_bytes: number; series: number; all_series: number }>(
      `WITH payload AS (
         SELECT tenant_id, samples, step_ms, pg_column_size("values") + coalesce(pg_column_size(deltas_ms), 0) AS stored FROM metric_chunks
       )
       SELECT (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = 'metric_chunks'::regclass) AS bytes,
         (SELECT coalesce(sum(stored) FILTER (WHERE tenant_id = $1), 0) FROM payload) AS mine,
         (SELECT coalesce(sum(stored), 0) FROM payload) AS total,
         (SELECT coalesce(sum(samples) FILTER (WHERE tenant_id = $1), 0) FROM payload) AS samples,
         (SELECT count(*) FILTER (WHERE tenant_id = $1) FROM payload) AS chunks,
         (SELECT count(*) FILTER (WHERE tenant_id = $1 AND step_ms IS NOT NULL) FROM payload) AS regular,
         pg_total_relation_size('metric_series') AS series_bytes,
         (SELECT count(*) FILTER (WHERE tenant_id = $1) FROM metric_series) AS series,
         (SELECT count(*) FROM metric_series) AS all_series`,
      [tenant],
    ),
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('no size row');
  const share = (Number(row.bytes) * Number(row.mine)) / Math.max(1, Number(row.total));
  const seriesShare = (Number(row.series_bytes) * Number(row.series)) / Math.max(1, Number(row.all_series));
  return { bytes: share + seriesShare, samples: Number(row.samples), chunks: Number(row.chunks), regular: Number(row.regular) };
}

/**
 * This tenant's share of the head's partitions (tables, indexes; head rows are all the same
 * width, so shared out by row count) plus its series rows: a shared bench database keeps earlier
 * runs' samples.
 */
export async function headBytesOf(db: Db, tenant: string): Promise<number> {
  const result = await db.asSystem((tx) =>
    tx.query<{ bytes: number; mine: number; total: number; series: number; all_series: number; series_bytes: number }>(
      `SELECT (SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits WHERE inhparent = 'metric_head'::regclass) AS bytes,
         (SELECT count(*) FILTER (WHERE tenant_id = $1) FROM metric_head) AS mine,
         (SELECT count(*) FROM metric_head) AS total,
         (SELECT count(*) FILTER (WHERE tenant_id = $1) FROM metric_series) AS series,
         (SELECT count(*) FROM metric_series) AS all_series,
         pg_total_relation_size('metric_series') AS series_bytes`,
      [tenant],
    ),
  );
  const row = result.rows[0];
  if (row === undefined) return 0;
  return (Number(row.bytes) * Number(row.mine)) / Math.max(1, Number(row.total)) + (Number(row.series_bytes) * Number(row.series)) / Math.max(1, Number(row.all_series));
}
