import { seededRandom } from './fraud.js';

/**
 * Simulated on-sales with a known demand curve (seeded: runs repeat): a rush after the on-sale that
 * decays, then a base demand that follows the day (busy afternoons, quiet nights), until capacity.
 */
export interface SimulatedOrder {
  saleId: string;
  tickets: number;
  soldAt: Date;
}

export interface SimulatedOnSale {
  eventId: string;
  capacity: number;
  onSaleAt: Date;
  orders: SimulatedOrder[];
  selloutAt: Date;
}

const HOUR = 3_600_000;
const MEAN_TICKETS = 2.5;

/** Demand in tickets per hour at `hours` after the on-sale, for an event of `capacity`. */
function demand(capacity: number, shape: { rushShare: number; rushHours: number; baseShare: number }, onSaleHourUtc: number, hours: number): number {
  const rush = (capacity * shape.rushShare * Math.exp(-hours / shape.rushHours)) / shape.rushHours;
  const hourOfDay = (onSaleHourUtc + hours) % 24;
  const daily = 1 + 0.9 * Math.sin((2 * Math.PI * (hourOfDay - 8)) / 24);
  return rush + capacity * shape.baseShare * daily;
}

export function simulateOnSales(count: number, seed: number, options: { prefix: string; firstOnSaleMs: number; spacingMs: number }): SimulatedOnSale[] {
  const random = seededRandom(seed);
  const between = (low: number, high: number) => low + (high - low) * random();
  return Array.from({ length: count }, (_, index) => {
    const capacity = Math.round(between(1_500, 4_000) / 10) * 10;
    // Base demand: 1-2.5% of capacity per hour on average, so sellouts take about 1.5 to 4 days.
    const shape = { rushShare: between(0.15, 0.45), rushHours: between(1, 3), baseShare: between(0.01, 0.025) };
    const onSaleAt = options.firstOnSaleMs + index * options.spacingMs;
    const onSaleHour = new Date(onSaleAt).getUTCHours();
    const eventId = `${options.prefix}-${index}`;
    const orders: SimulatedOrder[] = [];
    let sold = 0;
    let hours = 0;
    // Poisson orders by thinning: candidate gaps at the peak rate, kept with probability rate/peak.
    const peak = demand(capacity, shape, onSaleHour, 0) + capacity * shape.baseShare * 1.9;
    while (sold < capacity) {
      hours += -Math.log(1 - random()) / (peak / MEAN_TICKETS);
      if (random() * peak > demand(capacity, shape, onSaleHour, hours)) continue;
      const tickets = Math.min(capacity - sold, 1 + Math.floor(random() * 4));
      sold += tickets;
      orders.push({ saleId: `${eventId}-${orders.length}`, tickets, soldAt: new Date(onSaleAt + Math.round(hours * HOUR)) });
    }
    const last = orders[orders.length - 1];
    return { eventId, capacity, onSaleAt: new Date(onSaleAt), orders, selloutAt: last === undefined ? new Date(onSaleAt) : last.soldAt };
  });
}
