import type { Config } from '../config.js';
import { samplesKey, type TenantLimits } from '../limits/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import type { IngestSource } from './ingest.js';
import type { Sample } from './sample.js';
import { createSeriesLimits, type SeriesReservation } from './series-limits.js';

/** Sources whose samples other services or tenants send; this service's own are never refused. */
const LIMITED_SOURCES: ReadonlySet<IngestSource> = new Set(['http', 'bus']);

export interface IngestLimits {
  /**
   * Admits a validated batch or throws 429 RATE_LIMITED (details name the limit): past the
   * tenant's active series or series of one metric name, or past its sample bucket. Nothing of a
   * refused batch is stored. The reservation is committed once the batch is stored (or replayed).
   */
  admit(tenantId: string, samples: readonly Sample[], source: IngestSource): Promise<SeriesReservation>;
}

export interface IngestLimitsDeps {
  config: Config;
  db: Db;
  clock: Clock;
  limits: TenantLimits;
}

/** Samples per second (a token bucket per tenant, shared through Redis when configured) and active series per tenant and per metric name. */
export function createIngestLimits(deps: IngestLimitsDeps): IngestLimits {
  const { config, limits } = deps;
  const series = createSeriesLimits({
    db: deps.db,
    clock: deps.clock,
    perTenant: config.LIMIT_ACTIVE_SERIES,
    perMetric: config.LIMIT_SERIES_PER_METRIC,
    activeWindowMs: config.LIMIT_SERIES_ACTIVE_WINDOW_MS,
    maxTenants: config.LIMIT_SERIES_TRACKED_TENANTS,
  });
  const bucket = { ratePerSecond: config.LIMIT_SAMPLES_PER_SECOND, capacity: config.LIMIT_SAMPLES_BURST };
  // Series are counted by each instance's view, read again from the database every minute.
  limits.provideUsage('active_series', 'instance', async (tenantIds, single) => (await series.usage(tenantIds, single)).active);
  limits.provideUsage('active_series_per_metric', 'instance', async (tenantIds, single) => (await series.usage(tenantIds, single)).largestMetric);

  return {
    async admit(tenantId, samples, source) {
      const enforce = LIMITED_SOURCES.has(source);
      if (enforce) limits.seen(tenantId);
      const reservation = await series.reserve(tenantId, samples, enforce);
      if ('limit' in reservation) {
        const message =
          reservation.limit === 'active_series'
            ? `The batch would add ${reservation.requested} series to the tenant's ${reservation.current} active ones; at most ${limits.value('active_series')} are allowed. Nothing was stored`
            : `The batch would add ${reservation.requested} series to the ${reservation.current} active ones of ${reservation.metric}; at most ${limits.value('active_series_per_metric')} per metric name are allowed. Nothing was stored`;
        throw limits.refuse(tenantId, reservation.limit, message, { ...reservation });
      }
      if (!enforce) return reservation;
      const taken = await limits.counters.take(samplesKey(tenantId), samples.length, bucket);
      if (taken.allowed) return reservation;
      reservation.release();
      const retryAfterSeconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
      throw limits.refuse(
        tenantId,
        'samples_per_second',
        `The tenant may push ${bucket.ratePerSecond} samples per second (bursts up to ${bucket.capacity}); ${taken.available} can be taken now, the batch has ${samples.length}. Nothing was stored; retry in ${retryAfterSeconds} s`,
        { current: bucket.capacity - taken.available, requested: samples.length, available: taken.available, burst: bucket.capacity, retryAfterSeconds },
      );
    },
  };
}
