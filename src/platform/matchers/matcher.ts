import type { Logger } from 'pino';
import { AppError } from '../../errors.js';
import { compilePattern } from './pattern.js';

/**
 * One label matcher, the service's only dialect: Alertmanager's JSON shape (`is_equal` absent
 * means true). Every API maps into it: rule, silence and inhibit matchers as they are, query
 * matchers from `label=~"re"` text, Grafana filters from `{key, operator, value}`.
 */
export interface Matcher {
  name: string;
  value: string;
  is_regex: boolean;
  is_equal?: boolean;
}

export type MatchOp = '=' | '!=' | '=~' | '!~';
export const MATCH_OPS: readonly MatchOp[] = ['=', '!=', '=~', '!~'];

export type LabelPredicate = (labels: Readonly<Record<string, string | undefined>>) => boolean;
export type ValuePredicate = (value: string) => boolean;

export const isMatchOp = (text: string): text is MatchOp => (MATCH_OPS as readonly string[]).includes(text);

export function opOf(matcher: Matcher): MatchOp {
  const equal = matcher.is_equal !== false;
  if (matcher.is_regex) return equal ? '=~' : '!~';
  return equal ? '=' : '!=';
}

export function matcherOf(name: string, op: MatchOp, value: string): Matcher {
  return { name, value, is_regex: op === '=~' || op === '!~', is_equal: op === '=' || op === '=~' };
}

/** `name=~"value"`, as written in a query. */
export const matcherText = (matcher: Matcher): string => `${matcher.name}${opOf(matcher)}${JSON.stringify(matcher.value)}`;

export function invalidMatcher(message: string, details: Record<string, unknown>): AppError {
  return new AppError('INVALID_MATCHER', message, { details });
}

/** A matcher whose pattern RE2 refuses. */
export interface RefusedMatcher {
  name: string;
  value: string;
  is_equal: boolean;
  reason: string;
}

/** The test on one label value (an absent label is tested as ""), or why RE2 refuses its pattern. */
export function valuePredicate(matcher: Matcher): { ok: true; test: ValuePredicate } | { ok: false; refused: RefusedMatcher } {
  const equal = matcher.is_equal !== false;
  if (!matcher.is_regex) return { ok: true, test: (value) => (value === matcher.value) === equal };
  const pattern = compilePattern(matcher.value);
  if (!pattern.ok) return { ok: false, refused: { name: matcher.name, value: matcher.value, is_equal: equal, reason: pattern.reason } };
  return { ok: true, test: (value) => pattern.matches(value) === equal };
}

/** The test on one label value. Throws INVALID_MATCHER (400) when RE2 refuses the pattern. */
export function compileValuePredicate(matcher: Matcher, field: string): ValuePredicate {
  const compiled = valuePredicate(matcher);
  if (!compiled.ok) {
    throw invalidMatcher(`Matcher on "${matcher.name}" has a regular expression RE2 does not accept: ${compiled.refused.reason}`, { field, name: matcher.name, value: matcher.value, reason: compiled.refused.reason });
  }
  return compiled.test;
}

type LabelTest = { name: string; test: ValuePredicate };
const allHold = (tests: readonly LabelTest[]): LabelPredicate => (labels) => tests.every(({ name, test }) => test(labels[name] ?? ''));

/** All matchers must hold. Throws INVALID_MATCHER (400) when RE2 refuses a pattern. */
export function compileMatchers(matchers: readonly Matcher[], field = 'matchers'): LabelPredicate {
  return allHold(matchers.map((matcher) => ({ name: matcher.name, test: compileValuePredicate(matcher, field) })));
}

/**
 * For matchers read back from storage, which may predate RE2 (a lookahead, a backreference): a
 * set with a refused pattern matches nothing, and each refused matcher is reported to `onRefused`.
 */
export function compileStoredMatchers(matchers: readonly Matcher[], onRefused: (refused: RefusedMatcher) => void): { matches: LabelPredicate; refused: boolean } {
  const tests: LabelTest[] = [];
  let refused = false;
  for (const matcher of matchers) {
    const compiled = valuePredicate(matcher);
    if (compiled.ok) tests.push({ name: matcher.name, test: compiled.test });
    else {
      refused = true;
      onRefused(compiled.refused);
    }
  }
  return refused ? { matches: () => false, refused } : { matches: allHold(tests), refused };
}

const REPORTED_MAX = 10_000;
const reported = new Set<string>();

/** Logs each refused stored pattern once per process and owner (for example a tenant and a rule). */
export function warnRefusedOnce(logger: Pick<Logger, 'warn'>, owner: Record<string, string>): (refused: RefusedMatcher) => void {
  return (refused) => {
    const key = JSON.stringify([owner, refused.name, refused.value]);
    if (reported.has(key)) return;
    if (reported.size >= REPORTED_MAX) reported.clear();
    reported.add(key);
    logger.warn({ ...owner, matcher: matcherText({ ...refused, is_regex: true }), reason: refused.reason }, 'stored matcher has a pattern RE2 refuses; it matches nothing until it is saved again with an RE2 pattern');
  };
}
