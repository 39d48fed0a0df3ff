import { Counter, type Registry } from 'prom-client';
import type { Catalogue, CatalogueEntry } from './catalogue.js';
import { CATALOGUE_ENTRIES } from './catalogue.js';
import type { CommitListener } from './ingest.js';
import type { Sample } from './sample.js';

/**
 * How a committed sample whose name is in the catalogue updates /metrics:
 * - counter: adds the sample's increment (the push API's counters), or, for a running total
 *   (remote write, OTLP), what it grew since the series' last one (all of it after a reset);
 * - gauge: the value replaces the current one;
 * - histogram and summary: the value is one observation.
 * Only the catalogue's label names are used (others stay in storage only); a missing label is
 * exported as an empty value. `http_request_duration_ms` and `db_query_duration_ms` measure this
 * service itself, so samples pushed under those names are stored but do not change them.
 * A sample feeds the catalogue whatever its source, so a producer either ingests a sample or
 * updates the catalogue directly, never both.
 *
 * /metrics is the platform's scrape: only samples of the platform tenant (SYSTEM_TENANT_ID) feed
 * it. Another tenant's samples are stored and served in that tenant's own export
 * (GET /api/v1/monitoring/metrics/export), never mixed into the platform's series. The series the
 * feed creates are capped: past `maxSeries`, a sample of a new series is dropped and counted.
 */
const SELF_MEASURED = new Set(['http_request_duration_ms', 'db_query_duration_ms']);
const BY_NAME = new Map<string, CatalogueEntry>(CATALOGUE_ENTRIES.map((entry) => [entry.name, entry]));

/** The catalogue names a counter: the push API takes its samples as increments. */
export const isCatalogueCounter = (name: string): boolean => BY_NAME.get(name)?.kind === 'counter';

interface Updatable {
  inc?(labels: Record<string, string>, value: number): void;
  set?(labels: Record<string, string>, value: number): void;
  observe?(labels: Record<string, string>, value: number): void;
}

/** One tenant-derived value for the catalogue: a pushed sample or a tracked sale. */
export interface CatalogueSample {
  name: string;
  value: number;
  labels: Readonly<Record<string, string>>;
}

export interface CatalogueFeed {
  /** Feeds the values of one tenant: only the platform tenant's reach /metrics, within the series cap. */
  record(tenantId: string, samples: readonly CatalogueSample[]): void;
  /** The ingest commit listener: committed batches feed the catalogue through `record`. */
  readonly onCommitted: CommitListener;
}

export interface CatalogueFeedOptions {
  /** SYSTEM_TENANT_ID: the only tenant whose values feed /metrics. */
  platformTenantId: string;
  /** Series the feed may create across the catalogue (CATALOGUE_MAX_SERIES). */
  maxSeries: number;
  /** Where the count of dropped samples is registered (the /metrics registry). */
  registry: Registry;
}

export function createCatalogueFeed(catalogue: Catalogue, options: CatalogueFeedOptions): CatalogueFeed {
  const byName = new Map<string, { entry: CatalogueEntry; metric: Updatable }>();
  const metrics: Record<string, Updatable> = {
    tickets_sold_total: catalogue.ticketsSoldTotal,
    tickets_listed_total: catalogue.ticketsListedTotal,
    revenue_total_cents: catalogue.revenueTotalCents,
    refunds_processed_total: catalogue.refundsProcessedTotal,
    api_response_time_ms: catalogue.apiResponseTimeMs,
    active_users: catalogue.activeUsers,
    queue_size: catalogue.queueSize,
    cache_hit_rate: catalogue.cacheHitRate,
    errors_total: catalogue.errorsTotal,
    payment_success_total: catalogue.paymentSuccessTotal,
    payment_failure_total: catalogue.paymentFailureTotal,
    payment_processing_duration_ms: catalogue.paymentProcessingDurationMs,
    stripe_webhooks_total: catalogue.stripeWebhooksTotal,
    nft_minted_total: catalogue.nftMintedTotal,
    nft_transferred_total: catalogue.nftTransferredTotal,
    solana_transaction_time_ms: catalogue.solanaTransactionTimeMs,
    solana_errors_total: catalogue.solanaErrorsTotal,
  };
  for (const entry of CATALOGUE_ENTRIES) {
    const metric = metrics[entry.name];
    if (metric !== undefined && !SELF_MEASURED.has(entry.name)) byName.set(entry.name, { entry, metric });
  }
  const dropped = new Counter({
    name: 'monitoring_catalogue_series_dropped_total',
    help: 'Samples of the platform tenant not exported on /metrics because they would start a series past CATALOGUE_MAX_SERIES',
    labelNames: ['metric'],
    registers: [options.registry],
  });
  const series = new Set<string>();

  const record = (tenantId: string, samples: readonly CatalogueSample[]): void => {
    if (tenantId !== options.platformTenantId) return;
    for (const sample of samples) {
      const target = byName.get(sample.name);
      if (target === undefined) continue;
      const labels: Record<string, string> = {};
      for (const label of target.entry.labels) labels[label] = sample.labels[label] ?? '';
      const key = `${sample.name}${JSON.stringify(target.entry.labels.map((label) => labels[label]))}`;
      if (!series.has(key)) {
        if (series.size >= options.maxSeries) {
          dropped.inc({ metric: sample.name });
          continue;
        }
        series.add(key);
      }
      switch (target.entry.kind) {
        case 'counter':
          target.metric.inc?.(labels, sample.value);
          break;
        case 'gauge':
          target.metric.set?.(labels, sample.value);
          break;
        default:
          target.metric.observe?.(labels, sample.value);
      }
    }
  };

  /** Last running total per stored counter series of the platform tenant (remote write, OTLP), bounded like the series. */
  const lastTotals = new Map<string, number>();
  /** What a committed counter sample adds: its increment, or what its running total grew by (all of it after a reset). */
  const counterIncrease = (sample: Sample): number | undefined => {
    if (sample.increment !== undefined) return sample.increment;
    const last = lastTotals.get(sample.seriesKey);
    if (last === undefined && lastTotals.size >= options.maxSeries) return undefined;
    lastTotals.set(sample.seriesKey, sample.value);
    if (last === undefined || sample.value < last) return sample.value;
    return sample.value - last;
  };

  return {
    record,
    onCommitted: (batch) => {
      if (batch.tenantId !== options.platformTenantId) return;
      const values: CatalogueSample[] = [];
      for (const sample of batch.samples) {
        const kind = byName.get(sample.name)?.entry.kind;
        if (kind === undefined) continue;
        if (kind !== 'counter') {
          values.push(sample);
          continue;
        }
        const increase = counterIncrease(sample);
        if (increase === undefined) dropped.inc({ metric: sample.name });
        else values.push({ name: sample.name, labels: sample.labels, value: increase });
      }
      record(batch.tenantId, values);
    },
  };
}
