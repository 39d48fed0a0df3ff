import type { Tx } from '../platform/db/index.js';
import type { Matcher } from '../platform/matchers/index.js';
import { matcherConditions } from './label-matchers.js';
import type { SampleSource } from './store/sample-source.js';

export interface SampleFilter {
  name?: string;
  service?: string;
  matchers: readonly Matcher[];
  from?: Date;
  to?: Date;
}

export interface SampleRow {
  id: number;
  metric_name: string;
  service_name: string;
  series_key: string;
  value: number;
  labels: Record<string, string>;
  timestamp: Date;
}

/** Position after the last row of a page, newest first. */
export interface Cursor {
  timestamp: Date;
  id: number;
}

/**
 * The samples the filter selects: `source` (the store's samples in the filter's time range, see
 * metric_samples_in) and `condition` for its WHERE clause.
 */
async function selection(tx: Tx, tenantId: string, filter: SampleFilter, params: unknown[], samples: SampleSource): Promise<{ source: string; condition: string }> {
  params.push(tenantId);
  const source = await samples.from(tx, tenantId, { names: filter.name === undefined ? undefined : [filter.name], service: filter.service, matchers: filter.matchers, from: filter.from, to: filter.to }, params);
  const conditions = ['tenant_id = $1'];
  if (filter.name !== undefined) {
    params.push(filter.name);
    conditions.push(`metric_name = $${params.length}`);
  }
  if (filter.service !== undefined) {
    params.push(filter.service);
    conditions.push(`service_name = $${params.length}`);
  }
  conditions.push(...(await matcherConditions(tx, filter.matchers, params, { table: source, conditions })));
  return { source, condition: conditions.join(' AND ') };
}

/** A page of samples, newest first, after `cursor` (keyset pagination: stable under inserts). */
export async function listSamples(tx: Tx, tenantId: string, filter: SampleFilter, page: { limit: number; cursor?: Cursor }, samples: SampleSource): Promise<SampleRow[]> {
  const params: unknown[] = [];
  const { source, condition } = await selection(tx, tenantId, filter, params, samples);
  let sql = `SELECT id, metric_name, service_name, series_key, value, labels, "timestamp" FROM ${source} m WHERE ${condition}`;
  if (page.cursor !== undefined) {
    params.push(page.cursor.timestamp.toISOString(), page.cursor.id);
    sql += ` AND ("timestamp", id) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`;
  }
  params.push(page.limit);
  sql += ` ORDER BY "timestamp" DESC, id DESC LIMIT $${params.length}`;
  const result = await tx.query<SampleRow>(sql, params);
  return result.rows;
}

/** The newest sample of every series matching the filter (within its time range). */
export async function latestPerSeries(tx: Tx, tenantId: string, filter: SampleFilter, limit: number, samples: SampleSource): Promise<SampleRow[]> {
  const params: unknown[] = [];
  const { source, condition } = await selection(tx, tenantId, filter, params, samples);
  params.push(limit);
  const result = await tx.query<SampleRow>(
    `SELECT * FROM (
       SELECT DISTINCT ON (series_key) id, metric_name, service_name, series_key, value, labels, "timestamp"
       FROM ${source} m WHERE ${condition}
       ORDER BY series_key, "timestamp" DESC, id DESC
     ) latest ORDER BY metric_name, series_key LIMIT $${params.length}`,
    params,
  );
  return result.rows;
}

/**
 * The Prometheus type of each name whose series all carry the same one (counter: pushed as
 * increments, or so described by remote write or OTLP metadata).
 */
export async function metricTypes(tx: Tx, tenantId: string, names: readonly string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const result = await tx.query<{ metric_name: string; metric_type: string }>(
    `SELECT metric_name, min(metric_type) AS metric_type FROM metric_series
     WHERE tenant_id = $1 AND metric_name = ANY($2::text[])
     GROUP BY metric_name HAVING count(DISTINCT coalesce(metric_type, '')) = 1 AND min(metric_type) IS NOT NULL`,
    [tenantId, names],
  );
  return new Map(result.rows.map((row) => [row.metric_name, row.metric_type]));
}

/** Distinct metric names of a tenant, from its series. */
export async function metricNames(tx: Tx, tenantId: string, contains: string | undefined, limit: number): Promise<string[]> {
  const result = await tx.query<{ metric_name: string }>(
    `SELECT DISTINCT metric_name FROM metric_series
     WHERE tenant_id = $1 AND ($2::text IS NULL OR strpos(lower(metric_name), lower($2)) > 0) ORDER BY metric_name LIMIT $3`,
    [tenantId, contains ?? null, limit],
  );
  return result.rows.map((row) => row.metric_name);
}

/** Distinct services (optionally of one metric) seen since `since`. */
export async function serviceNames(tx: Tx, tenantId: string, metric: string | undefined, since: Date, samples: SampleSource): Promise<string[]> {
  const result = await tx.query<{ service_name: string }>(
    `SELECT DISTINCT service_name FROM ${samples.seriesSeen(3)} m WHERE tenant_id = $1 AND ($2::text IS NULL OR metric_name = $2) AND "timestamp" >= $3 ORDER BY service_name LIMIT 1000`,
    [tenantId, metric ?? null, since.toISOString()],
  );
  return result.rows.map((row) => row.service_name);
}

/** Distinct label keys (optionally of one metric) seen since `since`. */
export async function labelKeys(tx: Tx, tenantId: string, metric: string | undefined, since: Date, samples: SampleSource): Promise<string[]> {
  const result = await tx.query<{ key: string }>(
    `SELECT DISTINCT k AS key FROM ${samples.seriesSeen(3)} m, jsonb_object_keys(m.labels) AS k
     WHERE tenant_id = $1 AND ($2::text IS NULL OR metric_name = $2) AND "timestamp" >= $3 ORDER BY k LIMIT 1000`,
    [tenantId, metric ?? null, since.toISOString()],
  );
  return result.rows.map((row) => row.key);
}

/** Distinct values of one label (optionally of one metric) seen since `since`. */
export async function labelValues(tx: Tx, tenantId: string, key: string, metric: string | undefined, since: Date, samples: SampleSource): Promise<string[]> {
  const result = await tx.query<{ value: string }>(
    `SELECT DISTINCT labels ->> $2 AS value FROM ${samples.seriesSeen(4)} m
     WHERE tenant_id = $1 AND labels ? $2 AND ($3::text IS NULL OR metric_name = $3) AND "timestamp" >= $4 ORDER BY 1 LIMIT 1000`,
    [tenantId, key, metric ?? null, since.toISOString()],
  );
  return result.rows.map((row) => row.value);
}
