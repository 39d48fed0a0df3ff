import { randomUUID } from 'node:crypto';
import * as hmac from '../../src/auth/hmac.js';
import { TEST_DATABASE_URL, TEST_HMAC_SECRET } from '../support/env.js';
import { privatePostgresUnavailable } from '../support/private-postgres.js';
import { privateRedisUnavailable } from '../support/private-redis.js';
import { requireDependency } from '../support/programs.js';
import { serviceModule, tokenFor, type ServiceExit, type ServiceProcess } from '../support/service-process.js';
import { attempt, PUSH_PATH, waitFor, type Attempt, type Pusher } from './load.js';

/** These tests start and stop servers and processes: far slower than the rest of the suite. */
export const FAULT_TIMEOUT = { timeout: 120_000 } as const;

const EMBEDDED_PASS = 'the fault suite runs in the pass on PostgreSQL and Redis (TEST_DATABASE_URL set): it starts its own servers, and one run of it is enough';
let toldEmbedded = false;

/**
 * Why the fault tests of a file cannot run here (printed once), or undefined. Under CI a missing
 * PostgreSQL 15 or redis-server throws instead: CI must run the fault suite, not skip it.
 * The suite never uses the embedded adapters, so the embedded pass leaves it to the server pass.
 */
export function unavailable(needs: { redis?: boolean }): string | undefined {
  if (TEST_DATABASE_URL === undefined) {
    if (!toldEmbedded) console.warn(`[tests] skipped: ${EMBEDDED_PASS}`);
    toldEmbedded = true;
    return EMBEDDED_PASS;
  }
  return requireDependency(privatePostgresUnavailable() ?? (needs.redis === true ? privateRedisUnavailable() : undefined)).reason;
}

export interface Tenant {
  id: string;
  token: string;
  headers: Record<string, string>;
}

export async function newTenant(): Promise<Tenant> {
  const id = randomUUID();
  const token = await tokenFor(id);
  return { id, token, headers: { authorization: `Bearer ${token}` } };
}

/** A read that needs the database: the tenant's newest sample. */
export function readMetrics(service: ServiceProcess, tenant: Tenant): Promise<Attempt> {
  return attempt(service.url, { method: 'GET', path: '/api/v1/monitoring/metrics?limit=1', headers: tenant.headers, timeoutMs: 20_000 });
}

export function ready(service: ServiceProcess): Promise<Attempt> {
  return attempt(service.url, { method: 'GET', path: '/health/ready', timeoutMs: 20_000 });
}

/** Restarts a service that a previous test left dead, so one failure does not cascade; says so. */
export async function ensureRunning(service: ServiceProcess): Promise<void> {
  const ended = service.exit();
  if (ended === undefined) return;
  console.warn(`[faults] the service had exited (${JSON.stringify(ended)}); starting it again for the next test`);
  await service.start();
}

/** The last lines of the service output that mention errors, for failure messages. */
export function errorLines(service: ServiceProcess, limit = 8): string {
  return service
    .output()
    .split('\n')
    .filter((line) => /"level":(50|60)|Error|error/.test(line))
    .slice(-limit)
    .map((line) => line.slice(0, 600))
    .join('\n');
}

/** The service's exit during a test, if any, then a drained pusher (restarting a crashed service so the count is still made). */
export async function finishLoad(pusher: Pusher, service: ServiceProcess, drainMs = 60_000): Promise<{ crashed: ServiceExit | undefined }> {
  const crashed = service.exit();
  if (crashed !== undefined) await ensureRunning(service);
  await pusher.stop(drainMs);
  return { crashed };
}

/** Waits for `count` more acknowledged batches; gives up early when the service has exited. */
export function acksOrExit(pusher: Pusher, service: ServiceProcess, count: number, timeoutMs: number): Promise<boolean> {
  const target = pusher.ackedBatches() + count;
  return waitFor(() => pusher.ackedBatches() >= target || service.exit() !== undefined, timeoutMs).then(() => pusher.ackedBatches() >= target);
}

/** `503 DEPENDENCY_UNAVAILABLE` with a Retry-After header, answered within `withinMs`. */
export const isDependencyUnavailable = (item: Attempt, withinMs = 10_000): boolean =>
  item.status === 503 && item.code === 'DEPENDENCY_UNAVAILABLE' && item.retryAfter !== undefined && item.ms < withinMs;

export const slowest = (items: readonly Attempt[]): number => items.reduce((max, item) => Math.max(max, item.ms), 0);

/**
 * A push signed as another platform service would sign it (HMAC over the raw body, fresh nonce),
 * with samples labelled `run`/`seq` like the pusher's. The seqs count as acknowledged on a 202.
 */
export async function signedPush(service: ServiceProcess, tenant: Tenant, run: string, seq: string): Promise<Attempt & { seqs: string[] }> {
  const body = JSON.stringify({ metrics: [{ name: 'faults_probe', service: 'faults', value: 1, labels: { run, seq }, timestamp: new Date().toISOString() }] });
  const { createSigner } = await serviceModule('src/auth/hmac.ts', hmac);
  const sign = createSigner(TEST_HMAC_SECRET, 'ticket-service');
  const headers = { ...sign({ method: 'POST', path: PUSH_PATH, body, tenantId: tenant.id }), 'content-type': 'application/json' };
  const { answer: _answer, ...result } = await attempt(service.url, { method: 'POST', path: PUSH_PATH, headers, body, timeoutMs: 20_000 });
  return { ...result, seqs: [seq] };
}
