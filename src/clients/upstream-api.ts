import { Type, type Static } from '@sinclair/typebox';

/**
 * The platform services' HTTP API this service relies on, in one place. Every call is signed
 * (DESIGN.md service signature) and carries `x-tenant-id`; answers are JSON and are checked
 * against these schemas before use. Extra fields are allowed (services may add fields).
 */
export const UPSTREAM_ROUTES = {
  /** One event. 404 when it does not exist for the tenant. */
  event: '/api/v1/events/:id',
  /** Events, filtered by `status` (e.g. `on_sale`); cursor pagination with `cursor` and `limit`. */
  events: '/api/v1/events',
  /** Venues; cursor pagination with `cursor` and `limit`. */
  venues: '/api/v1/venues',
  /** Ticket activity in the half-open window [since, until) (ISO 8601 instants). */
  ticketStats: '/api/v1/tickets/stats',
} as const;

/** ISO 8601 instant; a pattern, not `format`, so Value.Check needs no format registry. */
const Instant = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$' });
const Count = Type.Integer({ minimum: 0 });

export const EventSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  venue_id: Type.String({ minLength: 1 }),
  name: Type.String(),
  capacity: Count,
  on_sale_at: Type.Union([Instant, Type.Null()]),
  starts_at: Instant,
  /** draft | on_sale | sold_out | cancelled | completed (others are kept as given). */
  status: Type.String({ minLength: 1 }),
});
export type Event = Static<typeof EventSchema>;

export const VenueSchema = Type.Object({
  id: Type.String({ minLength: 1 }),
  name: Type.String(),
  capacity: Count,
  status: Type.String({ minLength: 1 }),
});
export type Venue = Static<typeof VenueSchema>;

const page = <T extends typeof EventSchema | typeof VenueSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String({ minLength: 1 }), Type.Null()]) });

export const EventPageSchema = page(EventSchema);
export const VenuePageSchema = page(VenueSchema);

/** Ticket activity of one (venue, event, ticket type) in the window. */
export const TicketStatsRowSchema = Type.Object({
  venue_id: Type.String({ minLength: 1 }),
  event_id: Type.String({ minLength: 1 }),
  ticket_type: Type.String({ minLength: 1 }),
  /** Tickets put up for sale (primary or resale listings) in the window. */
  tickets_listed: Count,
  tickets_sold: Count,
  revenue_cents: Count,
  refunds_processed: Count,
  refunds_cents: Count,
});
export type TicketStatsRow = Static<typeof TicketStatsRowSchema>;

export const TicketStatsSchema = Type.Object({
  since: Instant,
  until: Instant,
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  /** Distinct users with ticket activity (purchase, listing, transfer) in the window. */
  active_users: Count,
  rows: Type.Array(TicketStatsRowSchema),
});
export type TicketStats = Static<typeof TicketStatsSchema>;

/** Upper bound on pages read in one listing, so a broken cursor cannot loop forever. */
export const MAX_PAGES = 100;
export const PAGE_SIZE = 200;
