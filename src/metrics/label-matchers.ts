import { setImmediate as nextTurn } from 'node:timers/promises';
import { ValidationError } from '../errors.js';
import { textProblem } from '../platform/http/input-guard.js';
import type { Tx } from '../platform/db/index.js';
import { compileValuePredicate, matcherOf, type Matcher, type MatchOp, type ValuePredicate } from '../platform/matchers/index.js';
import { LABEL_NAME_PATTERN } from './sample.js';

const LABEL = new RegExp(LABEL_NAME_PATTERN.slice(1, -1));
const MATCHER = new RegExp(`^\\s*(${LABEL.source})\\s*(=~|!~|!=|=)\\s*"((?:[^"\\\\]|\\\\.)*)"\\s*$`);

/**
 * Parses `label="value"`, `label!="value"`, `label=~"regex"`, `label!~"regex"` into the service's one
 * matcher type (`service` names the sample's service). A regex RE2 refuses is INVALID_MATCHER (400).
 */
export function parseMatcher(text: string, field = 'match'): Matcher {
  const match = MATCHER.exec(text);
  const [, label, op, quoted] = match ?? [];
  if (label === undefined || op === undefined || quoted === undefined) {
    throw new ValidationError(`Invalid label matcher ${JSON.stringify(text)}; expected label="value", label!="value", label=~"regex" or label!~"regex"`, { field, matcher: text });
  }
  const value = unescapeValue(quoted);
  if (value === undefined) throw new ValidationError(`Invalid escape or character in the value of label matcher ${JSON.stringify(text)}`, { field, matcher: text });
  const matcher = matcherOf(label, op as MatchOp, value);
  compileValuePredicate(matcher, field);
  return matcher;
}

/** The value between the quotes with its escapes resolved, or undefined for a bad escape or a character no database text may hold (NUL, a lone surrogate). */
function unescapeValue(quoted: string): string | undefined {
  try {
    const value = JSON.parse(`"${quoted}"`) as string;
    return textProblem(value) === undefined ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Label values one regex matcher tests per turn of the event loop. */
const VALUES_PER_TURN = 1_000;

/** What a matcher reads: `service` is the sample's service, any other name a label ("" when absent). */
function subjectOf(name: string, params: unknown[]): string {
  if (name === 'service') return 'service_name';
  params.push(name);
  return `coalesce(labels ->> $${params.length}, '')`;
}

/** The distinct values of the matcher's label among the rows of `table` that meet `conditions`, kept where `test` holds. */
async function acceptedValues(tx: Tx, name: string, test: ValuePredicate, table: string, conditions: readonly string[], params: unknown[]): Promise<string[]> {
  const subject = subjectOf(name, params);
  const { rows } = await tx.query<{ value: string }>(`SELECT DISTINCT ${subject} AS value FROM ${table} matched WHERE ${conditions.join(' AND ')}`, params);
  const accepted: string[] = [];
  for (let start = 0; start < rows.length; start += VALUES_PER_TURN) {
    if (start > 0) await nextTurn();
    for (const row of rows.slice(start, start + VALUES_PER_TURN)) if (test(row.value)) accepted.push(row.value);
  }
  return accepted;
}

/**
 * SQL conditions for the matchers over the rows of `table` that meet `conditions`, which must use
 * every parameter in `params` (PostgreSQL infers each one's type); appends to `params`. Equality runs in SQL. A regex never reaches PostgreSQL, whose
 * engine has another dialect and may backtrack: RE2 runs here over the distinct values its label
 * takes in that scope, and SQL gets the values it accepts. As in Prometheus: fully anchored, a
 * missing label is "".
 */
export async function matcherConditions(tx: Tx, matchers: readonly Matcher[], params: unknown[], scope: { table: string; conditions: readonly string[] }): Promise<string[]> {
  const conditions: string[] = [];
  // Equality first: it narrows the values a regex is tested on.
  for (const matcher of [...matchers].sort((a, b) => Number(a.is_regex) - Number(b.is_regex))) {
    const test = compileValuePredicate(matcher, 'match');
    if (matcher.is_regex) {
      const accepted = await acceptedValues(tx, matcher.name, test, scope.table, [...scope.conditions, ...conditions], [...params]);
      const subject = subjectOf(matcher.name, params);
      params.push(accepted);
      conditions.push(`${subject} = ANY($${params.length}::text[])`);
    } else {
      const subject = subjectOf(matcher.name, params);
      params.push(matcher.value);
      conditions.push(`${subject} ${matcher.is_equal === false ? '<>' : '='} $${params.length}`);
    }
  }
  return conditions;
}
