/**
 * SQL sums and means over float8 that never raise. PostgreSQL refuses a float8 sum that leaves
 * the double range (`value out of range: overflow`), and avg() refuses far earlier: its running
 * sum of squares overflows past about 1e154. Finite samples that ingest accepts (two of 1e308)
 * then failed every statement that aggregated them: rollups, queries, rule evaluation, reports.
 *
 * These keep the float8 aggregate, bit for bit, over ordinary values (|v| <= 1e290: no sum of
 * fewer than 1e18 of them overflows) and add the few huge ones in numeric. A total beyond the
 * double range is +Infinity or -Infinity, as Prometheus answers; a mean of finite values is always
 * finite. (float8 -> numeric keeps 15 digits: only the huge values pay that rounding.)
 */

/** Values beyond this magnitude are summed in numeric. */
const LARGE = '1e290::float8';
/** The largest double, and its 15-digit numeric image (what float8 -> numeric gives for it). */
const DOUBLE_MAX = '1.7976931348623157e308';
const DOUBLE_MAX_ROUNDED = '1.79769313486232e308';

export interface FloatInput {
  /** A float8 expression (a column). */
  value: string;
  /** The same value as numeric, when a more exact form exists (a rollup's avg * count); default value::numeric. */
  exact?: string;
  /** Restricts the rows summed, like FILTER (WHERE ...). */
  where?: string;
}

const filtered = (input: FloatInput, condition: string) => `FILTER (WHERE ${input.where === undefined ? '' : `(${input.where}) AND `}${condition})`;
const ordinaryPart = (input: FloatInput) => `sum(${input.value}) ${filtered(input, `abs(${input.value}) <= ${LARGE}`)}`;
const hugePart = (input: FloatInput) => `sum(${input.exact ?? `(${input.value})::numeric`}) ${filtered(input, `NOT abs(${input.value}) <= ${LARGE}`)}`;
const total = (input: FloatInput) => `(coalesce(${ordinaryPart(input)}, 0)::numeric + ${hugePart(input)})`;
const clamped = (numeric: string) => `greatest(least(${numeric}, ${DOUBLE_MAX}), -${DOUBLE_MAX})::float8`;

/** A numeric total as float8: past the double range it is +/-Infinity; NaN stays NaN. */
function sumToDouble(numeric: string): string {
  return `CASE WHEN ${numeric} = 'NaN'::numeric THEN 'NaN'::float8 WHEN ${numeric} > ${DOUBLE_MAX_ROUNDED} THEN 'Infinity'::float8 WHEN ${numeric} < -${DOUBLE_MAX_ROUNDED} THEN '-Infinity'::float8 ELSE ${clamped(numeric)} END`;
}

/** A numeric mean of finite values as float8: never beyond the largest double (15-digit rounding can put it there). */
function meanToDouble(numeric: string): string {
  return `CASE WHEN ${numeric} = 'NaN'::numeric THEN 'NaN'::float8 WHEN ${numeric} = 'Infinity'::numeric THEN 'Infinity'::float8 WHEN ${numeric} = '-Infinity'::numeric THEN '-Infinity'::float8 ELSE ${clamped(numeric)} END`;
}

/** sum(value) that never raises: +/-Infinity when the total leaves the double range; NULL over no rows. */
export function finiteSum(input: FloatInput): string {
  return `(CASE WHEN ${hugePart(input)} IS NULL THEN ${ordinaryPart(input)} ELSE ${sumToDouble(total(input))} END)`;
}

/**
 * avg(value) that never raises: `count` is the number of rows summed (count(value), or the sum of
 * a rollup's counts). Finite for finite values, however large; NULL over no rows.
 */
export function finiteMean(input: FloatInput, count: string): string {
  return `(CASE WHEN ${hugePart(input)} IS NULL THEN ${ordinaryPart(input)} / ${count} ELSE ${meanToDouble(`(${total(input)} / ${count})`)} END)`;
}
