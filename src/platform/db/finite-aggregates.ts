/**
 * SQL sums and means over float8 that never raise. PostgreSQL refuses a float8 sum that leaves
 * the double range (`value out of range: overflow`), and avg() refuses far earlier: its running
 * sum of squares overflows past about 1e154. Finite samples that ingest accepts (two of 1e308)
 * then failed every statement that aggregated them: rollups, queries, rule evaluation, reports.
 *
 * These keep the float8 aggregate, bit for bit, over ordinary values (|v| <= 1e290: no sum of
 * fewer than 1e18 of them overflows). The few huge values are summed scaled by 2^-1000, which is
 * exact for them (it only moves the exponent) and cannot overflow; the total is scaled back when
 * it fits. A total beyond the double range is +Infinity or -Infinity, as Prometheus answers; a mean
 * of finite values is always finite. (They were summed in numeric first: a numeric sum of 1e308s
 * costs about 3 µs a value, and a tenant's stream of them held a core through every rule
 * evaluation and rollup, beside every other tenant's queries.)
 */

/** Values beyond this magnitude are summed scaled. */
const LARGE = '1e290::float8';
/** 2^-1000 and 2^1000: multiplying by a power of two is exact while the result stays normal. */
const SCALE_DOWN = '9.332636185032189e-302::float8';
const SCALE_UP = '1.0715086071862673e301::float8';
/** A scaled total below 2^24 in magnitude scales back below 2^1024, inside the double range. */
const SCALED_LIMIT = '16777216::float8';
const DOUBLE_MAX = '1.7976931348623157e308::float8';

export interface FloatInput {
  /** A float8 expression (a column). */
  value: string;
  /**
   * The same value times 2^-1000 (SCALE_DOWN), when it is better computed another way (a rollup's
   * avg * SCALE_DOWN * count: its sum may be Infinity); default value * SCALE_DOWN.
   */
  scaled?: string;
  /** Restricts the rows summed, like FILTER (WHERE ...). */
  where?: string;
}

/** 2^-1000 as SQL, for FloatInput.scaled. */
export const SQL_SCALE_DOWN = SCALE_DOWN;

const filtered = (input: FloatInput, condition: string) => `FILTER (WHERE ${input.where === undefined ? '' : `(${input.where}) AND `}${condition})`;
const ordinaryPart = (input: FloatInput) => `sum(${input.value}) ${filtered(input, `abs(${input.value}) <= ${LARGE}`)}`;
const hugePart = (input: FloatInput) => `sum(${input.scaled ?? `(${input.value}) * ${SCALE_DOWN}`}) ${filtered(input, `NOT abs(${input.value}) <= ${LARGE}`)}`;
const scaledTotal = (input: FloatInput) => `(coalesce(${ordinaryPart(input)}, 0) * ${SCALE_DOWN} + ${hugePart(input)})`;

/** A scaled total as float8: past the double range it is +/-Infinity; NaN stays NaN. */
function sumToDouble(scaled: string): string {
  return `CASE WHEN ${scaled} = 'NaN'::float8 THEN 'NaN'::float8 WHEN abs(${scaled}) < ${SCALED_LIMIT} THEN ${scaled} * ${SCALE_UP} WHEN ${scaled} > 0 THEN 'Infinity'::float8 ELSE '-Infinity'::float8 END`;
}

/** A scaled mean as float8: a mean of finite values never leaves the double range (rounding can put it at the edge). */
function meanToDouble(scaled: string): string {
  return `CASE WHEN ${scaled} = 'NaN'::float8 THEN 'NaN'::float8 WHEN abs(${scaled}) < ${SCALED_LIMIT} THEN ${scaled} * ${SCALE_UP} WHEN ${scaled} = 'Infinity'::float8 THEN 'Infinity'::float8 WHEN ${scaled} = '-Infinity'::float8 THEN '-Infinity'::float8 WHEN ${scaled} > 0 THEN ${DOUBLE_MAX} ELSE -${DOUBLE_MAX} END`;
}

/** sum(value) that never raises: +/-Infinity when the total leaves the double range; NULL over no rows. */
export function finiteSum(input: FloatInput): string {
  return `(CASE WHEN ${hugePart(input)} IS NULL THEN ${ordinaryPart(input)} ELSE ${sumToDouble(scaledTotal(input))} END)`;
}

/**
 * avg(value) that never raises: `count` is the number of rows summed (count(value), or the sum of
 * a rollup's counts). Finite for finite values, however large; NULL over no rows.
 */
export function finiteMean(input: FloatInput, count: string): string {
  return `(CASE WHEN ${hugePart(input)} IS NULL THEN ${ordinaryPart(input)} / ${count} ELSE ${meanToDouble(`(${scaledTotal(input)} / ${count})`)} END)`;
}
