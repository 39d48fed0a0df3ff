import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { createSigner } from '../../src/auth/index.js';
import { createServiceClient, UpstreamUnavailableError } from '../../src/clients/index.js';
import { AppError } from '../../src/errors.js';
import { ManualClock } from '../../src/platform/clock.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { TEST_HMAC_SECRET } from '../support/env.js';
import { hasValidSignature, headerValue, startFakeService, type FakeService } from '../support/fake-services.js';

const event = (id: string, overrides: Record<string, unknown> = {}) => ({
  id,
  venue_id: 'venue-1',
  name: `Event ${id}`,
  capacity: 500,
  on_sale_at: '2026-01-01T10:00:00.000Z',
  starts_at: '2026-02-01T20:00:00.000Z',
  status: 'on_sale',
  ...overrides,
});

async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('platform service clients', () => {
  let eventService: FakeService;
  let venueService: FakeService;
  let ticketService: FakeService;
  let testApp: TestApp;

  beforeAll(async () => {
    [eventService, venueService, ticketService] = await Promise.all([startFakeService(), startFakeService(), startFakeService()]);
    testApp = await createTestApp({
      env: {
        EVENT_SERVICE_URL: `${eventService.url}/events-svc`,
        VENUE_SERVICE_URL: venueService.url,
        TICKET_SERVICE_URL: ticketService.url,
        SERVICE_CLIENT_TIMEOUT_MS: '1000',
        SERVICE_CLIENT_RETRIES: '2',
        SERVICE_CLIENT_BACKOFF_MS: '5',
      },
    });
  });
  afterAll(async () => {
    await testApp?.close();
    await Promise.all([eventService.close(), venueService.close(), ticketService.close()]);
  });
  beforeEach(() => {
    eventService.clear();
    venueService.clear();
    ticketService.clear();
  });

  it('gets an event with a signed, tenant-scoped call and caches it', async () => {
    const tenant = newTenant();
    eventService.on('GET', '/events-svc/api/v1/events/evt%201', { json: event('evt 1') });
    const first = await testApp.container.clients.events.getEvent(tenant, 'evt 1');
    const second = await testApp.container.clients.events.getEvent(tenant, 'evt 1');
    expect(first).toMatchObject(event('evt 1'));
    expect(second).toEqual(first);
    expect(eventService.requests).toHaveLength(1);
    const request = eventService.requests[0];
    expect(request?.url).toBe('/events-svc/api/v1/events/evt%201');
    expect(request === undefined ? false : hasValidSignature(request, TEST_HMAC_SECRET)).toBe(true);
    expect(request === undefined ? '' : headerValue(request, 'x-tenant-id')).toBe(tenant);
    expect(request === undefined ? '' : headerValue(request, 'x-service-name')).toBe('monitoring-service');
  });

  it('lists events on sale across cursor pages', async () => {
    eventService.on('GET', '/events-svc/api/v1/events', (request) =>
      request.query.get('cursor') === null
        ? { json: { data: [event('a'), event('b')], next_cursor: 'page-2' } }
        : { json: { data: [event('c')], next_cursor: null } },
    );
    const events = await testApp.container.clients.events.listEvents(newTenant());
    expect(events.map((item) => item.id)).toEqual(['a', 'b', 'c']);
    expect(eventService.requests.map((request) => request.query.get('status'))).toEqual(['on_sale', 'on_sale']);
    expect(eventService.requests[1]?.query.get('cursor')).toBe('page-2');
    expect(eventService.requests.every((request) => hasValidSignature(request, TEST_HMAC_SECRET))).toBe(true);
  });

  it('lists venues and reads ticket stats for a window', async () => {
    venueService.on('GET', '/api/v1/venues', { json: { data: [{ id: 'v1', name: 'Hall', capacity: 1000, status: 'active' }], next_cursor: null } });
    const stats = { since: '2026-01-01T00:00:00.000Z', until: '2026-01-01T00:05:00.000Z', currency: 'EUR', active_users: 3, rows: [] };
    ticketService.on('GET', '/api/v1/tickets/stats', { json: stats });
    const tenant = newTenant();
    expect(await testApp.container.clients.venues.listVenues(tenant)).toEqual([{ id: 'v1', name: 'Hall', capacity: 1000, status: 'active' }]);
    expect(await testApp.container.clients.tickets.stats(tenant, { since: new Date(stats.since), until: new Date(stats.until) })).toEqual(stats);
    expect(ticketService.requests[0]?.query.get('since')).toBe(stats.since);
    expect(ticketService.requests[0]?.query.get('until')).toBe(stats.until);
  });

  it('maps 404 to NOT_FOUND without retrying and does not cache it', async () => {
    const tenant = newTenant();
    const error = await failure(testApp.container.clients.events.getEvent(tenant, 'missing'));
    expect(error.code).toBe('NOT_FOUND');
    eventService.on('GET', '/events-svc/api/v1/events/missing', { json: event('missing') });
    expect((await testApp.container.clients.events.getEvent(tenant, 'missing')).id).toBe('missing');
    expect(eventService.requests).toHaveLength(2);
  });

  it('retries a 503 with backoff, then reports DEPENDENCY_UNAVAILABLE', async () => {
    venueService.on('GET', '/api/v1/venues', { status: 503, json: { error: 'down' } });
    const error = await failure(testApp.container.clients.venues.listVenues(newTenant()));
    expect(error.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect(error.details).toMatchObject({ dependency: 'venue-service', reason: 'http_status', status: 503 });
    expect(venueService.requests).toHaveLength(3);
    // Each retry is signed afresh: new nonce each time.
    expect(new Set(venueService.requests.map((request) => headerValue(request, 'x-nonce'))).size).toBe(3);
  });

  it('recovers when a retry succeeds', async () => {
    let calls = 0;
    venueService.on('GET', '/api/v1/venues', () => (++calls === 1 ? { status: 502 } : { json: { data: [], next_cursor: null } }));
    expect(await testApp.container.clients.venues.listVenues(newTenant())).toEqual([]);
    expect(calls).toBe(2);
  });

  it('times out a slow answer', async () => {
    ticketService.on('GET', '/api/v1/tickets/stats', { delayMs: 2_500, json: {} });
    const error = await failure(testApp.container.clients.tickets.stats(newTenant(), { since: new Date(0), until: new Date(1) }));
    expect(error.details).toMatchObject({ reason: 'timeout' });
  });

  it('refuses a malformed body and an answer of the wrong shape', async () => {
    const tenant = newTenant();
    eventService.on('GET', '/events-svc/api/v1/events/broken', { raw: '{"id": "broken", ' });
    eventService.on('GET', '/events-svc/api/v1/events/wrong', { json: { ...event('wrong'), capacity: -4 } });
    const broken = await failure(testApp.container.clients.events.getEvent(tenant, 'broken'));
    expect(broken.details).toMatchObject({ reason: 'malformed_body' });
    const wrong = await failure(testApp.container.clients.events.getEvent(tenant, 'wrong'));
    expect(wrong.details).toMatchObject({ reason: 'invalid_response', errors: [expect.objectContaining({ path: '/capacity' })] });
    // Neither is retried: the same answer would come back.
    expect(eventService.requests).toHaveLength(2);
  });

  it('refuses calls to a service that is not configured', async () => {
    const client = createServiceClient({ name: 'payment', envVar: 'PAYMENT_SERVICE_URL', baseUrl: undefined, signer: createSigner('secret', 'monitoring-service'), clock: new ManualClock() });
    expect(client.configured).toBe(false);
    const error = await failure(client.request({ method: 'GET', route: '/x', schema: Type.Object({}) }));
    expect(error.code).toBe('NOT_CONFIGURED');
    expect(error.details).toEqual({ feature: 'payment service client', variable: 'PAYMENT_SERVICE_URL' });
  });

  it('opens the circuit after repeated failures, fails fast, and closes after a good trial', async () => {
    const clock = new ManualClock();
    const fake = await startFakeService();
    try {
      fake.on('GET', '/thing', { destroy: true });
      const client = createServiceClient({ name: 'thing', envVar: 'THING_URL', baseUrl: fake.url, signer: createSigner('secret', 'monitoring-service'), clock, retries: 0, failureThreshold: 3, openMs: 10_000 });
      const schema = Type.Object({ ok: Type.Boolean() });
      for (let index = 0; index < 3; index += 1) {
        const error = await failure(client.request({ method: 'GET', route: '/thing', schema }));
        expect(error.details).toMatchObject({ reason: 'network' });
      }
      expect(client.breakerState()).toBe('open');
      const fast = await failure(client.request({ method: 'GET', route: '/thing', schema }));
      expect(fast).toBeInstanceOf(UpstreamUnavailableError);
      expect(fast.details).toMatchObject({ reason: 'circuit_open' });
      expect(fake.requests).toHaveLength(3);

      clock.advance(10_000);
      expect(client.breakerState()).toBe('half-open');
      fake.on('GET', '/thing', { json: { ok: true } });
      expect(await client.request({ method: 'GET', route: '/thing', schema })).toEqual({ ok: true });
      expect(client.breakerState()).toBe('closed');
    } finally {
      await fake.close();
    }
  });

  it('does not retry a non-idempotent call', async () => {
    const fake = await startFakeService();
    try {
      fake.on('POST', '/orders', { status: 500 });
      const client = createServiceClient({ name: 'orders', envVar: 'ORDERS_URL', baseUrl: fake.url, signer: createSigner(TEST_HMAC_SECRET, 'monitoring-service'), clock: new ManualClock(), retries: 3, backoffMs: 1 });
      const error = await failure(client.request({ method: 'POST', route: '/orders', body: { a: 1 }, tenantId: newTenant(), schema: Type.Object({}) }));
      expect(error.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(fake.requests).toHaveLength(1);
      expect(fake.requests[0]?.body).toBe('{"a":1}');
      expect(fake.requests[0] === undefined ? false : hasValidSignature(fake.requests[0], TEST_HMAC_SECRET)).toBe(true);
    } finally {
      await fake.close();
    }
  });
});
