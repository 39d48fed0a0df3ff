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
}

export const READ: AccessRule = { roles: 'any', services: true };

export interface Authenticator {
  principalFor(request: FastifyRequest): Promise<Principal>;
  require(rule: AccessRule): preHandlerAsyncHookHandler;
}

/** A bearer token is a user; a request with x-service-name is a service and must be signed. */
export function createAuthenticator(deps: { jwtKey: JwtKey; issuer?: string; verifyService: HmacVerifier }): Authenticator {
  const principalFor = async (request: FastifyRequest): Promise<Principal> => {
    if (request.headers['x-service-name'] !== undefined) {
      return deps.verifyService({ method: request.method, url: request.url, headers: request.headers, rawBody: request.rawBody ?? '' });
    }
    const authorization = request.headers.authorization;
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)$/i.exec(authorization);
    if (match?.[1] === undefined) throw new UnauthenticatedError('Bearer token or service signature required', { reason: 'missing' });
    return verifyUserToken(match[1], deps.jwtKey, deps.issuer);
  };

  return {
    principalFor,
    require(rule) {
      return async (request: FastifyRequest, _reply: FastifyReply) => {
        const principal = await principalFor(request);
        if (principal.kind === 'service' && !rule.services) throw new ForbiddenError('Services may not call this endpoint');
        if (principal.kind === 'user' && rule.roles !== 'any' && !principal.roles.some((role) => rule.roles.includes(role))) {
          throw new ForbiddenError(`Requires one of the roles: ${rule.roles.join(', ')}`, { required: rule.roles });
        }
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
