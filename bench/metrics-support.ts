import { buildApp } from '../src/app.js';
import { signUserToken } from '../src/auth/index.js';
import { loadConfig } from '../src/config.js';
import { createContainer, type Container } from '../src/container.js';
import type { App } from '../src/platform/http/types.js';

/** Shared by the metrics and Grafana benchmarks: the real app on PGlite or PostgreSQL. */
export const BENCH_JWT_SECRET = 'bench-jwt-secret-that-is-long-enough-0123456789';
export const BENCH_DATABASE_URL = process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/monitoring_bench';

export interface BenchTarget {
  label: 'PGlite' | 'PostgreSQL';
  env: Record<string, string>;
}

export function targets(pgliteDir = 'memory://'): BenchTarget[] {
  const only = process.env['BENCH_DB'];
  const all: BenchTarget[] = [
    { label: 'PGlite', env: { DATA_DIR: pgliteDir } },
    { label: 'PostgreSQL', env: { DATABASE_URL: BENCH_DATABASE_URL, DATA_DIR: '/tmp/monitoring-bench-pg' } },
  ];
  return all.filter((target) => only === undefined || target.label.toLowerCase() === only.toLowerCase());
}

export async function startApp(env: Record<string, string>): Promise<{ app: App; container: Container }> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', JWT_SECRET: BENCH_JWT_SECRET, INTERNAL_HMAC_SECRET: `${BENCH_JWT_SECRET}-hmac`, ...env });
  const container = await createContainer({ config });
  const app = await buildApp(container);
  await app.ready();
  return { app, container };
}

export const tokenFor = (tenantId: string, roles: Array<'admin' | 'monitoring' | 'viewer'>) =>
  signUserToken(BENCH_JWT_SECRET, { sub: 'bench', tenant_id: tenantId, roles }, '2h').then((token) => `Bearer ${token}`);

export const fmt = (value: number, digits = 1) => value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
