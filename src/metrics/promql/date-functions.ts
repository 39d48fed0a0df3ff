import { withoutName, type InstantVector } from './values.js';

/** Prometheus's time functions: each sample's value read as seconds since the epoch, in UTC. */
export const DATE_FUNCTIONS: Record<string, (date: Date) => number> = {
  year: (date) => date.getUTCFullYear(),
  month: (date) => date.getUTCMonth() + 1,
  day_of_month: (date) => date.getUTCDate(),
  day_of_week: (date) => date.getUTCDay(),
  day_of_year: (date) => Math.floor((date.getTime() - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86_400_000) + 1,
  hour: (date) => date.getUTCHours(),
  minute: (date) => date.getUTCMinutes(),
  days_in_month: (date) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 0)).getUTCDate(),
};

export function applyDateFunction(func: string, input: InstantVector): InstantVector {
  const read = DATE_FUNCTIONS[func];
  if (read === undefined) throw new Error(`${func} is not a date function`);
  return {
    kind: 'vector',
    samples: input.samples.map((sample) => {
      // Prometheus truncates to whole seconds; NaN and infinities stay NaN.
      const date = new Date(Math.trunc(sample.value) * 1000);
      return { labels: withoutName(sample.labels), value: Number.isFinite(sample.value) && !Number.isNaN(date.getTime()) ? read(date) : Number.NaN };
    }),
  };
}
