import type { Client } from '@elastic/elasticsearch';
import type { CheckStatus } from './check-result.js';
import type { DependencyChecker } from './dependency.checkers.js';

const CLUSTER_STATUS: Record<string, CheckStatus> = { green: 'healthy', yellow: 'degraded', red: 'unhealthy' };

/**
 * Cluster health: green healthy, yellow degraded (replicas missing), red unhealthy. The client
 * (about 20 MiB of RSS) is loaded before the first probe, outside its timeout: without
 * ELASTICSEARCH_URL it never is.
 */
export function elasticsearchChecker(url: string, timeoutMs: number): DependencyChecker {
  let client: Promise<Client> | undefined;
  const connect = (): Promise<Client> => {
    client ??= import('@elastic/elasticsearch').then(({ Client: Driver }) => new Driver({ node: url, requestTimeout: timeoutMs, maxRetries: 0 }));
    return client;
  };
  return {
    name: 'elasticsearch',
    async ready() {
      await connect();
    },
    async probe() {
      const health = await (await connect()).cluster.health();
      const status = CLUSTER_STATUS[String(health.status).toLowerCase()];
      if (status === undefined) throw Object.assign(new Error('unexpected cluster status'), { name: 'DeserializationError' });
      return { status, details: { cluster_status: String(health.status).toLowerCase(), nodes: health.number_of_nodes } };
    },
    async close() {
      const open = client;
      client = undefined;
      await (await open)?.close().catch(() => undefined);
    },
  };
}
