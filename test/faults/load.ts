import { randomUUID } from 'node:crypto';
import type { PrivatePostgres } from '../support/private-postgres.js';
import { errorCodeOf, NoAnswer, request, sleep, type HttpAnswer, type RequestOptions } from '../support/service-process.js';

export const PUSH_PATH = '/api/v1/monitoring/metrics';

/** One attempt of a request as the test saw it. */
export interface Attempt {
  /** Date.now() when the request was sent. */
  at: number;
  ms: number;
  /** HTTP status, or 0 when no answer came. */
  status: number;
  /** error.code of the envelope, when the body is one. */
  code?: string;
  retryAfter?: string;
  /** Why no answer came (ECONNREFUSED, ECONNRESET, timeout...). */
  noAnswer?: string;
  /** For no answer: whether the request had been written to an open connection. */
  sent?: boolean;
  body?: unknown;
  batch?: string;
  attempt?: number;
}

export const endedAt = (attempt: Attempt): number => attempt.at + attempt.ms;

/** Sends a request and records it as an Attempt whatever happens. */
export async function attempt(baseUrl: string, options: RequestOptions): Promise<Attempt & { answer?: HttpAnswer }> {
  const at = Date.now();
  try {
    const answer = await request(baseUrl, options);
    const retryAfter = answer.headers['retry-after'];
    return {
      at,
      ms: answer.ms,
      status: answer.status,
      code: errorCodeOf(answer.json),
      ...(retryAfter === undefined ? {} : { retryAfter: String(retryAfter) }),
      body: answer.json ?? answer.text,
      answer,
    };
  } catch (error) {
    if (error instanceof NoAnswer) return { at, ms: error.ms, status: 0, noAnswer: error.reason, sent: error.sent };
    throw error;
  }
}

/** `{"202": 40, "503 DEPENDENCY_UNAVAILABLE": 3, "no answer ECONNREFUSED": 2}` */
export function statusesOf(attempts: readonly Attempt[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of attempts) {
    const key = item.status === 0 ? `no answer ${item.noAnswer ?? '?'}` : item.code === undefined ? String(item.status) : `${item.status} ${item.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

interface Batch {
  id: string;
  key: string;
  body: string;
  seqs: string[];
  attempts: number;
  acked: boolean;
  /** The body of the first 202. */
  answer?: unknown;
}

export interface PusherOptions {
  url: string;
  token: string;
  /** Label `run` of every sample: the stored rows of this pusher are those with labels->>'run' = run. */
  run?: string;
  workers?: number;
  batchSize?: number;
  /** Pause between two batches of one worker. */
  pauseMs?: number;
  /** Pause before a retry of a failed batch (Retry-After is not honoured: the tests stay short). */
  retryDelayMs?: number;
  timeoutMs?: number;
  /** Send Idempotency-Key (the batch id) with every attempt; default true. */
  idempotencyKeys?: boolean;
}

/**
 * Workers that push batches of samples, each sample labelled with a unique `seq`, and retry a
 * batch that got no 202 (same body, same Idempotency-Key) until it is acknowledged. After stop()
 * every batch it made has been acknowledged, unless the drain deadline passed.
 */
export class Pusher {
  readonly run: string;
  readonly attempts: Attempt[] = [];
  private readonly batches: Batch[] = [];
  private readonly workers: Array<Promise<void>> = [];
  private stopping = false;
  private drainDeadline = Number.POSITIVE_INFINITY;
  private counter = 0;

  constructor(private readonly options: PusherOptions) {
    this.run = options.run ?? randomUUID();
  }

  start(): this {
    for (let index = 0; index < (this.options.workers ?? 3); index += 1) this.workers.push(this.work());
    return this;
  }

  /** Stops making batches, lets the workers finish (retry) theirs, at most drainMs. */
  async stop(drainMs = 60_000): Promise<void> {
    this.stopping = true;
    this.drainDeadline = Date.now() + drainMs;
    await Promise.all(this.workers);
  }

  /** Batches acknowledged with 202 so far. */
  ackedBatches(): number {
    return this.batches.filter((batch) => batch.acked).length;
  }

  acknowledgedSeqs(): string[] {
    return this.batches.flatMap((batch) => (batch.acked ? batch.seqs : []));
  }

  unacknowledgedBatches(): number {
    return this.batches.filter((batch) => !batch.acked).length;
  }

  /** Batches that needed more than one attempt. */
  retriedBatches(): number {
    return this.batches.filter((batch) => batch.attempts > 1).length;
  }

  /** An acknowledged batch (to replay it with its key), the oldest first. */
  ackedBatch(index = 0): { key: string; body: string; answer: unknown; seqs: string[] } | undefined {
    const batch = this.batches.filter((candidate) => candidate.acked)[index];
    return batch === undefined ? undefined : { key: batch.key, body: batch.body, answer: batch.answer, seqs: batch.seqs };
  }

  /** Waits until `count` more batches than now are acknowledged; false after timeoutMs. */
  async waitForAcks(count: number, timeoutMs: number): Promise<boolean> {
    const target = this.ackedBatches() + count;
    return waitFor(() => this.ackedBatches() >= target, timeoutMs);
  }

  headers(key?: string): Record<string, string> {
    return {
      authorization: `Bearer ${this.options.token}`,
      'content-type': 'application/json',
      ...(key === undefined || this.options.idempotencyKeys === false ? {} : { 'idempotency-key': key }),
    };
  }

  private newBatch(): Batch {
    const id = `${this.run}-${(this.counter += 1)}`;
    const size = this.options.batchSize ?? 50;
    const timestamp = new Date().toISOString();
    const seqs = Array.from({ length: size }, (_, index) => `${id}-${index}`);
    const metrics = seqs.map((seq, index) => ({ name: 'faults_probe', service: 'faults', value: index, labels: { run: this.run, seq }, timestamp }));
    const batch: Batch = { id, key: id, body: JSON.stringify({ metrics }), seqs, attempts: 0, acked: false };
    this.batches.push(batch);
    return batch;
  }

  private async deliver(batch: Batch): Promise<void> {
    while (!batch.acked && Date.now() < this.drainDeadline) {
      batch.attempts += 1;
      const result = await attempt(this.options.url, { method: 'POST', path: PUSH_PATH, headers: this.headers(batch.key), body: batch.body, timeoutMs: this.options.timeoutMs ?? 20_000 });
      const { answer: _answer, ...recorded } = result;
      this.attempts.push({ ...recorded, batch: batch.id, attempt: batch.attempts });
      if (result.status === 202) {
        batch.acked = true;
        batch.answer = result.body;
      } else {
        await sleep(this.options.retryDelayMs ?? 250);
      }
    }
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      await this.deliver(this.newBatch());
      await sleep(this.options.pauseMs ?? 100);
    }
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

export interface Tally {
  acknowledged: number;
  /** Distinct seqs stored. */
  stored: number;
  /** Rows beyond the first of a seq. */
  duplicates: number;
  /** Acknowledged seqs with no row. */
  lost: number;
  /** Stored seqs that were never acknowledged (a batch the pusher gave up on, or a 5xx after commit). */
  storedUnacknowledged: number;
}

/** Counts the rows of a run in the private PostgreSQL as superuser (no RLS) against what was acknowledged. */
export async function tally(pg: PrivatePostgres, run: string, acknowledged: readonly string[]): Promise<Tally> {
  const rows = await pg.query<{ seq: string; n: number }>("SELECT labels->>'seq' AS seq, count(*)::int AS n FROM metrics WHERE labels->>'run' = $1 GROUP BY 1", [run]);
  const stored = new Map(rows.map((row) => [row.seq, row.n]));
  const acked = new Set(acknowledged);
  return {
    acknowledged: acked.size,
    stored: stored.size,
    duplicates: rows.reduce((sum, row) => sum + row.n - 1, 0),
    lost: [...acked].filter((seq) => !stored.has(seq)).length,
    storedUnacknowledged: [...stored.keys()].filter((seq) => !acked.has(seq)).length,
  };
}

/** One line per case in the test output, for the report. */
export function report(name: string, facts: Record<string, unknown>): void {
  console.log(`[faults] ${name}: ${JSON.stringify(facts)}`);
}
