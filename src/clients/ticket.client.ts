import { TicketStatsSchema, UPSTREAM_ROUTES, type TicketStats } from './upstream-api.js';
import type { ServiceClient } from './service-client.js';

export interface TicketClient {
  readonly configured: boolean;
  /** Ticket activity in [since, until). */
  stats(tenantId: string, window: { since: Date; until: Date }, signal?: AbortSignal): Promise<TicketStats>;
}

export function createTicketClient(http: ServiceClient): TicketClient {
  return {
    configured: http.configured,
    stats(tenantId, window, signal) {
      return http.request({
        method: 'GET',
        route: UPSTREAM_ROUTES.ticketStats,
        query: { since: window.since.toISOString(), until: window.until.toISOString() },
        tenantId,
        schema: TicketStatsSchema,
        signal,
      });
    },
  };
}
