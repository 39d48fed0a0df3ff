import { ensurePartitions, insertSamples, utcDay } from '../../src/metrics/metrics.repository.js';
import { seriesKeyOf, type Sample } from '../../src/metrics/sample.js';
import { resolveSeriesIds, SeriesIdCache } from '../../src/metrics/store/series-ids.js';
import type { Tx } from '../../src/platform/db/index.js';

export interface RawSample {
  name: string;
  service: string;
  labels?: Record<string, string>;
  value: number;
  at: Date;
}

/**
 * Writes samples with the store's own statements (partitions, series ids, head and rollup marks)
 * but none of the ingest path's validation, scoring or publication, as another instance would have
 * stored them. Runs as the transaction's role, so RLS applies.
 */
export async function insertStoredSamples(tx: Tx, tenantId: string, raw: readonly RawSample[]): Promise<void> {
  const samples: Sample[] = raw.map((sample) => {
    const labels = sample.labels ?? {};
    return { name: sample.name, service: sample.service, value: sample.value, labels, timestamp: sample.at, seriesKey: seriesKeyOf(sample.name, sample.service, labels) };
  });
  await ensurePartitions(tx, [...new Set(samples.map((sample) => utcDay(sample.timestamp)))]);
  const series = await resolveSeriesIds(tx, tenantId, samples, new SeriesIdCache(0));
  await insertSamples(tx, tenantId, samples, series.ids);
}
