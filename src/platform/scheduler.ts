import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from './clock.js';
import type { Db } from './db/index.js';

/** One failed unit of a job: whose (the tenant) and what (a series, a report, a step). */
export interface JobUnit {
  tenantId?: string;
  [detail: string]: unknown;
}

/**
 * Reports a unit of work that failed after the job caught and logged it and went on with the
 * others (one tenant's failure never stops another's work). Counted in
 * monitoring_job_unit_failures_total{job} and in the run's outcome (job_runs.last_error).
 */
export type UnitFailed = (unit: JobUnit, error?: unknown) => void;

export interface JobContext {
  now: Date;
  signal: AbortSignal;
  unitFailed: UnitFailed;
}

export interface Job {
  name: string;
  intervalMs: number;
  /** Shifts cycle boundaries, e.g. 2 h for a daily job that runs at 02:00 UTC. */
  offsetMs?: number;
  timeoutMs?: number;
  /** false for per-instance work (collectors of this process); default true: once per cluster. */
  clusterWide?: boolean;
  run(context: JobContext): Promise<void>;
}

export interface JobOutcome {
  name: string;
  status: 'ran' | 'skipped-busy' | 'skipped-claimed' | 'failed' | 'timed-out';
  error?: string;
  /** Units reported failed by a run whose other units went on (see UnitFailed), and their tenants. */
  unitFailures?: number;
  failedTenants?: string[];
  /** skipped-busy: when the run in flight (here, or for a cluster-wide job anywhere) ends at the latest, its lease. */
  busyUntil?: Date;
}

/** Tenants named in job_runs.last_error at most. */
const LISTED_TENANTS = 10;

export interface Scheduler {
  add(job: Job): void;
  start(): void;
  /** Runs one cycle of a job now as a tick would (tests): honours the cluster claim, so a cycle already run is skipped-claimed. */
  runNow(name: string): Promise<JobOutcome>;
  /**
   * Runs a job now because someone asked (a collector's "run now"). Not refused because this cycle
   * was already claimed or run: it takes the job's lease without the cycle, so the cycle's scheduled
   * run still happens. Never runs while the job is running, here or (cluster-wide jobs) on another
   * instance: then skipped-busy with busyUntil.
   */
  runManually(name: string): Promise<JobOutcome>;
  /** The job_runs.job_name under which this scheduler claims the job's cycles. */
  claimKey(name: string): string;
  jobs(): string[];
  stop(): Promise<void>;
}

/**
 * Runs jobs on unref'd timers. A tick is skipped while the previous run is in flight; each
 * cluster-wide cycle is claimed in `job_runs` so one instance runs it; errors are logged,
 * never thrown out of the loop.
 */
export function createScheduler(deps: {
  db: Db;
  clock: Clock;
  logger: Logger;
  registry?: Registry;
  onOutcome?: (outcome: JobOutcome, durationMs: number) => void;
  /**
   * Separates the cycle claims of deployments that share one database (test apps on a shared
   * PostgreSQL, each with its own clock); instances of one deployment share a scope.
   */
  claimScope?: string;
}): Scheduler {
  const claimKey = (name: string): string => (deps.claimScope === undefined ? name : `${deps.claimScope}:${name}`);
  const jobs = new Map<string, Job>();
  const unitFailures =
    deps.registry === undefined
      ? undefined
      : new Counter({ name: 'monitoring_job_unit_failures_total', help: 'Units of periodic jobs (one tenant, series, report or step) that failed while the others went on; each is retried in a later run', labelNames: ['job'], registers: [deps.registry] });
  const running = new Map<string, { run: Promise<JobOutcome>; until: Date }>();
  const timers: NodeJS.Timeout[] = [];
  const controller = new AbortController();
  let stopped = false;

  const claim = async (job: Job, now: Date): Promise<boolean> => {
    const cycle = Math.floor((now.getTime() - (job.offsetMs ?? 0)) / job.intervalMs);
    const leaseUntil = new Date(now.getTime() + (job.timeoutMs ?? job.intervalMs));
    const result = await deps.db.asSystem((tx) =>
      tx.query(
        `INSERT INTO job_runs (job_name, cycle, lease_until, last_started_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (job_name) DO UPDATE SET cycle = EXCLUDED.cycle, lease_until = EXCLUDED.lease_until, last_started_at = EXCLUDED.last_started_at
         WHERE job_runs.cycle < EXCLUDED.cycle AND (job_runs.last_finished_at >= job_runs.last_started_at OR job_runs.lease_until < $4)
         RETURNING job_name`,
        [claimKey(job.name), cycle, leaseUntil, now],
      ),
    );
    return result.rowCount === 1;
  };

  /**
   * The lease of a manual run: taken when no run holds the job (finished, or its lease ran out),
   * leaving the cycle as it is. Answers the end of the lease in the way, or undefined once taken.
   */
  const leaseWithoutCycle = async (job: Job, now: Date): Promise<Date | undefined> => {
    const leaseUntil = new Date(now.getTime() + (job.timeoutMs ?? job.intervalMs));
    return deps.db.asSystem(async (tx) => {
      // A first row gets cycle -1, below every real cycle: the scheduled claim still takes this cycle.
      const taken = await tx.query(
        `INSERT INTO job_runs (job_name, cycle, lease_until, last_started_at) VALUES ($1, -1, $2, $3)
         ON CONFLICT (job_name) DO UPDATE SET lease_until = EXCLUDED.lease_until, last_started_at = EXCLUDED.last_started_at
         WHERE job_runs.last_finished_at >= job_runs.last_started_at OR job_runs.lease_until < $3
         RETURNING job_name`,
        [claimKey(job.name), leaseUntil, now],
      );
      if (taken.rowCount === 1) return undefined;
      const held = await tx.query<{ lease_until: Date | string }>('SELECT lease_until FROM job_runs WHERE job_name = $1', [claimKey(job.name)]);
      const until = held.rows[0]?.lease_until;
      return until === undefined ? leaseUntil : new Date(until);
    });
  };

  /** The cluster's go-ahead: undefined, or the outcome of a run that must not start. */
  const take = async (job: Job, now: Date, manual: boolean): Promise<JobOutcome | undefined> => {
    if (!manual) return (await claim(job, now)) ? undefined : { name: job.name, status: 'skipped-claimed' };
    const busyUntil = await leaseWithoutCycle(job, now);
    return busyUntil === undefined ? undefined : { name: job.name, status: 'skipped-busy', busyUntil };
  };

  const record = async (job: Job, status: string, error: string | undefined) => {
    await deps.db.asSystem((tx) =>
      tx.query('UPDATE job_runs SET last_finished_at = $2, last_status = $3, last_error = $4 WHERE job_name = $1', [claimKey(job.name), deps.clock.now(), status, error ?? null]),
    );
  };

  const execute = async (job: Job, now: Date, manual: boolean): Promise<JobOutcome> => {
    const started = performance.now();
    const clusterWide = job.clusterWide ?? true;
    try {
      const refused = clusterWide ? await take(job, now, manual) : undefined;
      if (refused !== undefined) return refused;
    } catch (error) {
      deps.logger.error({ err: error, job: job.name }, 'job claim failed');
      return { name: job.name, status: 'failed', error: String(error) };
    }
    const timeoutMs = job.timeoutMs ?? job.intervalMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref();
    });
    let outcome: JobOutcome;
    const failed = { units: 0, tenants: new Set<string>() };
    const unitFailed: UnitFailed = (unit) => {
      failed.units += 1;
      if (unit.tenantId !== undefined) failed.tenants.add(unit.tenantId);
      unitFailures?.inc({ job: job.name });
    };
    try {
      const result = await Promise.race([job.run({ now, signal: controller.signal, unitFailed }).then(() => 'done' as const), timeout]);
      outcome = result === 'timeout' ? { name: job.name, status: 'timed-out', error: `exceeded ${timeoutMs} ms` } : { name: job.name, status: 'ran' };
    } catch (error) {
      deps.logger.error({ err: error, job: job.name }, 'job failed');
      outcome = { name: job.name, status: 'failed', error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
    if (failed.units > 0) {
      const tenants = [...failed.tenants];
      const listed = tenants.length === 0 ? '' : `; tenants ${tenants.slice(0, LISTED_TENANTS).join(', ')}${tenants.length > LISTED_TENANTS ? ` and ${tenants.length - LISTED_TENANTS} more` : ''}`;
      const summary = `${failed.units} unit(s) failed and are retried next run${listed}`;
      outcome = { ...outcome, unitFailures: failed.units, failedTenants: tenants, error: outcome.error === undefined ? summary : `${outcome.error}; ${summary}` };
    }
    if (clusterWide) await record(job, outcome.status, outcome.error).catch((error: unknown) => deps.logger.error({ err: error, job: job.name }, 'job record failed'));
    deps.onOutcome?.(outcome, performance.now() - started);
    return outcome;
  };

  const tick = (job: Job, manual = false): Promise<JobOutcome> => {
    const inFlight = running.get(job.name);
    if (inFlight !== undefined) return Promise.resolve({ name: job.name, status: 'skipped-busy', busyUntil: inFlight.until });
    const now = deps.clock.now();
    const run = execute(job, now, manual).finally(() => running.delete(job.name));
    running.set(job.name, { run, until: new Date(now.getTime() + (job.timeoutMs ?? job.intervalMs)) });
    return run;
  };

  const jobNamed = (name: string): Job => {
    const job = jobs.get(name);
    if (job === undefined) throw new Error(`unknown job ${name}`);
    return job;
  };

  return {
    add(job) {
      if (jobs.has(job.name)) throw new Error(`job ${job.name} registered twice`);
      jobs.set(job.name, job);
    },
    start() {
      for (const job of jobs.values()) {
        const timer = setInterval(() => {
          if (!stopped) void tick(job);
        }, (job.clusterWide ?? true) ? Math.min(job.intervalMs, 60_000) : job.intervalMs);
        timer.unref();
        timers.push(timer);
      }
    },
    async runNow(name) {
      return tick(jobNamed(name));
    },
    async runManually(name) {
      return tick(jobNamed(name), true);
    },
    claimKey,
    jobs: () => [...jobs.keys()],
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      controller.abort();
      await Promise.allSettled([...running.values()].map((inFlight) => inFlight.run));
    },
  };
}
