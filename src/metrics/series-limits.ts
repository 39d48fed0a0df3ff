import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { recentSeries } from './active-series.repository.js';
import type { Sample } from './sample.js';

/** A tenant's view is read again from the database this often (series other instances created). */
const RESYNC_MS = 60_000;
/** Expired series are swept from a view at most this often. */
const SWEEP_MS = 60_000;

export interface SeriesLimitsOptions {
  db: Db;
  clock: Clock;
  perTenant: number;
  perMetric: number;
  activeWindowMs: number;
  /** Tenants whose views are kept (least recently pushing forgotten, read again on their next push). */
  maxTenants: number;
}

/** Why a batch would pass a series limit. */
export type SeriesExcess =
  | { limit: 'active_series'; current: number; requested: number }
  | { limit: 'active_series_per_metric'; metric: string; current: number; requested: number };

export interface SeriesReservation {
  /** The batch was stored: its series are active now. */
  commit(): void;
  /** The batch was not stored: the series it reserved are given back. */
  release(): void;
}

export interface SeriesLimits {
  /**
   * Reserves the batch's new series, or says which limit it would pass (then nothing is reserved).
   * `enforce` false records the series without refusing (this service's own samples).
   */
  reserve(tenantId: string, samples: readonly Sample[], enforce: boolean): Promise<SeriesReservation | SeriesExcess>;
  /**
   * Active series of each tenant, and the largest count of one metric name: of the views in
   * memory, or (`load`) read from the database for tenants without one.
   */
  usage(tenantIds: readonly string[], load: boolean): Promise<{ active: Map<string, number>; largestMetric: Map<string, number> }>;
}

interface TenantView {
  /** series key -> last write (ms) */
  lastSeen: Map<string, number>;
  perMetric: Map<string, number>;
  syncedAt: number;
  sweptAt: number;
}

const metricOf = (seriesKey: string): string => seriesKey.slice(0, seriesKey.indexOf('|'));

/**
 * A bounded view per tenant of its recently active series (there is no series table yet): read
 * from the database on first use and every minute, kept up to date by the batches this instance
 * stores. A batch that would create series past a limit is refused whole; series already active
 * are always accepted.
 */
export function createSeriesLimits(options: SeriesLimitsOptions): SeriesLimits {
  const views = new Map<string, TenantView>();
  const loading = new Map<string, Promise<TenantView>>();

  const add = (view: TenantView, key: string, at: number) => {
    const known = view.lastSeen.get(key);
    if (known === undefined) view.perMetric.set(metricOf(key), (view.perMetric.get(metricOf(key)) ?? 0) + 1);
    if (known === undefined || known < at) view.lastSeen.set(key, at);
  };
  const remove = (view: TenantView, key: string) => {
    if (!view.lastSeen.delete(key)) return;
    const metric = metricOf(key);
    const left = (view.perMetric.get(metric) ?? 1) - 1;
    if (left > 0) view.perMetric.set(metric, left);
    else view.perMetric.delete(metric);
  };
  const sweep = (view: TenantView, now: number) => {
    if (now - view.sweptAt < SWEEP_MS) return;
    view.sweptAt = now;
    const oldest = now - options.activeWindowMs;
    for (const [key, at] of view.lastSeen) if (at < oldest) remove(view, key);
  };

  const sync = async (tenantId: string, view: TenantView, now: number): Promise<TenantView> => {
    // Twice the limit: enough to hold every series a tenant within its limit can have.
    const rows = await options.db.withTenant(tenantId, (tx) => recentSeries(tx, tenantId, new Date(now - options.activeWindowMs), options.perTenant * 2));
    for (const row of rows) add(view, row.series_key, new Date(row.last).getTime());
    view.syncedAt = now;
    return view;
  };

  const viewOf = async (tenantId: string): Promise<TenantView> => {
    const now = options.clock.nowMs();
    let view = views.get(tenantId);
    if (view !== undefined) {
      views.delete(tenantId);
      views.set(tenantId, view);
      if (now - view.syncedAt < RESYNC_MS) return view;
    }
    const pending = loading.get(tenantId);
    if (pending !== undefined) return pending;
    view ??= { lastSeen: new Map(), perMetric: new Map(), syncedAt: 0, sweptAt: now };
    const fresh = view;
    const load = sync(tenantId, fresh, now).finally(() => loading.delete(tenantId));
    loading.set(tenantId, load);
    await load;
    views.set(tenantId, fresh);
    while (views.size > options.maxTenants) {
      const oldest = views.keys().next();
      if (oldest.done === true) break;
      views.delete(oldest.value);
    }
    return fresh;
  };

  return {
    async reserve(tenantId, samples, enforce) {
      const view = await viewOf(tenantId);
      const now = options.clock.nowMs();
      sweep(view, now);
      const fresh = [...new Set(samples.map((sample) => sample.seriesKey))].filter((key) => !view.lastSeen.has(key));
      if (enforce && fresh.length > 0) {
        if (view.lastSeen.size + fresh.length > options.perTenant) return { limit: 'active_series', current: view.lastSeen.size, requested: fresh.length };
        const byMetric = new Map<string, number>();
        for (const key of fresh) byMetric.set(metricOf(key), (byMetric.get(metricOf(key)) ?? 0) + 1);
        for (const [metric, requested] of byMetric) {
          const current = view.perMetric.get(metric) ?? 0;
          if (current + requested > options.perMetric) return { limit: 'active_series_per_metric', metric, current, requested };
        }
      }
      // Reserved now, so concurrent batches of the tenant see each other's new series.
      for (const key of fresh) add(view, key, now);
      return {
        commit() {
          const at = options.clock.nowMs();
          for (const sample of samples) add(view, sample.seriesKey, at);
        },
        release() {
          for (const key of fresh) remove(view, key);
        },
      };
    },
    async usage(tenantIds, load) {
      const active = new Map<string, number>();
      const largestMetric = new Map<string, number>();
      for (const tenantId of tenantIds) {
        const view = load ? await viewOf(tenantId) : views.get(tenantId);
        if (view === undefined) continue;
        sweep(view, options.clock.nowMs());
        active.set(tenantId, view.lastSeen.size);
        largestMetric.set(tenantId, Math.max(0, ...view.perMetric.values()));
      }
      return { active, largestMetric };
    },
  };
}
