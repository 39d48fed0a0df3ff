/** Which server adapters this run can use; unset = embedded only. */
export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'];
export const TEST_REDIS_URL = process.env['TEST_REDIS_URL'];
export const TEST_KAFKA_BROKERS = process.env['TEST_KAFKA_BROKERS'];

export const TEST_JWT_SECRET = 'test-jwt-secret-that-is-long-enough-0123456789';
export const TEST_HMAC_SECRET = 'test-hmac-secret-that-is-long-enough-0123456789';

/** The same database, logged in as the runtime role the migrations create (trust auth on the test server). */
export function runtimeUrl(ownerUrl: string): string {
  const url = new URL(ownerUrl);
  url.username = 'monitoring_runtime';
  url.password = '';
  return url.toString();
}

/** Environment for a test instance: embedded adapters unless TEST_* URLs are set. */
export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: 'memory://',
    REPORTS_DIR: `/tmp/monitoring-reports-${process.pid}`,
    JWT_SECRET: TEST_JWT_SECRET,
    INTERNAL_HMAC_SECRET: TEST_HMAC_SECRET,
    // As in production: the service runs as the runtime login role, migrations as the owner.
    DATABASE_URL: TEST_DATABASE_URL === undefined ? undefined : runtimeUrl(TEST_DATABASE_URL),
    MIGRATION_DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    // Test files run in parallel on one Redis: each worker process gets its own cache keys, so one
    // file's DELETE /cache/flush cannot empty another's cache. Apps of one file share them.
    CACHE_NAMESPACE: `monitoring-test-${process.pid}:`,
    // The receivers of tests are local servers; test/alerts/receiver-destinations.test.ts turns this off.
    RECEIVER_ALLOW_PRIVATE_NETWORKS: 'true',
    // Refusals answer at once in tests; test/platform/rate-refusal-delay.test.ts checks the delay.
    LIMIT_RATE_REFUSAL_DELAY_MS: '0',
    // Test files drive one tenant hard from one address; the limits' own tests set their values.
    LIMIT_REQUESTS_PER_TENANT: '100000',
    LIMIT_REQUESTS_PER_IP: '100000',
    ...overrides,
  };
}
