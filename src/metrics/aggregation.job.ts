import type { Logger } from 'pino';
import type { Db, Tx } from '../platform/db/index.js';
import { planBucketUnits, planDayUnits, type BucketUnit } from './rollup-units.js';
import { computeRollups, daySeries, deleteMarks, dueDays, markDays, pendingMarks, ROLLUP_RESOLUTIONS, settleDay, type TenantDay } from './rollups.repository.js';

/** Estimated samples one rollup transaction reads: about 25-35 ms of the embedded database on 2 cores (bench/RESULTS.md). */
export const DEFAULT_UNIT_SAMPLES = 20_000;
/** Marks read per planning query (a failed unit's marks are not read again in the same run). */
const MARKS_PAGE = 5_000;
/** Due days per run, and series of a day read per page to plan its 1d units. */
const MAX_DAYS_PER_RUN = 1_000;
const DAY_SERIES_PAGE = 1_000;

export interface AggregationDeps {
  db: Db;
  logger: Logger;
  /** Marks (one per pushed batch and (5-minute bucket, series)) read per run; a unit also consumes later marks of its rows. */
  maxMarks: number;
  /** Estimated raw samples one transaction reads; one series of one bucket is never split. */
  unitSamples?: number;
  /** Stops between units (scheduler shutdown). */
  signal?: AbortSignal;
}

export interface AggregationOutcome {
  marks: number;
  /** Transactions committed and failed; a failed one keeps its marks (or its day pending) for the next run. */
  units: number;
  failed: number;
  failedTenants: string[];
  rollups: { '5m': number; '1h': number; '1d': number };
}

const [FIVE_MINUTES, HOUR, DAY] = ROLLUP_RESOLUTIONS as [(typeof ROLLUP_RESOLUTIONS)[number], (typeof ROLLUP_RESOLUTIONS)[number], (typeof ROLLUP_RESOLUTIONS)[number]];

const stopped = (deps: AggregationDeps) => deps.signal?.aborted === true;

/** Lets requests queued behind a unit (HTTP parsing, the one PGlite session) run before the next. */
const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * One run of `metric-aggregation`. The (5-minute bucket, series) ingest marked as changed are
 * recomputed from raw samples at 5m and, with their hours, at 1h; their days are flagged and
 * recomputed at 1d when the day closes (and at most hourly while it is open). The work is cut
 * into short transactions of one tenant and a bounded number of samples (the embedded database
 * has one session and runs on the event loop: a long transaction stops the whole process). A
 * unit that fails rolls back, keeps its marks and is retried next run; the others go on.
 */
export async function runAggregation(deps: AggregationDeps, now: Date): Promise<AggregationOutcome> {
  const outcome: AggregationOutcome = { marks: 0, units: 0, failed: 0, failedTenants: [], rollups: { '5m': 0, '1h': 0, '1d': 0 } };
  const budget = deps.unitSamples ?? DEFAULT_UNIT_SAMPLES;
  let cursor = '0';
  let read = 0;
  while (read < deps.maxMarks && !stopped(deps)) {
    const limit = Math.min(MARKS_PAGE, deps.maxMarks - read);
    const page = await deps.db.asSystem((tx) => pendingMarks(tx, cursor, limit));
    if (page.lastId === null) break;
    read += page.read;
    cursor = page.lastId;
    for (const unit of planBucketUnits(page.groups, budget)) {
      if (stopped(deps)) break;
      const done = await attempt(deps, outcome, unit.tenantId, (tx) => rollupBuckets(tx, unit, now), { step: 'buckets', hours: unit.hours.length, cost: unit.cost });
      if (done !== undefined) {
        outcome.marks += done.marks;
        outcome.rollups['5m'] += done.fiveMinutes;
        outcome.rollups['1h'] += done.hours;
      }
      await yieldToRequests();
    }
    if (page.read < limit) break;
  }
  const days = await deps.db.asSystem((tx) => dueDays(tx, now, MAX_DAYS_PER_RUN));
  for (const day of days) {
    if (stopped(deps)) break;
    await rollupDay(deps, outcome, day, budget, now);
  }
  if (outcome.marks > 0 || outcome.failed > 0) deps.logger.debug(outcome, 'metric rollups updated');
  return outcome;
}

async function rollupBuckets(tx: Tx, unit: BucketUnit, now: Date): Promise<{ marks: number; fiveMinutes: number; hours: number }> {
  // Marks first: on PostgreSQL a sample committed after this delete keeps its mark for next run.
  const marks = await deleteMarks(tx, unit.tenantId, unit.fiveMinutes);
  const fiveMinutes = await computeRollups(tx, unit.tenantId, FIVE_MINUTES, unit.fiveMinutes, now);
  const hours = await computeRollups(tx, unit.tenantId, HOUR, unit.hours, now);
  await markDays(tx, unit.tenantId, unit.days);
  return { marks, fiveMinutes, hours };
}

/**
 * A due day at 1d, series by series in bounded units. The series and their sizes come from the
 * day's 1h rollups (computed above, before any day). The day is settled only when every unit of
 * it succeeded; otherwise it stays pending and is recomputed whole next run.
 */
async function rollupDay(deps: AggregationDeps, outcome: AggregationOutcome, { tenantId, day }: TenantDay, budget: number, now: Date): Promise<void> {
  const context = { step: 'day', day: day.toISOString() };
  let after = '';
  let complete = true;
  for (;;) {
    const page = await attempt(deps, outcome, tenantId, (tx) => daySeries(tx, tenantId, day, after, DAY_SERIES_PAGE), context);
    if (page === undefined) return;
    for (const seriesKeys of planDayUnits(page, budget)) {
      if (stopped(deps)) return;
      const rows = seriesKeys.map((seriesKey) => ({ bucketStart: day, seriesKey }));
      const done = await attempt(deps, outcome, tenantId, (tx) => computeRollups(tx, tenantId, DAY, rows, now), { ...context, series: rows.length });
      if (done === undefined) complete = false;
      else outcome.rollups['1d'] += done;
      await yieldToRequests();
    }
    const last = page[page.length - 1];
    if (last === undefined || page.length < DAY_SERIES_PAGE) break;
    after = last.seriesKey;
  }
  if (complete) await attempt(deps, outcome, tenantId, (tx) => settleDay(tx, tenantId, day, now), context);
}

/** One unit in its own transaction of the tenant; a failure is counted, logged and not rethrown. */
async function attempt<T>(deps: AggregationDeps, outcome: AggregationOutcome, tenantId: string, work: (tx: Tx) => Promise<T>, context: Record<string, unknown>): Promise<T | undefined> {
  try {
    const result = await deps.db.withTenant(tenantId, work);
    outcome.units += 1;
    return result;
  } catch (error) {
    outcome.failed += 1;
    if (!outcome.failedTenants.includes(tenantId)) outcome.failedTenants.push(tenantId);
    deps.logger.error({ err: error, tenantId, ...context }, 'metric rollup unit failed; it is retried next run');
    return undefined;
  }
}
