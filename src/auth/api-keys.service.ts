import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../errors.js';
import { assertWithinQuota, type TenantLimits } from '../limits/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db, Tx } from '../platform/db/index.js';
import { newApiKey, type ApiKeyVerifier } from './api-keys.js';
import { findApiKey, insertApiKey, listApiKeys, revokeApiKey, usableApiKeyCounts, type ApiKeyRow } from './api-keys.repository.js';
import type { ApiKeyScope } from './principal.js';

export interface ApiKeyView {
  id: string;
  name: string;
  /** The first characters of the key, to tell keys apart; the key itself is shown once, at creation. */
  prefix: string;
  scopes: ApiKeyScope[];
  state: 'active' | 'revoked' | 'expired';
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface NewApiKey {
  name: string;
  scopes: ApiKeyScope[];
  expiresAt?: Date;
}

export interface ApiKeys {
  create(tenantId: string, actor: string, request: NewApiKey): Promise<{ key: string; view: ApiKeyView }>;
  list(tenantId: string): Promise<ApiKeyView[]>;
  revoke(tenantId: string, id: string): Promise<ApiKeyView>;
  /** A new key with the same name, scopes and expiry; the old one is revoked in the same transaction. */
  rotate(tenantId: string, actor: string, id: string): Promise<{ key: string; view: ApiKeyView }>;
}

const iso = (value: Date | null) => (value === null ? null : new Date(value).toISOString());

/** Creating, listing, revoking and rotating a tenant's API keys; each operation is one transaction. */
export function createApiKeys(deps: { db: Db; clock: Clock; limits: TenantLimits; verifier: ApiKeyVerifier }): ApiKeys {
  const { db, clock } = deps;
  const view = (row: ApiKeyRow): ApiKeyView => {
    const expired = row.expires_at !== null && new Date(row.expires_at).getTime() <= clock.nowMs();
    return {
      id: row.id, name: row.name, prefix: row.key_prefix, scopes: row.scopes, state: row.revoked_at !== null ? 'revoked' : expired ? 'expired' : 'active',
      created_by: row.created_by, created_at: new Date(row.created_at).toISOString(), expires_at: iso(row.expires_at), revoked_at: iso(row.revoked_at), last_used_at: iso(row.last_used_at),
    };
  };

  const insert = async (tx: Tx, tenantId: string, actor: string, request: NewApiKey) => {
    await assertWithinQuota(tx, deps.limits, { limit: 'api_keys', tenantId, what: 'usable API keys', count: async () => (await usableApiKeyCounts(tx, [tenantId], clock.now())).get(tenantId) ?? 0 });
    const fresh = newApiKey();
    const row = await insertApiKey(tx, {
      id: randomUUID(), tenant_id: tenantId, name: request.name, key_prefix: fresh.prefix, key_hash: fresh.hash, scopes: [...new Set(request.scopes)],
      created_by: actor, created_at: clock.now(), expires_at: request.expiresAt ?? null,
    });
    return { key: fresh.key, view: view(row) };
  };

  return {
    async create(tenantId, actor, request) {
      if (request.expiresAt !== undefined && request.expiresAt.getTime() <= clock.nowMs()) throw new ValidationError('expires_at is in the past', { field: 'expires_at' });
      return db.withTenant(tenantId, (tx) => insert(tx, tenantId, actor, request));
    },
    async list(tenantId) {
      return (await db.withTenant(tenantId, (tx) => listApiKeys(tx, tenantId))).map(view);
    },
    async revoke(tenantId, id) {
      const row = await db.withTenant(tenantId, (tx) => revokeApiKey(tx, tenantId, id, clock.now()));
      if (row === undefined) throw new NotFoundError('API key', id);
      deps.verifier.forget(id);
      return view(row);
    },
    async rotate(tenantId, actor, id) {
      const rotated = await db.withTenant(tenantId, async (tx) => {
        const old = await findApiKey(tx, tenantId, id);
        if (old === undefined || old.revoked_at !== null) return undefined;
        await revokeApiKey(tx, tenantId, id, clock.now());
        const expiresAt = old.expires_at === null || new Date(old.expires_at).getTime() <= clock.nowMs() ? undefined : new Date(old.expires_at);
        return insert(tx, tenantId, actor, { name: old.name, scopes: old.scopes, expiresAt });
      });
      if (rotated === undefined) throw new NotFoundError('API key (not revoked)', id);
      deps.verifier.forget(id);
      return rotated;
    },
  };
}
