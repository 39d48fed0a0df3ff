import { cached, type Cache } from '../platform/cache/index.js';
import { EventPageSchema, EventSchema, MAX_PAGES, PAGE_SIZE, UPSTREAM_ROUTES, type Event } from './upstream-api.js';
import type { ServiceClient } from './service-client.js';

export interface EventClient {
  readonly configured: boolean;
  /** One event, cached for `cacheTtlMs`; NOT_FOUND when the event service has no such event. */
  getEvent(tenantId: string, eventId: string, signal?: AbortSignal): Promise<Event>;
  /** Every event with the given status (default `on_sale`), across pages. */
  listEvents(tenantId: string, options?: { status?: string; signal?: AbortSignal }): Promise<Event[]>;
}

export function createEventClient(http: ServiceClient, cache: Cache, cacheTtlMs: number): EventClient {
  return {
    configured: http.configured,
    getEvent(tenantId, eventId, signal) {
      return cached(cache, `clients:event:${tenantId}:${eventId}`, cacheTtlMs, () =>
        http.request({ method: 'GET', route: UPSTREAM_ROUTES.event, params: { id: eventId }, tenantId, schema: EventSchema, signal }),
      );
    },
    async listEvents(tenantId, options = {}) {
      const events: Event[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < MAX_PAGES; page += 1) {
        const answer = await http.request({
          method: 'GET',
          route: UPSTREAM_ROUTES.events,
          query: { status: options.status ?? 'on_sale', limit: PAGE_SIZE, cursor },
          tenantId,
          schema: EventPageSchema,
          signal: options.signal,
        });
        events.push(...answer.data);
        if (answer.next_cursor === null) return events;
        cursor = answer.next_cursor;
      }
      return events;
    },
  };
}
