import type { SampleSource } from '../../metrics/index.js';
import type { Tx } from '../../platform/db/index.js';

export interface AnomalyRecord {
  seriesKey: string;
  metricName: string;
  serviceName: string;
  labels: Record<string, string>;
  timestamp: Date;
  value: number;
  score: number;
  robustScore: number;
  modelScore: number | null;
  modelVersion: number | null;
  detector: 'robust' | 'autoencoder';
}

export interface AnomalyRow {
  id: string;
  series_key: string;
  metric_name: string;
  service_name: string;
  labels: Record<string, string>;
  timestamp: Date;
  value: number;
  score: number;
  robust_score: number;
  model_score: number | null;
  model_version: number | null;
  detector: 'robust' | 'autoencoder';
  created_at: Date;
}

/** Stores anomalies in one statement; a series/timestamp already stored is left as it was. */
export async function insertAnomalies(tx: Tx, tenantId: string, records: readonly AnomalyRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  const result = await tx.query(
    `INSERT INTO anomalies (tenant_id, series_key, metric_name, service_name, labels, "timestamp", value, score, robust_score, model_score, model_version, detector)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::float8[], $8::float8[], $9::float8[], $10::float8[], $11::int[], $12::text[])
     ON CONFLICT (tenant_id, series_key, "timestamp") DO NOTHING`,
    [
      tenantId,
      records.map((r) => r.seriesKey),
      records.map((r) => r.metricName),
      records.map((r) => r.serviceName),
      records.map((r) => JSON.stringify(r.labels)),
      records.map((r) => r.timestamp),
      records.map((r) => r.value),
      records.map((r) => r.score),
      records.map((r) => r.robustScore),
      records.map((r) => r.modelScore),
      records.map((r) => r.modelVersion),
      records.map((r) => r.detector),
    ],
  );
  return result.rowCount;
}

export interface AnomalyFilter {
  metricName?: string;
  serviceName?: string;
  seriesKey?: string;
  from?: Date;
  to?: Date;
  limit: number;
}

export async function listAnomalies(tx: Tx, tenantId: string, filter: AnomalyFilter): Promise<AnomalyRow[]> {
  const result = await tx.query<AnomalyRow>(
    `SELECT id, series_key, metric_name, service_name, labels, "timestamp", value, score, robust_score, model_score, model_version, detector, created_at
     FROM anomalies WHERE tenant_id = $1 AND ($2::text IS NULL OR metric_name = $2) AND ($3::text IS NULL OR service_name = $3)
       AND ($4::text IS NULL OR series_key = $4) AND ($5::timestamptz IS NULL OR "timestamp" >= $5) AND ($6::timestamptz IS NULL OR "timestamp" <= $6)
     ORDER BY "timestamp" DESC LIMIT $7`,
    [tenantId, filter.metricName ?? null, filter.serviceName ?? null, filter.seriesKey ?? null, filter.from ?? null, filter.to ?? null, filter.limit],
  );
  return result.rows;
}

/** Values of one series in time order, oldest first, at most `limit` of the newest before `before`. */
export async function seriesHistory(tx: Tx, tenantId: string, seriesKey: string, since: Date, before: Date, limit: number, samples: SampleSource): Promise<Array<{ timestamp: Date; value: number }>> {
  const histories = await seriesHistories(tx, tenantId, [{ seriesKey, since, before }], limit, samples);
  return histories.get(seriesKey) ?? [];
}

/** `seriesHistory` of several series in one statement (series first seen in an ingested batch). */
export async function seriesHistories(
  tx: Tx,
  tenantId: string,
  ranges: ReadonlyArray<{ seriesKey: string; since: Date; before: Date }>,
  limit: number,
  samples: SampleSource,
): Promise<Map<string, Array<{ timestamp: Date; value: number }>>> {
  const histories = new Map<string, Array<{ timestamp: Date; value: number }>>(ranges.map((range) => [range.seriesKey, []]));
  if (ranges.length === 0) return histories;
  const params: unknown[] = [tenantId, ranges.map((r) => r.seriesKey), ranges.map((r) => r.since), ranges.map((r) => r.before), limit];
  // The database's samples are read per series and range; another store's, once for all of them.
  const source = samples.kind === 'database'
    ? 'metric_samples_in(s.since, s.before)'
    : await samples.from(tx, tenantId, { names: [...new Set(ranges.map((r) => r.seriesKey.slice(0, r.seriesKey.indexOf('|'))))], from: new Date(Math.min(...ranges.map((r) => r.since.getTime()))), to: new Date(Math.max(...ranges.map((r) => r.before.getTime()))) }, params);
  const result = await tx.query<{ series_key: string; timestamp: Date; value: number }>(
    `SELECT s.series_key, recent."timestamp", recent.value
     FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[]) AS s(series_key, since, before)
     CROSS JOIN LATERAL (
       SELECT "timestamp", value, id FROM ${source} m WHERE tenant_id = $1 AND series_key = s.series_key AND "timestamp" >= s.since AND "timestamp" < s.before
       ORDER BY "timestamp" DESC, id DESC LIMIT $5) recent
     ORDER BY s.series_key, recent."timestamp", recent.id`,
    params,
  );
  for (const row of result.rows) histories.get(row.series_key)?.push({ timestamp: row.timestamp, value: row.value });
  return histories;
}

/** Series with the most samples since `since`, across tenants (system work): what the training job picks. */
export async function busiestSeries(tx: Tx, since: Date, minSamples: number, limit: number): Promise<Array<{ tenant_id: string; series_key: string; samples: number }>> {
  const result = await tx.query<{ tenant_id: string; series_key: string; samples: string }>(
    `SELECT tenant_id, series_key, count(*) AS samples FROM metric_samples_in($1, 'infinity') WHERE "timestamp" >= $1
     GROUP BY tenant_id, series_key HAVING count(*) >= $2 ORDER BY count(*) DESC LIMIT $3`,
    [since, minSamples, limit],
  );
  return result.rows.map((row) => ({ tenant_id: row.tenant_id, series_key: row.series_key, samples: Number(row.samples) }));
}
