import type { Tx } from '../../src/platform/db/index.js';
import { seriesKeyOf } from '../../src/metrics/sample.js';

export interface RawSample {
  name: string;
  service: string;
  labels?: Record<string, string>;
  value: number;
  at: Date;
}

/**
 * Writes samples straight into the store (series + head), as another instance would, without the
 * ingest path's scoring, marks or publication. Runs as the transaction's role, so RLS applies.
 */
export async function insertStoredSamples(tx: Tx, tenantId: string, samples: readonly RawSample[]): Promise<void> {
  if (samples.length === 0) return;
  const days = [...new Set(samples.map((sample) => sample.at.toISOString().slice(0, 10)))].sort();
  await tx.query("SELECT ensure_day_partitions('metric_head', $1::date, $2::date)", [days[0], days[days.length - 1]]);
  await tx.query(
    `WITH input AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[], $6::float8[], $7::timestamptz[]) AS i(series_key, metric_name, service_name, labels, value, at)
     ), series AS (
       INSERT INTO metric_series (tenant_id, series_key, metric_name, service_name, labels)
       SELECT DISTINCT ON (series_key) $1::uuid, series_key, metric_name, service_name, labels FROM input
       ON CONFLICT (tenant_id, series_key) DO UPDATE SET series_key = EXCLUDED.series_key
       RETURNING id, series_key
     )
     INSERT INTO metric_head (tenant_id, series_id, "timestamp", value)
     SELECT $1::uuid, s.id, i.at, i.value FROM input i JOIN series s USING (series_key)`,
    [
      tenantId,
      samples.map((sample) => seriesKeyOf(sample.name, sample.service, sample.labels ?? {})),
      samples.map((sample) => sample.name),
      samples.map((sample) => sample.service),
      samples.map((sample) => JSON.stringify(sample.labels ?? {})),
      samples.map((sample) => sample.value),
      samples.map((sample) => sample.at.toISOString()),
    ],
  );
}
