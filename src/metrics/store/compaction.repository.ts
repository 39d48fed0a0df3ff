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

/** The tenants with samples in [from, to) of a source (system work). */
export async function tenantsOfDay(tx: Tx, source: DaySource, from: Date, to: Date): Promise<string[]> {
  const result = await tx.query<{ tenant_id: string }>(`SELECT DISTINCT tenant_id FROM ${TABLE[source]} WHERE "timestamp" >= $1 AND "timestamp" < $2`, [from, to]);
  return result.rows.map((row) => row.tenant_id);
}

/** A tenant's series in [from, to) of a source with their sample counts, to cut units. */
export async function seriesOfDay(tx: Tx, source: DaySource, tenantId: string, from: Date, to: Date): Promise<Array<{ series: string; samples: number }>> {
  const column = source === 'head' ? 'series_id::text' : 'series_key';
  const result = await tx.query<{ series: string; samples: number }>(
    `SELECT ${column} AS series, count(*)::int AS samples FROM ${TABLE[source]} WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 GROUP BY 1 ORDER BY 1`,
    [tenantId, from, to],
  );
  return result.rows;
}

/**
 * Where a large series' slices start: the time of every `budget`-th sample after the first, so each
 * slice [start, next start) holds about `budget` samples (samples sharing one instant stay together).
 */
export async function sliceStarts(tx: Tx, source: DaySource, tenantId: string, series: string, from: Date, to: Date, budget: number): Promise<Date[]> {
  const column = source === 'head' ? 'series_id = $4::int8' : 'series_key = $4';
  const result = await tx.query<{ at: Date }>(
    `SELECT DISTINCT at FROM (
       SELECT "timestamp" AS at, row_number() OVER (ORDER BY "timestamp") AS n
       FROM ${TABLE[source]} WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 AND ${column}
     ) numbered WHERE n > 1 AND n % $5 = 1 ORDER BY at`,
    [tenantId, from, to, series, budget],
  );
  return result.rows.map((row) => new Date(row.at));
}

/**
 * Moves the samples of the given series in [from, to) from a source into one chunk per series, in
 * one statement: the rows deleted are exactly the rows encoded, so a sample written meanwhile stays
 * where it is for the next run. Values keep their order (time, then arrival); timestamps become a
 * step when the series is regular, else millisecond offsets from the chunk's start.
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
         array_agg(value ORDER BY n) AS vals, array_agg(offset_ms ORDER BY n) AS offsets
       FROM gaps GROUP BY series_id
     ),
     stored AS (
       INSERT INTO metric_chunks (tenant_id, series_id, start_time, end_time, samples, step_ms, offsets_ms, "values")
       SELECT $1::uuid, series_id, start_time, end_time, samples,
         CASE WHEN samples = 1 THEN 0 WHEN min_gap = max_gap THEN min_gap END,
         CASE WHEN samples = 1 OR min_gap = max_gap THEN NULL ELSE offsets END,
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
