import { MAX_PAGES, PAGE_SIZE, UPSTREAM_ROUTES, VenuePageSchema, type Venue } from './upstream-api.js';
import type { ServiceClient } from './service-client.js';

export interface VenueClient {
  readonly configured: boolean;
  /** Every venue of the tenant, across pages. */
  listVenues(tenantId: string, signal?: AbortSignal): Promise<Venue[]>;
}

export function createVenueClient(http: ServiceClient): VenueClient {
  return {
    configured: http.configured,
    async listVenues(tenantId, signal) {
      const venues: Venue[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const answer = await http.request({ method: 'GET', route: UPSTREAM_ROUTES.venues, query: { limit: PAGE_SIZE, cursor }, tenantId, schema: VenuePageSchema, signal });
        venues.push(...answer.data);
        if (answer.next_cursor === null) return venues;
        cursor = answer.next_cursor;
      }
      return venues;
    },
  };
}
