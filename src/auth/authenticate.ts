import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { ForbiddenError, UnauthenticatedError } from '../errors.js';
import { verifyUserToken, type JwtKey } from './jwt.js';
import type { HmacVerifier } from './hmac.js';
import type { Principal, Role } from './principal.js';

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
}

export const READ: AccessRule = { roles: 'any', services: true };

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
export function createAuthenticator(deps: { jwtKey: JwtKey; issuer?: string; verifyService: HmacVerifier; platformTenantId: string }): Authenticator {
  const isPlatform = (principal: Principal): boolean => principal.kind === 'service' || principal.tenantId === deps.platformTenantId;

  const verifiedBearers = new WeakMap<FastifyRequest, Promise<Principal>>();
  const bearerPrincipal = (request: FastifyRequest): Promise<Principal> => {
    const known = verifiedBearers.get(request);
    if (known !== undefined) return known;
    const authorization = request.headers.authorization;
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)$/i.exec(authorization);
    const verified = match?.[1] === undefined ? Promise.reject(new UnauthenticatedError('Bearer token or service signature required', { reason: 'missing' })) : verifyUserToken(match[1], deps.jwtKey, deps.issuer);
    verifiedBearers.set(request, verified);
    return verified;
  };

  const principalFor = async (request: FastifyRequest): Promise<Principal> => {
    if (request.headers['x-service-name'] !== undefined) {
      return deps.verifyService({ method: request.method, url: request.url, headers: request.headers, rawBody: request.rawBody ?? '' });
    }
    return bearerPrincipal(request);
  };

  return {
    principalFor,
    isPlatform,
    async bearerTenant(request) {
      if (request.headers['x-service-name'] !== undefined || request.headers.authorization === undefined) return undefined;
      return bearerPrincipal(request).then(
        (principal) => principal.tenantId,
        () => undefined,
      );
    },
    require(rule) {
      return async (request: FastifyRequest, _reply: FastifyReply) => {
        const principal = await principalFor(request);
        if (principal.kind === 'service' && !rule.services) throw new ForbiddenError('Services may not call this endpoint');
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
