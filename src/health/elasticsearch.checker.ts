import { Client } from '@elastic/elasticsearch';
import type { CheckStatus } from './check-result.js';
import type { DependencyChecker } from './dependency.checkers.js';

const CLUSTER_STATUS: Record<string, CheckStatus> = { green: 'healthy', yellow: 'degraded', red: 'unhealthy' };

/** Cluster health: green healthy, yellow degraded (replicas missing), red unhealthy. */
export function elasticsearchChecker(url: string, timeoutMs: number): DependencyChecker {
  const client = new Client({ node: url, requestTimeout: timeoutMs, maxRetries: 0 });
  return {
    name: 'elasticsearch',
    async probe() {
      const health = await client.cluster.health();
      const status = CLUSTER_STATUS[String(health.status).toLowerCase()];
      if (status === undefined) throw Object.assign(new Error('unexpected cluster status'), { name: 'DeserializationError' });
      return { status, details: { cluster_status: String(health.status).toLowerCase(), nodes: health.number_of_nodes } };
    },
    async close() {
      await client.close().catch(() => undefined);
    },
  };
}
