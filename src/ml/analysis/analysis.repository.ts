import type { SampleSource } from '../../metrics/index.js';
import type { Tx } from '../../platform/db/index.js';

export type AnalysisKind = 'payment_failure_rate' | 'latency_p95' | 'sellout';

export interface AnalysisResult {
  kind: AnalysisKind;
  subject: string;
  bucketStart: Date | null;
  value: number | null;
  score: number | null;
  anomalous: boolean;
  details: Record<string, unknown>;
}

export const PAYMENT_METRICS = ['payment_failure_total', 'payment_success_total'] as const;

/** Tenants with payment samples or request timings since `since` (the job's work list). */
export async function tenantsWithData(tx: Tx, since: Date, samples: SampleSource): Promise<string[]> {
  const { rows } = await tx.query<{ tenant_id: string }>(
    `SELECT DISTINCT tenant_id FROM ${samples.seriesSeen(2)} m WHERE metric_name = ANY($1::text[]) AND "timestamp" >= $2
     UNION SELECT DISTINCT tenant_id FROM performance_metrics WHERE "timestamp" >= $2`,
    [PAYMENT_METRICS, since],
  );
  return rows.map((row) => row.tenant_id);
}

export interface PaymentSample {
  series_key: string;
  metric_name: string;
  provider: string;
  value: number;
  at: number;
}

/** Payment counter samples of a tenant, per series in time order (bounded). */
export async function paymentSamples(tx: Tx, tenantId: string, since: Date, limit: number, samples: SampleSource): Promise<PaymentSample[]> {
  const params: unknown[] = [tenantId, PAYMENT_METRICS, since, limit];
  const source = await samples.from(tx, tenantId, { names: PAYMENT_METRICS, from: since }, params);
  const { rows } = await tx.query<{ series_key: string; metric_name: string; provider: string | null; value: number; at: Date }>(
    `SELECT series_key, metric_name, labels->>'provider' AS provider, value, "timestamp" AS at FROM ${source} m
     WHERE tenant_id = $1 AND metric_name = ANY($2::text[]) AND "timestamp" >= $3
     ORDER BY series_key, "timestamp" LIMIT $4`,
    params,
  );
  return rows.map((row) => ({ series_key: row.series_key, metric_name: row.metric_name, provider: row.provider ?? 'all', value: Number(row.value), at: new Date(row.at).getTime() }));
}

export async function insertResults(tx: Tx, tenantId: string, runAt: Date, results: readonly AnalysisResult[]): Promise<void> {
  if (results.length === 0) return;
  await tx.query(
    `INSERT INTO ml_analysis_results (tenant_id, run_at, kind, subject, bucket_start, value, score, anomalous, details)
     SELECT $1, $2, kind, subject, bucket_start, value, score, anomalous, details
     FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::float8[], $7::float8[], $8::boolean[], $9::jsonb[]) AS x(kind, subject, bucket_start, value, score, anomalous, details)`,
    [
      tenantId,
      runAt,
      results.map((r) => r.kind),
      results.map((r) => r.subject),
      results.map((r) => r.bucketStart),
      results.map((r) => r.value),
      results.map((r) => r.score),
      results.map((r) => r.anomalous),
      results.map((r) => JSON.stringify(r.details)),
    ],
  );
}

export async function deleteResultsBefore(tx: Tx, before: Date): Promise<number> {
  const result = await tx.query('DELETE FROM ml_analysis_results WHERE run_at < $1', [before]);
  return result.rowCount ?? 0;
}

export interface StoredAnalysisResult {
  id: string;
  run_at: Date;
  kind: AnalysisKind;
  subject: string;
  bucket_start: Date | null;
  value: number | null;
  score: number | null;
  anomalous: boolean;
  details: Record<string, unknown>;
}

/** A tenant's results, newest run first, optionally of one kind or anomalies only. */
export async function listResults(tx: Tx, tenantId: string, filter: { kind?: AnalysisKind; anomalousOnly: boolean; limit: number }): Promise<StoredAnalysisResult[]> {
  const { rows } = await tx.query<StoredAnalysisResult>(
    `SELECT id, run_at, kind, subject, bucket_start, value, score, anomalous, details FROM ml_analysis_results
     WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) AND (NOT $3 OR anomalous)
     ORDER BY run_at DESC, kind, subject LIMIT $4`,
    [tenantId, filter.kind ?? null, filter.anomalousOnly, filter.limit],
  );
  return rows;
}
