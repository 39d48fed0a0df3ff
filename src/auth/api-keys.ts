import { createHash, randomBytes } from 'node:crypto';
import { UnauthenticatedError } from '../errors.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { apiKeyByHash, touchApiKey } from './api-keys.repository.js';
import type { KeyPrincipal } from './principal.js';

/** Every key starts so: a credential that starts otherwise is a user token. */
export const API_KEY_PREFIX = 'mon_';
/** Shown in lists to tell keys apart: the prefix and 8 characters of the secret part. */
const SHOWN_LENGTH = API_KEY_PREFIX.length + 8;
/** How long a verified key is trusted without reading it again: a revocation reaches other instances within this. */
export const API_KEY_CACHE_MS = 10_000;
/** last_used_at is written at most this often per key. */
const TOUCH_EVERY_MS = 60_000;
const CACHE_MAX = 10_000;

export const isApiKey = (credential: string): boolean => credential.startsWith(API_KEY_PREFIX);
export const apiKeyHash = (key: string): string => createHash('sha256').update(key).digest('hex');

/** A new key: 192 random bits, base64url. Only its hash and its first characters are stored. */
export function newApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
  return { key, prefix: key.slice(0, SHOWN_LENGTH), hash: apiKeyHash(key) };
}

export interface ApiKeyVerifier {
  verify(key: string): Promise<KeyPrincipal>;
  /** Forgets a key at once on this instance (revoked or rotated here). */
  forget(keyId: string): void;
}

interface Cached {
  principal: KeyPrincipal;
  expiresAt: number | null;
  until: number;
}

export function createApiKeyVerifier(deps: { db: Db; clock: Clock }): ApiKeyVerifier {
  const cache = new Map<string, Cached>();
  const touchedAt = new Map<string, number>();
  const refuse = (reason: string, message: string) => new UnauthenticatedError(message, { reason });

  const touch = (keyId: string, now: number) => {
    if (now - (touchedAt.get(keyId) ?? 0) < TOUCH_EVERY_MS) return;
    touchedAt.set(keyId, now);
    if (touchedAt.size > CACHE_MAX) touchedAt.clear();
    // Best effort: a failed write of last_used_at never refuses the request.
    touchApiKey(deps.db, keyId, new Date(now)).catch(() => undefined);
  };

  return {
    async verify(key) {
      const now = deps.clock.nowMs();
      const hash = apiKeyHash(key);
      let entry = cache.get(hash);
      if (entry === undefined || entry.until <= now) {
        const row = await apiKeyByHash(deps.db, hash);
        if (row === undefined) throw refuse('unknown_key', 'API key is not known');
        if (row.revoked_at !== null) throw refuse('revoked', 'API key was revoked');
        const principal: KeyPrincipal = { kind: 'key', keyId: row.id, name: row.name, tenantId: row.tenant_id, scopes: [...row.scopes] };
        entry = { principal, expiresAt: row.expires_at === null ? null : new Date(row.expires_at).getTime(), until: now + API_KEY_CACHE_MS };
        if (cache.size >= CACHE_MAX) cache.clear();
        cache.set(hash, entry);
      }
      if (entry.expiresAt !== null && entry.expiresAt <= now) throw refuse('expired', 'API key expired');
      touch(entry.principal.keyId, now);
      return entry.principal;
    },
    forget(keyId) {
      for (const [hash, entry] of cache) if (entry.principal.keyId === keyId) cache.delete(hash);
    },
  };
}
