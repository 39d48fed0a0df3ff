import type { Tx } from '../platform/db/index.js';

export interface ActiveSeriesRow {
  series_key: string;
  last: Date;
}

/**
 * The tenant's series written since `since`, newest first: from the 5-minute rollups and the
 * marks ingest leaves for buckets not rolled up yet (both far smaller than the samples).
 * There is no series table yet; this is the cheapest complete answer.
 */
export async function recentSeries(tx: Tx, tenantId: string, since: Date, limit: number): Promise<ActiveSeriesRow[]> {
  const result = await tx.query<ActiveSeriesRow>(
    `SELECT series_key, max(last) AS last FROM (
       SELECT series_key, max(bucket_start) AS last FROM metric_rollups
        WHERE tenant_id = $1 AND resolution = '5m' AND bucket_start >= $2 GROUP BY series_key
       UNION ALL
       SELECT series_key, max(bucket_start) AS last FROM metric_rollup_marks
        WHERE tenant_id = $1 AND bucket_start >= $2 GROUP BY series_key
     ) AS seen GROUP BY series_key ORDER BY last DESC LIMIT $3`,
    [tenantId, since, limit],
  );
  return result.rows;
}
