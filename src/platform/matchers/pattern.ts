import { RE2JS, RE2JSException } from 're2js';

/** A user-supplied regex compiled by RE2, or why RE2 refuses it. */
export type CompiledPattern = { ok: true; matches: (value: string) => boolean } | { ok: false; reason: string };

/** Distinct pattern texts kept compiled (least recently used forgotten). */
export const PATTERN_CACHE_MAX = 1_000;

const cache = new Map<string, CompiledPattern>();

function compileUncached(source: string): CompiledPattern {
  try {
    // The text alone first: `a)|(b` must be refused, not close the anchoring group below.
    RE2JS.compile(source);
    const anchored = RE2JS.compile(`^(?:${source})$`);
    return { ok: true, matches: (value) => anchored.test(value) };
  } catch (error) {
    if (error instanceof RE2JSException) return { ok: false, reason: error.message };
    throw error;
  }
}

/**
 * Compiles `source` as Prometheus does: RE2 syntax, fully anchored (`^(?:source)$`). RE2 runs
 * in time linear in the input, whatever the pattern; it refuses what it cannot run that way
 * (lookarounds, backreferences). Compiled patterns are cached by their text.
 */
export function compilePattern(source: string): CompiledPattern {
  const cached = cache.get(source);
  if (cached !== undefined) {
    cache.delete(source);
    cache.set(source, cached);
    return cached;
  }
  const compiled = compileUncached(source);
  cache.set(source, compiled);
  if (cache.size > PATTERN_CACHE_MAX) {
    for (const oldest of cache.keys()) {
      cache.delete(oldest);
      break;
    }
  }
  return compiled;
}
