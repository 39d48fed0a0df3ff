import { Type, type Static } from '@sinclair/typebox';
import { AppError } from '../errors.js';
import { LABEL_NAME_PATTERN } from '../metrics/sample.js';

/** Alertmanager matcher: `=`, `!=`, `=~`, `!~` on one label; regexes are anchored. */
export const MatcherSchema = Type.Object(
  {
    name: Type.String({ pattern: LABEL_NAME_PATTERN, maxLength: 100 }),
    value: Type.String({ maxLength: 500 }),
    is_regex: Type.Boolean({ default: false }),
    is_equal: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type Matcher = Static<typeof MatcherSchema>;

export type LabelPredicate = (labels: Record<string, string>) => boolean;

function compileOne(matcher: Matcher, field: string): LabelPredicate {
  let test: (value: string) => boolean;
  if (matcher.is_regex) {
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${matcher.value})$`);
    } catch (error) {
      throw new AppError('INVALID_MATCHER', `Matcher on "${matcher.name}" has an invalid regular expression`, {
        details: { field, name: matcher.name, value: matcher.value, reason: error instanceof Error ? error.message : String(error) },
      });
    }
    test = (value) => regex.test(value);
  } else {
    test = (value) => value === matcher.value;
  }
  // A missing label matches as the empty string, as in Alertmanager.
  return (labels) => test(labels[matcher.name] ?? '') === matcher.is_equal;
}

/** All matchers must hold. Throws INVALID_MATCHER (400) on a bad regex. */
export function compileMatchers(matchers: readonly Matcher[], field = 'matchers'): LabelPredicate {
  const predicates = matchers.map((matcher) => compileOne(matcher, field));
  return (labels) => predicates.every((predicate) => predicate(labels));
}

/** Normalises matchers that may come from storage without defaults. */
export function normaliseMatchers(raw: unknown): Matcher[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item: unknown) => {
    if (typeof item !== 'object' || item === null) return [];
    const record = item as Record<string, unknown>;
    if (typeof record['name'] !== 'string' || typeof record['value'] !== 'string') return [];
    return [{ name: record['name'], value: record['value'], is_regex: record['is_regex'] === true, is_equal: record['is_equal'] !== false }];
  });
}
