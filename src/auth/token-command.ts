import { parseArgs } from 'node:util';
import { loadConfig, type Environment } from '../config.js';
import { isUuid } from '../platform/db/db.js';
import { resolveSecrets } from './dev-secrets.js';
import { signUserToken } from './jwt.js';
import { isRole, ROLES, type Role } from './principal.js';

/**
 * `node dist/cli.js token`: a user token for any tenant and roles, signed the way the service
 * verifies them, so a developer can hand Grafana a viewer token or try an operator's view.
 * Production refuses it: there tokens come from the identity provider, never from whoever can
 * run a command next to the secret.
 */
export const TOKEN_USAGE = [
  `usage: node dist/cli.js token --tenant <uuid> --role <${ROLES.join('|')}> [--role <role>...] [--ttl 12h] [--subject token-cli]`,
  '  Prints a JWT signed with JWT_SECRET (or the development secret under DATA_DIR) and JWT_ISSUER; refused in production.',
  '  --role     one or more, repeated or comma separated',
  '  --ttl      a whole number of s, m, h or d, at most 365d (default 12h)',
  "  --subject  the token's sub: who acted, in audit columns (default token-cli)",
].join('\n');

const DEFAULT_TTL = '12h';
const DEFAULT_SUBJECT = 'token-cli';
const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400 } as const;
/** A token cannot be revoked short of rotating JWT_SECRET, so even a Grafana token lives at most a year. */
const MAX_TTL_SECONDS = 365 * UNIT_SECONDS.d;
const isTtlUnit = (unit: string): unit is keyof typeof UNIT_SECONDS => unit in UNIT_SECONDS;

/** The arguments are wrong: print the message and the usage, exit 2. */
export class TokenUsageError extends Error {
  override readonly name = 'TokenUsageError';
}

/** The arguments are fine but no token may or can be issued here: exit 1. */
export class TokenRefusedError extends Error {
  override readonly name = 'TokenRefusedError';
}

export interface TokenRequest {
  tenantId: string;
  roles: Role[];
  ttlSeconds: number;
  subject: string;
}

export interface IssuedToken {
  token: string;
  expiresAt: Date;
  /** Which secret signed it, for the line printed beside the token. */
  signedWith: string;
}

/** '30d' -> 2592000. Throws TokenUsageError for anything else than <positive integer><s|m|h|d> up to 365d. */
export function parseTtl(text: string): number {
  const match = /^([1-9][0-9]{0,8})([smhd])$/.exec(text);
  const amount = match?.[1];
  const unit = match?.[2];
  if (amount === undefined || unit === undefined || !isTtlUnit(unit)) {
    throw new TokenUsageError(`--ttl must be a whole number followed by s, m, h or d, such as 30d (got ${JSON.stringify(text)})`);
  }
  const seconds = Number(amount) * UNIT_SECONDS[unit];
  if (seconds > MAX_TTL_SECONDS) throw new TokenUsageError(`--ttl must be at most 365d: a token cannot be revoked before it expires (got ${text})`);
  return seconds;
}

export function parseTokenArguments(args: readonly string[]): TokenRequest {
  let values: { tenant?: string; role?: string[]; ttl?: string; subject?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { tenant: { type: 'string' }, role: { type: 'string', multiple: true }, ttl: { type: 'string' }, subject: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new TokenUsageError(error instanceof Error ? error.message : String(error));
  }
  const { tenant, role = [], ttl = DEFAULT_TTL, subject = DEFAULT_SUBJECT } = values;
  if (tenant === undefined) throw new TokenUsageError('--tenant <uuid> is required');
  if (!isUuid(tenant)) throw new TokenUsageError(`--tenant must be a UUID such as 00000000-0000-4000-8000-000000000001 (got ${JSON.stringify(tenant)})`);
  const roles = role.flatMap((item) => item.split(',')).map((item) => item.trim());
  if (roles.length === 0) throw new TokenUsageError(`--role is required: one or more of ${ROLES.join(', ')}`);
  const unknown = roles.filter((item) => !isRole(item));
  if (unknown.length > 0) throw new TokenUsageError(`unknown role ${unknown.map((item) => JSON.stringify(item)).join(', ')}: roles are ${ROLES.join(', ')}`);
  if (subject.trim() === '' || subject.length > 200) throw new TokenUsageError('--subject must be 1 to 200 characters');
  return { tenantId: tenant.toLowerCase(), roles: [...new Set(roles.filter(isRole))], ttlSeconds: parseTtl(ttl), subject };
}

/**
 * Signs the token with the secret the service verifies with: JWT_SECRET, else the development
 * secret under DATA_DIR (created here if this runs before the first start, as the service would).
 */
export async function issueToken(request: TokenRequest, env: Environment, nowMs = Date.now()): Promise<IssuedToken> {
  // Read before loadConfig: the refusal must say why even where production secrets are incomplete.
  if (env['NODE_ENV'] === 'production') {
    throw new TokenRefusedError('refused: NODE_ENV=production. Production tokens come from your identity provider (JWT_SECRET or JWT_PUBLIC_KEY); this command is for development');
  }
  const config = loadConfig(env);
  if (config.JWT_PUBLIC_KEY !== undefined) {
    throw new TokenRefusedError('refused: JWT_PUBLIC_KEY is set, so the service accepts only RS256 tokens signed by your identity provider, whose private key this command does not have');
  }
  if (config.JWT_SECRET === undefined && config.DATA_DIR === 'memory://') {
    throw new TokenRefusedError('refused: with DATA_DIR=memory:// and no JWT_SECRET each process generates its own secret, so no other process would accept this token; set JWT_SECRET');
  }
  const secret = config.JWT_SECRET ?? resolveSecrets(config).jwtSecret;
  if (secret === undefined) throw new TokenRefusedError('refused: no JWT secret is configured');
  const issuedAtSeconds = Math.floor(nowMs / 1000);
  const expiresAtSeconds = issuedAtSeconds + request.ttlSeconds;
  const token = await signUserToken(secret, { sub: request.subject, tenant_id: request.tenantId, roles: request.roles }, expiresAtSeconds, config.JWT_ISSUER, issuedAtSeconds);
  const signedWith = config.JWT_SECRET !== undefined ? 'JWT_SECRET' : `the development secret under ${config.DATA_DIR}`;
  return { token, expiresAt: new Date(expiresAtSeconds * 1000), signedWith: config.JWT_ISSUER === undefined ? signedWith : `${signedWith}, issuer ${config.JWT_ISSUER}` };
}
