import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../errors.js';
import { isUuid } from '../platform/db/db.js';
import { isRole, ROLES, type Role, type UserPrincipal } from './principal.js';

export type JwtKey = { algorithm: 'HS256'; key: KeyObject } | { algorithm: 'RS256'; key: KeyObject };

export function jwtKeyFrom(options: { secret?: string; publicKeyPem?: string }): JwtKey {
  if (options.publicKeyPem !== undefined) return { algorithm: 'RS256', key: createPublicKey(options.publicKeyPem.replace(/\\n/g, '\n')) };
  if (options.secret !== undefined) return { algorithm: 'HS256', key: createSecretKey(Buffer.from(options.secret, 'utf8')) };
  throw new Error('no JWT key configured');
}

/** Verifies a user token and maps its claims (sub, tenant_id, roles, exp) to a principal. */
export async function verifyUserToken(token: string, jwtKey: JwtKey, issuer?: string): Promise<UserPrincipal> {
  return (await verifyUserTokenClaims(token, jwtKey, issuer)).principal;
}

/**
 * verifyUserToken with the tokens verified before remembered until they expire (least recently
 * used forgotten first): a signature check goes through WebCrypto's thread pool (0.1-0.2 ms), and a
 * client sends the same token with every request. A token is the same bytes each time, so its
 * verdict cannot change but by expiring, which is checked on every use.
 */
export function createUserTokenVerifier(jwtKey: JwtKey, issuer: string | undefined, options: { now: () => number; capacity: number }): (token: string) => Promise<UserPrincipal> {
  const verified = new Map<string, { principal: UserPrincipal; expiresAtMs: number }>();
  return async (token) => {
    const known = verified.get(token);
    if (known !== undefined) {
      verified.delete(token);
      if (known.expiresAtMs <= options.now()) throw new UnauthenticatedError('Token expired', { reason: 'expired' });
      verified.set(token, known);
      return known.principal;
    }
    const claims = await verifyUserTokenClaims(token, jwtKey, issuer);
    verified.set(token, claims);
    if (verified.size > options.capacity) {
      const oldest = verified.keys().next();
      if (oldest.done !== true) verified.delete(oldest.value);
    }
    return claims.principal;
  };
}

async function verifyUserTokenClaims(token: string, jwtKey: JwtKey, issuer?: string): Promise<{ principal: UserPrincipal; expiresAtMs: number }> {
  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, jwtKey.key, { algorithms: [jwtKey.algorithm], issuer, requiredClaims: ['exp', 'sub'] });
    payload = verified.payload;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new UnauthenticatedError('Token expired', { reason: 'expired' });
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) throw new UnauthenticatedError('Token signature is invalid', { reason: 'bad_signature' });
    throw new UnauthenticatedError('Token is invalid', { reason: 'invalid' });
  }
  const tenantId = payload['tenant_id'];
  const roles = payload['roles'];
  const subject = payload['sub'];
  if (typeof tenantId !== 'string' || !isUuid(tenantId)) throw new UnauthenticatedError('Token has no valid tenant_id', { reason: 'claims' });
  if (!Array.isArray(roles)) throw new UnauthenticatedError('Token roles are invalid', { reason: 'claims' });
  // Roles of other services sharing the token are ignored; a token with roles but none of ours grants nothing.
  const known = roles.filter(isRole);
  if (roles.length > 0 && known.length === 0) throw new UnauthenticatedError(`Token has none of the roles ${ROLES.join(', ')}`, { reason: 'claims' });
  if (typeof subject !== 'string') throw new UnauthenticatedError('Token has no subject', { reason: 'claims' });
  // jose refused a token without a numeric exp (required claim).
  const expiresAtMs = Number(payload['exp']) * 1000;
  return { principal: { kind: 'user', subject, tenantId, roles: [...new Set(known)] }, expiresAtMs };
}

/**
 * Signs an HS256 user token (development token, the `token` command, tests). `expiresIn` is a
 * span ('12h') or an absolute time in epoch seconds; `issuer` sets `iss`, which the service
 * checks when JWT_ISSUER is configured. `issuedAtSeconds`: the `iat` (default now); a caller that
 * computed an absolute expiry from its own clock reading passes the same reading, or on a busy
 * machine the second can turn between the two and the token lives a second less than asked.
 */
export async function signUserToken(secret: string, claims: { sub: string; tenant_id: string; roles: Role[] }, expiresIn: string | number = '12h', issuer?: string, issuedAtSeconds?: number): Promise<string> {
  const token = new SignJWT({ tenant_id: claims.tenant_id, roles: claims.roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuedAt(issuedAtSeconds)
    .setExpirationTime(expiresIn);
  if (issuer !== undefined) token.setIssuer(issuer);
  return token.sign(createSecretKey(Buffer.from(secret, 'utf8')));
}
