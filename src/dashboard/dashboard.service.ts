import type { SampleSource } from '../metrics/index.js';
import { readThrough, READ_TTL_MS } from '../cache-admin/read-cache.js';
import type { HealthService } from '../health/index.js';
import type { Cache } from '../platform/cache/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { finiteOrNull, nonFiniteMember, type NonFiniteFields } from '../platform/non-finite.js';
import { activeAlertsBySeverity, activeIncidentsBySeverity, latencyByServiceAndEndpoint, latestOf, requestCounts, sumsOf, type ServiceLatency, type SumRow } from './dashboard-data.repository.js';

export interface Range {
  from: Date;
  to: Date;
}

/** Business figures the dashboard knows; each appears only when its samples exist in the range. */
const BUSINESS_METRICS = [
  { key: 'tickets_sold', metric: 'tickets_sold_total', kind: 'sum' },
  { key: 'tickets_listed', metric: 'tickets_listed_total', kind: 'sum' },
  { key: 'revenue_cents', metric: 'revenue_total_cents', kind: 'sum' },
  { key: 'refunds', metric: 'refunds_processed_total', kind: 'sum' },
  { key: 'refunds_cents', metric: 'refunds_total_cents', kind: 'sum' },
  { key: 'active_users', metric: 'active_users', kind: 'latest' },
  { key: 'sales', metric: 'sales_count', kind: 'sum' },
  { key: 'sales_tickets', metric: 'sales_tickets', kind: 'sum' },
  { key: 'sales_revenue_cents', metric: 'sales_revenue_cents', kind: 'sum' },
] as const;

export type BusinessKey = (typeof BUSINESS_METRICS)[number]['key'];

export interface BusinessFigure {
  metric_name: string;
  /** The total; null when the samples are in several currencies (see by_currency). */
  value: number | null;
  by_currency?: Record<string, number | null>;
  samples: number;
  last_sample_at: string;
  /** Totals past the double range, written as null: `value` or `by_currency.<code>` -> "+Inf" | "-Inf". */
  non_finite?: NonFiniteFields;
}

export type ForecastProvider = (tenantId: string, range: Range) => Promise<unknown>;

/** Rounded to `digits` decimals; a value too large to scale has no decimals to round. */
const round = (value: number, digits = 2) => {
  const scaled = value * 10 ** digits;
  return Number.isFinite(scaled) ? Math.round(scaled) / 10 ** digits : value;
};
const countsBy = (rows: Array<{ severity: string; count: number }>) => Object.fromEntries(rows.map((row) => [row.severity, row.count]));

function latencyJson<T extends ServiceLatency>(row: T) {
  const { errors, p50, p95, p99, ...rest } = row;
  return { ...rest, errors, error_rate: round(errors / row.requests, 4), p50_ms: round(p50), p95_ms: round(p95), p99_ms: round(p99) };
}

function businessFigure(rows: SumRow[]): BusinessFigure {
  const currencies = rows.filter((row) => row.currency !== null);
  const lastAt = rows.reduce((latest, row) => (row.last_at > latest ? row.last_at : latest), rows[0]?.last_at ?? new Date(0));
  const total = rows.reduce((sum, row) => sum + Number(row.total), 0);
  const flags: NonFiniteFields = {};
  const figure: BusinessFigure = {
    metric_name: rows[0]?.metric_name ?? '',
    value: new Set(currencies.map((row) => row.currency)).size > 1 ? null : finiteOrNull(round(total, 4), 'value', flags),
    samples: rows.reduce((sum, row) => sum + row.samples, 0),
    last_sample_at: lastAt.toISOString(),
  };
  if (currencies.length > 0) figure.by_currency = Object.fromEntries(currencies.map((row) => [row.currency ?? '', finiteOrNull(round(Number(row.total), 4), `by_currency.${row.currency ?? ''}`, flags)]));
  return { ...figure, ...nonFiniteMember(flags) };
}

export function createDashboardService(deps: { db: Db; cache: Cache; clock: Clock; health: HealthService; samples: SampleSource }) {
  const { db, cache } = deps;
  let forecast: ForecastProvider | undefined;

  const performance = (tenantId: string, range: Range, service: string | null) =>
    readThrough(cache, tenantId, ['performance', range.from.toISOString(), range.to.toISOString(), service], READ_TTL_MS.performance, async () => {
      // The forecast reads the same range on its own: run it beside the percentiles, not after them.
      const [{ services, endpoints }, extra] = await Promise.all([
        db.withTenant(tenantId, (tx) => latencyByServiceAndEndpoint(tx, tenantId, range.from, range.to, service, 200)),
        forecast === undefined ? {} : forecast(tenantId, range).then((value) => ({ forecast: value })),
      ]);
      const endpointRows = endpoints.map(latencyJson);
      return {
        from: range.from.toISOString(),
        to: range.to.toISOString(),
        services: services.map(latencyJson),
        endpoints: endpointRows,
        slowest_endpoints: [...endpointRows].sort((a, b) => b.p95_ms - a.p95_ms).slice(0, 10),
        ...extra,
      };
    });

  return {
    /** Lets the ML domain add `forecast` to the performance dashboard without this domain depending on it. */
    setForecastProvider(provider: ForecastProvider): void {
      forecast = provider;
    },

    overview: (tenantId: string) =>
      readThrough(cache, tenantId, ['overview'], READ_TTL_MS.overview, async () => {
        const now = deps.clock.now();
        const window = { from: new Date(now.getTime() - 5 * 60_000), to: now };
        const [alerts, incidents, services, { requests, errors }] = await Promise.all([
          db.withTenant(tenantId, (tx) => activeAlertsBySeverity(tx, tenantId)),
          db.withTenant(tenantId, (tx) => activeIncidentsBySeverity(tx, tenantId)),
          deps.health.latestServices(),
          db.withTenant(tenantId, (tx) => requestCounts(tx, tenantId, window.from, window.to)),
        ]);
        return {
          generated_at: now.toISOString(),
          health: {
            services: services.map((result) => ({ name: result.name, status: result.status, latency_ms: result.latency_ms, checked_at: result.checked_at })),
          },
          alerts: { active_total: alerts.reduce((sum, row) => sum + row.count, 0), by_severity: countsBy(alerts) },
          incidents: { active_total: incidents.reduce((sum, row) => sum + row.count, 0), by_severity: countsBy(incidents) },
          // Absent when nothing was recorded in the window: no traffic data is not zero traffic.
          rates: requests === 0 ? null : { window_seconds: 300, requests_per_minute: round(requests / 5), error_rate: round(errors / requests, 4) },
        };
      }),

    performance,

    business: (tenantId: string, range: Range) =>
      readThrough(cache, tenantId, ['business', range.from.toISOString(), range.to.toISOString()], READ_TTL_MS.business, async () => {
        const sums = BUSINESS_METRICS.filter((entry) => entry.kind === 'sum').map((entry) => entry.metric);
        const gauges = BUSINESS_METRICS.filter((entry) => entry.kind === 'latest').map((entry) => entry.metric);
        const rows = await db.withTenant(tenantId, async (tx) => [...(await sumsOf(tx, tenantId, sums, range.from, range.to, deps.samples)), ...(await latestOf(tx, tenantId, gauges, range.from, range.to, deps.samples))]);
        const metrics: Partial<Record<BusinessKey, BusinessFigure>> = {};
        for (const entry of BUSINESS_METRICS) {
          const matching = rows.filter((row) => row.metric_name === entry.metric);
          if (matching.length > 0) metrics[entry.key] = businessFigure(matching);
        }
        const missing = BUSINESS_METRICS.filter((entry) => metrics[entry.key] === undefined).map((entry) => entry.key);
        return { from: range.from.toISOString(), to: range.to.toISOString(), metrics, no_data: missing };
      }),
  };
}

export type DashboardService = ReturnType<typeof createDashboardService>;
