import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signUserToken } from '../../src/auth/jwt.js';
import type { Role } from '../../src/auth/principal.js';
import { TEST_HMAC_SECRET, TEST_JWT_SECRET } from './env.js';
import { freePort } from './private-postgres.js';

/**
 * Where `src/main.ts` is run from: this checkout, or FAULTS_SERVICE_ROOT (a copy of another
 * revision with its own node_modules link) to test a commit while the working tree is being edited.
 */
export const SERVICE_ROOT = process.env['FAULTS_SERVICE_ROOT'] ?? fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the process ended. */
  at: number;
}

export interface ServiceOptions {
  databaseUrl: string;
  redisUrl?: string;
  bus?: 'memory' | 'redis';
  /** More variables (see src/config.ts); they win over the defaults here. */
  env?: Record<string, string | undefined>;
}

export interface ServiceProcess {
  readonly port: number;
  readonly url: string;
  /** stdout and stderr of every run so far (pino JSON lines and plain text). */
  output(): string;
  /** How the current run ended, or undefined while it runs (or before the first start). */
  exit(): ServiceExit | undefined;
  /** Every run that ended, in order. */
  readonly exits: ServiceExit[];
  /** Spawns the process; with waitForLive (default) resolves once GET /health/live answers 200. */
  start(options?: { waitForLive?: boolean; timeoutMs?: number }): Promise<void>;
  /** Sends the signal and waits (up to timeoutMs, then SIGKILL) for the exit. */
  kill(signal: 'SIGKILL' | 'SIGTERM', timeoutMs?: number): Promise<ServiceExit>;
  /** SIGKILL if running, then start again on the same port with the same environment. */
  restart(): Promise<void>;
  waitForExit(timeoutMs: number): Promise<ServiceExit | undefined>;
  /** Polls the output for the pattern; true when it appeared within timeoutMs. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<boolean>;
  /** Kills the process and removes its data directory. Idempotent. */
  remove(): Promise<void>;
}

/** The environment the service runs with in the fault tests: fixed secrets, private servers, quiet jobs. */
export function serviceEnv(port: number, dataDir: string, options: ServiceOptions): Record<string, string | undefined> {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    NODE_ENV: 'development',
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    REPORTS_DIR: join(dataDir, 'reports'),
    JWT_SECRET: TEST_JWT_SECRET,
    INTERNAL_HMAC_SECRET: TEST_HMAC_SECRET,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    BUS: options.bus ?? 'memory',
    // Keep the CPU for the requests under test: scoring every sample and the periodic collectors
    // and trainers are not what these tests look at (two shared cores).
    ANOMALY_DETECTION_ENABLED: 'false',
    COLLECTOR_INTERVAL_MS: '3600000',
    HEALTH_CHECK_INTERVAL_MS: '3600000',
    ML_ANALYSIS_INTERVAL_MS: '3600000',
    METRIC_AGGREGATION_INTERVAL_MS: '3600000',
    BUSINESS_COLLECTOR_INTERVAL_MS: '3600000',
    BLOCKCHAIN_COLLECTOR_INTERVAL_MS: '3600000',
    SALES_TRACKING_INTERVAL_MS: '3600000',
    // The tests push tens of thousands of samples a minute from one address and one tenant, each
    // sample its own series (labels.seq): tenant limits are not what they test (issue 13 has its own).
    LIMIT_REQUESTS_PER_TENANT: '10000000',
    LIMIT_REQUESTS_PER_IP: '10000000',
    LIMIT_SAMPLES_PER_SECOND: '10000000',
    LIMIT_SAMPLES_BURST: '10000000',
    LIMIT_ACTIVE_SERIES: '10000000',
    LIMIT_SERIES_PER_METRIC: '10000000',
    ...options.env,
  };
}

/** A child process of the real service (`node --import tsx src/main.ts`) on a free port. Call start(). */
export async function createServiceProcess(options: ServiceOptions): Promise<ServiceProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'faults-service-'));
  const env = serviceEnv(port, dataDir, options);
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let current: ServiceExit | undefined;
  let exited: Promise<ServiceExit> = Promise.resolve({ code: null, signal: null, at: 0 });
  let printed = '';
  let removed = false;
  const exits: ServiceExit[] = [];

  const live = async (): Promise<boolean> => {
    try {
      const answer = await request(url, { method: 'GET', path: '/health/live', timeoutMs: 2_000 });
      return answer.status === 200;
    } catch {
      return false;
    }
  };

  const stopAtExit = () => child?.kill('SIGKILL');
  process.on('exit', stopAtExit);

  const service: ServiceProcess = {
    port,
    url,
    output: () => printed,
    exit: () => current,
    exits,
    async start(startOptions = {}) {
      if (child !== undefined) throw new Error('the service is already running');
      const started = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: SERVICE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const collect = (chunk: Buffer) => {
        printed = (printed + chunk.toString('utf8')).slice(-4_000_000);
      };
      started.stdout?.on('data', collect);
      started.stderr?.on('data', collect);
      current = undefined;
      child = started;
      exited = new Promise((resolve) =>
        started.once('exit', (code, signal) => {
          const ended = { code, signal, at: Date.now() };
          exits.push(ended);
          current = ended;
          child = undefined;
          resolve(ended);
        }),
      );
      if (startOptions.waitForLive === false) return;
      const timeoutMs = startOptions.timeoutMs ?? 90_000;
      const deadline = Date.now() + timeoutMs;
      while (!(await live())) {
        if (current !== undefined) throw new Error(`the service exited during start-up (${JSON.stringify(current)}):\n${printed.slice(-4_000)}`);
        if (Date.now() > deadline) throw new Error(`the service did not answer /health/live within ${timeoutMs} ms:\n${printed.slice(-4_000)}`);
        await sleep(200);
      }
    },
    async kill(signal, timeoutMs = 30_000) {
      const running = child;
      if (running === undefined) return current ?? { code: null, signal: null, at: Date.now() };
      running.kill(signal);
      const ended = await Promise.race([exited, sleep(timeoutMs).then(() => undefined)]);
      if (ended !== undefined) return ended;
      running.kill('SIGKILL');
      return exited;
    },
    async restart() {
      await service.kill('SIGKILL');
      await service.start();
    },
    async waitForExit(timeoutMs) {
      if (child === undefined) return current;
      return Promise.race([exited, sleep(timeoutMs).then(() => current)]);
    },
    async waitForOutput(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(printed)) {
        if (Date.now() > deadline) return false;
        await sleep(100);
      }
      return true;
    },
    async remove() {
      if (removed) return;
      removed = true;
      process.off('exit', stopAtExit);
      await service.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return service;
}

/**
 * A module of the service under test: from FAULTS_SERVICE_ROOT when set (so a test signs, for
 * instance, exactly as the revision it runs verifies), else this checkout's own (`local`).
 */
export async function serviceModule<M>(relativePath: string, local: M): Promise<M> {
  if (process.env['FAULTS_SERVICE_ROOT'] === undefined) return local;
  return (await import(join(SERVICE_ROOT, relativePath))) as M;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function tokenFor(tenantId: string, roles: Role[] = ['admin']): Promise<string> {
  return signUserToken(TEST_JWT_SECRET, { sub: `faults-${roles.join('-')}`, tenant_id: tenantId, roles }, '2h');
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
  ms: number;
}

/** Why a request got no answer: `ECONNREFUSED` (nothing listens), `ECONNRESET`, `timeout`... */
export class NoAnswer extends Error {
  constructor(
    readonly reason: string,
    readonly ms: number,
    /** True when the request had been written to an open connection before it failed. */
    readonly sent: boolean,
  ) {
    super(`no answer: ${reason} after ${ms} ms`);
  }
}

export interface RequestOptions {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  /** Sends the headers and the first half of the body at once, the rest when this resolves (a request kept in flight). */
  holdBody?: Promise<void>;
}

/**
 * One HTTP request on its own connection (no keep-alive: a pooled idle connection closed by the
 * server at the moment it is reused would look like a fault of the service).
 */
export function request(baseUrl: string, options: RequestOptions): Promise<HttpAnswer> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const target = new URL(options.path, baseUrl);
  return new Promise((resolve, reject) => {
    let sent = false;
    const outgoing = httpRequest(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: options.method, headers: { ...options.headers, ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }) }, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error: NodeJS.ErrnoException) => reject(new NoAnswer(error.code ?? error.message, elapsed(), true)));
        response.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json, ms: elapsed() });
        });
      },
    );
    const timer = setTimeout(() => {
      outgoing.destroy();
      reject(new NoAnswer('timeout', elapsed(), sent));
    }, options.timeoutMs ?? 20_000);
    outgoing.on('finish', () => {
      sent = true;
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new NoAnswer(error.code ?? error.message, elapsed(), sent));
    });
    const { body, holdBody } = options;
    if (body === undefined || holdBody === undefined) {
      outgoing.end(body);
      return;
    }
    const half = Math.floor(body.length / 2);
    outgoing.write(body.slice(0, half));
    void holdBody.then(() => outgoing.end(body.slice(half)));
  });
}

/** The error code of an error envelope `{"error":{"code":...}}`, or undefined for any other body. */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

