import type { Signer } from '../auth/index.js';
import { categorize, checkError, roundMs, type CheckResult } from './check-result.js';

export interface ServiceCheckOptions {
  signer: Signer;
  /** Sent as x-tenant-id: receivers verify signed calls with a tenant, health checks act for the system tenant. */
  tenantId: string;
  timeoutMs: number;
  /** Answers slower than this are degraded even when they are 200. */
  slowMs: number;
  now: () => Date;
}

/** `<base>/health`, keeping a base path such as `/api` that the service is mounted under. */
export function healthUrlOf(baseUrl: string): URL {
  const base = new URL(baseUrl);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/health`;
  base.search = '';
  base.hash = '';
  // fetch refuses URLs with credentials; services authenticate us by the HMAC signature instead.
  base.username = '';
  base.password = '';
  return base;
}

/**
 * GET /health of one platform service, signed like every service-to-service call.
 * 2xx healthy (degraded when slow), 4xx degraded, 5xx, other codes or no answer unhealthy.
 */
export async function checkService(service: { name: string; url: string }, options: ServiceCheckOptions): Promise<CheckResult> {
  const url = healthUrlOf(service.url);
  const path = `${url.pathname}${url.search}`;
  const headers = { ...options.signer({ method: 'GET', path, body: '', tenantId: options.tenantId }), accept: 'application/json' };
  const base = { name: service.name, kind: 'service' as const, details: {} };
  const started = performance.now();
  try {
    const response = await fetch(url, { method: 'GET', headers, redirect: 'manual', signal: AbortSignal.timeout(options.timeoutMs) });
    // Drain the body so the connection is released; its content is not trusted or echoed.
    await response.arrayBuffer().catch(() => undefined);
    const latency = roundMs(performance.now() - started);
    const code = response.status;
    const checked_at = options.now().toISOString();
    if (code >= 200 && code < 300) {
      const slow = latency > options.slowMs;
      return { ...base, status: slow ? 'degraded' : 'healthy', latency_ms: latency, status_code: code, error: null, details: slow ? { slow_threshold_ms: options.slowMs } : {}, checked_at };
    }
    if (code >= 400 && code < 500) {
      return { ...base, status: 'degraded', latency_ms: latency, status_code: code, error: checkError(code === 401 || code === 403 ? 'auth' : 'bad_response', `HTTP ${code}`), checked_at };
    }
    return { ...base, status: 'unhealthy', latency_ms: latency, status_code: code, error: checkError('bad_response', `HTTP ${code}`), checked_at };
  } catch (error) {
    return { ...base, status: 'unhealthy', latency_ms: null, status_code: null, error: checkError(categorize(error)), checked_at: options.now().toISOString() };
  }
}
