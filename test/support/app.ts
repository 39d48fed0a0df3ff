import { randomUUID } from 'node:crypto';
import type { Role } from '../../src/auth/index.js';
import { createSigner, signUserToken } from '../../src/auth/index.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createContainer, type Container } from '../../src/container.js';
import type { Logger } from 'pino';
import type { Clock } from '../../src/platform/clock.js';
import type { App } from '../../src/platform/http/types.js';
import { TEST_HMAC_SECRET, TEST_JWT_SECRET, testEnv } from './env.js';

export interface TestApp {
  app: App;
  container: Container;
  /** The scope of this app's job claims in job_runs (see createScheduler). */
  jobClaimScope: string;
  close(): Promise<void>;
}

/** Builds the real app on the adapters of this run (embedded, or TEST_* servers). */
export async function createTestApp(options: { env?: Record<string, string | undefined>; clock?: Clock; logger?: Logger; jobClaimScope?: string } = {}): Promise<TestApp> {
  const config = loadConfig(testEnv(options.env));
  // Each test app claims job cycles under its own scope (test files share one PostgreSQL and move their
  // clocks apart); apps that stand for instances of one deployment pass the same scope.
  const jobClaimScope = options.jobClaimScope ?? randomUUID();
  const container = await createContainer({ config, clock: options.clock, logger: options.logger, jobClaimScope });
  const app = await buildApp(container);
  await app.ready();
  const forgetClaims = () => container.db.asSystem((tx) => tx.query('DELETE FROM job_runs WHERE starts_with(job_name, $1)', [`${jobClaimScope}:`]));
  const close = async () => {
    await forgetClaims().catch(() => undefined);
    await app.close();
  };
  return { app, container, jobClaimScope, close };
}

export const newTenant = (): string => randomUUID();

export function tokenFor(tenantId: string, roles: Role[] = ['admin'], options: { expiresIn?: string | number; secret?: string; sub?: string } = {}): Promise<string> {
  return signUserToken(options.secret ?? TEST_JWT_SECRET, { sub: options.sub ?? `user-${roles.join('-')}`, tenant_id: tenantId, roles }, options.expiresIn ?? '1h');
}

export async function bearer(tenantId: string, roles: Role[] = ['admin']): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${await tokenFor(tenantId, roles)}` };
}

/** Headers of a signed service call, as another platform service would send them. */
export function signedHeaders(request: { method: string; path: string; body?: unknown; tenantId: string; service?: string; secret?: string; now?: () => number }) {
  const body = request.body === undefined ? '' : JSON.stringify(request.body);
  const sign = createSigner(request.secret ?? TEST_HMAC_SECRET, request.service ?? 'ticket-service', request.now);
  return { headers: { ...sign({ method: request.method, path: request.path, body, tenantId: request.tenantId }), 'content-type': 'application/json' }, payload: body };
}

/** Starts the app on a free loopback port (for real sockets: peers, CLIs, partial bodies); its base URL. */
export async function listenOnLoopback(testApp: TestApp): Promise<string> {
  await testApp.app.listen({ port: 0, host: '127.0.0.1' });
  const address = testApp.app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
}
