import type { Tx } from '../../platform/db/index.js';

export interface SeriesMetadata {
  /** The metric family name (a histogram's, without _bucket, _sum or _count). */
  family: string;
  type: string;
  help: string;
  unit: string;
}

/** Sets type, help and unit on the family's series (and its _bucket, _sum, _count and _total series). */
export async function setSeriesMetadata(tx: Tx, tenantId: string, entries: readonly SeriesMetadata[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.query(
    `UPDATE metric_series s SET metric_type = m.type, help = m.help, unit = m.unit
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS m(family, type, help, unit)
     WHERE s.tenant_id = $1 AND s.metric_name = ANY(ARRAY[m.family, m.family || '_bucket', m.family || '_sum', m.family || '_count', m.family || '_total'])
       AND (s.metric_type IS DISTINCT FROM m.type OR s.help IS DISTINCT FROM m.help OR s.unit IS DISTINCT FROM m.unit)`,
    [tenantId, entries.map((entry) => entry.family), entries.map((entry) => entry.type), entries.map((entry) => entry.help), entries.map((entry) => entry.unit)],
  );
}
