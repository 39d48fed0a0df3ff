import { Type, type StaticDecode, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './errors.js';

/**
 * The whole configuration, keyed by the environment variable that sets it.
 * The type is derived from this one schema; nothing else reads process.env.
 */
const list = (description: string, defaultValue = '') =>
  Type.Transform(Type.String({ default: defaultValue, description }))
    .Decode((raw) => raw.split(',').map((item) => item.trim()).filter((item) => item.length > 0))
    .Encode((items) => items.join(','));

const flag = (description: string, defaultValue: boolean) =>
  Type.Transform(Type.Union([Type.Literal('true'), Type.Literal('false'), Type.Literal('1'), Type.Literal('0')], { default: String(defaultValue), description }))
    .Decode((raw) => raw === 'true' || raw === '1')
    .Encode((value) => (value ? 'true' : 'false'));

const int = (description: string, defaultValue: number, minimum = 0, maximum = Number.MAX_SAFE_INTEGER) =>
  Type.Transform(Type.String({ pattern: '^[0-9]+$', default: String(defaultValue), description }))
    .Decode((raw) => {
      const value = Number(raw);
      if (value < minimum || value > maximum) throw new RangeError(`must be between ${minimum} and ${maximum}`);
      return value;
    })
    .Encode((value) => String(value));

const optional = (description: string) => Type.Optional(Type.String({ minLength: 1, description }));
const optionalUrl = (description: string) => Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9+.-]*://', description }));

export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], { default: 'development' }),
  PORT: int('HTTP port', 3017, 0, 65535),
  HOST: Type.String({ default: '0.0.0.0', description: 'HTTP bind address' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)), { default: 'info' }),
  TRUST_PROXY: flag('trust X-Forwarded-For (only behind a proxy you control)', false),
  BODY_LIMIT_BYTES: int('largest accepted request body', 5 * 1024 * 1024, 1024),
  SHUTDOWN_TIMEOUT_MS: int('longest graceful shutdown before exit', 10_000, 100),

  DATA_DIR: Type.String({ default: './data', description: 'embedded database and generated dev secrets' }),
  DATABASE_URL: optionalUrl('PostgreSQL connection string; unset = embedded PGlite'),
  DATABASE_POOL_MAX: int('PostgreSQL pool size', 10, 1, 1000),
  REDIS_URL: optionalUrl('Redis connection string; unset = in-memory cache'),
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
  METRICS_BASIC_AUTH: Type.Optional(Type.String({ pattern: '^[^:]+:.+$', description: 'user:password for /metrics' })),

  SMTP_HOST: optional('SMTP server for e-mail notifications'),
  SMTP_PORT: int('SMTP port', 587, 1, 65535),
  SMTP_USER: optional('SMTP user'),
  SMTP_PASS: optional('SMTP password'),
  SMTP_SECURE: flag('use TLS from the start (port 465)', false),
  ALERT_EMAIL_FROM: Type.String({ default: 'monitoring@localhost', description: 'From address of alert e-mails' }),
  ALERT_EMAIL_TO: list('recipients of alert e-mails'),
  SLACK_TOKEN: optional('Slack bot token'),
  SLACK_CHANNEL: optional('Slack channel id'),
  SLACK_API_URL: optionalUrl('Slack Web API base URL'),
  PAGERDUTY_ROUTING_KEY: optional('PagerDuty Events API v2 routing key'),
  PAGERDUTY_EVENTS_URL: Type.String({ default: 'https://events.pagerduty.com/v2/enqueue', description: 'PagerDuty Events API v2 URL' }),
  WEBHOOK_URL: optionalUrl('generic webhook receiver (Alertmanager v4 payload)'),
  WEBHOOK_SECRET: optional('HMAC secret for the webhook signature header; defaults to INTERNAL_HMAC_SECRET'),

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
  ALERT_RETENTION_DAYS: int('days of resolved alerts kept', 90, 1),
  FRAUD_RETENTION_DAYS: int('days investigated fraud events are kept', 365, 1),
  INGEST_MAX_BATCH: int('largest batch accepted by POST /metrics', 10_000, 1),

  ALERT_EVALUATION_INTERVAL_MS: int('alert rule evaluation', 60_000, 100),
  HEALTH_CHECK_INTERVAL_MS: int('service health checks', 30_000, 100),
  METRIC_AGGREGATION_INTERVAL_MS: int('rollups', 300_000, 100),
  COLLECTOR_INTERVAL_MS: int('system collectors', 60_000, 100),
  ML_ANALYSIS_INTERVAL_MS: int('ML analysis', 600_000, 100),
  CLEANUP_INTERVAL_MS: int('retention cleanup (runs daily at CLEANUP_HOUR_UTC when 86400000)', 86_400_000, 100),
  CLEANUP_HOUR_UTC: int('hour of the daily cleanup', 2, 0, 23),
  NOTIFICATION_INTERVAL_MS: int('notification outbox delivery', 5_000, 50),
  // --- domain settings: each domain adds its variables in its own block below ---
  // alerts
  ALERT_ESCALATION_INTERVAL_MS: int('alert escalation steps', 30_000, 100),
  NOTIFICATION_MAX_ATTEMPTS: int('delivery attempts before a notification is dead-lettered', 10, 1, 100),
  NOTIFICATION_BACKOFF_BASE_MS: int('first retry delay of a failed notification (doubles each attempt, with jitter)', 5_000, 1),
  NOTIFICATION_BACKOFF_MAX_MS: int('longest retry delay of a failed notification', 3_600_000, 1),
  NOTIFICATION_TIMEOUT_MS: int('timeout of one delivery attempt', 10_000, 100),
  ALERT_EXTERNAL_URL: Type.String({ default: 'http://localhost:3017', description: 'base URL of this service in notifications (externalURL, generatorURL)' }),
  // clients, business and blockchain collectors, reports (issue 8)
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
});

export type Config = Readonly<StaticDecode<typeof ConfigSchema>>;
export type Environment = Record<string, string | undefined>;

const DEV_PLACEHOLDER_SECRETS = new Set(['changeme', 'secret', 'dev', 'development', 'test']);

/** Validates the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Environment): Config {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(ConfigSchema, raw);
  const problems = [...Value.Errors(ConfigSchema, withDefaults)].map((error) => {
    const variable = error.path.replace(/^\//, '');
    return `${variable}: ${error.message} (got ${JSON.stringify(raw[variable] ?? null)})`;
  });
  if (problems.length > 0) throw new ConfigError(problems);
  let config: Config;
  try {
    config = Value.Decode(ConfigSchema, withDefaults);
  } catch (error) {
    throw new ConfigError([describeDecodeError(error, raw)]);
  }
  if (config.NODE_ENV === 'production') assertProductionSecrets(config);
  return Object.freeze(config);
}

function describeDecodeError(error: unknown, raw: Record<string, string>): string {
  if (error instanceof Error && 'path' in error && typeof error.path === 'string') {
    const variable = error.path.replace(/^\//, '');
    const reason = error.cause instanceof Error ? error.cause.message : error.message;
    return `${variable}: ${reason} (got ${JSON.stringify(raw[variable] ?? null)})`;
  }
  return error instanceof Error ? error.message : String(error);
}

function assertProductionSecrets(config: Config): void {
  const problems: string[] = [];
  const weak = (value: string | undefined) => value === undefined || value.length < 32 || DEV_PLACEHOLDER_SECRETS.has(value.toLowerCase());
  if (config.JWT_PUBLIC_KEY === undefined && weak(config.JWT_SECRET)) {
    problems.push('JWT_SECRET: production needs JWT_SECRET (32+ characters, not a placeholder) or JWT_PUBLIC_KEY');
  }
  if (config.USE_NEW_HMAC && weak(config.INTERNAL_HMAC_SECRET)) {
    problems.push('INTERNAL_HMAC_SECRET: production needs a real secret of 32+ characters');
  }
  if (problems.length > 0) throw new ConfigError(problems);
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
