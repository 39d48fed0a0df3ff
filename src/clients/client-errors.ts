import { AppError } from '../errors.js';

/** Why a call to a platform service produced no answer; part of the API (collector status). */
export type UpstreamFailure = 'not_configured' | 'circuit_open' | 'timeout' | 'network' | 'http_status' | 'malformed_body' | 'invalid_response';

export interface UpstreamErrorDetails {
  dependency: string;
  reason: UpstreamFailure;
  status?: number;
  errors?: Array<{ path: string; message: string }>;
}

/** The platform service could not give a usable answer: down, slow, broken or circuit open. */
export class UpstreamUnavailableError extends AppError {
  override readonly details: UpstreamErrorDetails;
  constructor(message: string, details: UpstreamErrorDetails, cause?: unknown) {
    super('DEPENDENCY_UNAVAILABLE', message, { details, cause });
    this.details = details;
  }
}

/** A short reason for status pages and logs, whatever the error was. */
export function failureReason(error: unknown): { reason: string; message: string } {
  if (error instanceof UpstreamUnavailableError) return { reason: error.details.reason, message: error.message };
  if (error instanceof AppError) {
    const details: unknown = error.details;
    const reason = typeof details === 'object' && details !== null && 'reason' in details && typeof details.reason === 'string' ? details.reason : undefined;
    return { reason: reason ?? (error.code === 'NOT_CONFIGURED' ? 'not_configured' : error.code.toLowerCase()), message: error.message };
  }
  return { reason: 'error', message: error instanceof Error ? error.message : String(error) };
}
