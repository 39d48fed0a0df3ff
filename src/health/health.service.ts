import type { Logger } from 'pino';
import type { Signer } from '../auth/index.js';
import { configuredServices, PLATFORM_SERVICES, type Config } from '../config.js';
import { NotConfiguredError, NotFoundError } from '../errors.js';
import type { Ingest } from '../metrics/ingest.js';
import type { SampleInput } from '../metrics/sample.js';
import type { Cache } from '../platform/cache/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { worst, type CheckResult, type CheckStatus } from './check-result.js';
import { kafkaChecker, postgresChecker, redisChecker, runDependencyCheck, type DependencyChecker } from './dependency.checkers.js';
import { elasticsearchChecker } from './elasticsearch.checker.js';
import { deleteOlderThan, insertResults, latestResults } from './health-history.repository.js';
import { mongodbChecker } from './mongodb.checker.js';
import { checkService } from './service.checker.js';

export type DependencyResult = CheckResult & { required: boolean };

export interface ServicesSummary {
  total: number;
  healthy: number;
  degraded: number;
  unhealthy: number;
  last_checked_at: string | null;
}

export interface OverallHealth {
  status: CheckStatus;
  dependencies: DependencyResult[];
  /** From the last health-check cycle (any instance); null before the first cycle. */
  services: ServicesSummary | null;
}

export interface HealthServiceDeps {
  config: Config;
  db: Db;
  cache: Cache;
  signer: Signer;
  clock: Clock;
  logger: Logger;
  ingest: Ingest;
}

/** Required dependencies decide `unhealthy`; any other failing dependency only degrades. */
export function dependencyStatus(dependencies: readonly DependencyResult[]): CheckStatus {
  return worst(dependencies.map((result) => (result.required || result.status !== 'unhealthy' ? result.status : 'degraded')));
}

/** Reuses a result for `maxAgeMs` and lets concurrent callers share one run (a public endpoint must not fan out). */
function shared<T>(maxAgeMs: number, load: () => Promise<T>): { get(): Promise<T>; set(value: T): void } {
  let inFlight: Promise<T> | undefined;
  let last: { value: T; at: number } | undefined;
  return {
    get() {
      if (last !== undefined && maxAgeMs > 0 && performance.now() - last.at <= maxAgeMs) return Promise.resolve(last.value);
      inFlight ??= load()
        .then((value) => {
          last = { value, at: performance.now() };
          return value;
        })
        .finally(() => {
          inFlight = undefined;
        });
      return inFlight;
    },
    set(value) {
      last = { value, at: performance.now() };
    },
  };
}

export function createHealthService(deps: HealthServiceDeps) {
  const { config, clock } = deps;
  const now = () => clock.now();
  const tenantId = config.SYSTEM_TENANT_ID;
  const timeoutMs = config.HEALTH_DEPENDENCY_TIMEOUT_MS;
  const required = new Set(config.HEALTH_REQUIRED_DEPENDENCIES);

  const checkers: DependencyChecker[] = [postgresChecker(deps.db)];
  if (deps.cache.kind === 'redis') checkers.push(redisChecker(deps.cache));
  if (config.MONGODB_URL !== undefined) checkers.push(mongodbChecker(config.MONGODB_URL, timeoutMs));
  if (config.ELASTICSEARCH_URL !== undefined) checkers.push(elasticsearchChecker(config.ELASTICSEARCH_URL, timeoutMs));
  if (config.KAFKA_BROKERS.length > 0) checkers.push(kafkaChecker(config.KAFKA_BROKERS, timeoutMs));

  const services = configuredServices(config);
  const serviceOptions = { signer: deps.signer, tenantId, timeoutMs: config.HEALTH_CHECK_TIMEOUT_MS, slowMs: config.HEALTH_CHECK_SLOW_MS, now };

  const checkDependencies = async (): Promise<DependencyResult[]> =>
    (await Promise.all(checkers.map((checker) => runDependencyCheck(checker, timeoutMs, now)))).map((result) => ({ ...result, required: required.has(result.name) }));
  const checkServices = (): Promise<CheckResult[]> => Promise.all(services.map((service) => checkService(service, serviceOptions)));

  const dependencyResults = shared(config.HEALTH_RESULT_MAX_AGE_MS, checkDependencies);
  const serviceResults = shared(config.HEALTH_RESULT_MAX_AGE_MS, checkServices);
  const singleService = new Map<string, ReturnType<typeof shared<CheckResult>>>();

  /** Latest stored service results, so every instance answers from the cluster's last cycle. */
  const latestServices = (): Promise<CheckResult[]> => {
    const until = clock.now();
    const since = new Date(until.getTime() - 3 * config.HEALTH_CHECK_INTERVAL_MS);
    return deps.db.withTenant(tenantId, (tx) => latestResults(tx, tenantId, 'service', since, until));
  };

  const servicesSummary = async (): Promise<ServicesSummary | null> => {
    const latest = await latestServices();
    if (latest.length === 0) return null;
    const count = (status: CheckStatus) => latest.filter((result) => result.status === status).length;
    const lastChecked = latest.map((result) => result.checked_at).sort().at(-1) ?? null;
    return { total: latest.length, healthy: count('healthy'), degraded: count('degraded'), unhealthy: count('unhealthy'), last_checked_at: lastChecked };
  };

  const toSamples = (results: readonly CheckResult[]): SampleInput[] =>
    results.flatMap((result) => {
      const prefix = result.kind === 'service' ? 'service' : 'dependency';
      const timestamp = result.checked_at;
      const up: SampleInput = { name: `${prefix}_up`, service: result.name, value: result.status === 'unhealthy' ? 0 : 1, timestamp };
      if (result.latency_ms === null) return [up];
      const latencyName = result.kind === 'service' ? 'service_response_time_ms' : 'dependency_latency_ms';
      return [up, { name: latencyName, service: result.name, value: result.latency_ms, timestamp }];
    });

  return {
    serviceNames: () => services.map((service) => service.name),

    dependencies: () => dependencyResults.get(),
    /** Newest stored result of each service from recent cycles (what dashboards show). */
    latestServices,
    services: () => serviceResults.get(),

    /** Live check of one platform service; 404 for unknown names, 503 NOT_CONFIGURED without its URL. */
    async service(name: string): Promise<CheckResult> {
      if (!Object.hasOwn(PLATFORM_SERVICES, name)) throw new NotFoundError('Service', name);
      const target = services.find((service) => service.name === name);
      if (target === undefined) throw new NotConfiguredError(`Health check of ${name}`, PLATFORM_SERVICES[name as keyof typeof PLATFORM_SERVICES]);
      let entry = singleService.get(name);
      if (entry === undefined) {
        entry = shared(config.HEALTH_RESULT_MAX_AGE_MS, () => checkService(target, serviceOptions));
        singleService.set(name, entry);
      }
      return entry.get();
    },

    /** Required dependencies decide 503; anything else that is wrong only degrades. */
    async overall(): Promise<OverallHealth> {
      const dependencies = await dependencyResults.get();
      const summary = await servicesSummary().catch((error: unknown) => {
        deps.logger.warn({ err: error }, 'health summary unavailable');
        return null;
      });
      const servicesStatus: CheckStatus = summary !== null && summary.healthy < summary.total ? 'degraded' : 'healthy';
      return { status: worst([dependencyStatus(dependencies), servicesStatus]), dependencies, services: summary };
    },

    /** One cycle of the health-check job: check everything, keep the history, feed the pipeline. */
    async runCycle(): Promise<CheckResult[]> {
      const [dependencyList, serviceList] = await Promise.all([checkDependencies(), checkServices()]);
      dependencyResults.set(dependencyList);
      serviceResults.set(serviceList);
      const results: CheckResult[] = [...serviceList, ...dependencyList.map(({ required: _required, ...result }) => result)];
      const retentionStart = new Date(clock.nowMs() - config.HEALTH_HISTORY_RETENTION_DAYS * 86_400_000);
      await deps.db.withTenant(tenantId, async (tx) => {
        await insertResults(tx, tenantId, results);
        await deleteOlderThan(tx, tenantId, retentionStart);
      });
      const samples = toSamples(results);
      if (samples.length > 0) await deps.ingest.ingest(tenantId, samples, 'health');
      return results;
    },

    async close(): Promise<void> {
      await Promise.all(
        checkers.map(async (checker) => {
          await checker.close?.();
        }),
      );
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;
