import { Type } from '@sinclair/typebox';
import { principalOf, READ } from '../../auth/index.js';
import type { Authenticator } from '../../auth/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import type { App } from '../../platform/http/types.js';
import { findBySignature, findTransfer, insertTransfer, listTransfers, type TransferRow } from './nft-transfers.repository.js';

/** Base58 (Bitcoin alphabet): Solana addresses are 32 bytes (32-44 chars), signatures 64 bytes (64-88 chars). */
const ADDRESS = '^[1-9A-HJ-NP-Za-km-z]{32,44}$';
const SIGNATURE = '^[1-9A-HJ-NP-Za-km-z]{64,88}$';
const STATUS = Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('finalized'), Type.Literal('failed')]);

const TransferBody = Type.Object(
  {
    token_address: Type.String({ pattern: ADDRESS }),
    from_address: Type.String({ pattern: ADDRESS }),
    to_address: Type.String({ pattern: ADDRESS }),
    signature: Type.String({ pattern: SIGNATURE }),
    /** `mint` feeds nft_minted_total; any other kind (transfer, resale, ...) nft_transferred_total{type}. */
    type: Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$', default: 'transfer' }),
    collection: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    submitted_at: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T', examples: ['2026-12-01T12:00:00Z'] })),
  },
  { additionalProperties: false },
);

const TransferSchema = Type.Object({
  id: Type.String(),
  token_address: Type.String(),
  from_address: Type.String(),
  to_address: Type.String(),
  signature: Type.String(),
  type: Type.String(),
  collection: Type.Union([Type.String(), Type.Null()]),
  status: STATUS,
  slot: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  submitted_at: Type.String(),
  confirmed_at: Type.Union([Type.String(), Type.Null()]),
  confirmation_ms: Type.Union([Type.Number(), Type.Null()]),
  last_checked_at: Type.Union([Type.String(), Type.Null()]),
});

const ErrorBody = Type.Object({ error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }) });

export function shapeTransfer(row: TransferRow) {
  return {
    id: row.id,
    token_address: row.token_address,
    from_address: row.from_address,
    to_address: row.to_address,
    signature: row.signature,
    type: row.transfer_type,
    collection: row.collection,
    status: row.status,
    slot: row.slot === null ? null : Number(row.slot),
    error: row.error,
    submitted_at: row.submitted_at.toISOString(),
    confirmed_at: row.confirmed_at?.toISOString() ?? null,
    confirmation_ms: row.confirmation_ms,
    last_checked_at: row.last_checked_at?.toISOString() ?? null,
  };
}

const PUSH = { roles: ['admin', 'monitoring'], services: true, scope: 'ingest' } as const;

/** NFT transfers tracked until the chain confirms or fails them (the blockchain collector settles them). */
export function nftTransferRoutes(deps: { auth: Authenticator; db: Db; clock: Clock }) {
  return async (app: App) => {
    app.post(
      '/api/v1/monitoring/nft/transfers',
      {
        preHandler: deps.auth.require(PUSH),
        schema: {
          tags: ['blockchain'],
          summary: 'Track a submitted NFT transaction (mint or transfer) by its signature; settled by the blockchain collector',
          body: TransferBody,
          response: { 201: TransferSchema, 409: ErrorBody },
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const now = deps.clock.now();
        const body = request.body;
        const submittedAt = body.submitted_at === undefined ? now : new Date(body.submitted_at);
        if (Number.isNaN(submittedAt.getTime())) throw new ValidationError('submitted_at is not a valid date', { field: 'submitted_at' });
        if (submittedAt.getTime() > now.getTime() + 60_000) throw new ValidationError('submitted_at is in the future', { field: 'submitted_at' });
        const transfer = { token_address: body.token_address, from_address: body.from_address, to_address: body.to_address, signature: body.signature, transfer_type: body.type, collection: body.collection ?? null, submitted_at: submittedAt };
        const row = await deps.db.withTenant(tenantId, async (tx) => {
          const inserted = await insertTransfer(tx, tenantId, transfer, now);
          if (inserted !== null) return inserted;
          const existing = await findBySignature(tx, tenantId, body.signature);
          throw new ConflictError('This signature is already tracked', { id: existing?.id, status: existing?.status });
        });
        return reply.status(201).send(shapeTransfer(row));
      },
    );

    app.get(
      '/api/v1/monitoring/nft/transfers',
      {
        preHandler: deps.auth.require(READ),
        schema: {
          tags: ['blockchain'],
          summary: 'Tracked NFT transfers, newest first',
          querystring: Type.Object({
            status: Type.Optional(STATUS),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            before: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T' })),
          }),
          response: { 200: Type.Object({ data: Type.Array(TransferSchema) }) },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const before = request.query.before === undefined ? undefined : new Date(request.query.before);
        if (before !== undefined && Number.isNaN(before.getTime())) throw new ValidationError('before is not a valid date', { field: 'before' });
        const rows = await deps.db.withTenant(tenantId, (tx) => listTransfers(tx, tenantId, { status: request.query.status, limit: request.query.limit, before }));
        return { data: rows.map(shapeTransfer) };
      },
    );

    app.get(
      '/api/v1/monitoring/nft/transfers/:id',
      {
        preHandler: deps.auth.require(READ),
        schema: {
          tags: ['blockchain'],
          summary: 'One tracked NFT transfer',
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          response: { 200: TransferSchema },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const row = await deps.db.withTenant(tenantId, (tx) => findTransfer(tx, tenantId, request.params.id));
        if (row === null) throw new NotFoundError('NFT transfer', request.params.id);
        return shapeTransfer(row);
      },
    );
  };
}
