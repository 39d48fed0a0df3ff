import type { Logger } from 'pino';
import type { Clients, SourceStatus } from '../../clients/index.js';
import { NotConfiguredError } from '../../errors.js';
import type { Ingest } from '../../metrics/ingest.js';
import type { SampleInput } from '../../metrics/sample.js';
import type { Db } from '../../platform/db/index.js';
import type { UnitFailed } from '../../platform/scheduler.js';
import { eventSamples, salesSamples, ticketSamples, venueSamples } from './business-samples.js';
import { aggregateSales, salesTableExists, tenantsWithSales } from './sales.source.js';

export const BUSINESS_COLLECTOR = 'business-collector';

export interface BusinessCollectorDeps {
  db: Db;
  clients: Pick<Clients, 'events' | 'venues' | 'tickets'>;
  ingest: Ingest;
  status: SourceStatus;
  logger: Logger;
  intervalMs: number;
  /** Tenants read every cycle; tenants that pushed sales in the window are added. */
  tenants: readonly string[];
}

export interface Window {
  since: Date;
  until: Date;
}

/** The window a run covers: the last whole interval before `now`, so each cycle reads each instant once. */
export function collectionWindow(now: Date, intervalMs: number): Window {
  const until = Math.floor(now.getTime() / intervalMs) * intervalMs;
  return { since: new Date(until - intervalMs), until: new Date(until) };
}

interface Source {
  name: string;
  configured: boolean;
  variable: string;
  read(tenantId: string, window: Window, signal: AbortSignal): Promise<SampleInput[]>;
}

/**
 * Reads venues, events on sale and ticket activity from the platform services, and the sales
 * pushed to this service, for each tenant; records what answered through the ingest pipeline.
 * A source that fails contributes nothing (never a zero) and its reason is stored and counted.
 */
export function createBusinessCollector(deps: BusinessCollectorDeps) {
  const { clients } = deps;
  const sources: Source[] = [
    { name: 'venue-service', configured: clients.venues.configured, variable: 'VENUE_SERVICE_URL', read: async (tenant, window, signal) => venueSamples(await clients.venues.listVenues(tenant, signal), window.until) },
    { name: 'event-service', configured: clients.events.configured, variable: 'EVENT_SERVICE_URL', read: async (tenant, window, signal) => eventSamples(await clients.events.listEvents(tenant, { status: 'on_sale', signal }), window.until) },
    { name: 'ticket-service', configured: clients.tickets.configured, variable: 'TICKET_SERVICE_URL', read: async (tenant, window, signal) => ticketSamples(await clients.tickets.stats(tenant, window, signal), window.until) },
  ];

  const collectTenant = async (tenantId: string, window: Window, withSales: boolean, signal: AbortSignal) => {
    const active: Source[] = withSales ? [...sources, { name: 'sales', configured: true, variable: '', read: async (tenant, w) => salesSamples(await aggregateSales(deps.db, tenant, w), w.until) }] : sources;
    const results = await Promise.all(
      active.map(async (source) => {
        if (!source.configured) return { source, outcome: { status: 'not_configured', variable: source.variable } as const, samples: [] };
        try {
          const samples = await source.read(tenantId, window, signal);
          return { source, outcome: { status: 'ok', valuesRecorded: samples.length } as const, samples };
        } catch (error) {
          if (error instanceof NotConfiguredError) return { source, outcome: { status: 'not_configured', variable: source.variable } as const, samples: [] };
          deps.logger.warn({ err: error, tenantId, source: source.name }, 'business source failed');
          return { source, outcome: { status: 'error', error } as const, samples: [] };
        }
      }),
    );
    const samples = results.flatMap((result) => result.samples);
    let ingestError: unknown;
    if (samples.length > 0) {
      try {
        await deps.ingest.ingest(tenantId, samples, 'collector');
      } catch (error) {
        ingestError = error;
        deps.logger.error({ err: error, tenantId }, 'business samples could not be stored');
      }
    }
    for (const { source, outcome } of results) {
      const stored = ingestError !== undefined && outcome.status === 'ok' ? ({ status: 'error', error: ingestError } as const) : outcome;
      await deps.status.record(tenantId, BUSINESS_COLLECTOR, source.name, stored);
    }
  };

  return {
    async run(now: Date, signal: AbortSignal, onUnitFailure?: UnitFailed): Promise<void> {
      const window = collectionWindow(now, deps.intervalMs);
      const hasSales = await salesTableExists(deps.db);
      const salesTenants = hasSales ? await tenantsWithSales(deps.db, window) : [];
      const tenants = [...new Set([...deps.tenants, ...salesTenants])];
      // Tenants one after another: each already runs its sources in parallel, and a slow
      // upstream must not multiply into one burst per tenant.
      for (const tenantId of tenants) {
        if (signal.aborted) return;
        await collectTenant(tenantId, window, hasSales, signal).catch((error: unknown) => {
          deps.logger.error({ err: error, tenantId }, 'business collection failed for tenant');
          onUnitFailure?.({ tenantId }, error);
        });
      }
    },
  };
}
