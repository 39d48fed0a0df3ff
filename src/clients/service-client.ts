import { randomInt } from 'node:crypto';
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Signer } from '../auth/index.js';
import { NotConfiguredError, NotFoundError } from '../errors.js';
import type { Clock } from '../platform/clock.js';
import { createCircuitBreaker, type BreakerState, type CircuitBreaker } from './circuit-breaker.js';
import { UpstreamUnavailableError, type UpstreamFailure } from './client-errors.js';

/** One outbound call, as seen by observers (Prometheus latency/error series, logs). */
export interface CallRecord {
  service: string;
  method: string;
  /** The route template (e.g. `/api/v1/events/:id`), never the concrete path: bounded label values. */
  route: string;
  status: number | null;
  outcome: 'ok' | UpstreamFailure | 'not_found';
  durationMs: number;
  attempt: number;
}

export interface ServiceClientOptions {
  /** Short service name (`event`), used in errors and observations. */
  name: string;
  /** Environment variable that configures the base URL, named in NOT_CONFIGURED errors. */
  envVar: string;
  baseUrl: string | undefined;
  signer: Signer;
  clock: Clock;
  timeoutMs?: number;
  /** Extra attempts for idempotent calls after the first. */
  retries?: number;
  backoffMs?: number;
  failureThreshold?: number;
  openMs?: number;
  /** Largest accepted response body; bigger answers are refused as malformed. */
  maxBodyBytes?: number;
  onCall?: (record: CallRecord) => void;
}

export interface ServiceRequest<T extends TSchema> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Route template with `:params`, filled from `params` and URL-encoded. */
  route: string;
  params?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  tenantId?: string;
  schema: T;
  /** Idempotent calls are retried with backoff; defaults to true for GET. */
  idempotent?: boolean;
  signal?: AbortSignal;
}

export interface ServiceClient {
  readonly name: string;
  readonly configured: boolean;
  request<T extends TSchema>(request: ServiceRequest<T>): Promise<Static<T>>;
  breakerState(): BreakerState;
}

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve, reject) => {
    const aborted = () => new Error('aborted', { cause: signal?.reason });
    if (signal?.aborted === true) return reject(aborted());
    const timer = setTimeout(resolve, ms);
    timer.unref();
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(aborted());
    }, { once: true });
  });

export function fillRoute(route: string, params: Record<string, string> = {}): string {
  return route.replace(/:([A-Za-z_]+)/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`missing route parameter ${key} for ${route}`);
    return encodeURIComponent(value);
  });
}

/** Outcome of one attempt: a parsed body, or a failure saying whether another attempt may help. */
type Attempt = { ok: true; status: number; body: unknown } | { ok: false; error: Error; retryable: boolean; countsAsFailure: boolean };

/**
 * A signed, typed HTTP client for one platform service: timeout per attempt, retries with
 * exponential backoff and jitter for idempotent calls, a circuit breaker, and every answer
 * checked against its TypeBox schema before anyone uses it.
 */
export function createServiceClient(options: ServiceClientOptions): ServiceClient {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const retries = options.retries ?? 2;
  const backoffMs = options.backoffMs ?? 200;
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  const breaker: CircuitBreaker = createCircuitBreaker({
    failureThreshold: options.failureThreshold ?? 5,
    openMs: options.openMs ?? 30_000,
    now: () => options.clock.nowMs(),
  });
  const base = options.baseUrl === undefined ? undefined : new URL(options.baseUrl);
  const unavailable = (reason: UpstreamFailure, message: string, extra: { status?: number; errors?: Array<{ path: string; message: string }> } = {}, cause?: unknown) =>
    new UpstreamUnavailableError(`${options.name} service: ${message}`, { dependency: `${options.name}-service`, reason, ...extra }, cause);

  const urlFor = (request: ServiceRequest<TSchema>): URL => {
    if (base === undefined) throw new NotConfiguredError(`${options.name} service client`, options.envVar);
    const prefix = base.pathname.replace(/\/+$/, '');
    const url = new URL(base.origin + prefix + fillRoute(request.route, request.params));
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  };

  const attempt = async (request: ServiceRequest<TSchema>, url: URL, body: string | undefined): Promise<Attempt> => {
    const path = url.pathname + url.search;
    const headers: Record<string, string> = { accept: 'application/json', ...options.signer({ method: request.method, path, body: body ?? '', tenantId: request.tenantId }) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { method: request.method, headers, body, signal, redirect: 'error' });
      const length = Number(response.headers.get('content-length') ?? '0');
      if (length > maxBodyBytes) {
        await response.body?.cancel();
        return { ok: false, error: unavailable('malformed_body', `answer of ${length} bytes exceeds ${maxBodyBytes}`, { status: response.status }), retryable: false, countsAsFailure: true };
      }
      text = await response.text();
    } catch (error) {
      if (request.signal?.aborted === true) return { ok: false, error: unavailable('network', 'call aborted', {}, error), retryable: false, countsAsFailure: false };
      const timedOut = timeout.aborted;
      return { ok: false, error: unavailable(timedOut ? 'timeout' : 'network', timedOut ? `no answer within ${timeoutMs} ms` : `unreachable (${causeMessage(error)})`, {}, error), retryable: true, countsAsFailure: true };
    }
    const status = response.status;
    if (status === 404) return { ok: false, error: new NotFoundError(`${options.name} service resource`, path), retryable: false, countsAsFailure: false };
    if (status >= 500 || status === 429 || status === 408) return { ok: false, error: unavailable('http_status', `answered ${status}`, { status }), retryable: true, countsAsFailure: true };
    // Other 4xx: the service is up but refuses us (auth, bad request); retrying will not help.
    if (status >= 400 || status < 200 || status >= 300) return { ok: false, error: unavailable('http_status', `answered ${status}`, { status }), retryable: false, countsAsFailure: false };
    if (text.length > maxBodyBytes) return { ok: false, error: unavailable('malformed_body', `answer exceeds ${maxBodyBytes} bytes`, { status }), retryable: false, countsAsFailure: true };
    try {
      return { ok: true, status, body: text.length === 0 ? null : JSON.parse(text) };
    } catch (error) {
      return { ok: false, error: unavailable('malformed_body', 'answer is not valid JSON', { status }, error), retryable: false, countsAsFailure: true };
    }
  };

  return {
    name: options.name,
    configured: base !== undefined,
    breakerState: () => breaker.state(),
    async request<T extends TSchema>(request: ServiceRequest<T>): Promise<Static<T>> {
      const url = urlFor(request);
      const body = request.body === undefined ? undefined : JSON.stringify(request.body);
      const idempotent = request.idempotent ?? request.method === 'GET';
      const maxAttempts = idempotent ? retries + 1 : 1;
      let lastError: Error = unavailable('network', 'no attempt made');
      for (let number = 1; number <= maxAttempts; number += 1) {
        if (!breaker.tryAcquire()) {
          const retryAt = breaker.retryAt();
          const error = unavailable('circuit_open', `circuit open after repeated failures${retryAt === null ? '' : `; next trial at ${new Date(retryAt).toISOString()}`}`);
          options.onCall?.({ service: options.name, method: request.method, route: request.route, status: null, outcome: 'circuit_open', durationMs: 0, attempt: number });
          throw error;
        }
        const started = performance.now();
        const result = await attempt(request, url, body);
        const durationMs = performance.now() - started;
        if (result.ok) {
          const answer: unknown = result.body;
          if (Value.Check(request.schema, answer)) {
            breaker.success();
            options.onCall?.({ service: options.name, method: request.method, route: request.route, status: result.status, outcome: 'ok', durationMs, attempt: number });
            return answer;
          }
          const errors = [...Value.Errors(request.schema, answer)].slice(0, 10).map((error) => ({ path: error.path, message: error.message }));
          breaker.failure();
          options.onCall?.({ service: options.name, method: request.method, route: request.route, status: result.status, outcome: 'invalid_response', durationMs, attempt: number });
          throw unavailable('invalid_response', `answer does not match the expected schema (${errors[0]?.path ?? ''} ${errors[0]?.message ?? ''})`, { status: result.status, errors });
        }
        const outcome = result.error instanceof UpstreamUnavailableError ? result.error.details.reason : 'not_found';
        const status = result.error instanceof UpstreamUnavailableError ? (result.error.details.status ?? null) : 404;
        options.onCall?.({ service: options.name, method: request.method, route: request.route, status, outcome, durationMs, attempt: number });
        if (result.countsAsFailure) breaker.failure();
        else breaker.success();
        lastError = result.error;
        if (!result.retryable || number === maxAttempts) break;
        // Exponential backoff with full jitter: base * 2^(n-1), randomized in [half, full].
        const ceiling = backoffMs * 2 ** (number - 1);
        await sleep(Math.floor(ceiling / 2) + randomInt(Math.max(1, Math.ceil(ceiling / 2))), request.signal);
      }
      throw lastError;
    },
  };
}

function causeMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause: unknown = error.cause;
    if (cause instanceof Error && cause.message.length > 0) return cause.message;
    return error.message;
  }
  return String(error);
}
