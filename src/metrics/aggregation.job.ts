import type { Logger } from 'pino';
import type { Db } from '../platform/db/index.js';
import { coarsen, computeRollups, dueDays, markDays, ROLLUP_RESOLUTIONS, settleDays, takeMarks } from './rollups.repository.js';

export interface AggregationOutcome {
  marks: number;
  rollups: { '5m': number; '1h': number; '1d': number };
}

const [FIVE_MINUTES, HOUR, DAY] = ROLLUP_RESOLUTIONS as [(typeof ROLLUP_RESOLUTIONS)[number], (typeof ROLLUP_RESOLUTIONS)[number], (typeof ROLLUP_RESOLUTIONS)[number]];

/**
 * One run of `metric-aggregation`: the buckets ingest marked as changed are recomputed from raw
 * samples at 5m and 1h; their days are flagged and recomputed at 1d when the day closes (and at
 * most hourly while it is open). Everything of a run commits together.
 */
export async function runAggregation(deps: { db: Db; logger: Logger; maxMarks: number }, now: Date): Promise<AggregationOutcome> {
  const outcome = await deps.db.asSystem(async (tx) => {
    const marks = await takeMarks(tx, deps.maxMarks);
    const fiveMinutes = coarsen(marks, FIVE_MINUTES.ms);
    const five = await computeRollups(tx, FIVE_MINUTES, fiveMinutes, now);
    const hour = await computeRollups(tx, HOUR, coarsen(fiveMinutes, HOUR.ms), now);
    await markDays(tx, coarsen(fiveMinutes, DAY.ms));
    const days = await dueDays(tx, now, 1_000);
    const day = await computeRollups(tx, DAY, days, now);
    await settleDays(tx, days, now);
    return { marks: marks.length, rollups: { '5m': five, '1h': hour, '1d': day } };
  });
  if (outcome.marks > 0) deps.logger.debug(outcome, 'metric rollups updated');
  return outcome;
}
