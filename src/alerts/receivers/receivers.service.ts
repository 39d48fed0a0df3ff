import type { Logger } from 'pino';
import { NotFoundError } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Db, Tx } from '../../platform/db/index.js';
import { CHANNELS, type ChannelName } from '../channels.js';
import { noReceiver, type ReceiverOf, type Resolved } from './receiver.js';
import { configuredChannels, deleteReceiver, getReceiver, listReceivers, reseal, sealedUnderOtherKeys, upsertReceiver, type ReceiverRow } from './receivers.repository.js';
import { hintOf, receiverFrom, type ReceiverInput } from './receivers.schema.js';
import type { SecretBox } from './secret-box.js';

export interface ChannelStatus {
  name: ChannelName;
  configured: boolean;
  /** Whose receiver is used: the tenant's own (API), the environment's (platform tenant only), or none. */
  source: 'tenant' | 'environment' | null;
  reason: string | null;
}

export interface ReceiverView {
  channel: ChannelName;
  settings: Record<string, unknown>;
  secrets: Record<string, { configured: boolean; hint: string | null }>;
  updated_by: string;
  updated_at: string;
}

export interface ReceiversDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  box: SecretBox;
  /** SYSTEM_TENANT_ID: the only tenant the environment's receivers serve. */
  platformTenantId: string;
  environment: { readonly [C in ChannelName]: ReceiverOf<C> | string };
  /** Per channel, why it cannot send for any tenant (the platform's transport is missing: SMTP_HOST), or null. */
  transport: Readonly<Record<ChannelName, string | null>>;
}

const REKEY_BATCH = 200;

/** Associated data of a sealed secret: a box opens only in the row it was written for. */
const contextOf = (tenantId: string, channel: ChannelName) => `tenant_receivers:${tenantId}:${channel}`;

function toView(row: ReceiverRow): ReceiverView {
  const secrets = Object.fromEntries(Object.entries(row.secret_hints).map(([field, hint]) => [field, { configured: true, hint }]));
  if (row.channel === 'webhook' && secrets['secret'] === undefined) secrets['secret'] = { configured: false, hint: null };
  return { channel: row.channel, settings: row.settings, secrets, updated_by: row.updated_by, updated_at: row.updated_at.toISOString() };
}

/**
 * Notification receivers per tenant. A tenant's notifications go only to its own receivers; the
 * platform tenant falls back to the environment's for a channel it has none of. Secrets are
 * sealed with AES-256-GCM (RECEIVER_SECRETS_KEY) and never leave this module but for delivery.
 */
export function createReceivers(deps: ReceiversDeps) {
  const { db, box } = deps;

  const statusIn = async (tx: Tx, tenantId: string): Promise<ChannelStatus[]> => {
    const stored = await configuredChannels(tx, tenantId);
    return CHANNELS.map((name) => {
      const fallback = tenantId === deps.platformTenantId ? deps.environment[name] : noReceiver(name);
      const source = stored.has(name) ? 'tenant' : typeof fallback === 'string' ? null : 'environment';
      const reason = deps.transport[name] ?? (source === null && typeof fallback === 'string' ? fallback : null);
      return { name, configured: reason === null, source, reason };
    });
  };

  const open = (row: ReceiverRow): Record<string, unknown> => {
    if (row.secret_ciphertext === null || row.secret_key_id === null) return {};
    const parsed: unknown = JSON.parse(box.open({ ciphertext: row.secret_ciphertext, keyId: row.secret_key_id }, contextOf(row.tenant_id, row.channel)));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('receiver secret is not an object');
    return parsed as Record<string, unknown>;
  };

  return {
    /** Per channel: null when this tenant's notifications can be sent on it, else why not. In the caller's transaction. */
    async availability(tx: Tx, tenantId: string): Promise<Record<ChannelName, string | null>> {
      const statuses = await statusIn(tx, tenantId);
      return Object.fromEntries(statuses.map((status) => [status.name, status.reason])) as Record<ChannelName, string | null>;
    },

    status: (tenantId: string): Promise<ChannelStatus[]> => db.withTenant(tenantId, (tx) => statusIn(tx, tenantId)),

    list: async (tenantId: string): Promise<ReceiverView[]> => (await db.withTenant(tenantId, (tx) => listReceivers(tx, tenantId))).map(toView),

    /** Creates or replaces the tenant's receiver of `channel`; its secrets are sealed with the current key. */
    async put(tenantId: string, channel: ChannelName, input: ReceiverInput, actor: string): Promise<ReceiverView> {
      const sealed = input.secrets === null ? null : box.seal(JSON.stringify(input.secrets), contextOf(tenantId, channel));
      const hints = Object.fromEntries(Object.entries(input.secrets ?? {}).map(([field, value]) => [field, hintOf(value)]));
      const row = await db.withTenant(tenantId, (tx) => upsertReceiver(tx, tenantId, channel, { settings: input.settings, sealed, hints, updatedBy: actor, updatedAt: deps.clock.now() }));
      return toView(row);
    },

    async remove(tenantId: string, channel: ChannelName): Promise<void> {
      const deleted = await db.withTenant(tenantId, (tx) => deleteReceiver(tx, tenantId, channel));
      if (!deleted) throw new NotFoundError('Receiver', channel);
    },

    /** The receiver a notification of this tenant goes to, secrets opened; throws when a secret cannot be opened. */
    async resolve(tenantId: string, channel: ChannelName): Promise<Resolved> {
      const transport = deps.transport[channel];
      if (transport !== null) return { notConfigured: transport };
      const row = await db.withTenant(tenantId, (tx) => getReceiver(tx, tenantId, channel));
      if (row !== undefined) return { receiver: receiverFrom(channel, row.settings, open(row)) };
      if (tenantId !== deps.platformTenantId) return { notConfigured: noReceiver(channel) };
      const fallback = deps.environment[channel];
      return typeof fallback === 'string' ? { notConfigured: fallback } : { receiver: fallback };
    },

    /**
     * Key rotation: re-seals under RECEIVER_SECRETS_KEY every secret sealed under a previous key.
     * Secrets under a key this process does not know are counted and left as they are.
     */
    async rekey(): Promise<{ resealed: number; unreadable: number }> {
      const totals = { resealed: 0, unreadable: 0 };
      let after: { tenantId: string; channel: string } | null = null;
      for (;;) {
        const cursor: { tenantId: string; channel: string } | null = after;
        const rows: ReceiverRow[] = await db.asSystem((tx) => sealedUnderOtherKeys(tx, box.keyId, cursor, REKEY_BATCH));
        for (const row of rows) {
          after = { tenantId: row.tenant_id, channel: row.channel };
          try {
            const sealed = box.seal(JSON.stringify(open(row)), contextOf(row.tenant_id, row.channel));
            if (await db.withTenant(row.tenant_id, (tx) => reseal(tx, row, sealed))) totals.resealed += 1;
          } catch (error) {
            totals.unreadable += 1;
            deps.logger.warn({ err: error, tenantId: row.tenant_id, channel: row.channel, keyId: row.secret_key_id }, 'receiver secret could not be re-encrypted');
          }
        }
        if (rows.length < REKEY_BATCH) return totals;
      }
    },
  };
}

export type Receivers = ReturnType<typeof createReceivers>;
