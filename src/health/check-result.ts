/** What every checker reports: a status, how long it took and, on failure, a category a human can act on. */
export const CHECK_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export const ERROR_CATEGORIES = ['refused', 'timeout', 'dns', 'auth', 'bad_response', 'unknown'] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export type TargetKind = 'service' | 'dependency';

export interface CheckError {
  category: ErrorCategory;
  /** A fixed sentence per category (plus a status code): never a connection string or a raw driver message. */
  message: string;
}

export interface CheckResult {
  name: string;
  kind: TargetKind;
  status: CheckStatus;
  latency_ms: number | null;
  status_code: number | null;
  error: CheckError | null;
  /** Safe facts about the target (adapter kind, cluster status, broker count). */
  details: Record<string, string | number>;
  checked_at: string;
}

const MESSAGES: Record<ErrorCategory, string> = {
  refused: 'connection refused or reset',
  timeout: 'no answer within the timeout',
  dns: 'host name could not be resolved',
  auth: 'credentials were rejected',
  bad_response: 'unexpected response',
  unknown: 'check failed',
};

export function checkError(category: ErrorCategory, suffix?: string): CheckError {
  return { category, message: suffix === undefined ? MESSAGES[category] : `${MESSAGES[category]}: ${suffix}` };
}

export class CheckTimeoutError extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'CheckTimeoutError';
  }
}

/** Rejects with CheckTimeoutError when `work` has not settled in `ms`; the timer never holds the process open. */
export async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckTimeoutError(ms)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects names, codes, messages and status codes along an error's cause chain (drivers nest them). */
function traits(error: unknown, depth = 0): { text: string; statusCodes: number[] } {
  if (depth > 5 || typeof error !== 'object' || error === null) return { text: typeof error === 'string' ? error : '', statusCodes: [] };
  const record = error as Record<string, unknown>;
  const parts: string[] = [];
  const statusCodes: number[] = [];
  for (const key of ['name', 'code', 'message', 'errno', 'syscall']) {
    const value = record[key];
    if (typeof value === 'string' || typeof value === 'number') parts.push(String(value));
  }
  const meta = record['meta'];
  const statusCode = typeof record['statusCode'] === 'number' ? record['statusCode'] : typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['statusCode'] : undefined;
  if (typeof statusCode === 'number' && statusCode >= 100) statusCodes.push(statusCode);
  const nested = [record['cause'], record['originalError'], record['reason'], ...(Array.isArray(record['errors']) ? (record['errors'] as unknown[]) : [])];
  for (const inner of nested) {
    if (inner === undefined || inner === null) continue;
    const found = traits(inner, depth + 1);
    parts.push(found.text);
    statusCodes.push(...found.statusCodes);
  }
  return { text: parts.join(' '), statusCodes };
}

/** Maps driver and network errors to the categories of the health API. */
export function categorize(error: unknown): ErrorCategory {
  if (error instanceof CheckTimeoutError) return 'timeout';
  const { text, statusCodes } = traits(error);
  if (/ENOTFOUND|EAI_AGAIN|EAI_NONAME|getaddrinfo/i.test(text)) return 'dns';
  if (/ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE|UND_ERR_SOCKET|connection refused|socket hang up|other side closed/i.test(text)) return 'refused';
  if (/TimeoutError|AbortError|ETIMEDOUT|ESOCKETTIMEDOUT|timed out|timeout/i.test(text)) return 'timeout';
  if (statusCodes.some((code) => code === 401 || code === 403) || /auth|SASL|unauthori[sz]ed|forbidden|NOAUTH|WRONGPASS|password/i.test(text)) return 'auth';
  if (statusCodes.length > 0 || /ProductNotSupported|DeserializationError|unexpected|invalid response|parse/i.test(text)) return 'bad_response';
  return 'unknown';
}

const RANK: Record<CheckStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  return statuses.reduce<CheckStatus>((acc, status) => (RANK[status] > RANK[acc] ? status : acc), 'healthy');
}

export const roundMs = (ms: number): number => Math.round(ms * 100) / 100;
