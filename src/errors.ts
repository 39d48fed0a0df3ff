/**
 * One error type for everything the API reports. `code` is part of the API:
 * codes are stable and never reused for another meaning.
 */
export const ErrorCodes = {
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NOT_CONFIGURED: 503,
  DEPENDENCY_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  // metrics: an Idempotency-Key already used for a different batch (422, as the IETF
  // Idempotency-Key draft says for a key reused with a different payload)
  IDEMPOTENCY_KEY_REUSED: 422,
  // metrics: a read that would load more samples from the time-series database than PROMQL_MAX_SAMPLES
  QUERY_TOO_LARGE: 422,
  // alerts
  UNKNOWN_CHANNEL: 400,
  // a label matcher's regex that RE2 refuses (alert rules, silences, inhibit rules, metric queries, Grafana)
  INVALID_MATCHER: 400,
  // analytics and ml
  INSUFFICIENT_HISTORY: 422,
  UNKNOWN_METRIC: 404,
  UNKNOWN_EVENT: 422,
  ALREADY_INVESTIGATED: 409,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { details?: unknown; cause?: unknown; statusCode?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.statusCode = options.statusCode ?? ErrorCodes[code];
    this.details = options.details;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION_FAILED', message, { details });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required', details?: unknown) {
    super('UNAUTHENTICATED', message, { details });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', details?: unknown) {
    super('FORBIDDEN', message, { details });
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id?: string) {
    super('NOT_FOUND', id === undefined ? `${what} not found` : `${what} ${id} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, details?: unknown) {
    super('CONFLICT', message, { details });
  }
}

export class DependencyUnavailableError extends AppError {
  constructor(dependency: string, cause?: unknown) {
    super('DEPENDENCY_UNAVAILABLE', `${dependency} is unavailable`, { cause, details: { dependency } });
  }
}

export class NotConfiguredError extends AppError {
  constructor(feature: string, variable: string) {
    super('NOT_CONFIGURED', `${feature} is not configured (set ${variable})`, { details: { feature, variable } });
  }
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
