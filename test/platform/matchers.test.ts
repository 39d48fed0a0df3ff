import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { compileMatchers, compilePattern, compileStoredMatchers, matcherOf, PATTERN_CACHE_MAX, warnRefusedOnce, type Matcher, type RefusedMatcher } from '../../src/platform/matchers/index.js';

const regex = (name: string, value: string, isEqual = true): Matcher => ({ name, value, is_regex: true, is_equal: isEqual });
const matches = (matcher: Matcher, labels: Record<string, string>) => compileMatchers([matcher])(labels);

function refusal(matcher: Matcher): unknown {
  try {
    compileMatchers([matcher], 'label_matchers');
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('label matchers (RE2, fully anchored, as Prometheus)', () => {
  it('(a+)+ against a long non-matching value answers false (RE2 does not backtrack); "aaaa" matches', () => {
    const attack = compileMatchers([regex('x', '(a+)+')]);
    expect(attack({ x: `${'a'.repeat(30)}!` })).toBe(false);
    expect(attack({ x: `${'a'.repeat(100_000)}!` })).toBe(false);
    expect(attack({ x: 'aaaa' })).toBe(true);
  });

  it('regexes are fully anchored: a.* matches "abc", not "ba"', () => {
    expect(matches(regex('x', 'a.*'), { x: 'abc' })).toBe(true);
    expect(matches(regex('x', 'a.*'), { x: 'ba' })).toBe(false);
    expect(matches(regex('x', 'b|ab'), { x: 'ab' })).toBe(true);
    expect(matches(regex('x', 'a|ab'), { x: 'abc' })).toBe(false);
  });

  it('=, !=, =~ and !~ with an absent label tested as ""', () => {
    expect(matches(matcherOf('env', '=', 'prod'), { env: 'prod' })).toBe(true);
    expect(matches(matcherOf('env', '!=', 'prod'), { env: 'prod' })).toBe(false);
    expect(matches(matcherOf('env', '!=', 'prod'), {})).toBe(true);
    expect(matches(matcherOf('env', '=', ''), {})).toBe(true);
    expect(matches(matcherOf('env', '=~', 'prod|dev'), { env: 'dev' })).toBe(true);
    expect(matches(matcherOf('env', '!~', 'prod|dev'), { env: 'dev' })).toBe(false);
    expect(matches(matcherOf('env', '!~', 'prod|dev'), {})).toBe(true);
    expect(matches(matcherOf('env', '=~', '.*'), {})).toBe(true);
    expect(matches(matcherOf('env', '=~', '.+'), {})).toBe(false);
    // A missing is_equal means equal, as stored rules may have it.
    expect(matches({ name: 'env', value: 'p.*', is_regex: true }, { env: 'prod' })).toBe(true);
  });

  it('all matchers of a set must hold', () => {
    const both = compileMatchers([matcherOf('env', '=', 'prod'), matcherOf('queue', '=~', 'orders|payments')]);
    expect(both({ env: 'prod', queue: 'orders' })).toBe(true);
    expect(both({ env: 'prod', queue: 'mail' })).toBe(false);
    expect(compileMatchers([])({ anything: 'x' })).toBe(true);
  });

  it('RE2 syntax: Perl classes, POSIX classes, flags, Unicode', () => {
    expect(matches(regex('x', '\\d+'), { x: '123' })).toBe(true);
    expect(matches(regex('x', '[[:alpha:]]+'), { x: 'abc' })).toBe(true);
    expect(matches(regex('x', '(?i)ERROR'), { x: 'error' })).toBe(true);
    expect(matches(regex('x', '\\p{Greek}+'), { x: 'αβγ' })).toBe(true);
    expect(matches(regex('x', '.'), { x: '😀' })).toBe(true);
  });

  it.each([
    ['a lookahead', '(?=x)'],
    ['a negative lookahead', 'a(?!b)'],
    ['a lookbehind', '(?<=a)b'],
    ['a backreference', '(a)\\1'],
    ['an unbalanced (', '('],
    ['a ) that would escape the anchoring group', 'a)|(b'],
    ['a nested repetition', 'a**'],
    ['a repeat count over 1000', 'a{1001}'],
  ])('refuses %s with INVALID_MATCHER (400)', (_what, value) => {
    const error = refusal(regex('x', value));
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'INVALID_MATCHER', statusCode: 400, details: { field: 'label_matchers', name: 'x', value } });
  });

  it('a stored set with a refused pattern matches nothing and reports it; the others still compile', () => {
    const refused: RefusedMatcher[] = [];
    const stored = compileStoredMatchers([matcherOf('env', '=', 'prod'), regex('x', '(a)\\1', false)], (entry) => refused.push(entry));
    expect(stored.refused).toBe(true);
    expect(stored.matches({ env: 'prod', x: 'aa' })).toBe(false);
    expect(stored.matches({ env: 'prod', x: 'b' })).toBe(false);
    expect(refused).toMatchObject([{ name: 'x', value: '(a)\\1', is_equal: false }]);
    const fine = compileStoredMatchers([matcherOf('env', '=', 'prod')], () => undefined);
    expect(fine).toMatchObject({ refused: false });
    expect(fine.matches({ env: 'prod' })).toBe(true);
  });

  it('a refused stored pattern is logged once per owner', () => {
    const warnings: unknown[] = [];
    const logger = { warn: (entry: unknown) => warnings.push(entry) };
    const report = warnRefusedOnce(logger, { tenantId: 't-1', ruleId: 'r-1' });
    for (let round = 0; round < 3; round += 1) compileStoredMatchers([regex('x', '(?=once)')], report);
    expect(warnings).toEqual([expect.objectContaining({ tenantId: 't-1', ruleId: 'r-1', matcher: 'x=~"(?=once)"' })]);
    compileStoredMatchers([regex('x', '(?=once)')], warnRefusedOnce(logger, { tenantId: 't-1', ruleId: 'r-2' }));
    expect(warnings).toHaveLength(2);
  });

  it('compiles a pattern once and keeps at most PATTERN_CACHE_MAX of them', () => {
    const first = compilePattern('cached-(a|b)');
    expect(compilePattern('cached-(a|b)')).toBe(first);
    for (let index = 0; index < PATTERN_CACHE_MAX; index += 1) compilePattern(`filler-${index}`);
    expect(compilePattern('cached-(a|b)')).not.toBe(first);
  });
});
