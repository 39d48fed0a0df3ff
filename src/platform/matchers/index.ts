/** Label matchers, one dialect for the whole service: Prometheus semantics on RE2. */
export {
  compileMatchers, compileStoredMatchers, compileValuePredicate, invalidMatcher, isMatchOp, MATCH_OPS, matcherOf, matcherText, opOf, valuePredicate, warnRefusedOnce,
  type LabelPredicate, type Matcher, type MatchOp, type RefusedMatcher, type ValuePredicate,
} from './matcher.js';
export { compilePattern, PATTERN_CACHE_MAX, type CompiledPattern } from './pattern.js';
