import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';

export const DEV_TENANT_ID = '00000000-0000-4000-8000-000000000001';

export interface ResolvedSecrets {
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  hmacSecret: string;
  /** True when secrets were generated for development (never in production). */
  generated: boolean;
}

/**
 * Production must bring its own secrets (config refuses to start otherwise). In development
 * missing secrets are generated once and kept under DATA_DIR so tokens survive restarts.
 */
export function resolveSecrets(config: Config): ResolvedSecrets {
  const needsJwt = config.JWT_SECRET === undefined && config.JWT_PUBLIC_KEY === undefined;
  const needsHmac = config.INTERNAL_HMAC_SECRET === undefined;
  if (!needsJwt && !needsHmac) {
    return { jwtSecret: config.JWT_SECRET, jwtPublicKey: config.JWT_PUBLIC_KEY, hmacSecret: config.INTERNAL_HMAC_SECRET ?? '', generated: false };
  }
  if (config.NODE_ENV === 'production') throw new Error('secrets missing in production');
  const stored = loadOrCreate(config.DATA_DIR);
  return {
    jwtSecret: config.JWT_SECRET ?? (config.JWT_PUBLIC_KEY === undefined ? stored.jwtSecret : undefined),
    jwtPublicKey: config.JWT_PUBLIC_KEY,
    hmacSecret: config.INTERNAL_HMAC_SECRET ?? stored.hmacSecret,
    generated: true,
  };
}

function loadOrCreate(dataDir: string): { jwtSecret: string; hmacSecret: string } {
  if (dataDir === 'memory://') return { jwtSecret: randomBytes(32).toString('hex'), hmacSecret: randomBytes(32).toString('hex') };
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'jwtSecret' in parsed && 'hmacSecret' in parsed && typeof parsed.jwtSecret === 'string' && typeof parsed.hmacSecret === 'string') {
      return { jwtSecret: parsed.jwtSecret, hmacSecret: parsed.hmacSecret };
    }
  }
  const secrets = { jwtSecret: randomBytes(32).toString('hex'), hmacSecret: randomBytes(32).toString('hex') };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
