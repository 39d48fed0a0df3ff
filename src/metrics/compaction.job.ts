import type { Logger } from 'pino';
import type { Db } from '../platform/db/index.js';
import { compactSeries, dayPartitions, dropCompactedPartition, ensureChunkPartition, ensureSeriesOfV1, seriesOfDay, sliceStarts, tenantsOfDay, type DayPartition } from './store/compaction.repository.js';

const DAY_MS = 86_400_000;
/**
 * Samples one compaction transaction moves, as the aggregation job's units: about 150-200 ms of
 * the embedded database, which serves nothing else meanwhile (bench/RESULTS.md, rollup stall).
 */
export const DEFAULT_COMPACTION_UNIT_SAMPLES = 20_000;

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
}

const yieldToRequests = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface CompactionUnit {
  series: string[];
  from: Date;
  to: Date;
}

/**
 * Cuts a tenant-day's series into units of about `budget` samples. Small series share a unit; a
 * series with more samples than the budget is cut at `cuts` (times where every `budget`-th sample
 * of it starts), each slice its own unit and its own chunk, so no transaction grows with a rate.
 */
export function unitsOf(series: ReadonlyArray<{ series: string; samples: number }>, budget: number, from: Date, to: Date, cuts: ReadonlyMap<string, readonly Date[]> = new Map()): CompactionUnit[] {
  const units: CompactionUnit[] = [];
  let current: string[] = [];
  let size = 0;
  const flush = () => {
    if (current.length > 0) units.push({ series: current, from, to });
    current = [];
    size = 0;
  };
  for (const entry of series) {
    const seriesCuts = cuts.get(entry.series);
    if (entry.samples > budget && seriesCuts !== undefined) {
      const bounds = [from, ...seriesCuts.filter((cut) => cut > from && cut < to), to];
      for (let index = 0; index + 1 < bounds.length; index += 1) {
        const start = bounds[index];
        const end = bounds[index + 1];
        if (start !== undefined && end !== undefined) units.push({ series: [entry.series], from: start, to: end });
      }
      continue;
    }
    if (size + entry.samples > budget) flush();
    current.push(entry.series);
    size += entry.samples;
  }
  flush();
  return units;
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
  };
  const budget = deps.unitSamples ?? DEFAULT_COMPACTION_UNIT_SAMPLES;
  const closed = (await deps.db.asSystem(dayPartitions)).filter((partition) => partition.day.getTime() + DAY_MS + deps.delayMs <= now.getTime());
  for (const partition of closed) {
    if (deps.signal?.aborted === true) break;
    outcome.days += 1;
    const failedBefore = outcome.failed;
    await compactDay(deps, partition, budget, outcome);
    if (outcome.failed === failedBefore && (await deps.db.asSystem((tx) => dropCompactedPartition(tx, partition.partitionName)))) outcome.droppedPartitions += 1;
  }
  return outcome;
}

async function compactDay(deps: CompactionDeps, partition: DayPartition, budget: number, outcome: CompactionOutcome): Promise<void> {
  const from = partition.day;
  const to = new Date(from.getTime() + DAY_MS);
  const day = from.toISOString().slice(0, 10);
  const tenants = await deps.db.asSystem((tx) => tenantsOfDay(tx, partition.source, from, to));
  for (const tenantId of tenants) {
    const series = await deps.db.withTenant(tenantId, (tx) => seriesOfDay(tx, partition.source, tenantId, from, to));
    const cuts = new Map<string, Date[]>();
    for (const entry of series.filter((candidate) => candidate.samples > budget)) {
      cuts.set(entry.series, await deps.db.withTenant(tenantId, (tx) => sliceStarts(tx, partition.source, tenantId, entry.series, from, to, budget)));
    }
    for (const unit of unitsOf(series, budget, from, to, cuts)) {
      if (deps.signal?.aborted === true) return;
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
    }
  }
}
