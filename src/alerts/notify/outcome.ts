/** What a channel reports for one attempt; the outbox decides about retries. */
export type DeliveryOutcome =
  | { status: 'ok'; statusCode?: number; response?: Record<string, unknown> }
  | { status: 'retryable'; error: string; statusCode?: number; retryAfterMs?: number }
  | { status: 'failed'; error: string; statusCode?: number };

/** Retry-After is either delay-seconds or an HTTP date. */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** HTTP receivers: 2xx delivered; 408, 425, 429 and 5xx retried; other 4xx are permanent. */
export async function outcomeOfResponse(response: Response, nowMs: number): Promise<DeliveryOutcome> {
  if (response.ok) return { status: 'ok', statusCode: response.status };
  const body = (await response.text().catch(() => '')).slice(0, 500);
  const error = `HTTP ${response.status}${body === '' ? '' : `: ${body}`}`;
  if (response.status === 408 || response.status === 425 || response.status === 429 || response.status >= 500) {
    return { status: 'retryable', error, statusCode: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), nowMs) };
  }
  return { status: 'failed', error, statusCode: response.status };
}

/** A network failure (refused, reset, timeout) is worth retrying. */
export function outcomeOfNetworkError(error: unknown): DeliveryOutcome {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return { status: 'retryable', error: `${error instanceof Error ? error.message : String(error)}${cause}` };
}
