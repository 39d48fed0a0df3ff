import { randomInt } from 'node:crypto';

/**
 * Exponential backoff with jitter: attempt n waits base * 2^(n-1), capped, randomised into its
 * upper half so retries of many notifications spread out. A Retry-After is a floor.
 */
export function retryDelayMs(attempt: number, options: { baseMs: number; maxMs: number; retryAfterMs?: number }): number {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  const half = Math.floor(exponential / 2);
  const jittered = half + randomInt(0, exponential - half + 1);
  return Math.max(jittered, options.retryAfterMs ?? 0);
}
