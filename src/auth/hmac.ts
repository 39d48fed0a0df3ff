import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { DependencyUnavailableError, ForbiddenError, UnauthenticatedError } from '../errors.js';
import type { Cache } from '../platform/cache/index.js';
import { isUuid } from '../platform/db/db.js';
import type { ServicePrincipal } from './principal.js';

export const HMAC_HEADERS = {
  service: 'x-service-name',
  timestamp: 'x-timestamp',
  nonce: 'x-nonce',
  signature: 'x-signature',
  tenant: 'x-tenant-id',
} as const;

export function sha256Hex(body: string | Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export interface SignedParts {
  timestamp: string;
  nonce: string;
  service: string;
  /** Empty where the request is for no tenant. */
  tenantId: string;
  method: string;
  path: string;
  body: string | Buffer;
}

/**
 * `<timestamp>.<nonce>.<service>.<tenant>.<METHOD>.<path with query>.<hex sha256 of the raw body>`.
 * The service and tenant are signed: a captured request replayed under another service name or
 * into another tenant no longer verifies.
 */
export function signingString(parts: SignedParts): string {
  return `${parts.timestamp}.${parts.nonce}.${parts.service}.${parts.tenantId}.${parts.method.toUpperCase()}.${parts.path}.${sha256Hex(parts.body)}`;
}

export function hmacHex(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message).digest('hex');
}

/** Constant-time string comparison that does not leak length through early exit. */
export function safeEqual(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right) && a.length === b.length;
}

export interface SignedHeaders {
  'x-service-name': string;
  'x-timestamp': string;
  'x-nonce': string;
  'x-signature': string;
  'x-tenant-id'?: string;
}

/** Signs outbound calls exactly as inbound ones are checked. */
export function createSigner(secret: string, serviceName: string, now: () => number = Date.now) {
  return (request: { method: string; path: string; body?: string; tenantId?: string }): SignedHeaders => {
    const timestamp = String(now());
    const nonce = randomUUID();
    const signature = hmacHex(secret, signingString({ timestamp, nonce, service: serviceName, tenantId: request.tenantId ?? '', method: request.method, path: request.path, body: request.body ?? '' }));
    const headers: SignedHeaders = { 'x-service-name': serviceName, 'x-timestamp': timestamp, 'x-nonce': nonce, 'x-signature': signature };
    if (request.tenantId !== undefined) headers['x-tenant-id'] = request.tenantId;
    return headers;
  };
}

export type Signer = ReturnType<typeof createSigner>;

export interface HmacVerifierOptions {
  secret: string;
  enabled: boolean;
  windowMs: number;
  allowedServices: readonly string[];
  nonces: Cache;
  now?: () => number;
}

export interface InboundRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
}

const header = (request: InboundRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Checks a service-signed request; the nonce is consumed only after the signature holds. */
export function createHmacVerifier(options: HmacVerifierOptions) {
  const now = options.now ?? Date.now;
  return async (request: InboundRequest): Promise<ServicePrincipal> => {
    const service = header(request, HMAC_HEADERS.service);
    const tenantId = header(request, HMAC_HEADERS.tenant);
    if (service === undefined) throw new UnauthenticatedError('Missing x-service-name', { reason: 'missing_headers' });
    if (!options.allowedServices.includes(service)) throw new ForbiddenError(`Service ${service} is not allowed`, { reason: 'unknown_service' });
    if (tenantId === undefined || !isUuid(tenantId)) throw new UnauthenticatedError('Missing or invalid x-tenant-id', { reason: 'tenant' });
    if (!options.enabled) return { kind: 'service', service, tenantId };

    const timestamp = header(request, HMAC_HEADERS.timestamp);
    const nonce = header(request, HMAC_HEADERS.nonce);
    const signature = header(request, HMAC_HEADERS.signature);
    if (timestamp === undefined || nonce === undefined || signature === undefined) {
      throw new UnauthenticatedError('Missing signature headers', { reason: 'missing_headers' });
    }
    const sentAt = Number(timestamp);
    if (!/^\d+$/.test(timestamp) || Math.abs(now() - sentAt) > options.windowMs) {
      throw new UnauthenticatedError('Signature timestamp outside the accepted window', { reason: 'stale' });
    }
    if (nonce.length < 8 || nonce.length > 128) throw new UnauthenticatedError('Invalid nonce', { reason: 'nonce' });
    const expected = hmacHex(options.secret, signingString({ timestamp, nonce, service, tenantId, method: request.method, path: request.url, body: request.rawBody }));
    if (!safeEqual(expected, signature.toLowerCase())) throw new UnauthenticatedError('Signature mismatch', { reason: 'bad_signature' });
    // Without the nonce store a replay cannot be told apart: refuse fast with 503, never accept.
    // One nonce namespace for every service: a nonce seen under one name is spent for all.
    const fresh = await options.nonces.setIfAbsent(`nonce:${nonce}`, '1', options.windowMs * 2).catch((error: unknown) => {
      throw new DependencyUnavailableError('nonce store', error);
    });
    if (!fresh) throw new UnauthenticatedError('Nonce already used', { reason: 'replay' });
    return { kind: 'service', service, tenantId };
  };
}

export type HmacVerifier = ReturnType<typeof createHmacVerifier>;
