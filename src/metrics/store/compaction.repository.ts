import type { Tx } from '../../platform/db/index.js';

/** Where a closed day's samples are: the head, or the table the store had before the head. */
export type DaySource = 'head' | 'v1';

export interface DayPartition {
  source: DaySource;
  partitionName: string;
  day: Date;
}

export async function dayPartitions(tx: Tx): Promise<DayPartition[]> {
  const result = await tx.query<{
    source: DaySource;
    partition_name: string;
    day: Date | string;
  }>('SELECT source, partition_name, day FROM metric_day_partitions()');
  return result.rows.map((row) => ({
    source: row.source,
    partitionName: row.partition_name,
    day: new Date(`${String(row.day instanceof Date ? row.day.toISOString() : row.day).slice(0, 10)}T00:00:00Z`),
  }));
}

const TABLE: Record<DaySource, string> = {
  head: 'metric_head',
  v1: 'metrics_v1',
};

/**
 * The tenants with samples in [from, to) of a source (system work), by a loose index scan: one
 * index probe per tenant instead of reading the day's rows, which on the embedded database would
 * hold its only session for as long as the day is large.
 */
export async function tenantsOfDay(tx: Tx, source: DaySource, from: Date, to: Date): Promise<string[]> {
  const table = TABLE[source];
  const result = await tx.query<{ tenant_id: string }>(
    `WITH RECURSIVE tenants AS (
       (SELECT tenant_id FROM ${table} WHERE "timestamp" >= $1 AND "timestamp" < $2 ORDER BY tenant_id LIMIT 1)
       UNION ALL
       SELECT (SELECT n.tenant_id FROM ${table} n WHERE n."timestamp" >= $1 AND n."timestamp" < $2 AND n.tenant_id > t.tenant_id ORDER BY n.tenant_id LIMIT 1)
       FROM tenants t WHERE t.tenant_id IS NOT NULL
     )
     SELECT tenant_id FROM tenants WHERE tenant_id IS NOT NULL`,
    [from, to],
  );
  return result.rows.map((row) => row.tenant_id);
}

/**
 * The next series of a tenant's day after `after` (in series order), counted from at most `limit`
 * samples read in index order: every series but the last is complete; the last is complete only
 * when fewer than `limit` samples were read.
 */
export async function nextSeries(tx: Tx, source: DaySource, tenantId: string, from: Date, to: Date, after: string | undefined, limit: number): Promise<Array<{ series: string; samples: number }>> {
  const [column, order, cast] = source === 'head' ? ['series_id', '"timestamp"', '::int8'] : ['series_key', '"timestamp" DESC', ''];
  const result = await tx.query<{ series: string; samples: number }>(
    `SELECT ${column}::text AS series, count(*)::int AS samples FROM (
       SELECT ${column} FROM ${TABLE[source]}
       WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 AND ($4::text IS NULL OR ${column} > $4::text${cast})
       ORDER BY ${column}, ${order} LIMIT $5
     ) read GROUP BY ${column} ORDER BY ${column}`,
    [tenantId, from, to, after ?? null, limit],
  );
  return result.rows;
}

/**
 * Where a slice of a large series that starts at `start` ends: the time of its `budget`+1-th
 * sample (read in index order), or undefined when fewer remain before `to`.
 */
export async function sliceEnd(tx: Tx, source: DaySource, tenantId: string, series: string, start: Date, to: Date, budget: number): Promise<Date | undefined> {
  const column = source === 'head' ? 'series_id = $4::int8' : 'series_key = $4';
  const result = await tx.query<{ at: Date }>(
    `SELECT "timestamp" AS at FROM ${TABLE[source]} WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 AND ${column} ORDER BY "timestamp" OFFSET $5 LIMIT 1`,
    [tenantId, start, to, series, budget],
  );
  const at = result.rows[0]?.at;
  // Samples sharing the instant at the cut go to the next slice; a cut at the start would not advance.
  return at === undefined || new Date(at).getTime() <= start.getTime() ? undefined : new Date(at);
}

/**
 * Moves the samples of the given series in [from, to) from a source into one chunk per series, in
 * one statement: the rows deleted are exactly the rows encoded, so a sample written meanwhile stays
 * where it is for the next run. Values keep their order (time, then arrival); timestamps become a
 * step when the series is regular, else each sample's milliseconds after the one before.
 */
export async function compactSeries(tx: Tx, source: DaySource, tenantId: string, from: Date, to: Date, series: readonly string[]): Promise<{ chunks: number; samples: number }> {
  // The old table names its series by key: their ids were created by the migration that renamed it.
  const moved =
    source === 'head'
      ? `moved AS (
           DELETE FROM metric_head WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 AND series_id = ANY($4::text[]::int8[])
           RETURNING series_id, "timestamp", value, id
         ),
         identified AS (SELECT series_id, "timestamp", value, id FROM moved)`
      : `moved AS (
           DELETE FROM metrics_v1 WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 AND series_key = ANY($4::text[])
           RETURNING series_key, "timestamp", value, id
         ),
         identified AS (SELECT s.id AS series_id, m."timestamp", m.value, m.id FROM moved m JOIN metric_series s ON s.tenant_id = $1 AND s.series_key = m.series_key)`;
  const result = await tx.query<{ chunks: number; samples: number }>(
    `WITH ${moved},
     ordered AS (
       SELECT series_id, value,
         row_number() OVER (PARTITION BY series_id ORDER BY "timestamp", id) AS n,
         (extract(epoch FROM "timestamp" - min("timestamp") OVER (PARTITION BY series_id)) * 1000)::int AS offset_ms,
         min("timestamp") OVER (PARTITION BY series_id) AS start_time,
         "timestamp"
       FROM identified
     ),
     gaps AS (
       SELECT *, offset_ms - lag(offset_ms) OVER (PARTITION BY series_id ORDER BY n) AS gap FROM ordered
     ),
     grouped AS (
       SELECT series_id, min(start_time) AS start_time, max("timestamp") AS end_time, count(*)::int AS samples,
         min(gap) AS min_gap, max(gap) AS max_gap,
         array_agg(value ORDER BY n) AS vals, array_agg(coalesce(gap, 0) ORDER BY n) AS deltas
       FROM gaps GROUP BY series_id
     ),
     stored AS (
       INSERT INTO metric_chunks (tenant_id, series_id, start_time, end_time, samples, step_ms, deltas_ms, "values")
       SELECT $1::uuid, series_id, start_time, end_time, samples,
         CASE WHEN samples = 1 THEN 0 WHEN min_gap = max_gap THEN min_gap END,
         CASE WHEN samples = 1 OR min_gap = max_gap THEN NULL ELSE deltas END,
         vals
       FROM grouped
       RETURNING samples
     )
     SELECT count(*)::int AS chunks, coalesce(sum(samples), 0)::int AS samples FROM stored`,
    [tenantId, from, to, series],
  );
  const row = result.rows[0];
  return {
    chunks: Number(row?.chunks ?? 0),
    samples: Number(row?.samples ?? 0),
  };
}

/** Series of the old table's rows in the unit that have no id yet (the migration created the others). */
export async function ensureSeriesOfV1(tx: Tx, tenantId: string, from: Date, to: Date, seriesKeys: readonly string[]): Promise<void> {
  await tx.query(
    `INSERT INTO metric_series (tenant_id, series_key, metric_name, service_name, labels)
     SELECT DISTINCT ON (series_key) tenant_id, series_key, metric_name, service_name, labels FROM metrics_v1
     WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 AND series_key = ANY($4::text[])
     ORDER BY series_key, "timestamp" DESC
     ON CONFLICT (tenant_id, series_key) DO NOTHING`,
    [tenantId, from, to, seriesKeys],
  );
}

export async function ensureChunkPartition(tx: Tx, day: Date): Promise<void> {
  const iso = day.toISOString().slice(0, 10);
  await tx.query("SELECT ensure_day_partitions('metric_chunks', $1::date, $1::date)", [iso]);
}

/** Drops an emptied day partition of the head or the old table (system work); false when rows arrived meanwhile. */
export async function dropCompactedPartition(tx: Tx, partitionName: string): Promise<boolean> {
  const result = await tx.query<{ dropped: boolean }>('SELECT drop_compacted_partition($1) AS dropped', [partitionName]);
  return result.rows[0]?.dropped === true;
}
