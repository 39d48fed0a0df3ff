import type { Tx } from '../platform/db/index.js';
import type { Sample } from './sample.js';

export interface StoredSample {
  id: number;
  metric_name: string;
  service_name: string;
  value: number;
  labels: Record<string, string>;
  timestamp: Date;
}

/** Granularity of the marks ingest leaves for the aggregation job. */
export const ROLLUP_MARK_MS = 5 * 60_000;

export const utcDay = (at: Date) => at.toISOString().slice(0, 10);

export async function ensurePartitions(tx: Tx, days: string[]): Promise<void> {
  if (days.length === 0) return;
  const sorted = [...days].sort();
  await tx.query('SELECT ensure_metrics_partitions($1::date, $2::date)', [sorted[0], sorted[sorted.length - 1]]);
}

/**
 * One statement for the whole batch (COPY is refused under RLS): the samples go to the head as
 * (series id, time, value); the same statement writes one insert-only mark per distinct
 * (5-minute bucket, series), with the batch's sample count in it, for the aggregation job (no
 * upsert, so concurrent writers never wait on each other).
 */
export async function insertSamples(tx: Tx, tenantId: string, samples: readonly Sample[], seriesIds: readonly number[]): Promise<number> {
  if (samples.length === 0) return 0;
  const marks = countMarks(samples);
  const result = await tx.query<{ stored: number }>(
    `WITH stored AS (
       INSERT INTO metric_head (tenant_id, series_id, "timestamp", value)
       SELECT $1::uuid, series, at, value FROM unnest($2::int8[], $3::timestamptz[], $4::float8[]) AS s(series, at, value)
       RETURNING 1
     ), marked AS (
       INSERT INTO metric_rollup_marks (tenant_id, bucket_start, series_key, samples)
       SELECT $1::uuid, bucket, series, n FROM unnest($5::timestamptz[], $6::text[], $7::int[]) AS m(bucket, series, n)
     )
     SELECT count(*)::int AS stored FROM stored`,
    [
      tenantId,
      seriesIds,
      samples.map((sample) => sample.timestamp.toISOString()),
      samples.map((sample) => sample.value),
      marks.map((mark) => new Date(mark.bucketMs).toISOString()),
      marks.map((mark) => mark.seriesKey),
      marks.map((mark) => mark.samples),
    ],
  );
  return Number(result.rows[0]?.stored ?? 0);
}

/** The batch's samples counted per distinct (5-minute bucket, series). */
function countMarks(samples: readonly Sample[]): Array<{ bucketMs: number; seriesKey: string; samples: number }> {
  const marks = new Map<string, { bucketMs: number; seriesKey: string; samples: number }>();
  for (const sample of samples) {
    const bucketMs = Math.floor(sample.timestamp.getTime() / ROLLUP_MARK_MS) * ROLLUP_MARK_MS;
    const key = `${bucketMs}|${sample.seriesKey}`;
    const mark = marks.get(key);
    if (mark === undefined) marks.set(key, { bucketMs, seriesKey: sample.seriesKey, samples: 1 });
    else mark.samples += 1;
  }
  return [...marks.values()];
}
