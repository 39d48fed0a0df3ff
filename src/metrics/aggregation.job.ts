import type { Logger } from 'pino';
import type { Db, Tx } from '../platform/db/index.js';
import { planBucketUnits, planDayUnits, splitBucketUnit, type BucketUnit } from './rollup-units.js';
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
  /** Transactions committed. */
  units: number;
  /** Units that rolled back (after a failed unit was retried series by series): their marks, or their day, wait for the next run. */
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
      await runUnit(deps, outcome, { tenantId: unit.tenantId, unit, split: splitBucketUnit, work: (tx, part) => rollupBuckets(tx, part, now), describe: describeBuckets });
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

/** Marks consumed and rollup rows written by one unit. */
type UnitResult = Partial<AggregationOutcome['rollups']> & { marks: number };

async function rollupBuckets(tx: Tx, unit: BucketUnit, now: Date): Promise<UnitResult> {
  // Marks first: on PostgreSQL a sample committed after this delete keeps its mark for next run.
  const marks = await deleteMarks(tx, unit.tenantId, unit.fiveMinutes);
  const fiveMinutes = await computeRollups(tx, unit.tenantId, FIVE_MINUTES, unit.fiveMinutes, now);
  const hours = await computeRollups(tx, unit.tenantId, HOUR, unit.hours, now);
  await markDays(tx, unit.tenantId, unit.days);
  return { marks, '5m': fiveMinutes, '1h': hours };
}

/** What a log line says of a 5m/1h unit: its series-hour when alone, else how many. */
function describeBuckets(unit: BucketUnit): Record<string, unknown> {
  const only = unit.hours.length === 1 ? unit.hours[0] : undefined;
  return { step: 'buckets', cost: unit.cost, ...(only === undefined ? { seriesHours: unit.hours.length } : { hour: only.bucketStart.toISOString(), series: only.seriesKey }) };
}

/**
 * A due day at 1d, series by series in bounded units. The series and their sizes come from the
 * day's 1h rollups (computed above, before any day). The day is settled only when every unit of
 * it succeeded; otherwise it stays pending and is recomputed whole next run.
 */
async function rollupDay(deps: AggregationDeps, outcome: AggregationOutcome, { tenantId, day }: TenantDay, budget: number, now: Date): Promise<void> {
  const describe = (series: unknown) => ({ step: 'day', day: day.toISOString(), series });
  const onDay = (seriesKey: string) => ({ bucketStart: day, seriesKey });
  let after = '';
  let complete = true;
  for (;;) {
    const from = after;
    const page = await runOnce(deps, outcome, tenantId, (tx) => daySeries(tx, tenantId, day, from, DAY_SERIES_PAGE), describe(`after '${from}'`));
    if (page === undefined) return;
    for (const seriesKeys of planDayUnits(page, budget)) {
      if (stopped(deps)) return;
      const work = async (tx: Tx, keys: string[]) => ({ marks: 0, '1d': await computeRollups(tx, tenantId, DAY, keys.map(onDay), now) });
      const split = (keys: string[]) => keys.map((key) => [key]);
      // Every unit of the day runs, even after one of them failed.
      const ok = await runUnit(deps, outcome, { tenantId, unit: seriesKeys, split, work, describe: (keys) => describe(keys.length === 1 ? keys[0] : keys.length) });
      complete = complete && ok;
      await yieldToRequests();
    }
    const last = page[page.length - 1];
    if (last === undefined || page.length < DAY_SERIES_PAGE) break;
    after = last.seriesKey;
  }
  if (complete) await runOnce(deps, outcome, tenantId, (tx) => settleDay(tx, tenantId, day, now), describe('settle'));
}

interface Unit<U> {
  tenantId: string;
  unit: U;
  /** Parts to run one by one when the whole fails. */
  split: (unit: U) => U[];
  work: (tx: Tx, unit: U) => Promise<UnitResult>;
  describe: (unit: U) => Record<string, unknown>;
}

/**
 * Runs one unit in its own transaction of the tenant. When it fails and splits into parts, each
 * part runs alone, so one bad series holds back only itself. A part that fails is counted and
 * logged with the tenant, never rethrown. Returns whether everything committed.
 */
async function runUnit<U>(deps: AggregationDeps, outcome: AggregationOutcome, { tenantId, unit, split, work, describe }: Unit<U>): Promise<boolean> {
  const whole = await transact(deps, tenantId, (tx) => work(tx, unit));
  if (whole.ok) {
    count(outcome, whole.value);
    return true;
  }
  const parts = split(unit);
  if (parts.length <= 1) {
    failed(deps, outcome, tenantId, whole.error, describe(unit));
    return false;
  }
  deps.logger.warn({ err: whole.error, tenantId, ...describe(unit) }, 'metric rollup unit failed; retrying its series one by one');
  let ok = true;
  for (const part of parts) {
    await yieldToRequests();
    const result = await transact(deps, tenantId, (tx) => work(tx, part));
    if (result.ok) {
      count(outcome, result.value);
    } else {
      failed(deps, outcome, tenantId, result.error, describe(part));
      ok = false;
    }
  }
  return ok;
}

function count(outcome: AggregationOutcome, done: UnitResult): void {
  outcome.units += 1;
  outcome.marks += done.marks;
  for (const name of ['5m', '1h', '1d'] as const) outcome.rollups[name] += done[name] ?? 0;
}

/** A unit that is not split (a page read, a settle): its result, or undefined when it failed. */
async function runOnce<T>(deps: AggregationDeps, outcome: AggregationOutcome, tenantId: string, work: (tx: Tx) => Promise<T>, context: Record<string, unknown>): Promise<T | undefined> {
  const result = await transact(deps, tenantId, work);
  if (result.ok) {
    outcome.units += 1;
    return result.value;
  }
  failed(deps, outcome, tenantId, result.error, context);
  return undefined;
}

async function transact<T>(deps: AggregationDeps, tenantId: string, work: (tx: Tx) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await deps.db.withTenant(tenantId, work) };
  } catch (error) {
    return { ok: false, error };
  }
}

function failed(deps: AggregationDeps, outcome: AggregationOutcome, tenantId: string, error: unknown, context: Record<string, unknown>): void {
  outcome.failed += 1;
  if (!outcome.failedTenants.includes(tenantId)) outcome.failedTenants.push(tenantId);
  deps.logger.error({ err: error, tenantId, ...context }, 'metric rollup unit failed; it is retried next run');
}
