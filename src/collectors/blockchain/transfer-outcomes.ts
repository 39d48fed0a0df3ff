import type { SignatureStatus } from './solana-rpc.js';
import type { TransferRow, TransferStatus, TransferUpdate } from './nft-transfers.repository.js';

export interface Decision {
  row: TransferRow;
  /** null: nothing new to record yet. */
  next: { status: TransferStatus; slot: number | null; error: string | null } | null;
}

/**
 * What the chain's answer means for one tracked transfer. Solana drops a transaction whose
 * blockhash expired (about 60-90 s); one the node still does not know after `expiryMs` will
 * never land, so it is recorded as failed with that reason.
 */
export function decide(row: TransferRow, status: SignatureStatus | undefined, now: Date, expiryMs: number): Decision {
  if (status === null || status === undefined) {
    const age = now.getTime() - row.submitted_at.getTime();
    if (row.status === 'pending' && age > expiryMs) {
      return { row, next: { status: 'failed', slot: null, error: `not found on chain ${Math.round(age / 1000)} s after submission (expired)` } };
    }
    return { row, next: null };
  }
  if (status.err !== null && status.err !== undefined) return { row, next: { status: 'failed', slot: status.slot, error: `transaction failed: ${JSON.stringify(status.err)}` } };
  const level = status.confirmationStatus ?? (status.confirmations === null ? 'finalized' : 'confirmed');
  if (level === 'finalized' && row.status !== 'finalized') return { row, next: { status: 'finalized', slot: status.slot, error: null } };
  if (level === 'confirmed' && row.status === 'pending') return { row, next: { status: 'confirmed', slot: status.slot, error: null } };
  return { row, next: null };
}

/** Confirmation time: block time when the node knows it, else when we saw it; never negative. */
export function toUpdate(decision: Decision & { next: NonNullable<Decision['next']> }, blockTimes: ReadonlyMap<number, number>, now: Date): TransferUpdate {
  const { row, next } = decision;
  const landed = next.status === 'confirmed' || next.status === 'finalized';
  const firstLanding = landed && row.status === 'pending';
  const blockMs = next.slot === null ? undefined : blockTimes.get(next.slot);
  const confirmedAt = firstLanding ? new Date(blockMs ?? now.getTime()) : null;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    status: next.status,
    slot: next.slot,
    error: next.error,
    confirmedAt,
    confirmationMs: confirmedAt === null ? null : Math.max(0, confirmedAt.getTime() - row.submitted_at.getTime()),
  };
}
