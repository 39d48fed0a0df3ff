import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Ingest, SampleInput } from '../../metrics/index.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import type { Scheduler } from '../../platform/scheduler.js';
import { createDatabaseCollector, type DatabaseCollector } from '../database/database.collector.js';
import { createHttpCollector, insertPerformanceRows, summariseRequests, type HttpCollector } from '../http/http.collector.js';
import { createSystemCollector } from './system.collector.js';

export interface SelfCollectors {
  http: HttpCollector;
  database: DatabaseCollector;
  /** One collection of every collector (what each job run does), for tests and manual triggers. */
  collectAll(): Promise<void>;
}

type CollectorConfig = Pick<Config, 'SYSTEM_TENANT_ID' | 'SERVICE_NAME' | 'DATA_DIR' | 'COLLECTOR_INTERVAL_MS' | 'HTTP_COLLECTOR_BUFFER_MAX'>;

/**
 * The collectors of this process (system, HTTP, database pool). They run on every instance
 * (not cluster-wide: each instance measures itself, told apart by the `instance` label) and
 * store their samples through the ingest pipeline under SYSTEM_TENANT_ID.
 */
export function registerSelfCollectors(deps: { config: CollectorConfig; db: Db; ingest: Ingest; clock: Clock; scheduler: Scheduler; logger: Logger }): SelfCollectors {
  const { config, clock } = deps;
  const tenantId = config.SYSTEM_TENANT_ID;
  const service = config.SERVICE_NAME;
  const now = () => clock.now();
  const system = createSystemCollector({ service, diskPaths: config.DATA_DIR === 'memory://' ? ['/'] : [config.DATA_DIR, '/'], now });
  const http = createHttpCollector({ max: config.HTTP_COLLECTOR_BUFFER_MAX, now });
  const database = createDatabaseCollector({ service, adapter: deps.db.kind, poolStats: () => deps.db.poolStats(), now });

  const store = async (samples: SampleInput[]) => {
    if (samples.length > 0) await deps.ingest.ingest(tenantId, samples, 'collector');
  };
  const runSystem = async () => store(await system());
  const runDatabase = async () => store(database.collect());
  const runHttp = async () => {
    const { requests, dropped } = http.drain();
    if (requests.length > 0) await deps.db.withTenant(tenantId, (tx) => insertPerformanceRows(tx, tenantId, service, requests));
    await store(summariseRequests(requests, { service, at: clock.now(), dropped }));
  };

  const common = { intervalMs: config.COLLECTOR_INTERVAL_MS, clusterWide: false } as const;
  deps.scheduler.add({ name: 'system-collector', ...common, run: runSystem });
  deps.scheduler.add({ name: 'http-collector', ...common, run: runHttp });
  deps.scheduler.add({ name: 'database-collector', ...common, run: runDatabase });

  return {
    http,
    database,
    async collectAll() {
      await runSystem();
      await runHttp();
      await runDatabase();
    },
  };
}
