import { ValidationError } from '../errors.js';
import type { Range } from './report.schema.js';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const MAX_SPAN_MS = 366 * 86_400_000;

export interface ResolvedRange {
  from: Date;
  to: Date;
}

/** A relative range ends at `at` (the scheduled time or now); a fixed one is taken as written. */
export function resolveRange(range: Range, at: Date): ResolvedRange {
  let from: Date;
  let to: Date;
  if ('last' in range) {
    const amount = Number(range.last.slice(0, -1));
    const unit = UNIT_MS[range.last.slice(-1)] ?? UNIT_MS['h'] ?? 3_600_000;
    to = at;
    from = new Date(at.getTime() - amount * unit);
  } else {
    from = new Date(range.from);
    to = new Date(range.to);
  }
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new ValidationError('range has an invalid date', { field: 'query.range' });
  if (from.getTime() >= to.getTime()) throw new ValidationError('range must start before it ends', { field: 'query.range' });
  if (to.getTime() - from.getTime() > MAX_SPAN_MS) throw new ValidationError('range spans more than 366 days', { field: 'query.range' });
  return { from, to };
}
