import { ValidationError } from '../errors.js';
import { LABEL_NAME_PATTERN } from './sample.js';

/** A Prometheus-style matcher on one label; `service` names the sample's service. */
export interface LabelMatcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

const LABEL = new RegExp(LABEL_NAME_PATTERN.slice(1, -1));
const MATCHER = new RegExp(`^\\s*(${LABEL.source})\\s*(=~|!~|!=|=)\\s*"((?:[^"\\\\]|\\\\.)*)"\\s*$`);

/** Parses `label="value"`, `label!="value"`, `label=~"regex"`, `label!~"regex"`. */
export function parseMatcher(text: string, field = 'match'): LabelMatcher {
  const match = MATCHER.exec(text);
  const [, label, op, quoted] = match ?? [];
  if (label === undefined || op === undefined || quoted === undefined) {
    throw new ValidationError(`Invalid label matcher ${JSON.stringify(text)}; expected label="value", label!="value", label=~"regex" or label!~"regex"`, { field, matcher: text });
  }
  const value = JSON.parse(`"${quoted}"`) as string;
  const matcher: LabelMatcher = { label, op: op as LabelMatcher['op'], value };
  assertValidRegex(matcher, field);
  return matcher;
}

export function assertValidRegex(matcher: LabelMatcher, field: string): void {
  if (matcher.op !== '=~' && matcher.op !== '!~') return;
  try {
    new RegExp(matcher.value);
  } catch (error) {
    throw new ValidationError(`Invalid regular expression in matcher on "${matcher.label}"`, { field, label: matcher.label, value: matcher.value, reason: error instanceof Error ? error.message : String(error) });
  }
}

/**
 * SQL conditions for the matchers, appended to `params`. A missing label matches as the empty
 * string and regexes are anchored, as in Prometheus. `labelsColumn`/`serviceColumn` name the columns.
 */
export function matcherConditions(matchers: readonly LabelMatcher[], params: unknown[], columns: { labels: string; service: string }): string[] {
  return matchers.map((matcher) => {
    params.push(matcher.value);
    const valueRef = `$${params.length}`;
    let subject: string;
    if (matcher.label === 'service') subject = columns.service;
    else {
      params.push(matcher.label);
      subject = `coalesce(${columns.labels} ->> $${params.length}, '')`;
    }
    switch (matcher.op) {
      case '=':
        return `${subject} = ${valueRef}`;
      case '!=':
        return `${subject} <> ${valueRef}`;
      case '=~':
        return `${subject} ~ ('^(?:' || ${valueRef} || ')$')`;
      case '!~':
        return `${subject} !~ ('^(?:' || ${valueRef} || ')$')`;
    }
  });
}

/** PostgreSQL's "invalid regular expression" (2201B) becomes a 400, not a 500. */
export function rethrowInvalidRegex(error: unknown): never {
  if (typeof error === 'object' && error !== null && 'code' in error && error.code === '2201B') {
    throw new ValidationError('Invalid regular expression in a label matcher', { reason: error instanceof Error ? error.message : 'invalid regular expression' });
  }
  throw error;
}
