import type { Logger } from 'pino';
import type { AlertInput } from '../../alerts/alert-store.js';
import type { Clients } from '../../clients/index.js';
import { AppError, NotConfiguredError, ValidationError } from '../../errors.js';
import type { CatalogueFeed } from '../../metrics/index.js';
import type { Ingest } from '../../metrics/ingest.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import type { UnitFailed } from '../../platform/scheduler.js';
import { activeEvents, eventTotals, insertSale, recentSales, tenantTotals } from './sales.repository.js';
import type { SelloutModel } from './sellout-model.js';
import { baselineSellout, rateWindowHours, trendOf, type SelloutPrediction, type Trend } from './sellout.js';

export interface TrackSaleInput {
  sale_id: string;
  event_id: string;
  tickets: number;
  amount_cents: number;
  currency: string;
  channel?: string;
  sold_at?: string;
}

export interface EventSalesReport {
  event_id: string;
  event_name: string;
  status: string;
  capacity: number;
  sold: number;
  remaining: number;
  orders: number;
  revenue_cents: Record<string, number>;
  velocity_per_minute: number;
  velocity_per_hour: number;
  trend: Trend;
  starts_at: string;
  /** The prediction that serves: the LSTM's when its backtest beat the baseline, else the baseline's. */
  prediction: SelloutPrediction;
  predictions: { baseline: SelloutPrediction; lstm: SelloutPrediction | null };
  served_by: 'lstm' | 'baseline';
  /** Why a trained LSTM gave no prediction (the baseline served instead). */
  lstm_unavailable?: string;
  computed_at: string;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const MAX_FUTURE_MS = 10 * MINUTE;

/**
 * Sales pushed by the platform, stored in this service's own table; event capacity and times come
 * from the event service through its signed, cached client.
 */
export function createSalesService(deps: { sellout: SelloutModel; db: Db; clock: Clock; logger: Logger; clients: Clients; catalogueFeed: Pick<CatalogueFeed, 'record'>; ingest: Ingest; raise: (tenantId: string, input: AlertInput) => Promise<unknown>; selloutAlertWithinMs: number }) {
  const eventOf = async (tenantId: string, eventId: string) => {
    if (!deps.clients.events.configured) throw new NotConfiguredError('Event lookups for sales analytics', 'EVENT_SERVICE_URL');
    try {
      return await deps.clients.events.getEvent(tenantId, eventId);
    } catch (error) {
      if (error instanceof AppError && error.code === 'NOT_FOUND') throw new AppError('UNKNOWN_EVENT', `The event service has no event ${eventId}`, { details: { event_id: eventId } });
      throw error;
    }
  };

  const report = async (tenantId: string, eventId: string): Promise<EventSalesReport> => {
    const event = await eventOf(tenantId, eventId);
    const now = deps.clock.now();
    // The LSTM is an improvement, not a dependency: if it fails, the baseline serves and the report says why.
    let lstmUnavailable: string | undefined;
    const unavailable = (error: unknown) => {
      lstmUnavailable = error instanceof Error ? error.message : String(error);
      deps.logger.warn({ err: error, tenantId, eventId }, 'LSTM sellout prediction failed; the baseline serves');
      return null;
    };
    const predictor = await deps.sellout.predictor(tenantId).catch(unavailable);
    // One transaction for the report's reads and the model's input.
    const [totals, recent, modelInput] = await deps.db.withTenant(tenantId, async (tx) => [
      await eventTotals(tx, tenantId, eventId, now),
      await recentSales(tx, tenantId, eventId, now),
      predictor === null ? null : await predictor.readRecent(tx, eventId, now.getTime()),
    ] as const);
    const remaining = Math.max(0, event.capacity - totals.sold);
    const windowHours = rateWindowHours(now.getTime(), totals.first_sale_at?.getTime() ?? null);
    const startsAt = new Date(event.starts_at);
    const baseline = baselineSellout({ remaining, ticketsInWindow: recent.lastHour.tickets, ordersInWindow: recent.lastHour.orders, windowHours, now, startsAt });
    const lstm = predictor === null || modelInput === null ? null : await predictor.predict(modelInput, { capacity: event.capacity, sold: totals.sold, now, startsAt }).catch(unavailable);
    const servedBy = lstm?.servedBy ?? 'baseline';
    return {
      event_id: eventId,
      event_name: event.name,
      status: event.status,
      capacity: event.capacity,
      sold: totals.sold,
      remaining,
      orders: totals.orders,
      revenue_cents: totals.revenue,
      velocity_per_minute: recent.lastTenMinutes / 10,
      velocity_per_hour: recent.lastHour.tickets / windowHours,
      trend: trendOf(recent.recentHalf, recent.previousHalf),
      starts_at: event.starts_at,
      prediction: servedBy === 'lstm' && lstm !== null ? lstm.prediction : baseline,
      predictions: { baseline, lstm: lstm?.prediction ?? null },
      served_by: servedBy,
      ...(lstmUnavailable === undefined ? {} : { lstm_unavailable: lstmUnavailable }),
      computed_at: now.toISOString(),
    };
  };

  return {
    async track(tenantId: string, input: TrackSaleInput): Promise<{ recorded: boolean; sale_id: string }> {
      const now = deps.clock.now();
      const soldAt = input.sold_at === undefined ? now : new Date(input.sold_at);
      if (soldAt.getTime() > now.getTime() + MAX_FUTURE_MS) throw new ValidationError('sold_at is in the future', { sold_at: input.sold_at });
      const event = await eventOf(tenantId, input.event_id);
      const recorded = await deps.db.withTenant(tenantId, (tx) =>
        insertSale(tx, tenantId, { saleId: input.sale_id, eventId: input.event_id, tickets: input.tickets, amountCents: input.amount_cents, currency: input.currency, channel: input.channel ?? 'web', soldAt }),
      );
      if (recorded) {
        // Only the platform tenant's sales reach /metrics; every tenant's stay in its own reports.
        deps.catalogueFeed.record(tenantId, [
          { name: 'tickets_sold_total', value: input.tickets, labels: { venue_id: event.venue_id, event_id: input.event_id, ticket_type: input.channel ?? 'web' } },
          { name: 'revenue_total_cents', value: input.amount_cents, labels: { venue_id: event.venue_id, type: input.currency } },
        ]);
      }
      return { recorded, sale_id: input.sale_id };
    },

    report,

    /** Tracking job: every event with recent sales, published as metrics; imminent sellouts alert. */
    async trackAll(signal?: AbortSignal, onUnitFailure?: UnitFailed): Promise<number> {
      const since = new Date(deps.clock.nowMs() - 24 * HOUR);
      const events = await deps.db.asSystem((tx) => activeEvents(tx, since));
      let tracked = 0;
      for (const { tenant_id: tenantId, event_id: eventId } of events) {
        if (signal?.aborted === true) break;
        try {
          const current = await report(tenantId, eventId);
          if (current.status !== 'on_sale') continue;
          const labels = { event_id: eventId };
          const samples = [
            { name: 'event_tickets_sold', service: 'analytics', value: current.sold, labels },
            { name: 'event_tickets_remaining', service: 'analytics', value: current.remaining, labels },
            { name: 'event_sales_velocity_per_hour', service: 'analytics', value: current.velocity_per_hour, labels },
            ...(current.prediction.hours === null ? [] : [{ name: 'event_sellout_predicted_hours', service: 'analytics', value: current.prediction.hours, labels }]),
          ];
          await deps.ingest.ingest(tenantId, samples, 'internal');
          const hours = current.prediction.hours;
          if (hours !== null && current.remaining > 0 && hours * HOUR <= deps.selloutAlertWithinMs) {
            await deps.raise(tenantId, {
              fingerprint: `sellout:${eventId}`,
              name: `Event ${current.event_name} is selling out`,
              type: 'sellout',
              severity: 'warning',
              message: `${current.remaining} of ${current.capacity} tickets left for ${current.event_name}; at ${current.velocity_per_hour.toFixed(1)} tickets/h it sells out in about ${(hours * 60).toFixed(0)} min`,
              source: 'sales-tracking',
              labels,
              value: hours,
            });
          }
          tracked += 1;
        } catch (error) {
          deps.logger.warn({ err: error, tenantId, eventId }, 'sales tracking of an event failed');
          onUnitFailure?.({ tenantId, eventId }, error);
        }
      }
      return tracked;
    },

    async summary(tenantId: string, hours: number) {
      const since = new Date(deps.clock.nowMs() - hours * HOUR);
      return deps.db.withTenant(tenantId, (tx) => tenantTotals(tx, tenantId, since));
    },
  };
}

export type SalesService = ReturnType<typeof createSalesService>;
