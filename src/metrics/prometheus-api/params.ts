import { matcherOf, type Matcher } from '../../platform/matchers/index.js';
import { parseDuration, parsePromql } from '../promql/parse.js';
import { badData } from '../promql/values.js';

/** A query or form parameter as Fastify gives it: one value, or several for a repeated name. */
export type Param = string | string[] | undefined;

const one = (value: Param): string | undefined => (Array.isArray(value) ? value[value.length - 1] : value);
export const many = (value: Param): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Prometheus's time parameter: a Unix timestamp in seconds (with decimals) or RFC 3339; ms. */
export function parseTime(value: Param, name: string, fallback?: number): number {
  const text = one(value);
  if (text === undefined || text === '') {
    if (fallback !== undefined) return fallback;
    throw badData(`invalid parameter "${name}": missing`);
  }
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.round(seconds * 1000);
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) throw badData(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`);
  return parsed;
}

/** A step or timeout: seconds (with decimals) or a duration; ms. */
export function parseStep(value: Param, name: string): number {
  const text = one(value);
  if (text === undefined || text === '') throw badData(`invalid parameter "${name}": missing`);
  const seconds = Number(text);
  const ms = Number.isFinite(seconds) ? Math.round(seconds * 1000) : parseDuration(text);
  if (ms <= 0) throw badData(`invalid parameter "${name}": zero or negative query resolution step widths are not accepted. Try a positive integer`);
  return ms;
}

export function queryParam(value: Param): string {
  const text = one(value);
  if (text === undefined || text === '') throw badData('invalid parameter "query": missing');
  return text;
}

/** `match[]` series selectors, each a list of matchers (the metric name as __name__). */
export function parseMatchParams(value: Param): Matcher[][] {
  return many(value).map((text) => {
    const expr = parsePromql(text);
    if (expr.kind !== 'vector') throw badData(`invalid parameter "match[]": ${text} is not a series selector`);
    return expr.matchers;
  });
}

export const nameMatcher = (name: string): Matcher => matcherOf('__name__', '=', name);
