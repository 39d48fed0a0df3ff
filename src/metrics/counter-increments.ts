import type { Tx } from '../platform/db/index.js';
import type { Sample } from './sample.js';
import { addToCounterTotals } from './store/counter-totals.repository.js';

/**
 * The push API's counters are increments; the store keeps running totals, as Prometheus does.
 * Adds the batch's increments to each series' total and sets every counter sample's `value` to the
 * total it reaches, in timestamp order within the batch (batches add up in the order they commit).
 * Always computed from `increment`, so a transaction tried again computes the same values.
 */
export async function accumulateCounterIncrements(tx: Tx, tenantId: string, samples: readonly Sample[], seriesIds: readonly number[]): Promise<void> {
  const bySeries = new Map<number, Sample[]>();
  samples.forEach((sample, index) => {
    if (sample.increment === undefined) return;
    const id = seriesIds[index];
    if (id === undefined) throw new Error(`sample ${index} has no series id`);
    const series = bySeries.get(id);
    if (series === undefined) bySeries.set(id, [sample]);
    else series.push(sample);
  });
  if (bySeries.size === 0) return;
  const added = new Map<number, number>();
  for (const [id, series] of bySeries) {
    series.sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
    added.set(id, series.reduce((sum, sample) => sum + (sample.increment ?? 0), 0));
  }
  const totals = await addToCounterTotals(tx, tenantId, added);
  for (const [id, series] of bySeries) {
    const total = totals.get(id);
    if (total === undefined) throw new Error(`series ${id} has no counter total`);
    // Counted back from the total, so the newest sample is exactly the stored total.
    let after = 0;
    for (let index = series.length - 1; index >= 0; index -= 1) {
      const sample = series[index];
      if (sample === undefined) continue;
      sample.value = total - after;
      after += sample.increment ?? 0;
    }
  }
}
