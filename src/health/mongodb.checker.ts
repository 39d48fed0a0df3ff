import { MongoClient } from 'mongodb';
import type { DependencyChecker } from './dependency.checkers.js';

/** Admin ping over one long-lived client (the driver reconnects by itself). */
export function mongodbChecker(url: string, timeoutMs: number): DependencyChecker {
  let client: MongoClient | undefined;
  const connect = (): MongoClient => {
    // The driver's own deadline comes first so its reason (refused, auth...) wins over the outer timeout.
    const driverTimeout = Math.max(50, Math.floor(timeoutMs * 0.7));
    client ??= new MongoClient(url, { serverSelectionTimeoutMS: driverTimeout, connectTimeoutMS: driverTimeout, socketTimeoutMS: timeoutMs, maxPoolSize: 2, appName: 'monitoring-health' });
    return client;
  };
  return {
    name: 'mongodb',
    async probe() {
      const result = await connect().db('admin').command({ ping: 1 });
      return { status: result['ok'] === 1 ? 'healthy' : 'unhealthy' };
    },
    async close() {
      await client?.close().catch(() => undefined);
      client = undefined;
    },
  };
}
