import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';

export const DEV_TENANT_ID = '00000000-0000-4000-8000-000000000001';

export interface ResolvedSecrets {
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  hmacSecret: string;
  /** RECEIVER_SECRETS_KEY (base64 of 32 bytes): encrypts tenants' notification receiver secrets. */
  receiverKey: string;
  /**
   * Development secrets in use (never in production): `generated` on the start that made them,
   * `read` when they came from `file`, written by an earlier start; undefined when the
   * environment set every secret. `file` is undefined with DATA_DIR=memory:// (they live in memory).
   */
  development: { state: 'generated' | 'read'; file: string | undefined } | undefined;
}

interface StoredSecrets {
  jwtSecret: string;
  hmacSecret: string;
  receiverKey: string;
}

/**
 * Production must bring its own secrets (config refuses to start otherwise). In development
 * missing secrets are generated once and kept under DATA_DIR so tokens, and receiver secrets
 * encrypted with the generated key, survive restarts.
 */
export function resolveSecrets(config: Config): ResolvedSecrets {
  const needsJwt = config.JWT_SECRET === undefined && config.JWT_PUBLIC_KEY === undefined;
  const needsHmac = config.INTERNAL_HMAC_SECRET === undefined;
  const receiverKey = config.RECEIVER_SECRETS_KEY;
  if (!needsJwt && !needsHmac && receiverKey !== undefined) {
    return { jwtSecret: config.JWT_SECRET, jwtPublicKey: config.JWT_PUBLIC_KEY, hmacSecret: config.INTERNAL_HMAC_SECRET ?? '', receiverKey, development: undefined };
  }
  if (config.NODE_ENV === 'production') throw new Error('secrets missing in production');
  const { secrets: stored, state, file } = loadOrCreate(config.DATA_DIR);
  return {
    jwtSecret: config.JWT_SECRET ?? (config.JWT_PUBLIC_KEY === undefined ? stored.jwtSecret : undefined),
    jwtPublicKey: config.JWT_PUBLIC_KEY,
    hmacSecret: config.INTERNAL_HMAC_SECRET ?? stored.hmacSecret,
    receiverKey: receiverKey ?? stored.receiverKey,
    development: { state, file },
  };
}

/** What a development start tells the person who ran it about its secrets. */
export function describeDevelopmentSecrets(development: NonNullable<ResolvedSecrets['development']>): string {
  if (development.file === undefined) return 'secrets generated in memory (DATA_DIR=memory://), new at every start';
  return development.state === 'generated' ? `secrets generated and kept in ${development.file}` : `secrets read from ${development.file}`;
}

const newReceiverKey = () => randomBytes(32).toString('base64');

function loadOrCreate(dataDir: string): { secrets: StoredSecrets; state: 'generated' | 'read'; file: string | undefined } {
  const generate = (): StoredSecrets => ({ jwtSecret: randomBytes(32).toString('hex'), hmacSecret: randomBytes(32).toString('hex'), receiverKey: newReceiverKey() });
  if (dataDir === 'memory://') return { secrets: generate(), state: 'generated', file: undefined };
  const file = join(dataDir, 'dev-secrets.json');
  if (existsSync(file)) {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'jwtSecret' in parsed && 'hmacSecret' in parsed && typeof parsed.jwtSecret === 'string' && typeof parsed.hmacSecret === 'string') {
      if ('receiverKey' in parsed && typeof parsed.receiverKey === 'string') {
        return { secrets: { jwtSecret: parsed.jwtSecret, hmacSecret: parsed.hmacSecret, receiverKey: parsed.receiverKey }, state: 'read', file };
      }
      // A file from before receiver keys: keep its secrets (issued tokens stay valid), add the key.
      const upgraded = { jwtSecret: parsed.jwtSecret, hmacSecret: parsed.hmacSecret, receiverKey: newReceiverKey() };
      writeFileSync(file, JSON.stringify(upgraded, null, 2), { mode: 0o600 });
      return { secrets: upgraded, state: 'read', file };
    }
  }
  const secrets = generate();
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return { secrets, state: 'generated', file };
}
