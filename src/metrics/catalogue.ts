import { collectDefaultMetrics, Counter, Gauge, Histogram, Summary, type Registry } from 'prom-client';

/**
 * The audit's Prometheus catalogue (section 4), with exactly its names, types and label names.
 * Metrics start without series: a series appears only when a real event feeds it (pushed
 * samples, this service's own HTTP traffic and queries, the collectors), never a made-up zero.
 */
export interface Catalogue {
  // business
  readonly ticketsSoldTotal: Counter<'venue_id' | 'event_id' | 'ticket_type'>;
  readonly ticketsListedTotal: Counter<'venue_id' | 'price_range'>;
  readonly revenueTotalCents: Counter<'venue_id' | 'type'>;
  readonly refundsProcessedTotal: Counter<'venue_id' | 'reason'>;
  // performance
  readonly httpRequestDurationMs: Histogram<'method' | 'route' | 'status_code'>;
  readonly dbQueryDurationMs: Histogram<'operation' | 'table'>;
  readonly apiResponseTimeMs: Summary<'endpoint' | 'service'>;
  // system
  readonly activeUsers: Gauge<'type'>;
  readonly queueSize: Gauge<'queue_name'>;
  readonly cacheHitRate: Gauge<'cache_type'>;
  readonly errorsTotal: Counter<'service' | 'error_type' | 'severity'>;
  // payment
  readonly paymentSuccessTotal: Counter<'provider' | 'currency'>;
  readonly paymentFailureTotal: Counter<'provider' | 'error_code'>;
  readonly paymentProcessingDurationMs: Histogram<'provider' | 'type'>;
  readonly stripeWebhooksTotal: Counter<'event_type' | 'status'>;
  // blockchain
  readonly nftMintedTotal: Counter<'collection' | 'status'>;
  readonly nftTransferredTotal: Counter<'type'>;
  readonly solanaTransactionTimeMs: Histogram<'type'>;
  readonly solanaErrorsTotal: Counter<'error_type'>;
}

export type CatalogueKind = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface CatalogueEntry {
  name: string;
  kind: CatalogueKind;
  labels: readonly string[];
  help: string;
}

/** Latency buckets in milliseconds: 1 ms to 10 s. */
export const LATENCY_BUCKETS_MS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
/** Blockchain confirmations take seconds, not milliseconds. */
const SOLANA_BUCKETS_MS = [100, 250, 500, 1000, 2000, 5000, 10000, 20000, 30000, 60000];

/**
 * prom-client's `nodejs_active_{handles,requests,resources}_total` are gauges that duplicate
 * `nodejs_active_*` under a counter-style name; promtool rejects them, so they are removed.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Registers the default process metrics and the whole catalogue on `registry`. */
export function createCatalogue(registry: Registry, options: { cacheStats?: () => Promise<{ kind: string; hits: number; misses: number }> } = {}): Catalogue {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  const registers = [registry];
  const cacheStats = options.cacheStats;

  return {
    ticketsSoldTotal: new Counter({ name: 'tickets_sold_total', help: 'Total tickets sold', labelNames: ['venue_id', 'event_id', 'ticket_type'], registers }),
    ticketsListedTotal: new Counter({ name: 'tickets_listed_total', help: 'Marketplace listings', labelNames: ['venue_id', 'price_range'], registers }),
    revenueTotalCents: new Counter({ name: 'revenue_total_cents', help: 'Revenue in cents', labelNames: ['venue_id', 'type'], registers }),
    refundsProcessedTotal: new Counter({ name: 'refunds_processed_total', help: 'Refunds processed', labelNames: ['venue_id', 'reason'], registers }),

    httpRequestDurationMs: new Histogram({ name: 'http_request_duration_ms', help: 'HTTP request latency of this service in milliseconds', labelNames: ['method', 'route', 'status_code'], buckets: LATENCY_BUCKETS_MS, registers }),
    dbQueryDurationMs: new Histogram({ name: 'db_query_duration_ms', help: 'Database query latency of this service in milliseconds', labelNames: ['operation', 'table'], buckets: LATENCY_BUCKETS_MS, registers }),
    apiResponseTimeMs: new Summary({ name: 'api_response_time_ms', help: 'API response times in milliseconds by service and endpoint', labelNames: ['endpoint', 'service'], percentiles: [0.5, 0.9, 0.95, 0.99], maxAgeSeconds: 600, ageBuckets: 5, registers }),

    activeUsers: new Gauge({ name: 'active_users', help: 'Active user count', labelNames: ['type'], registers }),
    queueSize: new Gauge({ name: 'queue_size', help: 'Queue sizes', labelNames: ['queue_name'], registers }),
    cacheHitRate: new Gauge({
      name: 'cache_hit_rate',
      help: 'Cache hit ratio (0-1) since start',
      labelNames: ['cache_type'],
      registers,
      // Filled at scrape time from the cache's own counters; absent until the cache has been read.
      async collect() {
        if (cacheStats === undefined) return;
        const stats = await cacheStats().catch(() => undefined);
        if (stats === undefined) return;
        const lookups = stats.hits + stats.misses;
        if (lookups > 0) this.set({ cache_type: stats.kind }, stats.hits / lookups);
      },
    }),
    errorsTotal: new Counter({ name: 'errors_total', help: 'Errors by service, type and severity', labelNames: ['service', 'error_type', 'severity'], registers }),

    paymentSuccessTotal: new Counter({ name: 'payment_success_total', help: 'Successful payments', labelNames: ['provider', 'currency'], registers }),
    paymentFailureTotal: new Counter({ name: 'payment_failure_total', help: 'Failed payments', labelNames: ['provider', 'error_code'], registers }),
    paymentProcessingDurationMs: new Histogram({ name: 'payment_processing_duration_ms', help: 'Payment processing latency in milliseconds', labelNames: ['provider', 'type'], buckets: LATENCY_BUCKETS_MS, registers }),
    stripeWebhooksTotal: new Counter({ name: 'stripe_webhooks_total', help: 'Stripe webhooks received', labelNames: ['event_type', 'status'], registers }),

    nftMintedTotal: new Counter({ name: 'nft_minted_total', help: 'NFTs minted', labelNames: ['collection', 'status'], registers }),
    nftTransferredTotal: new Counter({ name: 'nft_transferred_total', help: 'NFT transfers', labelNames: ['type'], registers }),
    solanaTransactionTimeMs: new Histogram({ name: 'solana_transaction_time_ms', help: 'Solana transaction confirmation time in milliseconds', labelNames: ['type'], buckets: SOLANA_BUCKETS_MS, registers }),
    solanaErrorsTotal: new Counter({ name: 'solana_errors_total', help: 'Solana errors', labelNames: ['error_type'], registers }),
  };
}

/** Name, type and labels of every catalogue metric, for validation of pushed samples and docs. */
export const CATALOGUE_ENTRIES: readonly CatalogueEntry[] = [
  { name: 'tickets_sold_total', kind: 'counter', labels: ['venue_id', 'event_id', 'ticket_type'], help: 'Total tickets sold' },
  { name: 'tickets_listed_total', kind: 'counter', labels: ['venue_id', 'price_range'], help: 'Marketplace listings' },
  { name: 'revenue_total_cents', kind: 'counter', labels: ['venue_id', 'type'], help: 'Revenue tracking' },
  { name: 'refunds_processed_total', kind: 'counter', labels: ['venue_id', 'reason'], help: 'Refund tracking' },
  { name: 'http_request_duration_ms', kind: 'histogram', labels: ['method', 'route', 'status_code'], help: 'HTTP latency' },
  { name: 'db_query_duration_ms', kind: 'histogram', labels: ['operation', 'table'], help: 'DB query latency' },
  { name: 'api_response_time_ms', kind: 'summary', labels: ['endpoint', 'service'], help: 'API response times' },
  { name: 'active_users', kind: 'gauge', labels: ['type'], help: 'Active user count' },
  { name: 'queue_size', kind: 'gauge', labels: ['queue_name'], help: 'Queue sizes' },
  { name: 'cache_hit_rate', kind: 'gauge', labels: ['cache_type'], help: 'Cache effectiveness' },
  { name: 'errors_total', kind: 'counter', labels: ['service', 'error_type', 'severity'], help: 'Error tracking' },
  { name: 'payment_success_total', kind: 'counter', labels: ['provider', 'currency'], help: 'Successful payments' },
  { name: 'payment_failure_total', kind: 'counter', labels: ['provider', 'error_code'], help: 'Failed payments' },
  { name: 'payment_processing_duration_ms', kind: 'histogram', labels: ['provider', 'type'], help: 'Payment latency' },
  { name: 'stripe_webhooks_total', kind: 'counter', labels: ['event_type', 'status'], help: 'Webhook tracking' },
  { name: 'nft_minted_total', kind: 'counter', labels: ['collection', 'status'], help: 'NFT minting' },
  { name: 'nft_transferred_total', kind: 'counter', labels: ['type'], help: 'NFT transfers' },
  { name: 'solana_transaction_time_ms', kind: 'histogram', labels: ['type'], help: 'Blockchain latency' },
  { name: 'solana_errors_total', kind: 'counter', labels: ['error_type'], help: 'Blockchain errors' },
];
