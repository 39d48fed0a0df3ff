import { DependencyUnavailableError } from '../../errors.js';

/** Socket errors of a dropped or refused connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * SQLSTATEs that mean the server, not the statement, failed: connection exceptions (class 08),
 * the server shutting down or starting (57P01-57P03), too many connections, and a statement
 * cancelled by statement_timeout (57014), which a stalled server produces.
 */
const SERVER_STATES = new Set(['57P01', '57P02', '57P03', '53300', '57014']);

/** Messages pg (and pg-pool) use for a connection that ended or never came, which carry no code. */
const DRIVER_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /connection error/i, /query read timeout/i, /not queryable/i, /cannot use a pool after calling end/i];

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** True when the error says the database is unreachable or failing, not that the query was wrong. */
export function isConnectionError(error: unknown): boolean {
  const code = codeOf(error);
  if (code !== undefined && (NETWORK_CODES.has(code) || SERVER_STATES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return DRIVER_MESSAGES.some((pattern) => pattern.test(message));
}

/** What callers see: 503 DEPENDENCY_UNAVAILABLE for an outage, the original error otherwise. */
export function asDatabaseError(error: unknown): unknown {
  return isConnectionError(error) ? new DependencyUnavailableError('database', error) : error;
}
