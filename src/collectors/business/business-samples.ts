import type { Event, TicketStats, Venue } from '../../clients/index.js';
import type { SampleInput } from '../../metrics/sample.js';
import type { SalesAggregate } from './sales.source.js';

/**
 * How upstream answers become samples. Counter-named samples (`*_total`, `revenue_total_cents`)
 * are pushed counters (`type: 'counter'`): the increment over the collection window, which ingest
 * adds to the series' running total; other samples are point-in-time values. Nothing is emitted for a source that did
 * not answer.
 */
export function venueSamples(venues: readonly Venue[], at: Date): SampleInput[] {
  const byStatus = new Map<string, { count: number; capacity: number }>();
  for (const venue of venues) {
    const entry = byStatus.get(venue.status) ?? { count: 0, capacity: 0 };
    entry.count += 1;
    entry.capacity += venue.capacity;
    byStatus.set(venue.status, entry);
  }
  const timestamp = at.toISOString();
  const samples: SampleInput[] = [{ name: 'venues_count', service: 'venue-service', value: venues.length, labels: { status: 'all' }, timestamp }];
  for (const [status, entry] of byStatus) {
    samples.push({ name: 'venues_count', service: 'venue-service', value: entry.count, labels: { status }, timestamp });
    samples.push({ name: 'venues_capacity', service: 'venue-service', value: entry.capacity, labels: { status }, timestamp });
  }
  return samples;
}

export function eventSamples(events: readonly Event[], at: Date): SampleInput[] {
  const timestamp = at.toISOString();
  const capacity = events.reduce((sum, event) => sum + event.capacity, 0);
  return [
    { name: 'events_on_sale', service: 'event-service', value: events.length, timestamp },
    { name: 'events_on_sale_capacity', service: 'event-service', value: capacity, timestamp },
  ];
}

export function ticketSamples(stats: TicketStats, at: Date): SampleInput[] {
  const timestamp = at.toISOString();
  const service = 'ticket-service';
  const samples: SampleInput[] = [{ name: 'active_users', service, value: stats.active_users, labels: { type: 'ticket_activity' }, timestamp }];
  for (const row of stats.rows) {
    const where = { venue_id: row.venue_id, event_id: row.event_id, ticket_type: row.ticket_type };
    samples.push(
      { name: 'tickets_sold_total', service, type: 'counter', value: row.tickets_sold, labels: where, timestamp },
      { name: 'tickets_listed_total', service, type: 'counter', value: row.tickets_listed, labels: where, timestamp },
      { name: 'revenue_total_cents', service, type: 'counter', value: row.revenue_cents, labels: { ...where, type: 'sale', currency: stats.currency }, timestamp },
      { name: 'refunds_processed_total', service, type: 'counter', value: row.refunds_processed, labels: where, timestamp },
      { name: 'refunds_total_cents', service, type: 'counter', value: row.refunds_cents, labels: { ...where, currency: stats.currency }, timestamp },
    );
  }
  return samples;
}

/** Sales pushed to this service, under their own names so they never double-count the ticket service's totals. */
export function salesSamples(aggregates: readonly SalesAggregate[], at: Date): SampleInput[] {
  const timestamp = at.toISOString();
  return aggregates.flatMap((row) => {
    const labels = { event_id: row.event_id, channel: row.channel, currency: row.currency };
    return [
      { name: 'sales_count', service: 'monitoring-service', value: row.sales, labels, timestamp },
      { name: 'sales_tickets', service: 'monitoring-service', value: row.tickets, labels, timestamp },
      { name: 'sales_revenue_cents', service: 'monitoring-service', value: row.amount_cents, labels, timestamp },
    ];
  });
}
