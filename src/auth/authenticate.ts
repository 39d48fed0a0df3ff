import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import { createUserTokenVerifier, type JwtKey } from './jwt.js';
import type { HmacVerifier } from './hmac.js';
import { isApiKey, type ApiKeyVerifier } from './api-keys.js';
import type { ApiKeyScope, Principal, Role } from './principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
    rawBody: string | undefined;
  }
}

export interface AccessRule {
  /** Roles of which a user needs one; 'any' = any known role. */
  roles: readonly Role[] | 'any';
  /** Whether a signed service may call. */
  services: boolean;
  /**
   * A platform-wide operation (all tenants' cache, collectors of shared services): a user must
   * belong to the platform tenant (SYSTEM_TENANT_ID); other tenants' users get 403.
   */
  platform?: boolean;
  /** The scope an API key needs here; without one, API keys are refused (403). */
  scope?: ApiKeyScope;
}

export const READ: AccessRule = { roles: 'any', services: true, scope: 'read' };

export interface Authenticator {
  principalFor(request: FastifyRequest): Promise<Principal>;
  require(rule: AccessRule): preHandlerAsyncHookHandler;
  /** May act on the whole platform: a signed service, or a user of the platform tenant. */
  isPlatform(principal: Principal): boolean;
  /**
   * The tenant of a request's valid bearer token, before its body is read (undefined for a signed
   * service, whose signature covers the body, and for a missing or invalid token, which the route
   * refuses). The route's own check reuses the verification.
   */
  bearerTenant(request: FastifyRequest): Promise<string | undefined>;
}

/** A bearer token is a user; a request with x-service-name is a service and must be signed. */
/**
 * The credential of an Authorization header: a bearer token, or the password of Basic auth (how
 * Prometheus and Grafana send an API key when configured with basic_auth); undefined without one.
 */
export function credentialOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (bearer?.[1] !== undefined) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (basic?.[1] === undefined) return undefined;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Verified user tokens an instance remembers (about 1 KB each). */
const VERIFIED_TOKENS_CACHED = 10_000;

export function createAuthenticator(deps: { jwtKey: JwtKey; issuer?: string; verifyService: HmacVerifier; platformTenantId: string; apiKeys: ApiKeyVerifier }): Authenticator {
  // Expiry against the real clock, as jose checks it on the first use.
  const verifyUserToken = createUserTokenVerifier(deps.jwtKey, deps.issuer, { now: Date.now, capacity: VERIFIED_TOKENS_CACHED });
  const isPlatform = (principal: Principal): boolean => principal.kind === 'service' || principal.tenantId === deps.platformTenantId;

  const verifiedCredentials = new WeakMap<FastifyRequest, Promise<Principal>>();
  const credentialPrincipal = (request: FastifyRequest): Promise<Principal> => {
    const known = verifiedCredentials.get(request);
    if (known !== undefined) return known;
    const credential = credentialOf(request.headers.authorization);
    const verified: Promise<Principal> =
      credential === undefined
        ? Promise.reject(new UnauthenticatedError('Bearer token, API key or service signature required', { reason: 'missing' }))
        : isApiKey(credential)
          ? deps.apiKeys.verify(credential)
          : verifyUserToken(credential);
    verifiedCredentials.set(request, verified);
    return verified;
  };

  const principalFor = async (request: FastifyRequest): Promise<Principal> => {
    if (request.headers['x-service-name'] !== undefined) {
      return deps.verifyService({ method: request.method, url: request.url, headers: request.headers, rawBody: request.rawBody ?? '' });
    }
    return credentialPrincipal(request);
  };

  return {
    principalFor,
    isPlatform,
    async bearerTenant(request) {
      if (request.headers['x-service-name'] !== undefined || request.headers.authorization === undefined) return undefined;
      return credentialPrincipal(request).then(
        (principal) => principal.tenantId,
        () => undefined,
      );
    },
    require(rule) {
      return async (request: FastifyRequest, _reply: FastifyReply) => {
        const principal = await principalFor(request);
        if (principal.kind === 'service' && !rule.services) throw new ForbiddenError('Services may not call this endpoint');
        if (principal.kind === 'key' && (rule.scope === undefined || !principal.scopes.includes(rule.scope))) {
          throw new ForbiddenError(rule.scope === undefined ? 'API keys may not call this endpoint' : `Requires an API key with the scope ${rule.scope}`, { required_scope: rule.scope ?? null, scopes: principal.scopes });
        }
        if (principal.kind === 'user' && rule.roles !== 'any' && !principal.roles.some((role) => rule.roles.includes(role))) {
          throw new ForbiddenError(`Requires one of the roles: ${rule.roles.join(', ')}`, { required: rule.roles });
        }
        if (rule.platform === true && !isPlatform(principal)) throw new ForbiddenError('A platform-wide operation: only the platform tenant or a signed service may do it', { scope: 'platform' });
        request.principal = principal;
      };
    },
  };
}

/** The authenticated caller of a route guarded by `require`. */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new UnauthenticatedError();
  return request.principal;
}
