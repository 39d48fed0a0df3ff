import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';
import { findInputProblem, inputProblemError } from './input-guard.js';

const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  requestId: string;
}

/** Maps Fastify's own errors to stable codes; anything unknown is a 500 that reveals nothing. */
function toAppError(error: FastifyError | AppError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return new AppError('VALIDATION_FAILED', `Request ${fastifyError.validationContext ?? 'input'} is invalid`, {
      details: fastifyError.validation.map((issue) => ({ path: issue.instancePath || '/', message: issue.message ?? 'invalid', params: issue.params })),
    });
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE', 'Request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('BAD_REQUEST', 'Request body is not valid JSON');
    default:
      break;
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new AppError('BAD_REQUEST', fastifyError.message, { statusCode: fastifyError.statusCode });
  }
  return new AppError('INTERNAL', 'Internal server error', { cause: error });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((raw: FastifyError | Error, request, reply) => {
    const error = toAppError(raw);
    if (error.statusCode >= 500 && error.code === 'INTERNAL') request.log.error({ err: raw }, 'unhandled error');
    else if (error.statusCode >= 500) request.log.warn({ err: raw, code: error.code }, error.message);
    const body: ErrorBody = { error: { code: error.code, message: error.message }, requestId: request.id };
    if (error.details !== undefined) body.error.details = error.details;
    if (error.code === 'RATE_LIMITED' && typeof error.details === 'object' && error.details !== null && 'retryAfterSeconds' in error.details) {
      void reply.header('retry-after', String(error.details.retryAfterSeconds));
    } else if (error.code === 'DEPENDENCY_UNAVAILABLE' || error.code === 'SHUTTING_DOWN') {
      // Outages are retried by well-behaved clients; a few seconds spreads their retries.
      void reply.header('retry-after', String(DEPENDENCY_RETRY_AFTER_SECONDS));
    }
    void reply.status(error.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: { code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0] ?? ''} not found` }, requestId: request.id };
    void reply.status(404).send(body);
  });
}

/**
 * Keeps the raw body (HMAC signs it) and reports malformed JSON with a code. Parsed JSON that no
 * route can take (NUL or a lone surrogate in a string or key, a number overflowed to Infinity,
 * nesting deeper than MAX_JSON_DEPTH) is refused here, once for every route.
 */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    request.rawBody = text;
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      done(new AppError('BAD_REQUEST', 'Request body is not valid JSON', { details: { reason: 'malformed_json' } }), undefined);
      return;
    }
    const problem = findInputProblem(parsed);
    if (problem !== undefined) done(inputProblemError('body', problem), undefined);
    else done(null, parsed);
  });
}
