import { Gauge, type Registry } from 'prom-client';
import type { Db, PoolStats } from './db.js';

/**
 * The PostgreSQL connection pool on /metrics, read at scrape time: `postgres_pool_waiting` above
 * zero for long means requests queue for a connection (the pool is exhausted or the server
 * frozen). PGlite has no pool, so nothing is registered for it.
 */
export function registerPoolMetrics(registry: Registry, db: Pick<Db, 'kind' | 'poolStats'>): void {
  if (db.kind !== 'postgres') return;
  const gauge = (name: string, help: string, read: (stats: PoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(db.poolStats()));
      },
    });
  gauge('postgres_pool_connections', 'Connections the PostgreSQL pool holds, idle or in use (the stored samples call it postgres_pool_total; a gauge named _total fails promtool)', (stats) => stats.total);
  gauge('postgres_pool_idle', 'Idle connections in the PostgreSQL pool', (stats) => stats.idle);
  gauge('postgres_pool_waiting', 'Queries waiting for a connection from the PostgreSQL pool', (stats) => stats.waiting);
}
