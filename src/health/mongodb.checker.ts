import type { MongoClient } from 'mongodb';
import type { DependencyChecker } from './dependency.checkers.js';

/**
 * Admin ping over one long-lived client (the driver reconnects by itself). The driver (about
 * 20 MiB of RSS) is loaded before the first probe, outside its timeout: a service without
 * MONGODB_URL never loads it.
 */
export function mongodbChecker(url: string, timeoutMs: number): DependencyChecker {
  let client: Promise<MongoClient> | undefined;
  const connect = (): Promise<MongoClient> => {
    client ??= import('mongodb').then(({ MongoClient: Driver }) => {
      // The driver's own deadline comes first so its reason (refused, auth...) wins over the outer timeout.
      const driverTimeout = Math.max(50, Math.floor(timeoutMs * 0.7));
      return new Driver(url, { serverSelectionTimeoutMS: driverTimeout, connectTimeoutMS: driverTimeout, socketTimeoutMS: timeoutMs, maxPoolSize: 2, appName: 'monitoring-health' });
    });
    return client;
  };
  return {
    name: 'mongodb',
    async ready() {
      await connect();
    },
    async probe() {
      const result = await (await connect()).db('admin').command({ ping: 1 });
      return { status: result['ok'] === 1 ? 'healthy' : 'unhealthy' };
    },
    async close() {
      const open = client;
      client = undefined;
      await (await open)?.close().catch(() => undefined);
    },
  };
}
