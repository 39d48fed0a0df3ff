/**
 * A per-service circuit breaker: after `failureThreshold` consecutive failures the circuit
 * opens for `openMs`; then one trial call is let through (half-open) and its outcome closes
 * or re-opens the circuit. Time comes from the injected clock so tests can drive it.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  failureThreshold: number;
  openMs: number;
  now: () => number;
}

export interface CircuitBreaker {
  /** True when a call may go out now; in half-open state only one trial at a time. */
  tryAcquire(): boolean;
  success(): void;
  failure(): void;
  state(): BreakerState;
  /** When an open circuit lets the next trial through (epoch ms), else null. */
  retryAt(): number | null;
}

export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  let failures = 0;
  let openedAt: number | null = null;
  let trialInFlight = false;

  const current = (): BreakerState => {
    if (openedAt === null) return 'closed';
    return options.now() - openedAt >= options.openMs ? 'half-open' : 'open';
  };

  return {
    tryAcquire() {
      const state = current();
      if (state === 'closed') return true;
      if (state === 'open' || trialInFlight) return false;
      trialInFlight = true;
      return true;
    },
    success() {
      failures = 0;
      openedAt = null;
      trialInFlight = false;
    },
    failure() {
      failures += 1;
      if (trialInFlight || failures >= options.failureThreshold) openedAt = options.now();
      trialInFlight = false;
    },
    state: current,
    retryAt: () => (openedAt === null ? null : openedAt + options.openMs),
  };
}
