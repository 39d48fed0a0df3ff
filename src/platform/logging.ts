import type { Logger } from 'pino';

/** What a redacted credential is replaced with in every log line. */
export const REDACTED = '[REDACTED]';

/** Query parameters that carry a credential (the WebSocket `?token=`, API keys). Compared case-insensitively. */
const SECRET_QUERY_PARAMS = new Set(['token', 'access_token', 'api_key', 'apikey', 'password', 'secret']);

/** Headers that carry a credential; the `bearer` WebSocket subprotocol carries the token too. */
const SECRET_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-signature', 'sec-websocket-protocol'];

/** Fields and headers redacted wherever a log call puts them (request objects, `headers`, top level, one level down). */
const REDACT_PATHS = [
  ...SECRET_HEADERS.flatMap((header) => [`req.headers["${header}"]`, `headers["${header}"]`, `request.headers["${header}"]`]),
  ...['token', 'access_token', 'api_key', 'authorization', 'cookie', 'password'].flatMap((field) => [field, `*.${field}`]),
];

/** The URL with the values of credential query parameters replaced; everything else kept as sent. */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start === -1) return url;
  const hashAt = url.indexOf('#', start);
  const end = hashAt === -1 ? url.length : hashAt;
  const query = url
    .slice(start + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        // A malformed escape is matched as written.
      }
      return SECRET_QUERY_PARAMS.has(name.toLowerCase()) ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
  return `${url.slice(0, start + 1)}${query}${url.slice(end)}`;
}

/** The fields of a request this service logs (Fastify's choice, with credentials removed from the URL). */
interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
}

function serializeRequest(request: LoggedRequest) {
  return {
    method: request.method,
    url: request.url === undefined ? undefined : redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * The logger every part of the service writes through: credentials never reach a log line. The
 * request serializer rewrites `?token=`, `?access_token=`, `?api_key=` in the URL; pino's redaction
 * removes credential headers and fields wherever a log call includes them.
 */
export function withRedaction(logger: Logger): Logger {
  return logger.child({}, { serializers: { req: serializeRequest }, redact: { paths: REDACT_PATHS, censor: REDACTED } });
}
