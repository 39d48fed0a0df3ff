import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../../src/clients/index.js';
import { createBusinessCollector, BUSINESS_COLLECTOR } from '../../../src/collectors/business/index.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../../support/app.js';
import { headerValue, startFakeService, type FakeAnswer, type FakeHandler, type FakeService, type ReceivedRequest } from '../../support/fake-services.js';

const INTERVAL = 300_000;
const START = Date.UTC(2026, 0, 10, 12, 2, 0);

interface StoredSample {
  metric_name: string;
  service_name: string;
  value: number;
  labels: Record<string, string>;
  timestamp: string;
}

/** Answers per tenant, keyed by the x-tenant-id header the client sends. */
function perTenant(answers: Map<string, FakeAnswer | FakeHandler>) {
  return (request: ReceivedRequest): FakeAnswer | Promise<FakeAnswer> => {
    const answer = answers.get(headerValue(request, 'x-tenant-id')) ?? { status: 404 };
    return typeof answer === 'function' ? answer(request) : answer;
  };
}

describe('business collector', () => {
  const clock = new ManualClock(START);
  let venues: FakeService;
  let events: FakeService;
  let tickets: FakeService;
  let testApp: TestApp;
  const venueAnswers = new Map<string, FakeAnswer | FakeHandler>();
  const eventAnswers = new Map<string, FakeAnswer | FakeHandler>();
  const ticketAnswers = new Map<string, FakeAnswer | FakeHandler>();

  beforeAll(async () => {
    [venues, events, tickets] = await Promise.all([startFakeService(), startFakeService(), startFakeService()]);
    venues.on('GET', '/api/v1/venues', perTenant(venueAnswers));
    events.on('GET', '/api/v1/events', perTenant(eventAnswers));
    tickets.on('GET', '/api/v1/tickets/stats', perTenant(ticketAnswers));
    testApp = await createTestApp({
      clock,
      env: {
        VENUE_SERVICE_URL: venues.url,
        EVENT_SERVICE_URL: events.url,
        TICKET_SERVICE_URL: tickets.url,
        SERVICE_CLIENT_TIMEOUT_MS: '1000',
        SERVICE_CLIENT_RETRIES: '1',
        SERVICE_CLIENT_BACKOFF_MS: '5',
        SERVICE_CLIENT_BREAKER_THRESHOLD: '1000',
        BUSINESS_COLLECTOR_INTERVAL_MS: String(INTERVAL),
      },
    });
  });
  afterAll(async () => {
    await testApp?.close();
    await Promise.all([venues.close(), events.close(), tickets.close()]);
  });
  beforeEach(() => {
    clock.advance(INTERVAL);
  });

  const collectorFor = (tenants: string[], clients = testApp.container.clients) => {
    const { container } = testApp;
    return createBusinessCollector({ db: container.db, clients, ingest: container.ingest, status: container.collectorStatus, logger: container.logger, intervalMs: INTERVAL, tenants });
  };
  const run = (tenants: string[], clients = testApp.container.clients) => collectorFor(tenants, clients).run(clock.now(), new AbortController().signal);

  const samplesOf = async (tenant: string, name: string): Promise<StoredSample[]> => {
    const response = await testApp.app.inject({ method: 'GET', url: `/api/v1/monitoring/metrics?name=${name}&limit=1000`, headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    return (response.json<{ data: StoredSample[] }>()).data;
  };
  const statusOf = async (tenant: string) => {
    const response = await testApp.app.inject({ method: 'GET', url: '/api/v1/monitoring/collectors', headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ data: Array<{ scope: string; collector: string; source: string; status: string; reason: string | null; message: string | null; values_recorded: number }> }>();
    return new Map(body.data.filter((row) => row.collector === BUSINESS_COLLECTOR && row.scope === 'tenant').map((row) => [row.source, row]));
  };
  const scrape = async () => (await testApp.app.inject({ method: 'GET', url: '/metrics' })).body;

  const serveEverything = (tenant: string) => {
    venueAnswers.set(tenant, { json: { data: [{ id: 'v1', name: 'Arena', capacity: 12000, status: 'active' }, { id: 'v2', name: 'Club', capacity: 300, status: 'active' }, { id: 'v3', name: 'Old hall', capacity: 900, status: 'closed' }], next_cursor: null } });
    eventAnswers.set(tenant, {
      json: {
        data: [
          { id: 'e1', venue_id: 'v1', name: 'Final', capacity: 12000, on_sale_at: '2026-01-01T09:00:00Z', starts_at: '2026-03-01T19:00:00Z', status: 'on_sale' },
          { id: 'e2', venue_id: 'v2', name: 'Gig', capacity: 300, on_sale_at: null, starts_at: '2026-02-01T21:00:00Z', status: 'on_sale' },
        ],
        next_cursor: null,
      },
    });
    ticketAnswers.set(tenant, (request: ReceivedRequest) => ({
      json: {
        since: request.query.get('since'),
        until: request.query.get('until'),
        currency: 'EUR',
        active_users: 41,
        rows: [
          { venue_id: 'v1', event_id: `e1-${tenant.slice(0, 8)}`, ticket_type: 'standard', tickets_listed: 7, tickets_sold: 120, revenue_cents: 660000, refunds_processed: 2, refunds_cents: 11000 },
          { venue_id: 'v2', event_id: 'e2', ticket_type: 'vip', tickets_listed: 0, tickets_sold: 5, revenue_cents: 50000, refunds_processed: 0, refunds_cents: 0 },
        ],
      },
    }));
  };

  it('records exactly what the services served, for the last whole window', async () => {
    const tenant = newTenant();
    serveEverything(tenant);
    await run([tenant]);

    const windowEnd = new Date(Math.floor(clock.nowMs() / INTERVAL) * INTERVAL);
    const statsCall = tickets.requests.filter((request) => headerValue(request, 'x-tenant-id') === tenant).at(-1);
    expect(statsCall?.query.get('until')).toBe(windowEnd.toISOString());
    expect(statsCall?.query.get('since')).toBe(new Date(windowEnd.getTime() - INTERVAL).toISOString());

    const venuesCount = await samplesOf(tenant, 'venues_count');
    expect(Object.fromEntries(venuesCount.map((sample) => [sample.labels['status'], sample.value]))).toEqual({ all: 3, active: 2, closed: 1 });
    expect(venuesCount.every((sample) => sample.timestamp === windowEnd.toISOString())).toBe(true);
    expect((await samplesOf(tenant, 'events_on_sale'))[0]?.value).toBe(2);
    expect((await samplesOf(tenant, 'events_on_sale_capacity'))[0]?.value).toBe(12300);
    expect((await samplesOf(tenant, 'active_users'))[0]).toMatchObject({ value: 41, service_name: 'ticket-service', labels: { type: 'ticket_activity' } });
    const sold = await samplesOf(tenant, 'tickets_sold_total');
    expect(sold.map((sample) => [sample.labels['event_id'], sample.value]).sort()).toEqual([[`e1-${tenant.slice(0, 8)}`, 120], ['e2', 5]]);
    const revenue = await samplesOf(tenant, 'revenue_total_cents');
    expect(revenue.map((sample) => sample.value).sort((a, b) => a - b)).toEqual([50000, 660000]);
    expect(revenue[0]?.labels['currency']).toBe('EUR');
    expect((await samplesOf(tenant, 'refunds_processed_total')).map((sample) => sample.value).sort()).toEqual([0, 2]);
    expect((await samplesOf(tenant, 'tickets_listed_total')).map((sample) => sample.value).sort()).toEqual([0, 7]);

    const status = await statusOf(tenant);
    expect(status.get('venue-service')).toMatchObject({ status: 'ok', values_recorded: 5 });
    expect(status.get('event-service')).toMatchObject({ status: 'ok', values_recorded: 2 });
    expect(status.get('ticket-service')).toMatchObject({ status: 'ok', values_recorded: 11 });

    // A tenant's samples stay in its own export: only SYSTEM_TENANT_ID's feed the platform's /metrics.
    expect(await scrape()).not.toContain(`e1-${tenant.slice(0, 8)}`);
  });

  it('leaves a failing source absent with a visible reason and an error counter, and keeps collecting the others', async () => {
    const tenant = newTenant();
    serveEverything(tenant);
    ticketAnswers.set(tenant, { status: 503, json: { error: 'maintenance' } });
    eventAnswers.set(tenant, { raw: '<html>gateway</html>' });
    venueAnswers.set(tenant, { delayMs: 2_000, json: { data: [], next_cursor: null } });
    await run([tenant]);

    for (const name of ['tickets_sold_total', 'revenue_total_cents', 'active_users', 'events_on_sale', 'venues_count']) expect(await samplesOf(tenant, name)).toEqual([]);
    const status = await statusOf(tenant);
    const clientsView = await testApp.app.inject({ method: 'GET', url: '/api/v1/monitoring/collectors', headers: await bearer(tenant, ['viewer']) });
    expect(clientsView.json<{ clients: unknown[] }>().clients).toEqual([
      { service: 'event-service', configured: true, circuit: 'closed' },
      { service: 'venue-service', configured: true, circuit: 'closed' },
      { service: 'ticket-service', configured: true, circuit: 'closed' },
    ]);
    expect(status.get('ticket-service')).toMatchObject({ status: 'error', reason: 'http_status', values_recorded: 0 });
    expect(status.get('ticket-service')?.message).toContain('503');
    expect(status.get('event-service')).toMatchObject({ status: 'error', reason: 'malformed_body' });
    expect(status.get('venue-service')).toMatchObject({ status: 'error', reason: 'timeout' });
    const metrics = await scrape();
    expect(metrics).toMatch(/collector_errors_total\{collector="business-collector",source="ticket-service",reason="http_status"\} [1-9]/);
    expect(metrics).toMatch(/collector_errors_total\{collector="business-collector",source="venue-service",reason="timeout"\} [1-9]/);

    // Next cycle the services are back: values appear and the status clears.
    serveEverything(tenant);
    clock.advance(INTERVAL);
    await run([tenant]);
    expect((await samplesOf(tenant, 'tickets_sold_total')).length).toBe(2);
    expect((await samplesOf(tenant, 'venues_count')).length).toBe(3);
    const recovered = await statusOf(tenant);
    expect(['venue-service', 'event-service', 'ticket-service'].map((source) => recovered.get(source)?.status)).toEqual(['ok', 'ok', 'ok']);
  });

  it('says "not configured" for a service without a URL and records nothing for it', async () => {
    const tenant = newTenant();
    serveEverything(tenant);
    const { container } = testApp;
    const withoutVenues = createClients({ config: { ...container.config, VENUE_SERVICE_URL: undefined }, signer: container.signer, cache: container.cache, clock });
    await run([tenant], withoutVenues);
    expect(await samplesOf(tenant, 'venues_count')).toEqual([]);
    expect((await samplesOf(tenant, 'events_on_sale')).length).toBe(1);
    const status = await statusOf(tenant);
    expect(status.get('venue-service')).toMatchObject({ status: 'not_configured', reason: 'not_configured', message: 'not configured (set VENUE_SERVICE_URL)' });
  });

  it('answers an answer of the wrong shape with invalid_response, never a zero', async () => {
    const tenant = newTenant();
    serveEverything(tenant);
    ticketAnswers.set(tenant, { json: { since: 'x', until: 'y', currency: 'EUR', active_users: -1, rows: [] } });
    await run([tenant]);
    expect(await samplesOf(tenant, 'active_users')).toEqual([]);
    expect((await statusOf(tenant)).get('ticket-service')).toMatchObject({ status: 'error', reason: 'invalid_response' });
  });

  it('keeps tenants apart: each tenant sees only its own values and status', async () => {
    const [first, second] = [newTenant(), newTenant()];
    serveEverything(first);
    ticketAnswers.set(second, { status: 500 });
    await run([first, second]);
    expect((await samplesOf(first, 'tickets_sold_total')).length).toBe(2);
    expect(await samplesOf(second, 'tickets_sold_total')).toEqual([]);
    expect((await statusOf(first)).get('ticket-service')?.status).toBe('ok');
    expect((await statusOf(second)).get('ticket-service')?.status).toBe('error');
  });

  it('records the sales pushed to this service in the window, under their own names', async () => {
    const { db } = testApp.container;
    const tenant = newTenant();
    const window = { until: Math.floor(clock.nowMs() / INTERVAL) * INTERVAL };
    const inside = new Date(window.until - 60_000);
    const outside = new Date(window.until + 1_000);
    await db.withTenant(tenant, (tx) =>
      tx.query(
        `INSERT INTO sales (tenant_id, sale_id, event_id, tickets, amount_cents, currency, channel, sold_at)
         SELECT $1, s.sale_id, s.event_id, s.tickets, s.amount_cents, 'EUR', s.channel, s.sold_at
         FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::timestamptz[]) AS s(sale_id, event_id, tickets, amount_cents, channel, sold_at)`,
        [tenant, ['s1', 's2', 's3', 's4'], ['e1', 'e1', 'e2', 'e1'], [2, 3, 1, 9], [5000, 7500, 1200, 99999], ['web', 'web', 'app', 'web'], [inside, inside, inside, outside]],
      ),
    );
    // The tenant is not configured: it is collected because it pushed sales in the window.
    await run([]);
    const tickets = await samplesOf(tenant, 'sales_tickets');
    expect(tickets.map((sample) => [sample.labels['event_id'], sample.labels['channel'], sample.value]).sort()).toEqual([['e1', 'web', 5], ['e2', 'app', 1]]);
    const revenue = await samplesOf(tenant, 'sales_revenue_cents');
    expect(revenue.map((sample) => [sample.labels['event_id'], sample.value]).sort()).toEqual([['e1', 12500], ['e2', 1200]]);
    expect((await samplesOf(tenant, 'sales_count')).map((sample) => sample.value).sort()).toEqual([1, 2]);
    expect((await statusOf(tenant)).get('sales')).toMatchObject({ status: 'ok', values_recorded: 6 });
    // Sales never feed the ticket service's counters.
    expect(await samplesOf(tenant, 'tickets_sold_total')).toEqual([]);
  });

  it('runs as the scheduled job for the configured tenants, once per cycle', async () => {
    const system = testApp.container.config.SYSTEM_TENANT_ID;
    serveEverything(system);
    const before = tickets.requests.length;
    expect(testApp.container.scheduler.jobs()).toContain(BUSINESS_COLLECTOR);
    expect((await testApp.container.scheduler.runNow(BUSINESS_COLLECTOR)).status).toBe('ran');
    expect((await testApp.container.scheduler.runNow(BUSINESS_COLLECTOR)).status).toBe('skipped-claimed');
    // The configured tenant (SYSTEM_TENANT_ID by default), plus any tenant that pushed sales in the window, each once.
    const asked = tickets.requests.slice(before).map((request) => headerValue(request, 'x-tenant-id'));
    expect(asked).toContain(system);
    expect(new Set(asked).size).toBe(asked.length);
    // The platform tenant's samples feed the Prometheus catalogue (from the ingest dispatch queue, after the commit).
    await testApp.container.ingest.dispatched();
    expect(await scrape()).toMatch(new RegExp(`tickets_sold_total\\{venue_id="v1",event_id="e1-${system.slice(0, 8)}",ticket_type="standard"\\} 120`));
  });

  it("lets only the platform tenant's admins and signed services trigger a collector run, and names unknown collectors", async () => {
    const tenant = newTenant();
    const platform = testApp.container.config.SYSTEM_TENANT_ID;
    const runAs = async (headers: Record<string, string>, name: string = BUSINESS_COLLECTOR) => testApp.app.inject({ method: 'POST', url: `/api/v1/monitoring/collectors/${name}/run`, headers });
    for (const headers of [await bearer(tenant, ['viewer']), await bearer(tenant, ['admin']), await bearer(platform, ['viewer'])]) {
      const refused = await runAs(headers);
      expect(refused.statusCode).toBe(403);
      expect(refused.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    }
    const unknown = await runAs(await bearer(platform, ['admin']), 'nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
    const signed = signedHeaders({ method: 'POST', path: '/api/v1/monitoring/collectors/nope/run', tenantId: tenant, body: {}, now: () => clock.nowMs() });
    expect((await testApp.app.inject({ method: 'POST', url: '/api/v1/monitoring/collectors/nope/run', headers: signed.headers, payload: signed.payload })).statusCode).toBe(404);
    expect(await statusOf(tenant)).toEqual(new Map());
  });
});
