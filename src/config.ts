import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { Type, type StaticDecode, type TSchema } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';
import { ConfigError } from './errors.js';

/**
 * The whole configuration, keyed by the environment variable that sets it.
 * The type is derived from this one schema; nothing else reads process.env.
 * A schema may carry `errorMessage`: what a person is told instead of the regular expression.
 */
const list = (description: string, defaultValue = '', allowed?: readonly string[]) =>
  Type.Transform(Type.String({ default: defaultValue, description: allowed === undefined ? description : `${description}; any of ${allowed.join(', ')}` }))
    .Decode((raw) => {
      const items = raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
      const unknown = allowed === undefined ? [] : items.filter((item) => !allowed.includes(item));
      if (allowed !== undefined && unknown.length > 0) throw new RangeError(`unknown ${unknown.join(', ')}: each entry must be one of ${allowed.join(', ')}`);
      return items;
    })
    .Encode((items) => items.join(','));

const flag = (description: string, defaultValue: boolean) =>
  Type.Transform(Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')], { default: String(defaultValue), description }))
    .Decode((raw) => raw === 'true' || raw === '1')
    .Encode((value) => (value ? 'true' : 'false'));

const int = (description: string, defaultValue: number, minimum = 0, maximum = Number.MAX_SAFE_INTEGER) => {
  const range = maximum === Number.MAX_SAFE_INTEGER ? `at least ${minimum}` : `between ${minimum} and ${maximum}`;
  return Type.Transform(Type.String({ pattern: '^[0-9]+$', errorMessage: `must be a whole number ${range}`, default: String(defaultValue), description }))
    .Decode((raw) => {
      const value = Number(raw);
      if (value < minimum || value > maximum) throw new RangeError(`must be ${range}`);
      return value;
    })
    .Encode((value) => String(value));
};

const optional = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));
const optionalUrl = (description: string) => Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9+.-]*://', errorMessage: 'must be a URL (scheme://host...)', description }));
/** 32 bytes in base64, with its padding. */
const RECEIVER_KEY = '^[A-Za-z0-9+/]{43}=$';
/** Names of the dependency checks (src/health/dependency.checkers.ts and its neighbours). */
const HEALTH_DEPENDENCIES = ['postgresql', 'redis', 'mongodb', 'elasticsearch', 'kafka'] as const;
/** Development listens on loopback only: it prints an admin token, and its secrets are generated. */
const LOOPBACK_HOST = '127.0.0.1';
const ALL_INTERFACES_HOST = '0.0.0.0';

export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], { default: 'development' }),
  PORT: int('HTTP port', 3017, 0, 65535),
  HOST: Type.String({ default: LOOPBACK_HOST, description: `HTTP bind address; with NODE_ENV=production the default is ${ALL_INTERFACES_HOST} (all interfaces)` }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)), { default: 'info' }),
  TRUST_PROXY: flag('trust X-Forwarded-For (only behind a proxy you control)', false),
  BODY_LIMIT_BYTES: int('largest accepted request body', 5 * 1024 * 1024, 1024),
  SHUTDOWN_TIMEOUT_MS: int('longest graceful shutdown before exit', 10_000, 100),

  DATA_DIR: Type.String({ default: './data', description: 'embedded database and generated dev secrets' }),
  DATABASE_URL: optionalUrl('PostgreSQL connection string of the runtime login role (neither superuser nor owner: monitoring_runtime); unset = embedded PGlite'),
  MIGRATION_DATABASE_URL: optionalUrl('PostgreSQL connection string of the schema owner, used only to migrate; unset = DATABASE_URL'),
  DATABASE_POOL_MAX: int('PostgreSQL pool size', 10, 1, 1000),
  DATABASE_POOL_MAX_PER_TENANT: int('most pooled PostgreSQL connections one tenant (or the cross-tenant jobs together) holds at once; the others take turns', 3, 1, 1000),
  DATABASE_CONNECT_TIMEOUT_MS: int('longest wait for a PostgreSQL connection before answering 503', 5_000, 100),
  DATABASE_STATEMENT_TIMEOUT_MS: int('longest PostgreSQL statement (statement_timeout); the client gives up 5 s later', 60_000, 100),
  REDIS_URL: optionalUrl('Redis connection string; unset = in-memory cache'),
  REDIS_COMMAND_TIMEOUT_MS: int('longest wait for one Redis command (cache, nonces, bus publish) before it counts as failed', 1_000, 50),
  CACHE_NAMESPACE: Type.String({ pattern: '^[A-Za-z0-9_.:-]+$', errorMessage: 'must be letters, digits and _ . : - only', default: 'monitoring:', description: 'prefix of every cache key in Redis (separates deployments sharing one Redis)' }),
  KAFKA_BROKERS: list('Kafka brokers host:port, comma separated'),
  BUS: Type.Optional(Type.Union([Type.Literal('memory'), Type.Literal('redis'), Type.Literal('kafka')], { description: 'event bus adapter; default kafka when KAFKA_BROKERS is set, else memory' })),

  JWT_SECRET: optional('HS256 secret for user tokens'),
  JWT_PUBLIC_KEY: optional('RS256 public key (PEM) for user tokens'),
  JWT_ISSUER: optional('expected iss claim'),
  INTERNAL_HMAC_SECRET: optional('shared secret for service-to-service HMAC'),
  USE_NEW_HMAC: flag('require HMAC on service-to-service calls', true),
  HMAC_WINDOW_MS: int('accepted clock skew of x-timestamp', 60_000, 1_000),
  ALLOWED_INTERNAL_SERVICES: list('services allowed to call with HMAC', 'auth-service,venue-service,event-service,ticket-service,payment-service,marketplace-service,analytics-service,api-gateway'),
  SERVICE_NAME: Type.String({ default: 'monitoring-service', description: 'name sent in x-service-name on outbound calls' }),
  PROMETHEUS_ALLOWED_IPS: list('IPs/CIDRs allowed to scrape /metrics', '127.0.0.1,::1'),
  METRICS_BASIC_AUTH: Type.Optional(Type.String({ pattern: '^[^:]+:.+$', errorMessage: 'must be user:password', description: 'user:password for /metrics' })),

  SMTP_HOST: optional('SMTP relay for the e-mail notifications of every tenant (and reports)'),
  SMTP_PORT: int('SMTP port', 587, 1, 65535),
  SMTP_USER: optional('SMTP user'),
  SMTP_PASS: optional('SMTP password'),
  SMTP_SECURE: flag('use TLS from the start (port 465)', false),
  ALERT_EMAIL_FROM: Type.String({ default: 'monitoring@localhost', description: 'From address of alert e-mails' }),
  ALERT_EMAIL_TO: list("recipients of the platform tenant's (SYSTEM_TENANT_ID) alert e-mails; other tenants set theirs through the API"),
  SLACK_TOKEN: optional("Slack bot token of the platform tenant's receiver (other tenants set theirs through the API)"),
  SLACK_CHANNEL: optional("Slack channel id of the platform tenant's receiver"),
  SLACK_API_URL: optionalUrl('Slack Web API base URL (every tenant)'),
  PAGERDUTY_ROUTING_KEY: optional("PagerDuty Events API v2 routing key of the platform tenant's receiver (other tenants set theirs through the API)"),
  PAGERDUTY_EVENTS_URL: Type.String({ default: 'https://events.pagerduty.com/v2/enqueue', description: 'PagerDuty Events API v2 URL (every tenant)' }),
  WEBHOOK_URL: optionalUrl("the platform tenant's webhook receiver (Alertmanager v4 payload; other tenants set theirs through the API)"),
  WEBHOOK_SECRET: optional("HMAC secret of the platform tenant's webhook signature header; defaults to INTERNAL_HMAC_SECRET"),

  AUTH_SERVICE_URL: optionalUrl('auth service base URL'),
  VENUE_SERVICE_URL: optionalUrl('venue service base URL'),
  EVENT_SERVICE_URL: optionalUrl('event service base URL'),
  TICKET_SERVICE_URL: optionalUrl('ticket service base URL'),
  PAYMENT_SERVICE_URL: optionalUrl('payment service base URL'),
  MARKETPLACE_SERVICE_URL: optionalUrl('marketplace service base URL'),
  ANALYTICS_SERVICE_URL: optionalUrl('analytics service base URL'),
  API_GATEWAY_SERVICE_URL: optionalUrl('API gateway base URL'),
  MONGODB_URL: optionalUrl('MongoDB to health-check'),
  ELASTICSEARCH_URL: optionalUrl('Elasticsearch to health-check and clean'),
  SOLANA_RPC_URL: optionalUrl('Solana JSON-RPC endpoint'),
  REPORTS_DIR: Type.String({ default: './reports', description: 'where generated reports are written' }),

  METRICS_RETENTION_DAYS: int('days of raw samples kept', 90, 1),
  ROLLUP_RETENTION_DAYS: int('days of rollups kept', 365, 1),
  ALERT_RETENTION_DAYS: int('days resolved alerts and settled notification records (delivered, dead, not configured) are kept', 90, 1),
  FRAUD_RETENTION_DAYS: int('days investigated fraud events are kept', 365, 1),
  INGEST_MAX_BATCH: int('largest batch accepted by POST /metrics', 10_000, 1),
  PROMQL_MAX_SAMPLES: int('most samples one PromQL query (the Prometheus HTTP API) may load; beyond, 422 execution error', 5_000_000, 1),
  PROMQL_TIMEOUT_MS: int('longest evaluation of one PromQL query; beyond, 503 timeout (a request may ask for less with timeout=)', 30_000, 100),
  PROMQL_MAX_SERIES: int("most of a tenant's series one selector may read before its samples are loaded; beyond, 422 execution error", 100_000, 1),
  REMOTE_WRITE_MAX_BODY_BYTES: int('largest body of POST /api/v1/write (remote write; it may inflate to 4x) and of POST /v1/metrics (OTLP)', 16 * 1024 * 1024, 1024),
  INGEST_COMMIT_QUEUE_MAX_SAMPLES: int(
    'samples of committed batches one consumer (bus publication, WebSocket fan-out, catalogue, stream processor, anomaly scoring, default rules) may have waiting after the answer; beyond, that consumer skips whole batches, counted in monitoring_ingest_dispatch_dropped_samples_total and GET /status (keep it well above INGEST_MAX_BATCH)',
    200_000,
    1,
  ),
  IDEMPOTENCY_WINDOW_HOURS: int('hours an Idempotency-Key of a metrics push (HTTP or metrics-stream) is remembered at least; the cleanup job forgets older keys', 24, 1),

  ALERT_EVALUATION_INTERVAL_MS: int('alert rule evaluation', 60_000, 100),
  HEALTH_CHECK_INTERVAL_MS: int('service health checks', 30_000, 100),
  METRIC_AGGREGATION_INTERVAL_MS: int('rollups', 300_000, 100),
  METRIC_COMPACTION_INTERVAL_MS: int('compaction of closed days of raw samples into chunks', 600_000, 100),
  METRIC_COMPACTION_DELAY_MS: int('how long after a UTC day ends its samples are compacted (later samples of that day start another chunk)', 3_600_000, 0),
  COLLECTOR_INTERVAL_MS: int('system collectors', 60_000, 100),
  ML_ANALYSIS_INTERVAL_MS: int('ML analysis', 600_000, 100),
  CLEANUP_INTERVAL_MS: int('retention cleanup (runs daily at CLEANUP_HOUR_UTC when 86400000)', 86_400_000, 100),
  CLEANUP_HOUR_UTC: int('hour of the daily cleanup', 2, 0, 23),
  NOTIFICATION_INTERVAL_MS: int('notification outbox delivery', 5_000, 50),
  // --- domain settings: each domain adds its variables in its own block below ---
  // metrics: queries, rollups, retention, collectors, Grafana
  METRICS_STORE: Type.Union([Type.Literal('sql'), Type.Literal('victoriametrics')], {
    default: 'sql',
    description:
      "where samples are stored: sql = the database (PGlite or DATABASE_URL); victoriametrics = a Prometheus-compatible time-series database (remote write in, Prometheus HTTP API out, every series labelled with its tenant and every read forced to the caller's tenant)",
  }),
  METRICS_STORE_URL: optionalUrl('METRICS_STORE=victoriametrics: the single-node database (http://host:8428); its /api/v1/write and Prometheus API are used'),
  METRICS_STORE_WRITE_URL: optionalUrl('METRICS_STORE=victoriametrics: remote-write URL, instead of METRICS_STORE_URL/api/v1/write (cluster: http://vminsert:8480/insert/0/prometheus/api/v1/write)'),
  METRICS_STORE_READ_URL: optionalUrl('METRICS_STORE=victoriametrics: Prometheus API root, instead of METRICS_STORE_URL (cluster: http://vmselect:8481/select/0/prometheus)'),
  METRICS_STORE_TIMEOUT_MS: int('METRICS_STORE=victoriametrics: longest write or read of the time-series database; beyond, 503 DEPENDENCY_UNAVAILABLE', 10_000, 100),
  METRICS_RAW_QUERY_MAX_RANGE_MS: int('time ranges longer than this (with buckets of 5 min or more) are answered from rollups', 2 * 86_400_000, 60_000),
  METRICS_PARTITIONS_AHEAD_DAYS: int('daily metric partitions the cleanup job creates ahead of today', 7, 1, 90),
  ROLLUP_MAX_MARKS_PER_RUN: int('rollup marks the aggregation job reads per run (ingest writes one per pushed batch and changed 5-minute bucket and series); the rest wait for the next run', 20_000, 1),
  HTTP_COLLECTOR_BUFFER_MAX: int('requests of this service buffered between HTTP collector runs (beyond: dropped and counted)', 50_000, 1),
  CATALOGUE_MAX_SERIES: int('catalogue series /metrics holds from samples and sales of SYSTEM_TENANT_ID (other tenants stay in their own export); beyond: a new series is dropped and counted in monitoring_catalogue_series_dropped_total', 10_000, 1),
  ELASTICSEARCH_LOG_INDEX_PATTERN: Type.String({ default: 'logs-*', description: 'indices the cleanup job deletes when older than ELASTICSEARCH_LOG_RETENTION_DAYS' }),
  ELASTICSEARCH_LOG_RETENTION_DAYS: int('days of Elasticsearch log indices kept', 30, 1),
  ELASTICSEARCH_TIMEOUT_MS: int('timeout of one Elasticsearch call of the cleanup job', 10_000, 100),
  // health checks, SLA, incidents, dashboards
  SYSTEM_TENANT_ID: Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', errorMessage: 'must be a UUID', default: '00000000-0000-4000-8000-000000000001', description: 'tenant that owns platform-wide data (health checks, collectors of shared services)' }),
  HEALTH_CHECK_TIMEOUT_MS: int('timeout of one service health check', 5_000, 10),
  HEALTH_CHECK_SLOW_MS: int('a service answering slower than this is degraded', 2_000, 1),
  HEALTH_DEPENDENCY_TIMEOUT_MS: int('timeout of one dependency check (PostgreSQL, Redis, MongoDB, Elasticsearch, Kafka)', 3_000, 10),
  HEALTH_REQUIRED_DEPENDENCIES: list('dependencies whose failure makes GET /health answer 503 (others only degrade it)', 'postgresql,redis,kafka', HEALTH_DEPENDENCIES),
  HEALTH_RESULT_MAX_AGE_MS: int('the public health endpoints reuse a live check result this long', 5_000, 0),
  HEALTH_HISTORY_RETENTION_DAYS: int('days of health-check history kept', 90, 1),
  SLA_COMPUTATION_INTERVAL_MS: int('SLA computation of the previous UTC day into sla_metrics', 86_400_000, 100),
  SLA_DEFAULT_UPTIME_TARGET: Type.Transform(Type.String({ pattern: '^[0-9]{1,3}(\\.[0-9]+)?$', errorMessage: 'must be a percentage above 0 and at most 100', default: '99.9', description: 'default uptime target in percent' }))
    .Decode((raw) => {
      const value = Number(raw);
      if (value <= 0 || value > 100) throw new RangeError('must be above 0 and at most 100');
      return value;
    })
    .Encode((value) => String(value)),
  SLA_DEFAULT_RESPONSE_TIME_MS: int('default response-time p95 target in ms', 500, 1),
  SLA_TARGETS: Type.Transform(Type.String({ default: '{}', description: 'per-service targets as JSON, e.g. {"payment":{"uptime_percentage":99.95,"response_time_ms":300}}' }))
    .Decode((raw) => parseSlaTargets(raw))
    .Encode((targets) => JSON.stringify(targets)),
  INCIDENT_AUTO_OPEN_INTERVAL_MS: int('looking for long-firing critical alerts to open incidents for', 60_000, 100),
  INCIDENT_AUTO_OPEN_AFTER_MS: int('a critical alert firing this long opens an incident', 300_000, 0),
  // realtime (WebSocket) and streaming (bus adapters, consumers, stream processor)
  WS_AUTH_TIMEOUT_MS: int('a WebSocket without a token must send {"action":"auth"} within this time, else it is closed with 4401', 5_000, 10),
  WS_HEARTBEAT_INTERVAL_MS: int('WebSocket heartbeat: ping every connection, close stale ones', 30_000, 10),
  WS_STALE_TIMEOUT_MS: int('a WebSocket silent (no message, no pong) this long is closed with 4408', 60_000, 10),
  WS_MAX_BUFFERED_BYTES: int('send buffer of one WebSocket beyond which the slow client is closed with 4413', 1_048_576, 1_024),
  WS_MESSAGE_RATE_LIMIT: int('client messages per second per WebSocket (twice this closes it with 4429)', 20, 1),
  WS_MAX_SUBSCRIPTIONS: int('subscriptions per WebSocket (more are refused with a RATE_LIMITED error message)', 200, 1),
  WS_MAX_MESSAGE_BYTES: int('largest client message accepted on a WebSocket', 65_536, 256),
  WS_CLOSE_GRACE_MS: int('time a closing WebSocket gets to finish the close handshake before it is cut', 5_000, 10),
  BUS_MAX_ATTEMPTS: int('deliveries of a bus message before it is parked on <topic>.parked', 5, 1, 100),
  BUS_RETRY_DELAY_MS: int('pause before redelivering a bus message whose handler failed (times the attempt)', 200, 0),
  BUS_RETRY_QUEUE_MAX: int('messages kept in memory while the broker is unreachable (beyond: dropped and counted)', 10_000, 1),
  BUS_RETRY_INTERVAL_MS: int('first retry delay of publishes waiting for the broker (doubles up to 30 s)', 1_000, 10),
  BUS_REDIS_PARTITIONS: int('partitions per topic with BUS=redis (ordering per key, sharing in a group)', 8, 1, 256),
  BUS_REDIS_MAXLEN: int('approximate entries kept per Redis stream partition', 100_000, 100),
  BUS_CONSUMERS_ENABLED: flag('consume metrics-stream, fraud-events and alerts-stream from other services', true),
  STREAM_PROCESSOR_INTERVAL_MS: int('stream processor: close 1-minute windows, discard those older than 5 minutes', 10_000, 10),
  STREAM_HIGH_FREQUENCY_THRESHOLD: int('samples of one metric in one minute above which a pattern alert is raised', 100, 1),
  STREAM_FRAUD_SPIKE_THRESHOLD: int('fraud events in one minute above which a pattern alert is raised', 5, 1),
  // alerts
  ALERT_ESCALATION_INTERVAL_MS: int('alert escalation steps', 30_000, 100),
  NOTIFICATION_MAX_ATTEMPTS: int('delivery attempts before a notification is dead-lettered', 10, 1, 100),
  NOTIFICATION_BACKOFF_BASE_MS: int('first retry delay of a failed notification (doubles each attempt, with jitter)', 5_000, 1),
  NOTIFICATION_BACKOFF_MAX_MS: int('longest retry delay of a failed notification', 3_600_000, 1),
  NOTIFICATION_TIMEOUT_MS: int('timeout of one delivery attempt', 10_000, 100),
  ALERT_EXTERNAL_URL: Type.String({ default: 'http://localhost:3017', description: 'base URL of this service in notifications (externalURL, generatorURL)' }),
  RECEIVER_ALLOW_PRIVATE_NETWORKS: flag("let tenants' webhook and Slack incoming-webhook URLs reach loopback, private and link-local addresses (off: such a delivery is dead-lettered with the reason; the platform tenant is never restricted)", false),
  RECEIVER_SECRETS_KEY: Type.Optional(
    Type.String({ pattern: RECEIVER_KEY, errorMessage: 'must be 32 bytes in base64 (openssl rand -base64 32)', description: "encrypts the secrets of tenants' notification receivers: 32 random bytes in base64 (openssl rand -base64 32); required in production, generated under DATA_DIR otherwise" }),
  ),
  RECEIVER_SECRETS_KEY_PREVIOUS: Type.Transform(Type.String({ default: '', description: 'earlier RECEIVER_SECRETS_KEY values, comma separated, still accepted for decryption; while set, each start re-encrypts their secrets with RECEIVER_SECRETS_KEY' }))
    .Decode((raw) => {
      const keys = raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
      if (!keys.every((key) => new RegExp(RECEIVER_KEY).test(key))) throw new RangeError('each key must be 32 bytes in base64');
      return keys;
    })
    .Encode((keys) => keys.join(',')),
  // clients, business and blockchain collectors, reports
  SERVICE_CLIENT_TIMEOUT_MS: int('timeout of one outbound call to a platform service', 5_000, 50),
  SERVICE_CLIENT_RETRIES: int('extra attempts for idempotent outbound calls', 2, 0, 10),
  SERVICE_CLIENT_BACKOFF_MS: int('first retry delay (doubles each attempt, jittered)', 200, 1),
  SERVICE_CLIENT_BREAKER_THRESHOLD: int('consecutive failures that open a service circuit', 5, 1),
  SERVICE_CLIENT_BREAKER_OPEN_MS: int('how long an open circuit refuses calls before a trial', 30_000, 100),
  EVENT_CACHE_TTL_MS: int('how long event lookups are cached', 60_000, 0),
  BUSINESS_COLLECTOR_INTERVAL_MS: int('business collector (venues, events, tickets, revenue)', 300_000, 100),
  BUSINESS_COLLECTOR_TENANTS: list('tenant ids the business collector reads the platform services for; empty = SYSTEM_TENANT_ID'),
  BLOCKCHAIN_COLLECTOR_INTERVAL_MS: int('blockchain collector (Solana RPC, NFT transfers, IPFS)', 30_000, 100),
  SOLANA_RPC_TIMEOUT_MS: int('timeout of one Solana JSON-RPC call', 5_000, 50),
  SOLANA_MINT_WALLETS: list('base58 addresses of the minting wallet(s) whose balance is watched'),
  NFT_TRANSFER_EXPIRY_MS: int('a transfer the chain still does not know after this long is marked failed', 300_000, 1_000),
  IPFS_GATEWAY_URL: optionalUrl('IPFS HTTP gateway probed for latency (e.g. https://ipfs.io)'),
  IPFS_PROBE_CID: optional('CID fetched from IPFS_GATEWAY_URL to measure latency'),
  REPORT_GENERATION_INTERVAL_MS: int('how often due scheduled reports are looked for', 60_000, 100),
  REPORT_MAX_ROWS: int('largest number of rows in one generated report', 100_000, 1),
  // analytics and ML: anomaly detection, fraud
  ANOMALY_DETECTION_ENABLED: flag('score every committed sample for anomalies (robust detector + trained autoencoders)', true),
  ANOMALY_ALERT_SCORE: Type.Transform(Type.String({ pattern: '^(0(\\.[0-9]+)?|1(\\.0+)?)$', errorMessage: 'must be a number from 0 to 1', default: '0.55', description: 'anomaly score in [0,1] from which a sample is stored as an anomaly and alerted' }))
    .Decode((raw) => Number(raw))
    .Encode((value) => String(value)),
  ANOMALY_WARMUP_ROWS: int('past samples a series reads from the database when first scored', 2_000, 0, 100_000),
  ANOMALY_MAX_SERIES: int('series whose detector state is kept in memory (least recently seen forgotten)', 10_000, 1),
  ANOMALY_QUEUE_MAX: int('samples waiting for anomaly scoring beyond which batches are skipped (counted in GET /status, anomaly_scoring.dropped)', 50_000, 1),
  ANOMALY_TRAINING_INTERVAL_MS: int('retraining of the autoencoders of the busiest series', 21_600_000, 100),
  ANOMALY_TRAINING_DAYS: int('days of history an autoencoder is trained on', 7, 1, 90),
  ANOMALY_TRAINING_MIN_SAMPLES: int('samples a series needs in the training period to get an autoencoder', 200, 11),
  ANOMALY_TRAINING_MAX_SERIES: int('series (across tenants) trained per training run', 20, 1),
  ANOMALY_TRAINING_MAX_WINDOWS: int('newest windows of 10 used to train one autoencoder', 10_000, 10),
  ANOMALY_TRAINING_EPOCHS: int('autoencoder training epochs', 50, 1, 10_000),
  ANOMALY_TRAINING_BATCH_SIZE: int('autoencoder training batch size', 32, 1, 65_536),
  FRAUD_VPN_CIDRS: list('IPv4/IPv6 CIDRs of VPN providers (a check from one adds the vpn indicator)'),
  FRAUD_DATACENTER_CIDRS: list('IPv4/IPv6 CIDRs of hosting/datacenter ranges (a check from one adds the datacenter indicator)'),
  FRAUD_STORE_SCORE: int('risk score (0-100) from which a check is stored in fraud_events, published and alerted', 50, 0, 100),
  FRAUD_MODEL_WEIGHT_PERCENT: int('share of the trained network in the risk score once a model exists (the rest is the rule score)', 40, 0, 100),
  FRAUD_DEDUP_WINDOW_MS: int('fraud events of one user and pattern within this window are one event', 60_000, 1),
  FRAUD_TRAINING_INTERVAL_MS: int('retraining of each tenant fraud network on its investigated events', 3_600_000, 100),
  FRAUD_TRAINING_MIN_EVENTS: int('investigated events (with both outcomes present) a tenant needs for a fraud network', 20, 2),
  FRAUD_TRAINING_EPOCHS: int('fraud network training epochs', 60, 1, 10_000),
  SALES_TRACKING_INTERVAL_MS: int('sales tracking of events with recent sales (metrics and sellout alerts)', 30_000, 100),
  SALES_SELLOUT_ALERT_WITHIN_MS: int('an event predicted to sell out within this time raises a sellout alert', 3_600_000, 1),
  SELLOUT_BUCKET_MS: int('step of the LSTM sellout model: it reads tickets sold per step', 3_600_000, 60_000),
  SELLOUT_STEPS: int('steps of sales history the LSTM sellout model reads', 24, 2, 1_000),
  SELLOUT_TRAINING_INTERVAL_MS: int('retraining of each tenant LSTM sellout model when it has newer sales', 21_600_000, 100),
  SELLOUT_TRAINING_MIN_EVENTS: int('sold-out events a tenant needs for an LSTM sellout model (the newest fifth is held out for the backtest)', 5, 2),
  SELLOUT_TRAINING_MAX_EVENTS: int('most recently selling events read per training', 100, 2),
  SELLOUT_TRAINING_MAX_CUTS_PER_EVENT: int('training sequences per event at most (cut points evenly spread up to its sellout)', 60, 1),
  SELLOUT_TRAINING_LOOKBACK_DAYS: int('sales history the sellout model learns from', 180, 1),
  SELLOUT_TRAINING_EPOCHS: int('LSTM sellout model training epochs', 20, 1, 10_000),
  FORECAST_LATENCY_TARGET_MS: int('p95 response time target of the failure-risk latency factor (0 at half of it, full at 1.5 times it)', 1_000, 1),
  FAILURE_RISK_WINDOW_MS: int('recent metrics window the failure-risk score reads', 900_000, 1_000),
  ML_ANALYSIS_BUCKET_MS: int('bucket of the ml-analysis payment failure rates and p95 latencies (the newest bucket is scored)', 300_000, 1_000),
  ML_ANALYSIS_LOOKBACK_MS: int('history the ml-analysis job reads per run (buckets before the newest are its baseline)', 86_400_000, 60_000),
  ML_ANALYSIS_RETENTION_DAYS: int('days ml_analysis_results rows are kept', 30, 1),
  // tenant limits: answered with 429 RATE_LIMITED and Retry-After; usage in GET /api/v1/monitoring/limits and /metrics
  LIMIT_REQUEST_WINDOW_MS: int('window of the request-rate limits (LIMIT_REQUESTS_PER_TENANT, LIMIT_REQUESTS_PER_IP); short, so a burst is cut within a second instead of spending a minute of quota at once', 1_000, 100),
  LIMIT_REQUESTS_PER_TENANT: int('requests of one tenant (users and signed services together) per window; shared across instances through Redis when REDIS_URL is set', 50, 1),
  LIMIT_REQUESTS_PER_IP: int('requests from one client IP (IPv6: its /64) per window, authenticated or not; probes and /metrics from PROMETHEUS_ALLOWED_IPS are exempt', 200, 1),
  LIMIT_CONCURRENT_REQUESTS_PER_TENANT: int("requests of one tenant processed at once by an instance; the others wait their turn, so a burst never holds the event loop (and the embedded database) from other tenants for longer than this many requests", 4, 1, 1_000),
  LIMIT_QUEUED_REQUESTS_PER_TENANT: int('requests of one tenant waiting for their turn on an instance; beyond: 429 RATE_LIMITED', 200, 0, 100_000),
  LIMIT_RATE_REFUSAL_DELAY_MS: int('how long a request-rate or ingest-limit refusal (429: requests, samples per second, active series) is held before it is sent, holding one of the tenant turns, so a client that retries at once is slowed down instead of taking the CPU other tenants wait for', 1_000, 0, 10_000),
  LIMIT_SAMPLES_PER_SECOND: int('samples per second one tenant may push (HTTP and metrics-stream): the refill rate of its token bucket', 5_000, 1),
  LIMIT_SAMPLES_BURST: int('samples one tenant may push at once: the size of its token bucket (at least INGEST_MAX_BATCH)', 50_000, 1),
  LIMIT_ACTIVE_SERIES: int('active series (seen within LIMIT_SERIES_ACTIVE_WINDOW_MS) per tenant; a batch that would create more is refused whole', 20_000, 1),
  LIMIT_SERIES_PER_METRIC: int('active series per metric name of one tenant', 5_000, 1),
  LIMIT_SERIES_ACTIVE_WINDOW_MS: int('a series not written for this long stops counting toward the series limits', 3_600_000, 60_000),
  LIMIT_SERIES_TRACKED_TENANTS: int('tenants whose active series an instance keeps in memory (least recently pushing forgotten, re-read from the database on their next push)', 200, 1),
  LIMIT_RULES: int('alert rules per tenant (the five defaults count)', 500, 1),
  LIMIT_SILENCES: int('pending and active silences per tenant (expired ones do not count)', 1_000, 1),
  LIMIT_DASHBOARDS: int('custom dashboards per tenant', 500, 1),
  LIMIT_API_KEYS: int('API keys per tenant that are neither revoked nor expired', 100, 1),
  LIMIT_WS_CONNECTIONS_PER_TENANT: int('authenticated WebSockets of one tenant on one instance (beyond: closed with 4429)', 500, 1),
  LIMIT_WS_CONNECTIONS_PER_PRINCIPAL: int('authenticated WebSockets of one user (token subject) on one instance (beyond: closed with 4429)', 20, 1),
  LIMIT_METRICS_TENANTS: int('tenants whose limits and usage /metrics shows (the most recently seen; bounds the label cardinality)', 1_000, 1),
});

export type Config = Readonly<StaticDecode<typeof ConfigSchema>>;
export type Environment = Record<string, string | undefined>;

const DEV_PLACEHOLDER_SECRETS = new Set(['changeme', 'secret', 'dev', 'development', 'test']);

/**
 * The variables of a `.env` file in `directory` under those of `env`: a variable set in the
 * environment (even to an empty value) wins over the file. No file, no change.
 */
export function withEnvFile(env: Environment, directory: string): Environment {
  let text: string;
  try {
    text = readFileSync(join(directory, '.env'), 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return env;
    throw error;
  }
  const merged: Environment = { ...parseEnv(text) };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return merged;
}

/** Validates the environment once; throws a ConfigError naming every bad variable at once. */
export function loadConfig(env: Environment): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  if (raw['HOST'] === undefined && raw['NODE_ENV'] === 'production') raw['HOST'] = ALL_INTERFACES_HOST;

  const withDefaults: Record<string, unknown> = Value.Default(ConfigSchema, { ...raw }) as Record<string, unknown>;
  const bad = new Map<string, string>();
  for (const [variable, schema] of Object.entries(ConfigSchema.properties) as Array<[string, TSchema]>) {
    const problem = variableProblem(schema, withDefaults[variable]);
    if (problem !== undefined) bad.set(variable, `${variable}: ${problem} (got ${JSON.stringify(raw[variable] ?? null)})`);
  }
  // The checks across variables run with each bad variable back at its default, so one start
  // reports every mistake; a check that involves a bad variable says nothing more about it.
  const usable = { ...raw };
  for (const variable of bad.keys()) delete usable[variable];
  const config = Value.Decode(ConfigSchema, Value.Default(ConfigSchema, usable));
  const crossProblems = crossVariableProblems(config)
    .filter((check) => !check.involves.some((variable) => bad.has(variable)))
    .map((check) => check.problem);
  const problems = [...bad.values(), ...crossProblems];
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** What is wrong with one variable's value, in words that name the allowed values; undefined when it is fine. */
function variableProblem(schema: TSchema, value: unknown): string | undefined {
  if (value === undefined) return undefined; // an optional variable left unset
  const error = Value.Errors(schema, value).First();
  if (error !== undefined) return describeSchemaError(error);
  try {
    Value.Decode(schema, value);
    return undefined;
  } catch (decodeError) {
    if (decodeError instanceof Error) return decodeError.cause instanceof Error ? decodeError.cause.message : decodeError.message;
    return String(decodeError);
  }
}

function describeSchemaError(error: ValueError): string {
  const choices: unknown = error.schema.anyOf;
  if (Array.isArray(choices)) {
    const allowed = choices.map((choice: unknown) => (typeof choice === 'object' && choice !== null && 'const' in choice ? String(choice.const) : '?'));
    return `must be one of ${allowed.join(', ')}`;
  }
  const explained: unknown = error.schema['errorMessage'];
  return typeof explained === 'string' ? explained : error.message;
}

interface CrossVariableProblem {
  /** The variables the check reads: a problem already reported for one of them makes this one moot. */
  involves: string[];
  problem: string;
}

function crossVariableProblems(config: Config): CrossVariableProblem[] {
  const problems: CrossVariableProblem[] = [];
  if (config.LIMIT_SAMPLES_BURST < config.INGEST_MAX_BATCH) {
    // A batch larger than the bucket could never be accepted, however long the sender waits.
    problems.push({
      involves: ['LIMIT_SAMPLES_BURST', 'INGEST_MAX_BATCH'],
      problem: `LIMIT_SAMPLES_BURST: must be at least INGEST_MAX_BATCH (${config.INGEST_MAX_BATCH}) (got ${JSON.stringify(String(config.LIMIT_SAMPLES_BURST))})`,
    });
  }
  if (config.BUS === 'redis' && config.REDIS_URL === undefined) problems.push({ involves: ['BUS', 'REDIS_URL'], problem: 'BUS: BUS=redis needs REDIS_URL' });
  if (config.METRICS_STORE === 'victoriametrics' && config.METRICS_STORE_URL === undefined && (config.METRICS_STORE_WRITE_URL === undefined || config.METRICS_STORE_READ_URL === undefined)) {
    problems.push({ involves: ['METRICS_STORE', 'METRICS_STORE_URL', 'METRICS_STORE_WRITE_URL', 'METRICS_STORE_READ_URL'], problem: 'METRICS_STORE: METRICS_STORE=victoriametrics needs METRICS_STORE_URL (or both METRICS_STORE_WRITE_URL and METRICS_STORE_READ_URL)' });
  }
  if (config.BUS === 'kafka' && config.KAFKA_BROKERS.length === 0) problems.push({ involves: ['BUS', 'KAFKA_BROKERS'], problem: 'BUS: BUS=kafka needs KAFKA_BROKERS' });
  if (config.NODE_ENV === 'production') {
    const involves = ['NODE_ENV', 'JWT_SECRET', 'JWT_PUBLIC_KEY', 'USE_NEW_HMAC', 'INTERNAL_HMAC_SECRET', 'RECEIVER_SECRETS_KEY'];
    problems.push(...productionSecretProblems(config).map((problem) => ({ involves, problem })));
  }
  return problems;
}

function productionSecretProblems(config: Config): string[] {
  const problems: string[] = [];
  const weak = (value: string | undefined) => value === undefined || value.length < 32 || DEV_PLACEHOLDER_SECRETS.has(value.toLowerCase());
  if (config.JWT_PUBLIC_KEY === undefined && weak(config.JWT_SECRET)) {
    problems.push('JWT_SECRET: production needs JWT_SECRET (32+ characters, not a placeholder) or JWT_PUBLIC_KEY');
  }
  if (config.USE_NEW_HMAC && weak(config.INTERNAL_HMAC_SECRET)) {
    problems.push('INTERNAL_HMAC_SECRET: production needs a real secret of 32+ characters');
  }
  if (config.RECEIVER_SECRETS_KEY === undefined) {
    problems.push('RECEIVER_SECRETS_KEY: production needs a key to encrypt notification receiver secrets (openssl rand -base64 32)');
  }
  return problems;
}

/** Platform services that may be health-checked or called, keyed by the short name used in the API. */
export const PLATFORM_SERVICES = {
  auth: 'AUTH_SERVICE_URL',
  venue: 'VENUE_SERVICE_URL',
  event: 'EVENT_SERVICE_URL',
  ticket: 'TICKET_SERVICE_URL',
  payment: 'PAYMENT_SERVICE_URL',
  marketplace: 'MARKETPLACE_SERVICE_URL',
  analytics: 'ANALYTICS_SERVICE_URL',
  'api-gateway': 'API_GATEWAY_SERVICE_URL',
} as const satisfies Record<string, keyof Config>;

export type PlatformService = keyof typeof PLATFORM_SERVICES;

export function configuredServices(config: Config): Array<{ name: PlatformService; url: string }> {
  return (Object.entries(PLATFORM_SERVICES) as Array<[PlatformService, keyof Config]>).flatMap(([name, key]) => {
    const url = config[key];
    return typeof url === 'string' ? [{ name, url }] : [];
  });
}

export interface SlaTarget {
  uptime_percentage?: number;
  response_time_ms?: number;
}

/** SLA_TARGETS: `{"<service>": {"uptime_percentage"?: 0-100, "response_time_ms"?: >0}}`. */
export function parseSlaTargets(raw: string): Record<string, SlaTarget> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SyntaxError('must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('must be a JSON object keyed by service');
  const targets: Record<string, SlaTarget> = {};
  for (const [service, value] of Object.entries(parsed)) {
    if (typeof value !== 'object' || value === null) throw new TypeError(`${service}: must be an object`);
    const { uptime_percentage: uptime, response_time_ms: responseTime, ...rest } = value as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new TypeError(`${service}: unknown keys ${Object.keys(rest).join(', ')}`);
    if (uptime !== undefined && (typeof uptime !== 'number' || uptime <= 0 || uptime > 100)) throw new RangeError(`${service}.uptime_percentage must be above 0 and at most 100`);
    if (responseTime !== undefined && (typeof responseTime !== 'number' || responseTime <= 0)) throw new RangeError(`${service}.response_time_ms must be a positive number`);
    targets[service] = { ...(uptime === undefined ? {} : { uptime_percentage: uptime }), ...(responseTime === undefined ? {} : { response_time_ms: responseTime }) };
  }
  return targets;
}

export function busKind(config: Config): 'memory' | 'redis' | 'kafka' {
  if (config.BUS !== undefined) return config.BUS;
  return config.KAFKA_BROKERS.length > 0 ? 'kafka' : 'memory';
}

/** Every variable with its default and description, for docs and `.env.example`. */
export function describeConfig(): Array<{ name: string; default: string | undefined; description: string | undefined }> {
  return Object.entries(ConfigSchema.properties).map(([name, schema]: [string, TSchema]) => ({
    name,
    default: typeof schema.default === 'string' ? schema.default : undefined,
    description: typeof schema.description === 'string' ? schema.description : undefined,
  }));
}
