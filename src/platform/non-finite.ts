import { Type } from '@sinclair/typebox';

/**
 * JSON has no Infinity or NaN: JSON.stringify writes null, Fastify's serializer writes null for
 * an infinity and fails on NaN. A sum of finite samples can still leave the double range
 * (+/-Infinity, finite-aggregates.ts), so every JSON answer writes such a number as `null` and
 * names it in its object's `non_finite`: field name -> Prometheus's spelling. Text outputs (CSV,
 * PDF, the exposition format) write the spelling itself. See docs/metrics.md.
 */
export const NON_FINITE = ['+Inf', '-Inf', 'NaN'] as const;
export type NonFinite = (typeof NON_FINITE)[number];

export const NonFiniteSchema = Type.Union(NON_FINITE.map((spelling) => Type.Literal(spelling)));
/** The `non_finite` member of a JSON object: present only when one of its numbers is not finite. */
export const NonFiniteFieldsSchema = Type.Optional(Type.Record(Type.String(), NonFiniteSchema, { description: 'numbers of this object that are not finite (written as null): field -> "+Inf", "-Inf" or "NaN"' }));

export type NonFiniteFields = Record<string, NonFinite>;

export const spellNonFinite = (value: number): NonFinite => (Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf');

/** A number as text: finite numbers as JavaScript writes them, the others in Prometheus's spelling. */
export const numberText = (value: number): string => (Number.isFinite(value) ? String(value) : spellNonFinite(value));

/** The number for JSON: itself when finite; otherwise null, with its spelling recorded in `flags[field]`. */
export function finiteOrNull(value: number, field: string, flags: NonFiniteFields): number | null {
  if (Number.isFinite(value)) return value;
  flags[field] = spellNonFinite(value);
  return null;
}

/** Spread into a JSON object: `{ non_finite }` when a field was not finite, else nothing. */
export const nonFiniteMember = (flags: NonFiniteFields): { non_finite?: NonFiniteFields } => (Object.keys(flags).length === 0 ? {} : { non_finite: flags });
