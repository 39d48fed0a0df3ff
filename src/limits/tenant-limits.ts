import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { LimitCounters } from '../platform/limits/index.js';

/** Every limit by the name the API, the error details and /metrics use. */
export const LIMIT_NAMES = [
  'requests',
  'requests_per_ip',
  'samples_per_second',
  'samples_burst',
  'active_series',
  'active_series_per_metric',
  'rules',
  'silences',
  'dashboards',
  'api_keys',
  'ws_connections',
  'ws_connections_per_principal',
  'ws_subscriptions_per_connection',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/**
 * Limits on a count (rules, series...) do not pass by waiting: the count drops when the tenant
 * deletes something or a series goes quiet. Their 429 still carries Retry-After, this long.
 */
export const COUNT_LIMIT_RETRY_AFTER_SECONDS = 60;

/** Where a limit is counted: the whole cluster (database, Redis) or each instance on its own. */
export type LimitScope = 'cluster' | 'instance';

/**
 * Current usage of one limit by each of the given tenants (missing = 0). `single` is true when
 * one tenant asks for its own usage (the API): a reader may then load what it has not in memory.
 */
export type UsageReader = (tenantIds: readonly string[], single: boolean) => Promise<Map<string, number>>;

export interface LimitView {
  limit: LimitName;
  value: number;
  /** The tenant's current usage; null for a pure rate (samples_per_second refills samples_burst). */
  usage: number | null;
  scope: LimitScope;
  description: string;
}

export interface RefusalDetails {
  /** Usage when the request was refused. */
  current: number;
  /** What the refused request asked for (samples, series, subscriptions...). */
  requested?: number;
  retryAfterSeconds?: number;
  [detail: string]: unknown;
}

export interface TenantLimits {
  readonly counters: LimitCounters;
  value(limit: LimitName): number;
  /** Counts the refusal (monitoring_rate_limited_total) and returns the 429 RATE_LIMITED to throw or send. */
  refuse(tenantId: string | undefined, limit: LimitName, message: string, details: RefusalDetails): AppError;
  /** Marks a tenant as active here: /metrics shows the limits of the most recently seen tenants. */
  seen(tenantId: string): void;
  /** Tells where the usage of a limit comes from; a domain registers its own at composition. */
  provideUsage(limit: LimitName, scope: LimitScope, reader: UsageReader): void;
  /** Every limit with the tenant's usage (requests_per_ip: of `ip`, when given). */
  usage(tenantId: string, options?: { ip?: string }): Promise<LimitView[]>;
}

const DESCRIPTIONS: Record<LimitName, string> = {
  requests: 'HTTP requests of the tenant per LIMIT_REQUEST_WINDOW_MS (LIMIT_REQUESTS_PER_TENANT)',
  requests_per_ip: 'HTTP requests from one client IP per LIMIT_REQUEST_WINDOW_MS (LIMIT_REQUESTS_PER_IP); usage is of the calling IP',
  samples_per_second: 'samples per second refilled into the tenant sample bucket (LIMIT_SAMPLES_PER_SECOND)',
  samples_burst: 'samples the tenant may push at once (LIMIT_SAMPLES_BURST); usage is what the bucket has not refilled yet',
  active_series: 'series written within LIMIT_SERIES_ACTIVE_WINDOW_MS (LIMIT_ACTIVE_SERIES)',
  active_series_per_metric: 'active series of one metric name (LIMIT_SERIES_PER_METRIC); usage is the largest metric',
  rules: 'alert rules, defaults included (LIMIT_RULES)',
  silences: 'pending and active silences (LIMIT_SILENCES)',
  dashboards: 'custom dashboards (LIMIT_DASHBOARDS)',
  api_keys: 'API keys that are neither revoked nor expired (LIMIT_API_KEYS)',
  ws_connections: 'authenticated WebSockets on one instance (LIMIT_WS_CONNECTIONS_PER_TENANT)',
  ws_connections_per_principal: 'authenticated WebSockets of one user on one instance (LIMIT_WS_CONNECTIONS_PER_PRINCIPAL); usage is the busiest user',
  ws_subscriptions_per_connection: 'subscriptions of one WebSocket (WS_MAX_SUBSCRIPTIONS); usage is the busiest connection',
};

export function limitValues(config: Config): Record<LimitName, number> {
  return {
    requests: config.LIMIT_REQUESTS_PER_TENANT,
    requests_per_ip: config.LIMIT_REQUESTS_PER_IP,
    samples_per_second: config.LIMIT_SAMPLES_PER_SECOND,
    samples_burst: config.LIMIT_SAMPLES_BURST,
    active_series: config.LIMIT_ACTIVE_SERIES,
    active_series_per_metric: config.LIMIT_SERIES_PER_METRIC,
    rules: config.LIMIT_RULES,
    silences: config.LIMIT_SILENCES,
    dashboards: config.LIMIT_DASHBOARDS,
    api_keys: config.LIMIT_API_KEYS,
    ws_connections: config.LIMIT_WS_CONNECTIONS_PER_TENANT,
    ws_connections_per_principal: config.LIMIT_WS_CONNECTIONS_PER_PRINCIPAL,
    ws_subscriptions_per_connection: config.WS_MAX_SUBSCRIPTIONS,
  };
}

/** Counter keys of the request limits (shared with the HTTP limiter). */
export const requestKey = {
  tenant: (tenantId: string) => `requests:tenant:${tenantId}`,
  ip: (ip: string) => `requests:ip:${ip}`,
};

/** Bucket key of a tenant's samples. */
export const samplesKey = (tenantId: string) => `samples:${tenantId}`;

export interface TenantLimitsDeps {
  config: Config;
  counters: LimitCounters;
  registry: Registry;
  logger: Logger;
}

/** The tenant limits: their values, where usage is read, refusals counted, and the /metrics view. */
export function createTenantLimits(deps: TenantLimitsDeps): TenantLimits {
  const { config, counters } = deps;
  const values = limitValues(config);
  const maxTenants = config.LIMIT_METRICS_TENANTS;
  /** Most recently seen last; bounded so the label cardinality of /metrics is. */
  const seenTenants = new Map<string, true>();
  const readers = new Map<LimitName, { scope: LimitScope; read: UsageReader }>();
  const windowMs = config.LIMIT_REQUEST_WINDOW_MS;
  const bucket = { ratePerSecond: config.LIMIT_SAMPLES_PER_SECOND, capacity: config.LIMIT_SAMPLES_BURST };

  const refused = new Counter({
    name: 'monitoring_rate_limited_total',
    help: 'Requests, batches, connections and subscriptions refused by a tenant limit, by tenant and limit (tenant_id empty: refused before authentication, per IP)',
    labelNames: ['tenant_id', 'limit'],
    registers: [deps.registry],
  });

  const seen = (tenantId: string) => {
    seenTenants.delete(tenantId);
    seenTenants.set(tenantId, true);
    if (seenTenants.size <= maxTenants) return;
    const oldest = seenTenants.keys().next();
    if (oldest.done === true) return;
    seenTenants.delete(oldest.value);
    // Its series leave /metrics with it: the cardinality stays bounded.
    for (const limit of LIMIT_NAMES) refused.remove({ tenant_id: oldest.value, limit });
  };

  readers.set('requests', {
    scope: counters.shared ? 'cluster' : 'instance',
    read: async (tenantIds) => {
      const counts = await counters.peek(tenantIds.map(requestKey.tenant), windowMs);
      return new Map(tenantIds.map((id, index) => [id, counts[index]?.count ?? 0]));
    },
  });
  readers.set('samples_burst', {
    scope: counters.shared ? 'cluster' : 'instance',
    read: async (tenantIds) => {
      const available = await counters.available(tenantIds.map(samplesKey), bucket);
      return new Map(tenantIds.map((id, index) => [id, Math.max(0, bucket.capacity - (available[index] ?? bucket.capacity))]));
    },
  });

  const read = async (limit: LimitName, tenantIds: readonly string[], single = false): Promise<Map<string, number> | null> => {
    const reader = readers.get(limit);
    if (reader === undefined) return null;
    try {
      return await reader.read(tenantIds, single);
    } catch (error) {
      deps.logger.warn({ err: error, limit }, 'limit usage could not be read');
      return null;
    }
  };

  new Gauge({
    name: 'monitoring_tenant_usage',
    help: 'Current usage of each tenant limit, for the most recently seen tenants (LIMIT_METRICS_TENANTS)',
    labelNames: ['tenant_id', 'limit'],
    registers: [deps.registry],
    async collect() {
      this.reset();
      const tenants = [...seenTenants.keys()];
      if (tenants.length === 0) return;
      for (const limit of LIMIT_NAMES) {
        const usage = await read(limit, tenants);
        if (usage === null) continue;
        for (const tenantId of tenants) this.set({ tenant_id: tenantId, limit }, usage.get(tenantId) ?? 0);
      }
    },
  });
  new Gauge({
    name: 'monitoring_tenant_limit',
    help: 'Value of each tenant limit, for the most recently seen tenants (LIMIT_METRICS_TENANTS)',
    labelNames: ['tenant_id', 'limit'],
    registers: [deps.registry],
    collect() {
      this.reset();
      for (const tenantId of seenTenants.keys()) for (const limit of LIMIT_NAMES) if (limit !== 'requests_per_ip') this.set({ tenant_id: tenantId, limit }, values[limit]);
    },
  });

  return {
    counters,
    value: (limit) => values[limit],
    refuse(tenantId, limit, message, details) {
      if (tenantId !== undefined) seen(tenantId);
      refused.inc({ tenant_id: tenantId ?? '', limit });
      const retryAfterSeconds = Math.max(1, Math.ceil(details.retryAfterSeconds ?? COUNT_LIMIT_RETRY_AFTER_SECONDS));
      return new AppError('RATE_LIMITED', message, { details: { limit, value: values[limit], ...details, retryAfterSeconds } });
    },
    seen,
    provideUsage(limit, scope, reader) {
      readers.set(limit, { scope, read: reader });
    },
    async usage(tenantId, options = {}) {
      seen(tenantId);
      const views: LimitView[] = [];
      for (const limit of LIMIT_NAMES) {
        let usage: number | null;
        let scope: LimitScope = readers.get(limit)?.scope ?? (counters.shared ? 'cluster' : 'instance');
        if (limit === 'requests_per_ip') {
          scope = counters.shared ? 'cluster' : 'instance';
          usage = options.ip === undefined ? null : ((await counters.peek([requestKey.ip(options.ip)], windowMs).catch(() => []))[0]?.count ?? 0);
        } else {
          const found = await read(limit, [tenantId], true);
          usage = found === null ? null : (found.get(tenantId) ?? 0);
        }
        views.push({ limit, value: values[limit], usage, scope, description: DESCRIPTIONS[limit] });
      }
      return views;
    },
  };
}
