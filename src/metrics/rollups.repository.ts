import type { Tx } from '../platform/db/index.js';

export type RollupResolution = '5m' | '1h' | '1d';

export const ROLLUP_RESOLUTIONS: ReadonlyArray<{ name: RollupResolution; ms: number }> = [
  { name: '5m', ms: 5 * 60_000 },
  { name: '1h', ms: 3_600_000 },
  { name: '1d', ms: 86_400_000 },
];

export interface TenantBucket {
  tenantId: string;
  bucketStart: Date;
}

/** Takes up to `limit` marks written by ingest (deleted in this transaction: a failure keeps them). */
export async function takeMarks(tx: Tx, limit: number): Promise<TenantBucket[]> {
  const result = await tx.query<{ tenant_id: string; bucket_start: Date }>(
    `DELETE FROM metric_rollup_marks WHERE id IN (SELECT id FROM metric_rollup_marks ORDER BY id LIMIT $1)
     RETURNING tenant_id, bucket_start`,
    [limit],
  );
  return result.rows.map((row) => ({ tenantId: row.tenant_id, bucketStart: row.bucket_start }));
}

/** Distinct (tenant, bucket) pairs at a coarser resolution. */
export function coarsen(buckets: readonly TenantBucket[], ms: number): TenantBucket[] {
  const seen = new Map<string, TenantBucket>();
  for (const bucket of buckets) {
    const start = Math.floor(bucket.bucketStart.getTime() / ms) * ms;
    const key = `${bucket.tenantId}|${start}`;
    if (!seen.has(key)) seen.set(key, { tenantId: bucket.tenantId, bucketStart: new Date(start) });
  }
  return [...seen.values()];
}

/**
 * Recomputes every series of the given (tenant, bucket) pairs from raw samples and upserts the
 * result: running it twice gives the same rows (idempotent), late samples are picked up.
 */
export async function computeRollups(tx: Tx, resolution: { name: RollupResolution; ms: number }, buckets: readonly TenantBucket[], now: Date): Promise<number> {
  if (buckets.length === 0) return 0;
  const result = await tx.query(
    `INSERT INTO metric_rollups (tenant_id, resolution, bucket_start, series_key, metric_name, service_name, labels, count, sum, min, max, avg, p95, updated_at)
     SELECT m.tenant_id, $3, b.bucket_start, m.series_key, m.metric_name, m.service_name, m.labels,
            count(*), sum(m.value), min(m.value), max(m.value), avg(m.value),
            percentile_cont(0.95) WITHIN GROUP (ORDER BY m.value), $5
     FROM unnest($1::uuid[], $2::timestamptz[]) AS b(tenant_id, bucket_start)
     JOIN metrics m ON m.tenant_id = b.tenant_id AND m."timestamp" >= b.bucket_start AND m."timestamp" < b.bucket_start + make_interval(secs => $4)
     GROUP BY m.tenant_id, b.bucket_start, m.series_key, m.metric_name, m.service_name, m.labels
     ON CONFLICT (tenant_id, resolution, series_key, bucket_start) DO UPDATE SET
       count = EXCLUDED.count, sum = EXCLUDED.sum, min = EXCLUDED.min, max = EXCLUDED.max,
       avg = EXCLUDED.avg, p95 = EXCLUDED.p95, updated_at = EXCLUDED.updated_at`,
    [buckets.map((bucket) => bucket.tenantId), buckets.map((bucket) => bucket.bucketStart.toISOString()), resolution.name, resolution.ms / 1000, now.toISOString()],
  );
  return result.rowCount;
}

/** Flags days whose 1d rollup is out of date. */
export async function markDays(tx: Tx, days: readonly TenantBucket[]): Promise<void> {
  if (days.length === 0) return;
  await tx.query(
    `INSERT INTO metric_rollup_pending_days (tenant_id, day, dirty)
     SELECT tenant_id, day, true FROM unnest($1::uuid[], $2::timestamptz[]) AS d(tenant_id, day)
     ON CONFLICT (tenant_id, day) DO UPDATE SET dirty = true`,
    [days.map((day) => day.tenantId), days.map((day) => day.bucketStart.toISOString())],
  );
}

/** Closed days (once, their last hours included) and dirty open days not recomputed for an hour. */
export async function dueDays(tx: Tx, now: Date, limit: number): Promise<TenantBucket[]> {
  const result = await tx.query<{ tenant_id: string; day: Date }>(
    `SELECT tenant_id, day FROM metric_rollup_pending_days
     WHERE day + interval '1 day' <= $1 OR (dirty AND (computed_at IS NULL OR computed_at <= $1::timestamptz - interval '1 hour'))
     ORDER BY day LIMIT $2`,
    [now.toISOString(), limit],
  );
  return result.rows.map((row) => ({ tenantId: row.tenant_id, bucketStart: row.day }));
}

export async function settleDays(tx: Tx, days: readonly TenantBucket[], now: Date): Promise<void> {
  if (days.length === 0) return;
  const params = [days.map((day) => day.tenantId), days.map((day) => day.bucketStart.toISOString()), now.toISOString()];
  await tx.query(
    `DELETE FROM metric_rollup_pending_days p USING unnest($1::uuid[], $2::timestamptz[]) AS d(tenant_id, day)
     WHERE p.tenant_id = d.tenant_id AND p.day = d.day AND p.day + interval '1 day' <= $3`,
    params,
  );
  await tx.query(
    `UPDATE metric_rollup_pending_days p SET dirty = false, computed_at = $3 FROM unnest($1::uuid[], $2::timestamptz[]) AS d(tenant_id, day)
     WHERE p.tenant_id = d.tenant_id AND p.day = d.day`,
    params,
  );
}
