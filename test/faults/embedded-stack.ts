import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_DATABASE_URL } from '../support/env.js';
import { freePort } from '../support/private-postgres.js';
import { request, serviceEnv, SERVICE_ROOT, sleep, type ServiceExit } from '../support/service-process.js';
import { attempt, PUSH_PATH, waitFor, type Attempt } from './load.js';
import type { Tenant } from './stack.js';

/**
 * The built service (`dist/main.js`) on its embedded defaults: PGlite on disk under a fresh
 * DATA_DIR, no DATABASE_URL, no REDIS_URL. The PostgreSQL fault suite (stack.ts) runs
 * `src/main.ts` against private servers; this is its counterpart for the embedded pass.
 */
export const DIST_ENTRY = join(SERVICE_ROOT, 'dist', 'main.js');

const SERVER_PASS = 'the embedded fault tests run in the pass on the embedded defaults (TEST_DATABASE_URL unset): one run of them is enough';

/** Why the embedded fault tests do not run here, or undefined. A missing build is a failure, not a skip. */
export function embeddedUnavailable(): string | undefined {
  if (TEST_DATABASE_URL !== undefined) {
    console.warn(`[tests] skipped: ${SERVER_PASS}`);
    return SERVER_PASS;
  }
  return undefined;
}

/** Says (does not fail) when dist/ is older than src/: the test then exercises the last build, not the working tree. */
export function warnIfStaleBuild(): void {
  const stamp = join(SERVICE_ROOT, 'dist', '.build-started-at');
  if (!existsSync(stamp)) return;
  const builtAt = Number(readFileSync(stamp, 'utf8'));
  const newest = (path: string): number => {
    const stat = statSync(path);
    if (!stat.isDirectory()) return path.endsWith('.ts') ? stat.mtimeMs : 0;
    return readdirSync(path).reduce((max, entry) => Math.max(max, newest(join(path, entry))), 0);
  };
  if (newest(join(SERVICE_ROOT, 'src')) > builtAt) console.warn('[faults] dist/ is older than src/: this test runs the last build (npm run build to refresh it)');
}

export interface EmbeddedService {
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  output(): string;
  /** How the current run ended, or undefined while it runs. */
  exit(): ServiceExit | undefined;
  /** Spawns `node dist/main.js`; resolves once GET /health/ready answers 200 (the database answers). */
  start(timeoutMs?: number): Promise<void>;
  /** Sends the signal and waits for the exit. */
  kill(signal: 'SIGKILL' | 'SIGTERM', timeoutMs?: number): Promise<ServiceExit>;
  /** Kills the process and removes DATA_DIR. Idempotent. */
  remove(): Promise<void>;
}

export async function createEmbeddedService(env: Record<string, string | undefined> = {}): Promise<EmbeddedService> {
  if (!existsSync(DIST_ENTRY)) throw new Error(`${DIST_ENTRY} is missing: run npm run build (npm ci builds it through prepare)`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'faults-embedded-'));
  const base = serviceEnv(port, dataDir, { databaseUrl: '' });
  // The embedded defaults: no server of any kind. An empty value would be read as set; absent is unset.
  delete base['DATABASE_URL'];
  delete base['REDIS_URL'];
  const childEnv = { ...base, ...env };
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let current: ServiceExit | undefined;
  let exited: Promise<ServiceExit> = Promise.resolve({ code: null, signal: null, at: 0 });
  let printed = '';
  let removed = false;
  const stopAtExit = () => child?.kill('SIGKILL');
  process.on('exit', stopAtExit);

  const readyNow = async (): Promise<boolean> => {
    try {
      return (await request(url, { method: 'GET', path: '/health/ready', timeoutMs: 2_000 })).status === 200;
    } catch {
      return false;
    }
  };

  const service: EmbeddedService = {
    port,
    url,
    dataDir,
    output: () => printed,
    exit: () => current,
    async start(timeoutMs = 60_000) {
      if (child !== undefined) throw new Error('the service is already running');
      // cwd is the data directory: a .env of the checkout (read from the working directory) cannot add a DATABASE_URL.
      const started = spawn(process.execPath, [DIST_ENTRY], { cwd: dataDir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      const collect = (chunk: Buffer) => {
        printed = (printed + chunk.toString('utf8')).slice(-2_000_000);
      };
      started.stdout?.on('data', collect);
      started.stderr?.on('data', collect);
      current = undefined;
      child = started;
      exited = new Promise((resolve) =>
        started.once('exit', (code, signal) => {
          current = { code, signal, at: Date.now() };
          child = undefined;
          resolve(current);
        }),
      );
      const deadline = Date.now() + timeoutMs;
      while (!(await readyNow())) {
        if (current !== undefined) throw new Error(`the service exited during start-up (${JSON.stringify(current)}):\n${printed.slice(-4_000)}`);
        if (Date.now() > deadline) throw new Error(`the service was not ready within ${timeoutMs} ms:\n${printed.slice(-4_000)}`);
        await sleep(50);
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
    async remove() {
      if (removed) return;
      removed = true;
      await service.kill('SIGKILL');
      process.off('exit', stopAtExit);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return service;
}

/** Bytes under a directory and its file count: how much of PGlite's data directory is on disk. */
export function diskUsage(path: string): { files: number; bytes: number } {
  if (!existsSync(path)) return { files: 0, bytes: 0 };
  const stat = statSync(path);
  if (!stat.isDirectory()) return { files: 1, bytes: stat.size };
  return readdirSync(path).reduce(
    (sum, entry) => {
      const inner = diskUsage(join(path, entry));
      return { files: sum.files + inner.files, bytes: sum.bytes + inner.bytes };
    },
    { files: 0, bytes: 0 },
  );
}

interface Batch {
  key: string;
  body: string;
  /** The timestamps (ms) of its samples: each unique in the run, so a stored row names its sample. */
  stamps: number[];
  attempts: number;
  acked: boolean;
  replayed: boolean;
  /** An attempt was written to the connection and got no answer: whether it was stored is what the key settles. */
  ambiguous: boolean;
}

export interface WritersOptions {
  url: string;
  tenant: Tenant;
  /** The metric name, unique to the run. */
  name: string;
  writers: number;
  batchSize: number;
  /** Series per writer (label `shard`). */
  shards: number;
  retryDelayMs?: number;
}

/**
 * Writers that push batches of one metric (a few series, every sample its own timestamp), each
 * batch under its own Idempotency-Key, and retry a batch that got no 202 with the same body and
 * key until it is acknowledged.
 */
export class Writers {
  readonly attempts: Attempt[] = [];
  private readonly batches: Batch[] = [];
  private readonly running: Array<Promise<void>> = [];
  private readonly inFlight = new Set<Batch>();
  private stopping = false;
  private drainDeadline = Number.POSITIVE_INFINITY;
  /** Timestamps are handed out in order from a minute ago, one ms apart: distinct and within the accepted window. */
  private nextStamp = Date.now() - 60_000;
  private counter = 0;
  private readonly prefix = randomBytes(6).toString('hex');

  constructor(private readonly options: WritersOptions) {}

  start(): this {
    for (let index = 0; index < this.options.writers; index += 1) this.running.push(this.work(index));
    return this;
  }

  /** Stops making batches and lets the writers deliver theirs, at most drainMs. */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    this.drainDeadline = Date.now() + drainMs;
    await Promise.all(this.running);
  }

  headers(key: string): Record<string, string> {
    return { ...this.options.tenant.headers, 'content-type': 'application/json', 'idempotency-key': key };
  }

  ackedBatches(): number {
    return this.batches.filter((batch) => batch.acked).length;
  }

  acknowledgedStamps(): number[] {
    return this.batches.flatMap((batch) => (batch.acked ? batch.stamps : []));
  }

  /** Batches whose request was being answered when asked (sent or about to be). */
  inFlightBatches(): number {
    return this.inFlight.size;
  }

  summary(): { batches: number; acked: number; unacknowledged: number; retried: number; ambiguous: number; replayedOnRetry: number } {
    return {
      batches: this.batches.length,
      acked: this.ackedBatches(),
      unacknowledged: this.batches.filter((batch) => !batch.acked).length,
      retried: this.batches.filter((batch) => batch.attempts > 1).length,
      ambiguous: this.batches.filter((batch) => batch.ambiguous).length,
      replayedOnRetry: this.batches.filter((batch) => batch.replayed).length,
    };
  }

  /** The oldest acknowledged batch, to send again under its key. */
  firstAcked(): { key: string; body: string } | undefined {
    const batch = this.batches.find((candidate) => candidate.acked);
    return batch === undefined ? undefined : { key: batch.key, body: batch.body };
  }

  private newBatch(writer: number): Batch {
    const key = `${this.prefix}-${writer}-${(this.counter += 1)}`;
    const stamps: number[] = [];
    const metrics = Array.from({ length: this.options.batchSize }, (_, index) => {
      const stamp = (this.nextStamp += 1);
      stamps.push(stamp);
      return { name: this.options.name, service: 'faults', value: stamp, labels: { writer: `w${writer}`, shard: String(index % this.options.shards) }, timestamp: new Date(stamp).toISOString() };
    });
    const batch: Batch = { key, body: JSON.stringify({ metrics }), stamps, attempts: 0, acked: false, replayed: false, ambiguous: false };
    this.batches.push(batch);
    return batch;
  }

  private async deliver(batch: Batch): Promise<void> {
    while (!batch.acked && Date.now() < this.drainDeadline) {
      batch.attempts += 1;
      this.inFlight.add(batch);
      const result = await attempt(this.options.url, { method: 'POST', path: PUSH_PATH, headers: this.headers(batch.key), body: batch.body, timeoutMs: 20_000 });
      this.inFlight.delete(batch);
      const { answer, ...recorded } = result;
      this.attempts.push({ ...recorded, batch: batch.key, attempt: batch.attempts });
      if (result.status === 0 && result.sent === true) batch.ambiguous = true;
      if (result.status === 202) {
        batch.acked = true;
        batch.replayed = answer?.headers['idempotent-replayed'] === 'true';
      } else {
        await sleep(this.options.retryDelayMs ?? 100);
      }
    }
  }

  private async work(writer: number): Promise<void> {
    while (!this.stopping) await this.deliver(this.newBatch(writer));
  }
}

/** Waits for `count` more acknowledged batches; false after timeoutMs or when the service has exited. */
export function acksOrExit(writers: Writers, service: EmbeddedService, count: number, timeoutMs: number): Promise<boolean> {
  const target = writers.ackedBatches() + count;
  return waitFor(() => writers.ackedBatches() >= target || service.exit() !== undefined, timeoutMs, 20).then(() => writers.ackedBatches() >= target);
}

/**
 * Every stored sample of the metric, read through the HTTP API only: GET /api/v1/monitoring/metrics
 * with name, limit 1000, following next_cursor to the end. Returns the timestamps (ms) of the rows
 * and how many pages it took.
 */
export async function storedStamps(url: string, tenant: Tenant, name: string): Promise<{ stamps: number[]; pages: number }> {
  const stamps: number[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams({ name, limit: '1000', ...(cursor === null ? {} : { cursor }) });
    const answer = await request(url, { method: 'GET', path: `${PUSH_PATH}?${query.toString()}`, headers: tenant.headers, timeoutMs: 30_000 });
    if (answer.status !== 200) throw new Error(`GET ${PUSH_PATH} answered ${answer.status}: ${answer.text.slice(0, 500)}`);
    const page = answer.json as { data: Array<{ metric_name: string; value: number; timestamp: string }>; next_cursor: string | null };
    for (const row of page.data) {
      const stamp = Date.parse(row.timestamp);
      if (row.metric_name !== name || row.value !== stamp) throw new Error(`a row that is not a sample of this run: ${JSON.stringify(row)}`);
      stamps.push(stamp);
    }
    cursor = page.next_cursor;
    pages += 1;
  } while (cursor !== null);
  return { stamps, pages };
}

export interface StampTally {
  acknowledged: number;
  /** Distinct samples stored. */
  stored: number;
  /** Rows beyond the first of a sample. */
  duplicates: number;
  /** Acknowledged samples with no row. */
  lost: number;
  /** Stored samples never acknowledged (a batch the writers gave up on). */
  storedUnacknowledged: number;
}

export function tallyStamps(acknowledged: readonly number[], stored: readonly number[]): StampTally {
  const counts = new Map<number, number>();
  for (const stamp of stored) counts.set(stamp, (counts.get(stamp) ?? 0) + 1);
  const acked = new Set(acknowledged);
  return {
    acknowledged: acked.size,
    stored: counts.size,
    duplicates: stored.length - counts.size,
    lost: [...acked].filter((stamp) => !counts.has(stamp)).length,
    storedUnacknowledged: [...counts.keys()].filter((stamp) => !acked.has(stamp)).length,
  };
}
