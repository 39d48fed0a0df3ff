import { Counter, type Registry } from 'prom-client';
import { cacheDegradedReads } from './cache/index.js';

/** What an operator watches during an outage of PostgreSQL or Redis, beside /health/ready. */
export function createDependencyMetrics(registry: Registry) {
  return {
    connectionErrors: new Counter({
      name: 'monitoring_dependency_connection_errors_total',
      help: 'Connections to a dependency that failed or were dropped in use, by dependency',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    cacheDegradedReads: new Counter({
      name: 'monitoring_cache_degraded_reads_total',
      help: 'Cached reads served from the source because the cache failed (Redis down or frozen)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(cacheDegradedReads());
      },
    }),
  };
}
