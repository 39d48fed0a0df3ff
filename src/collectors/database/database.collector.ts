import { hostname } from 'node:os';
import { queryShape, type SampleInput } from '../../metrics/index.js';
import type { PoolStats, QueryObserver } from '../../platform/db/index.js';

export interface DatabaseCollector {
  /** Registered as a query observer: counts and times statements per operation. */
  readonly observeQuery: QueryObserver;
  collect(): SampleInput[];
}

/**
 * Pool metrics (`postgres_pool_total|idle|waiting`, what the pool-exhaustion rule watches) and
 * per-operation query counts, failures and mean time since the previous collection.
 */
export function createDatabaseCollector(options: { service: string; adapter: string; poolStats: () => PoolStats; now: () => Date; instance?: string }): DatabaseCollector {
  const instance = options.instance ?? hostname();
  let stats = new Map<string, { count: number; failed: number; totalMs: number }>();
  return {
    observeQuery(sql, durationMs, failed) {
      const { operation } = queryShape(sql);
      let entry = stats.get(operation);
      if (entry === undefined) {
        entry = { count: 0, failed: 0, totalMs: 0 };
        stats.set(operation, entry);
      }
      entry.count += 1;
      entry.totalMs += durationMs;
      if (failed) entry.failed += 1;
    },
    collect() {
      const timestamp = options.now().toISOString();
      const labels = { instance, adapter: options.adapter };
      const pool = options.poolStats();
      const samples: SampleInput[] = [
        { name: 'postgres_pool_total', service: options.service, value: pool.total, labels, timestamp },
        { name: 'postgres_pool_idle', service: options.service, value: pool.idle, labels, timestamp },
        { name: 'postgres_pool_waiting', service: options.service, value: pool.waiting, labels, timestamp },
      ];
      const taken = stats;
      stats = new Map();
      for (const [operation, entry] of taken) {
        const opLabels = { ...labels, operation };
        samples.push(
          { name: 'postgres_query_count', service: options.service, value: entry.count, labels: opLabels, timestamp },
          { name: 'postgres_query_errors', service: options.service, value: entry.failed, labels: opLabels, timestamp },
          { name: 'postgres_query_duration_ms', service: options.service, value: entry.totalMs / entry.count, labels: opLabels, timestamp },
        );
      }
      return samples;
    },
  };
}
