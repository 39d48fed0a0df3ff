import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { AppError } from '../../errors.js';
import { findInputProblem, inputProblemError, MAX_JSON_DEPTH } from './input-guard.js';

const DEPENDENCY_RETRY_AFTER_SECONDS = 5;
/** Bodies from this size (a batch of ~100 samples) hand over the event loop once between parsing and the rest. */
const YIELD_AFTER_BODY_BYTES = 16 * 1024;

interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  requestId: string;
}

/** The `details` of a schema refusal: each error's path, message and parameters. */
export function schemaErrorDetails(errors: readonly FastifySchemaValidationError[]): Array<{ path: string; message: string; params: unknown }> {
  return errors.map((issue) => ({ path: issue.instancePath || '/', message: issue.message ?? 'invalid', params: issue.params }));
}

/** Maps Fastify's own errors to stable codes; anything unknown is a 500 that reveals nothing. */
function toAppError(error: FastifyError | AppError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return new AppError('VALIDATION_FAILED', `Request ${fastifyError.validationContext ?? 'input'} is invalid`, {
      details: schemaErrorDetails(fastifyError.validation),
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

function errorBody(error: AppError, requestId: string): ErrorBody {
  const body: ErrorBody = { error: { code: error.code, message: error.message }, requestId };
  if (error.details !== undefined) body.error.details = error.details;
  return body;
}

/**
 * The refusals a client that ignores them and retries at once is slowed down by: request rate, and
 * the ingest limits, whose refused batches are parsed and checked in full before they are refused
 * (a tenant past its series limit otherwise had every retry of a 1,000-sample batch parsed on the
 * event loop every other tenant waits on).
 */
const RATE_REFUSALS = new Set(['requests', 'requests_per_ip', 'samples_per_second', 'active_series', 'active_series_per_metric']);

const isRateRefusal = (error: AppError): boolean =>
  error.code === 'RATE_LIMITED' && typeof error.details === 'object' && error.details !== null && 'limit' in error.details && RATE_REFUSALS.has(String(error.details.limit));

export interface ErrorHandlingOptions {
  /**
   * How long a request-rate refusal (429) is held before it is sent. A flooding client that
   * retries at once then sends one request per connection per delay, and what it costs the process
   * is a timer, not the CPU every other tenant's requests wait for.
   */
  rateRefusalDelayMs?: number;
}

export function installErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions = {}): void {
  const delayMs = options.rateRefusalDelayMs ?? 0;
  app.setErrorHandler(async (raw: FastifyError | Error, request, reply) => {
    const error = toAppError(raw);
    if (error.statusCode >= 500 && error.code === 'INTERNAL') request.log.error({ err: raw }, 'unhandled error');
    else if (error.statusCode >= 500) request.log.warn({ err: raw, code: error.code }, error.message);
    const body = errorBody(error, request.id);
    // A refusal that says when to come back (a limit, a collector already running) says it in Retry-After too.
    if (typeof error.details === 'object' && error.details !== null && 'retryAfterSeconds' in error.details) {
      void reply.header('retry-after', String(error.details.retryAfterSeconds));
    } else if (error.code === 'DEPENDENCY_UNAVAILABLE' || error.code === 'SHUTTING_DOWN') {
      // Outages are retried by well-behaved clients; a few seconds spreads their retries.
      void reply.header('retry-after', String(DEPENDENCY_RETRY_AFTER_SECONDS));
    }
    if (delayMs > 0 && isRateRefusal(error)) await new Promise((resolve) => setTimeout(resolve, delayMs));
    return reply.status(error.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: { code: 'NOT_FOUND', message: `Route ${request.method} ${request.url.split('?')[0] ?? ''} not found` }, requestId: request.id };
    void reply.status(404).send(body);
  });
}

/**
 * Refusals the router makes before any route or hook runs (a path that is not valid percent-encoded
 * UTF-8: 400; a path parameter longer than maxParamLength: 414), in the standard envelope.
 */
export function frameworkErrors(raw: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const error = toAppError(raw);
  void reply.status(error.statusCode).header('x-request-id', request.id).send(errorBody(error, request.id));
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers too large: 431, a request
 * timeout: 408, malformed HTTP: 400), in the standard envelope. Only the socket exists, so the
 * request id is new.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message = status === 431 ? 'Request header fields are too large' : status === 408 ? 'Request timed out' : 'Malformed HTTP request';
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(new AppError('BAD_REQUEST', message, { statusCode: status }), requestId));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
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
    // Only a \u escape can put a NUL or a lone surrogate into parsed JSON: without one, skip those tests.
    const problem = findInputProblem(parsed, MAX_JSON_DEPTH, text.includes('\\u'));
    if (problem !== undefined) {
      done(inputProblemError('body', problem), undefined);
      return;
    }
    // A large body's schema validation and handler run in a later turn of the event loop: other
    // requests (another tenant's) get theirs between the two instead of waiting behind both.
    if (text.length >= YIELD_AFTER_BODY_BYTES) setImmediate(() => done(null, parsed));
    else done(null, parsed);
  });
}
