import type { Logger } from 'pino';
import type { Db } from '../platform/db/index.js';
import { compactSeries, dayPartitions, dropCompactedPartition, ensureChunkPartition, ensureSeriesOfV1, nextSeries, sliceEnd, tenantsOfDay, type DayPartition } from './store/compaction.repository.js';

const DAY_MS = 86_400_000;
/**
 * Samples one compaction transaction moves: about 120 ms of the embedded database on average,
 * which serves nothing else meanwhile (bench/RESULTS.md, rollup stall: 20,000 held it up to 0.4 s).
 */
export const DEFAULT_COMPACTION_UNIT_SAMPLES = 10_000;

export interface CompactionDeps {
  db: Db;
  logger: Logger;
  /** A day is compacted once it ended this long ago (late samples of a compacted day start a new chunk). */
  delayMs: number;
  unitSamples?: number;
  signal?: AbortSignal;
  onUnitFailure?: (unit: { tenantId: string; day: string }, error: unknown) => void;
}

export interface CompactionOutcome {
  days: number;
  units: number;
  failed: number;
  chunks: number;
  samples: number;
  droppedPartitions: number;
  /** Closed days still in the head (or the old table) after the run: compaction's lag. */
  closedDaysLeft: number;
}

const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface CompactionUnit {
  series: string[];
  from: Date;
  to: Date;
}

/**
 * One run of `metric-compaction`: every closed day of the head (and of the table before it) moves
 * into one chunk per series, tenant by tenant, in transactions of a bounded number of samples. A
 * unit that fails rolls back and stays in the head for the next run; the others go on. A day
 * whose partition is then empty is dropped.
 */
export async function runCompaction(deps: CompactionDeps, now: Date): Promise<CompactionOutcome> {
  const outcome: CompactionOutcome = {
    days: 0,
    units: 0,
    failed: 0,
    chunks: 0,
    samples: 0,
    droppedPartitions: 0,
    closedDaysLeft: 0,
  };
  const budget = deps.unitSamples ?? DEFAULT_COMPACTION_UNIT_SAMPLES;
  const closed = (await deps.db.asSystem(dayPartitions)).filter((partition) => partition.day.getTime() + DAY_MS + deps.delayMs <= now.getTime());
  for (const partition of closed) {
    if (deps.signal?.aborted === true) break;
    outcome.days += 1;
    const failedBefore = outcome.failed;
    await compactDay(deps, partition, budget, outcome);
    if (outcome.failed === failedBefore && (await deps.db.asSystem((tx) => dropCompactedPartition(tx, partition.partitionName)))) outcome.droppedPartitions += 1;
    else outcome.closedDaysLeft += 1;
  }
  // Days an abort left unvisited are still waiting too.
  outcome.closedDaysLeft += closed.length - outcome.days;
  return outcome;
}

async function compactDay(deps: CompactionDeps, partition: DayPartition, budget: number, outcome: CompactionOutcome): Promise<void> {
  const from = partition.day;
  const to = new Date(from.getTime() + DAY_MS);
  const day = from.toISOString().slice(0, 10);
  const compact = async (tenantId: string, unit: CompactionUnit) => {
    try {
      const moved = await deps.db.withTenant(tenantId, async (tx) => {
        await ensureChunkPartition(tx, from);
        if (partition.source === 'v1') await ensureSeriesOfV1(tx, tenantId, unit.from, unit.to, unit.series);
        return compactSeries(tx, partition.source, tenantId, unit.from, unit.to, unit.series);
      });
      outcome.units += 1;
      outcome.chunks += moved.chunks;
      outcome.samples += moved.samples;
    } catch (error) {
      outcome.failed += 1;
      deps.logger.error({ err: error, tenantId, day }, 'compaction unit failed; its samples stay in the head for the next run');
      deps.onUnitFailure?.({ tenantId, day }, error);
    }
    await yieldToRequests();
  };
  const tenants = await deps.db.asSystem((tx) => tenantsOfDay(tx, partition.source, from, to));
  for (const tenantId of tenants) {
    for await (const unit of unitsOfTenantDay(deps, partition, tenantId, from, to, budget)) {
      if (deps.signal?.aborted === true) return;
      await compact(tenantId, unit);
    }
  }
}

/**
 * A tenant-day's units, planned as they go so that no statement reads more than about a unit:
 * series in index order, as many whole series as fit in `budget` samples; a series larger than
 * that alone is cut into slices of `budget` samples, each its own unit and chunk.
 */
async function* unitsOfTenantDay(deps: CompactionDeps, partition: DayPartition, tenantId: string, from: Date, to: Date, budget: number): AsyncGenerator<CompactionUnit> {
  let after: string | undefined;
  for (;;) {
    const read = await deps.db.withTenant(tenantId, (tx) => nextSeries(tx, partition.source, tenantId, from, to, after, budget + 1));
    const last = read.at(-1);
    if (last === undefined) return;
    const total = read.reduce((sum, entry) => sum + entry.samples, 0);
    // With budget + 1 samples read, the last series may go on past what was read.
    const complete = total > budget ? read.slice(0, -1) : read;
    if (complete.length > 0) {
      yield { series: complete.map((entry) => entry.series), from, to };
      after = complete.at(-1)?.series;
      if (total <= budget) return;
      continue;
    }
    let start = from;
    for (;;) {
      const end = await deps.db.withTenant(tenantId, (tx) => sliceEnd(tx, partition.source, tenantId, last.series, start, to, budget));
      yield { series: [last.series], from: start, to: end ?? to };
      if (end === undefined) break;
      start = end;
    }
    after = last.series;
  }
}
