import { Type, type Static } from '@sinclair/typebox';
import { LABEL_NAME_PATTERN } from '../metrics/sample.js';

export { compileMatchers, compileStoredMatchers, warnRefusedOnce, type LabelPredicate } from '../platform/matchers/index.js';

/**
 * Alertmanager's matcher JSON: `=`, `!=`, `=~`, `!~` on one label, in the service's one dialect
 * (src/platform/matchers: RE2, fully anchored, an absent label tested as "").
 */
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
