import type { ManualClock } from '../../src/platform/clock.js';
import type { TestApp } from './app.js';

/**
 * Moves the clock to `offsetMs` into a cycle of the `ml-analysis` job that is later than both the
 * current time and the last claimed cycle (a shared PostgreSQL keeps the claims of earlier runs).
 */
export async function nextAnalysisCycle(t: TestApp, clock: ManualClock, offsetMs: number): Promise<number> {
  const interval = t.container.config.ML_ANALYSIS_INTERVAL_MS;
  const claimed = await t.container.db.asSystem((tx) => tx.query<{ cycle: string }>('SELECT cycle FROM job_runs WHERE job_name = $1', [t.container.scheduler.claimKey('ml-analysis')]));
  const last = Number(claimed.rows[0]?.cycle ?? 0);
  const cycle = Math.max(last + 1, Math.floor(Math.max(Date.now(), clock.nowMs()) / interval) + 1);
  clock.set(cycle * interval + offsetMs);
  return clock.nowMs();
}
