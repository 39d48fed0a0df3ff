import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { Config } from './config.js';
import { createAuthenticator, createHmacVerifier, createMetricsGuard, createSigner, jwtKeyFrom, type Authenticator, type Signer } from './auth/index.js';
import { resolveSecrets, type ResolvedSecrets } from './auth/dev-secrets.js';
import { createApiKeyVerifier } from './auth/api-keys.js';
import { createApiKeys, type ApiKeys } from './auth/api-keys.service.js';
import { usableApiKeyCounts } from './auth/api-keys.repository.js';
import { createAlertStore, type AlertStore } from './alerts/alert-store.js';
import { createAlerting, createEmailSender, createSecretBox, openSilenceCounts, ruleCounts, type Alerting, type EmailSender } from './alerts/index.js';
import { createClients, createSourceStatus, type Clients, type SourceStatus } from './clients/index.js';
import { BUSINESS_COLLECTOR, createBusinessCollector } from './collectors/business/index.js';
import { BLOCKCHAIN_COLLECTOR, createBlockchainCollector } from './collectors/blockchain/index.js';
import { createReports, REPORT_GENERATION_JOB, type Reports } from './reports/index.js';
import { createIngest, type Ingest } from './metrics/ingest.js';
import { createIngestLimits } from './metrics/ingest-limits.js';
import { createRemoteTsdb, type RemoteTsdb } from './metrics/store/remote-tsdb.js';
import { databaseSampleSource, remoteSampleSource, type SampleSource } from './metrics/store/sample-source.js';
import { createHealthService, healthCheckJob, type HealthService } from './health/index.js';
import { createSlaService, slaComputationJob, type SlaService } from './sla/index.js';
import { createIncidentService, incidentAutoOpenJob, type IncidentService } from './incidents/index.js';
import { createDashboardService, dashboardCounts, type DashboardService } from './dashboard/index.js';
import { createCatalogue, type Catalogue } from './metrics/catalogue.js';
import { createQueryTimer } from './metrics/query-timer.js';
import { createCatalogueFeed } from './metrics/catalogue-feed.js';
import { registerMetricsJobs } from './metrics/metrics.jobs.js';
import { registerSelfCollectors, type SelfCollectors } from './collectors/system/self-collectors.js';
import { createBus, type Bus } from './platform/bus/index.js';
import { createPubSub, type PubSub } from './platform/pubsub/index.js';
import { verifyUserToken } from './auth/jwt.js';
import { createRealtime, type Realtime } from './realtime/index.js';
import { createStreaming, type Streaming } from './streaming/index.js';
import { createCache, type Cache } from './platform/cache/index.js';
import { systemClock, type Clock } from './platform/clock.js';
import { createDb, registerPoolMetrics, runtimeRoleProblem, type Db, type QueryObserver } from './platform/db/index.js';
import { ConfigError } from './errors.js';
import { createDependencyMetrics } from './platform/dependency.metrics.js';
import { createScheduler, type Scheduler } from './platform/scheduler.js';
import { Teardown } from './platform/teardown.js';
import { withRedaction } from './platform/logging.js';
import { createMl, type Ml } from './ml/index.js';
import { createAnalytics, type Analytics } from './analytics/index.js';
import { createTenantLimits, type TenantLimits } from './limits/index.js';
import { createLimitCounters } from './platform/limits/index.js';

export interface Container {
  readonly config: Config;
  readonly version: string;
  readonly startedAt: Date;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly db: Db;
  readonly cache: Cache;
  readonly bus: Bus;
  /** The Prometheus registry served on /metrics. */
  readonly registry: Registry;
  readonly auth: Authenticator;
  readonly apiKeys: ApiKeys;
  readonly metricsGuard: ReturnType<typeof createMetricsGuard>;
  /** Signs outbound service-to-service calls. */
  readonly signer: Signer;
  readonly scheduler: Scheduler;
  readonly ingest: Ingest;
  /** METRICS_STORE=victoriametrics: the time-series database that stores the samples; absent = the database. */
  readonly remoteTsdb: RemoteTsdb | undefined;
  /** Where SQL readers of samples (rule windows, lists, Grafana, dashboards, reports, ML) read them: the database, or the time-series database's export. */
  readonly sampleSource: SampleSource;
  /** Raise/resolve alerts from any domain; listeners (notify, escalation, WebSocket) hear every change. */
  readonly alerts: AlertStore;
  // --- domain services: each domain adds its own fields below, in its own block ---
  // alerts
  /** Rules evaluation, grouping, silences, escalation and the notification outbox. */
  readonly alerting: Alerting;
  /** SMTP sender shared by alert notifications and reports; returns an outcome, never throws. */
  readonly email: EmailSender;
  // realtime and streaming
  /** Broadcast between instances (Redis pub/sub with REDIS_URL, else in-process). */
  readonly pubsub: PubSub;
  /** The WebSocket hub of /api/v1/ws and its fan-out from ingest and alerts. */
  readonly realtime: Realtime;
  /** Consumers of other services' topics and the 1-minute stream processor. */
  readonly streaming: Streaming;
  // health, SLA, incidents, dashboards
  /** Dependency and platform-service checks, their history and the /health answers. */
  readonly health: HealthService;
  readonly sla: SlaService;
  readonly incidents: IncidentService;
  /** Built-in dashboards; the ML domain adds the performance forecast with setForecastProvider. */
  readonly dashboard: DashboardService;
  /** clients: typed, signed HTTP clients of the platform services (event, venue, ticket). */
  readonly clients: Clients;
  /** Last outcome of every collector source (reason of missing values). */
  readonly collectorStatus: SourceStatus;
  /** Names of the collector jobs that GET /api/v1/monitoring/collectors can run. */
  readonly collectorJobs: string[];
  /** Report files and generator (the report-generation job runs due schedules). */
  readonly reports: Reports;
  // metrics
  /** The audit's Prometheus catalogue on `registry` (see src/metrics/catalogue.ts). */
  readonly catalogue: Catalogue;
  /** This process's system, HTTP and database-pool collectors (the HTTP hook feeds `selfCollectors.http`). */
  readonly selfCollectors: SelfCollectors;
  // analytics and ML
  /** Training worker, versioned model store, live anomaly scoring. */
  readonly ml: Ml;
  /** Fraud checks, investigations and the fraud network. */
  readonly analytics: Analytics;
  /** Notes for operators printed at start: unconfigured channels, disabled protections. */
  // tenant limits
  /** Limit values, refusals (429 RATE_LIMITED), usage per tenant for the API and /metrics. */
  readonly limits: TenantLimits;
  readonly warnings: string[];
  close(): Promise<void>;
}

export interface ContainerOptions {
  config: Config;
  clock?: Clock;
  logger?: Logger;
  /** See createScheduler: keeps this container's job claims apart from others on the same database. */
  jobClaimScope?: string;
  /** Secrets the caller resolved already (main.ts prints a token signed with them); else resolved here. */
  secrets?: ResolvedSecrets;
}

/** The time-series database of METRICS_STORE=victoriametrics (the configuration check made sure its URLs are set). */
function remoteTsdbOf(config: Config): RemoteTsdb | undefined {
  if (config.METRICS_STORE !== 'victoriametrics') return undefined;
  const base = config.METRICS_STORE_URL?.replace(/\/+$/, '');
  const writeUrl = config.METRICS_STORE_WRITE_URL ?? `${base ?? ''}/api/v1/write`;
  const readUrl = config.METRICS_STORE_READ_URL ?? base ?? '';
  return createRemoteTsdb({ writeUrl, readUrl, timeoutMs: config.METRICS_STORE_TIMEOUT_MS });
}

const packageVersion = (): string => {
  const parsed: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return typeof parsed === 'object' && parsed !== null && 'version' in parsed && typeof parsed.version === 'string' ? parsed.version : 'unknown';
};

/** The composition root: config -> adapters -> services -> jobs, each teardown registered as created. */
export async function createContainer(options: ContainerOptions): Promise<Container> {
  const { config } = options;
  const teardown = new Teardown();
  const clock = options.clock ?? systemClock;
  // Credentials (?token=, Authorization, x-signature...) never reach a log line, whoever built the logger.
  const logger = withRedaction(options.logger ?? pino({ level: config.LOG_LEVEL }));
  const warnings: string[] = [];
  try {
    const secrets = options.secrets ?? resolveSecrets(config);
    if (!config.USE_NEW_HMAC) warnings.push('USE_NEW_HMAC=false: service-to-service requests are NOT verified. Never run like this in production.');

    const registry = new Registry();
    const queryObservers: QueryObserver[] = [];
    const dependencyMetrics = createDependencyMetrics(registry);
    let lastDbErrorLogAt = 0;
    const db = await createDb(
      config,
      (sql, ms, failed) => {
        for (const observer of queryObservers) observer(sql, ms, failed);
      },
      (error) => {
        dependencyMetrics.connectionErrors.inc({ dependency: 'database' });
        // An outage repeats this for every connection: one line per 10 s says enough.
        if (Date.now() - lastDbErrorLogAt < 10_000) return;
        lastDbErrorLogAt = Date.now();
        logger.warn({ err: error }, 'database connection failed or dropped; requests answer 503 DEPENDENCY_UNAVAILABLE until it is back');
      },
    );
    teardown.add('database', () => db.close());
    registerPoolMetrics(registry, db);
    await db.migrate();
    const runtimeProblem = runtimeRoleProblem(await db.runtimeRole?.());
    if (runtimeProblem !== undefined) {
      if (config.NODE_ENV === 'production') throw new ConfigError([runtimeProblem]);
      warnings.push(runtimeProblem);
    }

    const cache = createCache(config, logger.child({ component: 'cache' }));
    teardown.add('cache', () => cache.close());

    // BUS (memory | redis | kafka), counted on the registry, with a bounded retry queue for brokers.
    // Tenant limits count in Redis (shared by the cluster) when the cache is Redis, else per instance.
    const limits = createTenantLimits({ config, registry, logger, counters: createLimitCounters(cache, { namespace: config.CACHE_NAMESPACE, clock, logger }) });
    const bus = createBus(config, { registry, logger });
    teardown.add('bus', () => bus.close());

    const jwtKey = jwtKeyFrom({ secret: secrets.jwtSecret, publicKeyPem: secrets.jwtPublicKey });
    const verifyService = createHmacVerifier({
      secret: secrets.hmacSecret,
      enabled: config.USE_NEW_HMAC,
      windowMs: config.HMAC_WINDOW_MS,
      // The service's own name too: its operator CLI (`api-key`) signs as the service it runs beside.
      allowedServices: [...config.ALLOWED_INTERNAL_SERVICES, config.SERVICE_NAME],
      nonces: cache,
      now: () => clock.nowMs(),
    });
    const apiKeyVerifier = createApiKeyVerifier({ db, clock });
    const auth = createAuthenticator({ jwtKey, issuer: config.JWT_ISSUER, verifyService, platformTenantId: config.SYSTEM_TENANT_ID, apiKeys: apiKeyVerifier });
    const metricsGuard = createMetricsGuard({ allowedIps: config.PROMETHEUS_ALLOWED_IPS, basicAuth: config.METRICS_BASIC_AUTH });
    const signer = createSigner(secrets.hmacSecret, config.SERVICE_NAME, () => clock.nowMs());

    // Created before the scheduler, so its teardown runs after the jobs (which ingest) have stopped
    // and before the bus closes: every acknowledged batch is published on a normal stop.
    const ingestLimits = createIngestLimits({ config, db, clock, limits });
    const remoteTsdb = remoteTsdbOf(config);
    const sampleSource = remoteTsdb === undefined ? databaseSampleSource : remoteSampleSource(remoteTsdb, { maxSamples: config.PROMQL_MAX_SAMPLES, lookbackMs: config.METRICS_RETENTION_DAYS * 86_400_000, now: () => clock.nowMs() });
    const ingest = createIngest({
      db, bus, clock, logger, retentionDays: config.METRICS_RETENTION_DAYS, maxBatch: config.INGEST_MAX_BATCH, limits: ingestLimits,
      dispatchMaxSamples: config.INGEST_COMMIT_QUEUE_MAX_SAMPLES, registry, remoteTsdb,
    });
    teardown.add('ingest dispatch', () => ingest.close(config.SHUTDOWN_TIMEOUT_MS / 4));

    const scheduler = createScheduler({ db, clock, logger, registry, claimScope: options.jobClaimScope });
    teardown.add('scheduler', () => scheduler.stop());

    const alerts = createAlertStore({ db, bus, clock, logger });

    // --- domain wiring: each domain builds its services and registers its jobs in its own block ---
    // alerts: e-mail sender, evaluator, dispatcher, outbox delivery, escalation and their jobs
    const email = createEmailSender(config, logger);
    teardown.add('email', () => email.close());
    // Tenants' receiver secrets are sealed with RECEIVER_SECRETS_KEY; secrets under a previous key are re-sealed at start.
    const receiverSecrets = createSecretBox(secrets.receiverKey, config.RECEIVER_SECRETS_KEY_PREVIOUS);
    const alerting = createAlerting({ config, db, clock, logger, alerts, registry, email, ingest, hmacSecret: secrets.hmacSecret, receiverSecrets, samples: sampleSource });
    teardown.add('alerting', () => alerting.close());
    for (const job of alerting.jobs) scheduler.add(job);
    warnings.push(...alerting.notConfigured);
    if (config.RECEIVER_SECRETS_KEY_PREVIOUS.length > 0) warnings.push(...(await alerting.rotateReceiverSecrets()));
    // realtime and streaming: WebSocket hub fed by ingest and alerts (across instances
    // through pub/sub), consumers of metrics-stream, fraud-events and alerts-stream, stream processor
    const pubsub = createPubSub(config, logger.child({ component: 'pubsub' }));
    teardown.add('pubsub', () => pubsub.close());
    const realtime = await createRealtime({ config, clock, logger, registry, scheduler, ingest, alerts, pubsub, limits, verifyUserToken: (token) => verifyUserToken(token, jwtKey, config.JWT_ISSUER) });
    teardown.add('websockets', () => realtime.close());
    const streaming = await createStreaming({ config, db, bus, ingest, alerts, clock, logger, registry, scheduler });
    teardown.add('bus consumers', () => streaming.close());
    // health, SLA, incidents, dashboards
    const health = createHealthService({ config, db, cache, signer, clock, logger, ingest });
    teardown.add('health checkers', () => health.close());
    scheduler.add(healthCheckJob(health, config.HEALTH_CHECK_INTERVAL_MS));
    const sla = createSlaService({ config, db, logger });
    scheduler.add(slaComputationJob(sla, config.SLA_COMPUTATION_INTERVAL_MS, logger));
    const incidents = createIncidentService({ db, cache, clock, logger });
    alerts.onChange((change) => incidents.onAlertChange(change));
    scheduler.add(incidentAutoOpenJob(incidents, config.INCIDENT_AUTO_OPEN_INTERVAL_MS, config.INCIDENT_AUTO_OPEN_AFTER_MS));
    const dashboard = createDashboardService({ db, cache, clock, health, samples: sampleSource });
    // Counts behind the rules, silences and dashboards limits, read for the usage views.
    limits.provideUsage('rules', 'cluster', (tenantIds) => db.asSystem((tx) => ruleCounts(tx, tenantIds)));
    limits.provideUsage('silences', 'cluster', (tenantIds) => db.asSystem((tx) => openSilenceCounts(tx, tenantIds, clock.now())));
    limits.provideUsage('dashboards', 'cluster', (tenantIds) => db.asSystem((tx) => dashboardCounts(tx, tenantIds)));
    limits.provideUsage('api_keys', 'cluster', (tenantIds) => db.asSystem((tx) => usableApiKeyCounts(tx, tenantIds, clock.now())));
    // metrics: the Prometheus catalogue, fed by committed samples and this service's own queries;
    // rollups, retention and the collectors of this process
    const catalogue = createCatalogue(registry, { cacheStats: () => cache.stats() });
    queryObservers.push(createQueryTimer(catalogue));
    // Only the platform tenant's samples and sales reach /metrics, capped in series.
    const catalogueFeed = createCatalogueFeed(catalogue, { platformTenantId: config.SYSTEM_TENANT_ID, maxSeries: config.CATALOGUE_MAX_SERIES, registry });
    ingest.onCommitted('catalogue', catalogueFeed.onCommitted);
    registerMetricsJobs({ config, db, clock, logger, scheduler, registry });
    const selfCollectors = registerSelfCollectors({ config, db, ingest, clock, scheduler, logger });
    queryObservers.push(selfCollectors.database.observeQuery);
    // clients and business collector: signed platform service clients, their latency on
    // api_response_time_ms, collector source status, the business collector job
    const clients = createClients({ config, signer, cache, clock });
    clients.onCall((call) => catalogue.apiResponseTimeMs.observe({ endpoint: call.route, service: `${call.service}-service` }, call.durationMs));
    const collectorStatus = createSourceStatus({ db, clock, registry, systemTenantId: config.SYSTEM_TENANT_ID });
    const businessCollector = createBusinessCollector({ db, clients, ingest, status: collectorStatus, logger, intervalMs: config.BUSINESS_COLLECTOR_INTERVAL_MS, tenants: config.BUSINESS_COLLECTOR_TENANTS.length > 0 ? config.BUSINESS_COLLECTOR_TENANTS : [config.SYSTEM_TENANT_ID] });
    scheduler.add({ name: BUSINESS_COLLECTOR, intervalMs: config.BUSINESS_COLLECTOR_INTERVAL_MS, run: ({ now, signal, unitFailed }) => businessCollector.run(now, signal, unitFailed) });
    const blockchainCollector = createBlockchainCollector({
      db, ingest, status: collectorStatus, logger, systemTenantId: config.SYSTEM_TENANT_ID, wallets: config.SOLANA_MINT_WALLETS, transferExpiryMs: config.NFT_TRANSFER_EXPIRY_MS,
      rpc: config.SOLANA_RPC_URL === undefined ? undefined : { url: config.SOLANA_RPC_URL, timeoutMs: config.SOLANA_RPC_TIMEOUT_MS },
      ipfs: config.IPFS_GATEWAY_URL === undefined || config.IPFS_PROBE_CID === undefined ? undefined : { gatewayUrl: config.IPFS_GATEWAY_URL, cid: config.IPFS_PROBE_CID, timeoutMs: config.SOLANA_RPC_TIMEOUT_MS },
      onRpcCall: (call) => catalogue.apiResponseTimeMs.observe({ endpoint: call.method, service: 'solana-rpc' }, call.durationMs),
    });
    scheduler.add({ name: BLOCKCHAIN_COLLECTOR, intervalMs: config.BLOCKCHAIN_COLLECTOR_INTERVAL_MS, run: ({ now, signal, unitFailed }) => blockchainCollector.run(now, signal, unitFailed) });
    // reports: definitions, generation once per cluster, files under REPORTS_DIR, e-mail through the alerting sender
    const reports = createReports({ db, clock, logger, email, reportsDir: config.REPORTS_DIR, maxRows: config.REPORT_MAX_ROWS, samples: sampleSource });
    scheduler.add({ name: REPORT_GENERATION_JOB, intervalMs: config.REPORT_GENERATION_INTERVAL_MS, timeoutMs: 10 * 60_000, run: ({ now, signal, unitFailed }) => reports.runDue(now, signal, unitFailed) });

    // analytics and ML: training worker, stored models loaded at start, live anomaly
    // scoring of committed samples with alerts, the autoencoder retraining job
    const ml = await createMl({ config, db, clock, logger, ingest, scheduler, samples: sampleSource, raise: (tenantId, input) => alerts.raise(tenantId, input) });
    teardown.add('ml', () => ml.close());
    const analytics = createAnalytics({ config, db, bus, clock, logger, ml, scheduler, clients, catalogueFeed, ingest, samples: sampleSource, raise: (tenantId, input) => alerts.raise(tenantId, input) });
    teardown.add('analytics', () => analytics.close());
    dashboard.setForecastProvider((tenantId, range) => ml.forecasts.latency(tenantId, range));
    // Runs first on close (HTTP has stopped): WebSocket subscribers, anomaly scoring and the other
    // listeners get the batches already acknowledged before they close. Bounded, like the final
    // drain above (which drops and counts what is still left): a stuck listener costs a quarter of
    // the shutdown budget here, and another there.
    teardown.add('ingest dispatch to listeners', async () => {
      await ingest.dispatched(config.SHUTDOWN_TIMEOUT_MS / 4);
    });

    return {
      config,
      version: packageVersion(),
      startedAt: clock.now(),
      logger,
      clock,
      db,
      cache,
      bus,
      registry,
      auth,
      apiKeys: createApiKeys({ db, clock, limits, verifier: apiKeyVerifier }),
      metricsGuard,
      signer,
      scheduler,
      ingest,
      remoteTsdb,
      sampleSource,
      alerts,
      alerting,
      email,
      pubsub,
      realtime,
      streaming,
      health,
      sla,
      incidents,
      dashboard,
      catalogue,
      selfCollectors,
      clients,
      collectorStatus,
      collectorJobs: [BUSINESS_COLLECTOR, BLOCKCHAIN_COLLECTOR],
      reports,
      ml,
      analytics,
      warnings,
      async close() {
        const failures = await teardown.close(config.SHUTDOWN_TIMEOUT_MS);
        for (const failure of failures) logger.error({ err: failure.error, resource: failure.name }, 'close failed');
      },
      limits,
    };
  } catch (error) {
    await teardown.close(config.SHUTDOWN_TIMEOUT_MS);
    throw error;
  }
}
