import type { MarkedSeriesBucket, SeriesBucket } from './rollups.repository.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Work charged per rollup row on top of the samples it reads (index descent, grouping, upsert). */
export const ROW_COST = 100;

/** One transaction of the 5m/1h step: some (hour, series) of one tenant. */
export interface BucketUnit {
  tenantId: string;
  seriesHours: readonly SeriesHour[];
  fiveMinutes: SeriesBucket[];
  hours: SeriesBucket[];
  days: Date[];
  cost: number;
}

/** One series in one hour: the smallest unit (its 1h p95 reads every sample of the hour at once). */
export interface SeriesHour {
  tenantId: string;
  hour: SeriesBucket;
  marks: MarkedSeriesBucket[];
  cost: number;
}

/**
 * Cuts marked (tenant, 5-minute bucket, series) into units of one tenant each whose estimated
 * work stays within `budget`: the samples read to recompute their 5m rows and the 1h rows of
 * their hours, plus ROW_COST a row. The estimates come from the current rollups' counts and the
 * marks' sample counts. A series' hour is never split (its p95 needs every sample of the hour in
 * one statement), so one series-hour above the budget makes a unit alone.
 */
export function planBucketUnits(marks: readonly MarkedSeriesBucket[], budget: number): BucketUnit[] {
  const groups = new Map<string, SeriesHour>();
  for (const mark of marks) {
    const hourMs = Math.floor(mark.bucketStart.getTime() / HOUR_MS) * HOUR_MS;
    const key = `${mark.tenantId}|${hourMs}|${mark.seriesKey}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { tenantId: mark.tenantId, hour: { bucketStart: new Date(hourMs), seriesKey: mark.seriesKey }, marks: [], cost: mark.known1h + ROW_COST };
      groups.set(key, group);
    }
    group.marks.push(mark);
    // The 5m row reads its bucket; the 1h row reads the hour, new samples included.
    group.cost += mark.known5m + mark.marked + ROW_COST + mark.marked;
  }
  const byTenant = new Map<string, SeriesHour[]>();
  for (const group of groups.values()) {
    const list = byTenant.get(group.tenantId);
    if (list === undefined) byTenant.set(group.tenantId, [group]);
    else list.push(group);
  }
  const units: BucketUnit[] = [];
  for (const tenantId of [...byTenant.keys()].sort(compare)) {
    const ordered = (byTenant.get(tenantId) ?? []).sort((a, b) => a.hour.bucketStart.getTime() - b.hour.bucketStart.getTime() || compare(a.hour.seriesKey, b.hour.seriesKey));
    for (const pack of packWithin(ordered, (group) => group.cost, budget)) units.push(toUnit(tenantId, pack));
  }
  return units;
}

/** A failed unit's series-hours, one unit each, so a bad one holds back only itself. */
export function splitBucketUnit(unit: BucketUnit): BucketUnit[] {
  return unit.seriesHours.map((group) => toUnit(unit.tenantId, [group]));
}

function toUnit(tenantId: string, groups: readonly SeriesHour[]): BucketUnit {
  const days = new Set<number>();
  for (const group of groups) days.add(Math.floor(group.hour.bucketStart.getTime() / DAY_MS) * DAY_MS);
  return {
    tenantId,
    seriesHours: groups,
    fiveMinutes: groups.flatMap((group) =>
      group.marks.map((mark) => ({
        bucketStart: mark.bucketStart,
        seriesKey: mark.seriesKey,
      })),
    ),
    hours: groups.map((group) => group.hour),
    days: [...days].map((ms) => new Date(ms)),
    cost: groups.reduce((sum, group) => sum + group.cost, 0),
  };
}

/** Series of one day cut into sets whose samples (from the 1h rollups) stay within `budget`. */
export function planDayUnits(series: ReadonlyArray<{ seriesKey: string; samples: number }>, budget: number): string[][] {
  return packWithin(series, (one) => one.samples + ROW_COST, budget).map((pack) => pack.map((one) => one.seriesKey));
}

/** Consecutive items in packs whose summed cost stays within `budget`; an item above it is a pack alone. */
export function packWithin<T>(items: readonly T[], cost: (item: T) => number, budget: number): T[][] {
  const packs: T[][] = [];
  let current: T[] = [];
  let total = 0;
  for (const item of items) {
    const itemCost = cost(item);
    if (current.length > 0 && total + itemCost > budget) {
      packs.push(current);
      current = [];
      total = 0;
    }
    current.push(item);
    total += itemCost;
  }
  if (current.length > 0) packs.push(current);
  return packs;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
