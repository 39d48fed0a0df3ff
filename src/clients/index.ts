import type { Signer } from '../auth/index.js';
import type { Config } from '../config.js';
import type { Cache } from '../platform/cache/index.js';
import type { Clock } from '../platform/clock.js';
import { createEventClient, type EventClient } from './event.client.js';
import { createServiceClient, type CallRecord, type ServiceClient } from './service-client.js';
import { createTicketClient, type TicketClient } from './ticket.client.js';
import { createVenueClient, type VenueClient } from './venue.client.js';

export * from './upstream-api.js';
export { createServiceClient, fillRoute, type CallRecord, type ServiceClient, type ServiceRequest } from './service-client.js';
export { UpstreamUnavailableError, failureReason, type UpstreamFailure } from './client-errors.js';
export type { EventClient } from './event.client.js';
export type { VenueClient } from './venue.client.js';
export type { TicketClient } from './ticket.client.js';
export type { BreakerState } from './circuit-breaker.js';
export { createSourceStatus, type SourceStatus, type SourceOutcome, type SourceStatusRow } from './source-status.js';
export { sourceStatusRoutes } from './source-status.routes.js';

/** Typed clients of the platform services this service reads. */
export interface Clients {
  events: EventClient;
  venues: VenueClient;
  tickets: TicketClient;
  /** The raw HTTP clients, for status pages (configured, breaker state). */
  http: { event: ServiceClient; venue: ServiceClient; ticket: ServiceClient };
  /** Listen to every outbound call (latency and error series). */
  onCall(listener: (record: CallRecord) => void): () => void;
}

type ClientConfig = Pick<Config, 'EVENT_SERVICE_URL' | 'VENUE_SERVICE_URL' | 'TICKET_SERVICE_URL' | 'SERVICE_CLIENT_TIMEOUT_MS' | 'SERVICE_CLIENT_RETRIES' | 'SERVICE_CLIENT_BACKOFF_MS' | 'SERVICE_CLIENT_BREAKER_THRESHOLD' | 'SERVICE_CLIENT_BREAKER_OPEN_MS' | 'EVENT_CACHE_TTL_MS'>;

export function createClients(deps: { config: ClientConfig; signer: Signer; cache: Cache; clock: Clock }): Clients {
  const listeners = new Set<(record: CallRecord) => void>();
  const { config } = deps;
  const make = (name: string, envVar: string, baseUrl: string | undefined) =>
    createServiceClient({
      name,
      envVar,
      baseUrl,
      signer: deps.signer,
      clock: deps.clock,
      timeoutMs: config.SERVICE_CLIENT_TIMEOUT_MS,
      retries: config.SERVICE_CLIENT_RETRIES,
      backoffMs: config.SERVICE_CLIENT_BACKOFF_MS,
      failureThreshold: config.SERVICE_CLIENT_BREAKER_THRESHOLD,
      openMs: config.SERVICE_CLIENT_BREAKER_OPEN_MS,
      onCall: (record) => {
        for (const listener of listeners) listener(record);
      },
    });
  const event = make('event', 'EVENT_SERVICE_URL', config.EVENT_SERVICE_URL);
  const venue = make('venue', 'VENUE_SERVICE_URL', config.VENUE_SERVICE_URL);
  const ticket = make('ticket', 'TICKET_SERVICE_URL', config.TICKET_SERVICE_URL);
  return {
    events: createEventClient(event, deps.cache, config.EVENT_CACHE_TTL_MS),
    venues: createVenueClient(venue),
    tickets: createTicketClient(ticket),
    http: { event, venue, ticket },
    onCall(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
