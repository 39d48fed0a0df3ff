import type { Tx } from '../../platform/db/index.js';

export interface SaleInput {
  saleId: string;
  eventId: string;
  tickets: number;
  amountCents: number;
  currency: string;
  channel: string;
  soldAt: Date;
}

/** Inserts the sale unless its id is already recorded; true when it is new. */
export async function insertSale(tx: Tx, tenantId: string, sale: SaleInput): Promise<boolean> {
  const result = await tx.query(
    `INSERT INTO sales (tenant_id, sale_id, event_id, tickets, amount_cents, currency, channel, sold_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, sale_id) DO NOTHING`,
    [tenantId, sale.saleId, sale.eventId, sale.tickets, sale.amountCents, sale.currency, sale.channel, sale.soldAt],
  );
  return result.rowCount === 1;
}

export interface EventSalesTotals {
  sold: number;
  orders: number;
  revenue: Record<string, number>;
  first_sale_at: Date | null;
  last_sale_at: Date | null;
}

export async function eventTotals(tx: Tx, tenantId: string, eventId: string, until: Date): Promise<EventSalesTotals> {
  const result = await tx.query<{ currency: string; tickets: string; orders: string; amount: string; first: Date; last: Date }>(
    `SELECT currency, sum(tickets) AS tickets, count(*) AS orders, sum(amount_cents) AS amount, min(sold_at) AS first, max(sold_at) AS last
     FROM sales WHERE tenant_id = $1 AND event_id = $2 AND sold_at <= $3 GROUP BY currency`,
    [tenantId, eventId, until],
  );
  const revenue: Record<string, number> = {};
  let sold = 0;
  let orders = 0;
  let first: Date | null = null;
  let last: Date | null = null;
  for (const row of result.rows) {
    revenue[row.currency] = Number(row.amount);
    sold += Number(row.tickets);
    orders += Number(row.orders);
    if (first === null || row.first < first) first = row.first;
    if (last === null || row.last > last) last = row.last;
  }
  return { sold, orders, revenue, first_sale_at: first, last_sale_at: last };
}

export interface RecentSales {
  /** Tickets in the last 10 minutes. */
  lastTenMinutes: number;
  lastHour: { tickets: number; orders: number };
  /** Tickets in the older and in the newer half of the last hour. */
  previousHalf: number;
  recentHalf: number;
}

/** The windows of the sales report, ending at `now` (inclusive), in one scan of the last hour. */
export async function recentSales(tx: Tx, tenantId: string, eventId: string, now: Date): Promise<RecentSales> {
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const result = await tx.query<{ ten: string | null; hour: string | null; orders: string; previous: string | null; recent: string | null }>(
    `SELECT sum(tickets) FILTER (WHERE sold_at >= $3) AS ten, sum(tickets) AS hour, count(*) AS orders,
            sum(tickets) FILTER (WHERE sold_at < $4) AS previous, sum(tickets) FILTER (WHERE sold_at >= $4) AS recent
     FROM sales WHERE tenant_id = $1 AND event_id = $2 AND sold_at >= $5 AND sold_at < $6`,
    [tenantId, eventId, ago(10 * 60_000), ago(30 * 60_000), ago(3_600_000), new Date(now.getTime() + 1)],
  );
  const row = result.rows[0];
  return {
    lastTenMinutes: Number(row?.ten ?? 0),
    lastHour: { tickets: Number(row?.hour ?? 0), orders: Number(row?.orders ?? 0) },
    previousHalf: Number(row?.previous ?? 0),
    recentHalf: Number(row?.recent ?? 0),
  };
}

/** Events (across tenants, system work) with a sale since `since`: what the tracking job follows. */
export async function activeEvents(tx: Tx, since: Date): Promise<Array<{ tenant_id: string; event_id: string }>> {
  const result = await tx.query<{ tenant_id: string; event_id: string }>('SELECT DISTINCT tenant_id, event_id FROM sales WHERE sold_at >= $1 ORDER BY tenant_id, event_id', [since]);
  return result.rows;
}

export async function tenantTotals(tx: Tx, tenantId: string, since: Date): Promise<{ tickets: number; orders: number; events: number; revenue: Record<string, number> }> {
  const result = await tx.query<{ currency: string; tickets: string; orders: string; events: string; amount: string }>(
    `SELECT currency, sum(tickets) AS tickets, count(*) AS orders, count(DISTINCT event_id) AS events, sum(amount_cents) AS amount
     FROM sales WHERE tenant_id = $1 AND sold_at >= $2 GROUP BY currency`,
    [tenantId, since],
  );
  const revenue: Record<string, number> = {};
  let tickets = 0;
  let orders = 0;
  let events = 0;
  for (const row of result.rows) {
    revenue[row.currency] = Number(row.amount);
    tickets += Number(row.tickets);
    orders += Number(row.orders);
    events = Math.max(events, Number(row.events));
  }
  return { tickets, orders, events, revenue };
}

/** Tickets per slot of `slotMs` in [from, to), and tickets sold before `from`: the LSTM's input. */
export async function slotHistogram(tx: Tx, tenantId: string, eventId: string, from: Date, to: Date, slotMs: number): Promise<{ tickets: Float64Array; soldBefore: number }> {
  const slots = Math.max(0, Math.ceil((to.getTime() - from.getTime()) / slotMs));
  const [rows, before] = [
    await tx.query<{ slot: number; tickets: string }>(
      `SELECT floor(extract(epoch FROM (sold_at - $3::timestamptz)) * 1000 / $5)::int AS slot, sum(tickets) AS tickets
       FROM sales WHERE tenant_id = $1 AND event_id = $2 AND sold_at >= $3 AND sold_at < $4 GROUP BY 1`,
      [tenantId, eventId, from, to, slotMs],
    ),
    await tx.query<{ tickets: string | null }>('SELECT sum(tickets) AS tickets FROM sales WHERE tenant_id = $1 AND event_id = $2 AND sold_at < $3', [tenantId, eventId, from]),
  ];
  const tickets = new Float64Array(slots);
  for (const row of rows.rows) if (row.slot >= 0 && row.slot < slots) tickets[row.slot] = Number(row.tickets);
  return { tickets, soldBefore: Number(before.rows[0]?.tickets ?? 0) };
}

/** A tenant's events with sales since `since`, most recently selling first: candidates for training. */
export async function eventsWithSales(tx: Tx, tenantId: string, since: Date, limit: number): Promise<Array<{ event_id: string; sold: number; first_sale_at: Date }>> {
  const result = await tx.query<{ event_id: string; sold: string; first_sale_at: Date }>(
    `SELECT event_id, sum(tickets) AS sold, min(sold_at) AS first_sale_at FROM sales
     WHERE tenant_id = $1 AND sold_at >= $2 GROUP BY event_id ORDER BY max(sold_at) DESC LIMIT $3`,
    [tenantId, since, limit],
  );
  return result.rows.map((row) => ({ event_id: row.event_id, sold: Number(row.sold), first_sale_at: row.first_sale_at }));
}

/** When the cumulative tickets of an event first reached `capacity`; null if they never did. */
export async function selloutTime(tx: Tx, tenantId: string, eventId: string, capacity: number): Promise<Date | null> {
  const result = await tx.query<{ sold_at: Date }>(
    `SELECT sold_at FROM (SELECT sold_at, sum(tickets) OVER (ORDER BY sold_at, sale_id) AS sold FROM sales WHERE tenant_id = $1 AND event_id = $2) running
     WHERE sold >= $3 ORDER BY sold_at LIMIT 1`,
    [tenantId, eventId, capacity],
  );
  return result.rows[0]?.sold_at ?? null;
}

/** Tenants (system work) with a sale since `since`, and their latest sale: the training job's worklist. */
export async function tenantsWithSales(tx: Tx, since: Date): Promise<Array<{ tenant_id: string; last_sale_at: Date }>> {
  const result = await tx.query<{ tenant_id: string; last_sale_at: Date }>('SELECT tenant_id, max(sold_at) AS last_sale_at FROM sales WHERE sold_at >= $1 GROUP BY tenant_id ORDER BY tenant_id', [since]);
  return result.rows;
}
