import type { Tx } from '../platform/db/index.js';
import { finiteMean, finiteSum } from '../platform/db/finite-aggregates.js';

export type RollupResolution = '5m' | '1h' | '1d';

export const ROLLUP_RESOLUTIONS: ReadonlyArray<{
  name: RollupResolution;
  ms: number;
}> = [
  { name: '5m', ms: 5 * 60_000 },
  { name: '1h', ms: 3_600_000 },
  { name: '1d', ms: 86_400_000 },
];

/** One rollup row to (re)compute: a series in a bucket of the resolution at hand. */
export interface SeriesBucket {
  bucketStart: Date;
  seriesKey: string;
}

/** Ingest's marks of one (tenant, 5-minute bucket, series), with what sizes the work of recomputing it. */
export interface MarkedSeriesBucket extends SeriesBucket {
  tenantId: string;
  /** Samples all the marks of this row report, later ones included (the unit consumes them all). */
  marked: number;
  /** Samples counted by the current 5m and 1h rollups of this series (0 when there is none). */
  known5m: number;
  known1h: number;
}

export interface MarksPage {
  groups: MarkedSeriesBucket[];
  /** Marks read, and the id to read after next (null when there was none). */
  read: number;
  lastId: string | null;
}

/**
 * Up to `limit` marks written by ingest after id `afterId`, oldest first, grouped by (tenant,
 * bucket, series). Read, not deleted: each unit of work deletes its own marks in its transaction.
 */
export async function pendingMarks(tx: Tx, afterId: string, limit: number): Promise<MarksPage> {
  const result = await tx.query<{ tenant_id: string; bucket_start: Date; series_key: string; marks: number; marked: number; last_id: string; known_5m: number; known_1h: number }>(
    `WITH taken AS (SELECT id, tenant_id, bucket_start, series_key, samples FROM metric_rollup_marks WHERE id > $1::bigint ORDER BY id LIMIT $2),
     grouped AS (
       SELECT tenant_id, bucket_start, series_key, count(*) AS marks, max(id)::text AS last_id
       FROM taken GROUP BY tenant_id, bucket_start, series_key
     )
     SELECT g.tenant_id, g.bucket_start, g.series_key, g.marks, g.last_id, coalesce(f.count, 0) AS known_5m, coalesce(h.count, 0) AS known_1h,
       (SELECT sum(k.samples) FROM metric_rollup_marks k WHERE k.tenant_id = g.tenant_id AND k.series_key = g.series_key AND k.bucket_start = g.bucket_start) AS marked
     FROM grouped g
     LEFT JOIN metric_rollups f ON f.tenant_id = g.tenant_id AND f.resolution = '5m' AND f.series_key = g.series_key AND f.bucket_start = g.bucket_start
     LEFT JOIN metric_rollups h ON h.tenant_id = g.tenant_id AND h.resolution = '1h' AND h.series_key = g.series_key
       AND h.bucket_start = date_bin('1 hour', g.bucket_start, timestamptz '1970-01-01 00:00:00+00')`,
    [afterId, limit],
  );
  let lastId: bigint | null = null;
  for (const row of result.rows) if (lastId === null || BigInt(row.last_id) > lastId) lastId = BigInt(row.last_id);
  return {
    groups: result.rows.map((row) => ({
      tenantId: row.tenant_id,
      bucketStart: row.bucket_start,
      seriesKey: row.series_key,
      marked: Number(row.marked),
      known5m: Number(row.known_5m),
      known1h: Number(row.known_1h),
    })),
    read: result.rows.reduce((sum, row) => sum + Number(row.marks), 0),
    lastId: lastId === null ? null : String(lastId),
  };
}

/**
 * Deletes every mark of the given (5-minute bucket, series) of one tenant, later ones included:
 * the recompute that follows in the same transaction reads their samples too. A failure keeps them.
 */
export async function deleteMarks(tx: Tx, tenantId: string, rows: readonly SeriesBucket[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await tx.query(
    `DELETE FROM metric_rollup_marks k USING unnest($2::timestamptz[], $3::text[]) AS b(bucket_start, series_key)
     WHERE k.tenant_id = $1 AND k.series_key = b.series_key AND k.bucket_start = b.bucket_start`,
    [tenantId, rows.map((row) => row.bucketStart.toISOString()), rows.map((row) => row.seriesKey)],
  );
  return result.rowCount;
}

/**
 * Recomputes the given (bucket, series) rows of one tenant from raw samples and upserts them:
 * running it twice gives the same rows (idempotent), late samples are picked up. The series keys
 * are resolved to ids first, so each pair is one range scan of the head's (tenant, series id,
 * time) index, of the old table's series index, or of the chunks that overlap the bucket. Sum and
 * avg never raise: a sum past the double range is stored as +/-Infinity, the avg stays finite
 * (finite-aggregates.ts).
 */
export async function computeRollups(tx: Tx, tenantId: string, resolution: { name: RollupResolution; ms: number }, rows: readonly SeriesBucket[], now: Date): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await tx.query(
    `WITH keyed AS MATERIALIZED (
       SELECT b.bucket_start, b.bucket_start + make_interval(secs => $5) AS bucket_end, s.id AS series_id, s.series_key, s.metric_name, s.service_name, s.labels
       FROM unnest($2::timestamptz[], $3::text[]) AS b(bucket_start, series_key)
       JOIN metric_series s ON s.tenant_id = $1 AND s.series_key = b.series_key
     ), samples AS (
       SELECT k.bucket_start, k.series_id, h.value
       FROM keyed k JOIN metric_head h ON h.tenant_id = $1 AND h.series_id = k.series_id AND h."timestamp" >= k.bucket_start AND h."timestamp" < k.bucket_end
       UNION ALL
       SELECT k.bucket_start, k.series_id, o.value
       FROM keyed k JOIN metrics_v1 o ON o.tenant_id = $1 AND o.series_key = k.series_key AND o."timestamp" >= k.bucket_start AND o."timestamp" < k.bucket_end
       UNION ALL
       SELECT k.bucket_start, k.series_id, v.value
       FROM keyed k
       JOIN metric_chunks c ON c.tenant_id = $1 AND c.series_id = k.series_id AND c.start_time < k.bucket_end AND c.end_time >= k.bucket_start
       CROSS JOIN LATERAL (
         SELECT u.value, coalesce(sum(u.delta_ms) OVER (ORDER BY u.n), (u.n - 1) * c.step_ms) AS offset_ms
         FROM unnest(c."values", c.deltas_ms) WITH ORDINALITY AS u(value, delta_ms, n)
       ) v
       WHERE c.start_time + v.offset_ms * interval '1 millisecond' >= k.bucket_start
         AND c.start_time + v.offset_ms * interval '1 millisecond' < k.bucket_end
     )
     INSERT INTO metric_rollups (tenant_id, resolution, bucket_start, series_key, metric_name, service_name, labels, count, sum, min, max, avg, p95, updated_at)
     SELECT $1, $4, k.bucket_start, k.series_key, k.metric_name, k.service_name, k.labels,
            count(*), ${finiteSum({ value: 'm.value' })}, min(m.value), max(m.value), ${finiteMean({ value: 'm.value' }, 'count(m.value)')},
            percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value), $6
     FROM samples m JOIN keyed k ON k.bucket_start = m.bucket_start AND k.series_id = m.series_id
     GROUP BY k.bucket_start, k.series_key, k.metric_name, k.service_name, k.labels
     ON CONFLICT (tenant_id, resolution, series_key, bucket_start) DO UPDATE SET
       count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max,
       avg = EXCLUDED.avg, p95 = EXCLUDED.p95, updated_at = EXCLUDED.updated_at`,
    [tenantId, rows.map((row) => row.bucketStart.toISOString()), rows.map((row) => row.seriesKey), resolution.name, resolution.ms / 1000, now.toISOString()],
  );
  return result.rowCount;
}

/** Flags days of one tenant whose 1d rollup is out of date. */
export async function markDays(tx: Tx, tenantId: string, days: readonly Date[]): Promise<void> {
  if (days.length === 0) return;
  await tx.query(
    `INSERT INTO metric_rollup_pending_days (tenant_id, day, dirty)
     SELECT $1, day, true FROM unnest($2::timestamptz[]) AS d(day)
     ON CONFLICT (tenant_id, day) DO UPDATE SET dirty = true`,
    [tenantId, days.map((day) => day.toISOString())],
  );
}

export interface TenantDay {
  tenantId: string;
  day: Date;
}

/** Closed days (once, their last hours included) and dirty open days not recomputed for an hour. */
export async function dueDays(tx: Tx, now: Date, limit: number): Promise<TenantDay[]> {
  const result = await tx.query<{ tenant_id: string; day: Date }>(
    `SELECT tenant_id, day FROM metric_rollup_pending_days
     WHERE day + interval '1 day' <= $1 OR (dirty AND (computed_at IS NULL OR computed_at <= $1::timestamptz - interval '1 hour'))
     ORDER BY day, tenant_id LIMIT $2`,
    [now.toISOString(), limit],
  );
  return result.rows.map((row) => ({ tenantId: row.tenant_id, day: row.day }));
}

/**
 * A page of the series of one tenant's day, in key order after `after`, with their sample counts
 * read from the day's 1h rollups (cheap: the raw samples are not touched).
 */
export async function daySeries(tx: Tx, tenantId: string, day: Date, after: string, limit: number): Promise<Array<{ seriesKey: string; samples: number }>> {
  const result = await tx.query<{ series_key: string; samples: number }>(
    `SELECT series_key, sum(count)::bigint AS samples FROM metric_rollups
     WHERE tenant_id = $1 AND resolution = '1h' AND bucket_start >= $2 AND bucket_start < $2::timestamptz + interval '1 day' AND series_key > $3
     GROUP BY series_key ORDER BY series_key LIMIT $4`,
    [tenantId, day.toISOString(), after, limit],
  );
  return result.rows.map((row) => ({
    seriesKey: row.series_key,
    samples: Number(row.samples),
  }));
}

/** A recomputed day: a closed one is done, an open one waits until it is dirty and an hour has passed. */
export async function settleDay(tx: Tx, tenantId: string, day: Date, now: Date): Promise<void> {
  const params = [tenantId, day.toISOString(), now.toISOString()];
  const closed = await tx.query(`DELETE FROM metric_rollup_pending_days WHERE tenant_id = $1 AND day = $2 AND day + interval '1 day' <= $3`, params);
  if (closed.rowCount > 0) return;
  await tx.query('UPDATE metric_rollup_pending_days SET dirty = false, computed_at = $3 WHERE tenant_id = $1 AND day = $2', params);
}
