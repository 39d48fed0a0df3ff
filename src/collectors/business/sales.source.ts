import type { Db } from '../../platform/db/index.js';

export interface SalesAggregate {
  event_id: string;
  channel: string;
  currency: string;
  sales: number;
  tickets: number;
  amount_cents: number;
}

/**
 * Sales pushed to this service (`sales`, owned by the analytics domain). The table may not
 * exist in a build without that domain; then there is simply no sales source.
 */
export async function salesTableExists(db: Db): Promise<boolean> {
  const result = await db.asSystem((tx) => tx.query<{ present: boolean }>("SELECT to_regclass('sales') IS NOT NULL AS present"));
  return result.rows[0]?.present === true;
}

/** Tenants that pushed sales in the window: they are active and get business samples. */
export async function tenantsWithSales(db: Db, window: { since: Date; until: Date }): Promise<string[]> {
  const result = await db.asSystem((tx) =>
    tx.query<{ tenant_id: string }>('SELECT DISTINCT tenant_id FROM sales WHERE sold_at >= $1 AND sold_at < $2', [window.since, window.until]),
  );
  return result.rows.map((row) => row.tenant_id);
}

export async function aggregateSales(db: Db, tenantId: string, window: { since: Date; until: Date }): Promise<SalesAggregate[]> {
  const result = await db.withTenant(tenantId, (tx) =>
    tx.query<{ event_id: string; channel: string | null; currency: string; sales: string; tickets: string; amount_cents: string }>(
      `SELECT event_id::text AS event_id, channel, currency, count(*) AS sales, sum(tickets) AS tickets, sum(amount_cents) AS amount_cents
       FROM sales WHERE tenant_id = $1 AND sold_at >= $2 AND sold_at < $3
       GROUP BY event_id, channel, currency ORDER BY event_id, channel, currency`,
      [tenantId, window.since, window.until],
    ),
  );
  return result.rows.map((row) => ({
    event_id: row.event_id,
    channel: row.channel ?? '',
    currency: row.currency,
    sales: Number(row.sales),
    tickets: Number(row.tickets),
    amount_cents: Number(row.amount_cents),
  }));
}
