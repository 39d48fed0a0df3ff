import type { Cache } from '../platform/cache/index.js';
import type { Db } from '../platform/db/index.js';
import { describeKafkaCluster } from '../platform/kafka-admin.js';
import { categorize, checkError, roundMs, withTimeout, type CheckResult, type CheckStatus } from './check-result.js';

/** One dependency of this service; `probe` throws on failure and may return a status and safe details. */
export interface DependencyChecker {
  name: string;
  probe(): Promise<{ status?: CheckStatus; details?: Record<string, string | number> } | void>;
  /** Loads what the probe needs (a driver loaded on first use) before the probe's clock starts. */
  ready?(): Promise<void>;
  close?(): Promise<void>;
}

/** Runs a probe under a timeout and turns whatever happens into a CheckResult. */
export async function runDependencyCheck(checker: DependencyChecker, timeoutMs: number, now: () => Date): Promise<CheckResult> {
  try {
    await checker.ready?.();
    const started = performance.now();
    const outcome = await withTimeout(checker.probe(), timeoutMs);
    const status = outcome?.status ?? 'healthy';
    return {
      name: checker.name,
      kind: 'dependency',
      status,
      latency_ms: roundMs(performance.now() - started),
      status_code: null,
      error: status === 'unhealthy' ? checkError('bad_response', 'the dependency reports itself unhealthy') : null,
      details: outcome?.details ?? {},
      checked_at: now().toISOString(),
    };
  } catch (error) {
    return { name: checker.name, kind: 'dependency', status: 'unhealthy', latency_ms: null, status_code: null, error: checkError(categorize(error)), details: {}, checked_at: now().toISOString() };
  }
}

export function postgresChecker(db: Db): DependencyChecker {
  return {
    name: 'postgresql',
    async probe() {
      await db.ping();
      return { details: { adapter: db.kind } };
    },
  };
}

export function redisChecker(cache: Cache): DependencyChecker {
  return {
    name: 'redis',
    async probe() {
      await cache.ping();
    },
  };
}

export function kafkaChecker(brokers: readonly string[], timeoutMs: number): DependencyChecker {
  return {
    name: 'kafka',
    async probe() {
      const info = await describeKafkaCluster(brokers, timeoutMs);
      return { status: info.brokers > 0 ? 'healthy' : 'unhealthy', details: { brokers: info.brokers } };
    },
  };
}
