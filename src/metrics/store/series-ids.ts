import type { Tx } from '../../platform/db/index.js';
import type { Sample } from '../sample.js';

/** Series ids this instance has seen, per tenant and series key; least recently used forgotten first. */
export class SeriesIdCache {
  private readonly ids = new Map<string, number>();

  constructor(private readonly capacity: number) {}

  get(tenantId: string, seriesKey: string): number | undefined {
    const key = `${tenantId}\n${seriesKey}`;
    const id = this.ids.get(key);
    if (id !== undefined) {
      // Map keeps insertion order: re-inserting marks the entry as the most recently used.
      this.ids.delete(key);
      this.ids.set(key, id);
    }
    return id;
  }

  set(tenantId: string, seriesKey: string, id: number): void {
    const key = `${tenantId}\n${seriesKey}`;
    this.ids.delete(key);
    this.ids.set(key, id);
    while (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next();
      if (oldest.done === true) break;
      this.ids.delete(oldest.value);
    }
  }
}

export interface ResolvedSeries {
  /** The series id of each sample, in sample order. */
  ids: number[];
  /** Ids read or created in this transaction: the caller caches them once it has committed. */
  learned: Map<string, number>;
}

/**
 * The id of every series of the batch. Ids the cache knows cost nothing; the others are created in
 * bulk (one statement) or read when another writer created them first. The cache is not written
 * here: an id created in a transaction that rolls back must never be used.
 */
export async function resolveSeriesIds(tx: Tx, tenantId: string, samples: readonly Sample[], cache: SeriesIdCache): Promise<ResolvedSeries> {
  const ids = new Array<number>(samples.length);
  const missing = new Map<string, Sample>();
  samples.forEach((sample, index) => {
    const id = cache.get(tenantId, sample.seriesKey);
    if (id === undefined) missing.set(sample.seriesKey, sample);
    else ids[index] = id;
  });
  if (missing.size === 0) return { ids, learned: new Map() };
  const found = await createSeries(tx, tenantId, [...missing.values()]);
  samples.forEach((sample, index) => {
    if (ids[index] !== undefined) return;
    const id = found.get(sample.seriesKey);
    if (id === undefined) throw new Error(`series ${sample.seriesKey} has no id after it was created`);
    ids[index] = id;
  });
  return { ids, learned: found };
}

async function createSeries(tx: Tx, tenantId: string, samples: readonly Sample[]): Promise<Map<string, number>> {
  const params = [tenantId, samples.map((s) => s.seriesKey), samples.map((s) => s.name), samples.map((s) => s.service), samples.map((s) => JSON.stringify(s.labels))];
  // The SELECT sees the series committed before the statement, the INSERT returns the new ones.
  const result = await tx.query<{ id: string | number; series_key: string }>(
    `WITH input AS (
       SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::jsonb[]) AS i(series_key, metric_name, service_name, labels)
     ), created AS (
       INSERT INTO metric_series (tenant_id, series_key, metric_name, service_name, labels)
       SELECT $1::uuid, series_key, metric_name, service_name, labels FROM input
       ON CONFLICT (tenant_id, series_key) DO NOTHING
       RETURNING id, series_key
     )
     SELECT id, series_key FROM created
     UNION ALL
     SELECT s.id, s.series_key FROM metric_series s JOIN input i ON s.series_key = i.series_key WHERE s.tenant_id = $1::uuid`,
    params,
  );
  const found = new Map(result.rows.map((row) => [row.series_key, Number(row.id)]));
  if (found.size < samples.length) {
    // A concurrent writer committed some of them after this statement's snapshot was taken.
    const late = await tx.query<{ id: string | number; series_key: string }>('SELECT id, series_key FROM metric_series WHERE tenant_id = $1 AND series_key = ANY($2::text[])', [tenantId, params[1]]);
    for (const row of late.rows) found.set(row.series_key, Number(row.id));
  }
  return found;
}
