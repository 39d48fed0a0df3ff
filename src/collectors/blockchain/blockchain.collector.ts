import type { Logger } from 'pino';
import { UpstreamUnavailableError, type SourceStatus } from '../../clients/index.js';
import type { Ingest } from '../../metrics/ingest.js';
import type { SampleInput } from '../../metrics/sample.js';
import type { Db } from '../../platform/db/index.js';
import type { UnitFailed } from '../../platform/scheduler.js';
import { probeIpfs } from './ipfs.probe.js';
import { applyUpdates, openTransfers, touchChecked, type TransferRow } from './nft-transfers.repository.js';
import { createSolanaRpc, SolanaResults, SolanaRpcError, type RpcCall, type SolanaRpc } from './solana-rpc.js';
import { decide, toUpdate } from './transfer-outcomes.js';

export const BLOCKCHAIN_COLLECTOR = 'blockchain-collector';
/** getSignatureStatuses accepts at most 256 signatures per call. */
const MAX_SIGNATURES = 256;
const SERVICE = 'solana';

export interface BlockchainCollectorDeps {
  db: Db;
  ingest: Ingest;
  status: SourceStatus;
  logger: Logger;
  /** undefined when SOLANA_RPC_URL is not set. */
  rpc: { url: string; timeoutMs: number } | undefined;
  /** Every RPC call (latency on /metrics). */
  onRpcCall?: (call: RpcCall) => void;
  ipfs: { gatewayUrl: string; cid: string; timeoutMs: number } | undefined;
  wallets: readonly string[];
  /** Platform-wide samples (slot, fees, balances, IPFS) are stored under this tenant. */
  systemTenantId: string;
  transferExpiryMs: number;
}

type Errors = Map<string, number>;
const countError = (errors: Errors, error: unknown) => {
  const type = error instanceof SolanaRpcError ? error.errorType : 'unknown';
  errors.set(type, (errors.get(type) ?? 0) + 1);
};

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;

/**
 * Reads the Solana cluster through JSON-RPC (slot, block height, TPS, prioritization fees,
 * minting wallet balances), settles the NFT transfers this service tracks with
 * getSignatureStatuses, and probes an IPFS gateway. Each part that fails records nothing and
 * leaves its reason in the collector status.
 */
export function createBlockchainCollector(deps: BlockchainCollectorDeps) {
  // Calls of the current run; runs never overlap (the scheduler skips a busy job).
  const calls: RpcCall[] = [];
  const client: SolanaRpc | undefined =
    deps.rpc === undefined
      ? undefined
      : createSolanaRpc({
          ...deps.rpc,
          onCall: (call) => {
            calls.push(call);
            deps.onRpcCall?.(call);
          },
        });
  const chain = async (rpc: SolanaRpc, at: string, errors: Errors, signal: AbortSignal): Promise<{ samples: SampleInput[]; failures: unknown[] }> => {
    const samples: SampleInput[] = [];
    const failures: unknown[] = [];
    const attempt = async (work: () => Promise<void>) => {
      try {
        await work();
      } catch (error) {
        failures.push(error);
        countError(errors, error);
      }
    };
    await Promise.all([
      attempt(async () => {
        samples.push({ name: 'solana_slot', service: SERVICE, value: await rpc.call('getSlot', [{ commitment: 'confirmed' }], SolanaResults.getSlot, signal), timestamp: at });
      }),
      attempt(async () => {
        samples.push({ name: 'solana_block_height', service: SERVICE, value: await rpc.call('getBlockHeight', [{ commitment: 'confirmed' }], SolanaResults.getBlockHeight, signal), timestamp: at });
      }),
      attempt(async () => {
        const perf = await rpc.call('getRecentPerformanceSamples', [5], SolanaResults.getRecentPerformanceSamples, signal);
        if (perf.length === 0) return;
        const seconds = perf.reduce((sum, sample) => sum + sample.samplePeriodSecs, 0);
        samples.push({ name: 'solana_tps', service: SERVICE, value: perf.reduce((sum, sample) => sum + sample.numTransactions, 0) / seconds, labels: { kind: 'all' }, timestamp: at });
        const nonVote = perf.map((sample) => sample.numNonVoteTransactions);
        if (nonVote.every((value) => typeof value === 'number')) {
          samples.push({ name: 'solana_tps', service: SERVICE, value: nonVote.reduce<number>((sum, value) => sum + (value ?? 0), 0) / seconds, labels: { kind: 'non_vote' }, timestamp: at });
        }
      }),
      attempt(async () => {
        const fees = await rpc.call('getRecentPrioritizationFees', [[]], SolanaResults.getRecentPrioritizationFees, signal);
        if (fees.length === 0) return;
        const sorted = fees.map((fee) => fee.prioritizationFee).sort((a, b) => a - b);
        for (const [stat, value] of [['median', percentile(sorted, 0.5)], ['p75', percentile(sorted, 0.75)], ['max', sorted[sorted.length - 1] ?? 0]] as const) {
          samples.push({ name: 'solana_prioritization_fee_micro_lamports', service: SERVICE, value, labels: { stat }, timestamp: at });
        }
      }),
      ...deps.wallets.map((wallet) =>
        attempt(async () => {
          const balance = await rpc.call('getBalance', [wallet, { commitment: 'confirmed' }], SolanaResults.getBalance, signal);
          samples.push({ name: 'solana_wallet_balance_lamports', service: SERVICE, value: balance.value, labels: { wallet }, timestamp: at });
        }),
      ),
    ]);
    return { samples, failures };
  };

  /** Settles open transfers; returns samples per tenant (counters, confirmation times, failures). */
  const transfers = async (rpc: SolanaRpc, now: Date, errors: Errors, signal: AbortSignal): Promise<{ byTenant: Map<string, SampleInput[]>; settled: number }> => {
    const open = await deps.db.asSystem((tx) => openTransfers(tx, MAX_SIGNATURES));
    const byTenant = new Map<string, SampleInput[]>();
    if (open.length === 0) return { byTenant, settled: 0 };
    let statuses;
    try {
      statuses = await rpc.call('getSignatureStatuses', [open.map((row) => row.signature), { searchTransactionHistory: true }], SolanaResults.getSignatureStatuses, signal);
    } catch (error) {
      countError(errors, error);
      throw error;
    }
    const decisions = open.map((row, index) => decide(row, statuses.value[index], now, deps.transferExpiryMs));
    const changed = decisions.flatMap((decision) => (decision.next === null ? [] : [{ row: decision.row, next: decision.next }]));
    const landingSlots = [...new Set(changed.filter(({ row, next }) => row.status === 'pending' && next.status !== 'failed' && next.slot !== null).map(({ next }) => next.slot ?? 0))];
    const blockTimes = new Map<number, number>();
    await Promise.all(
      landingSlots.map(async (slot) => {
        try {
          const seconds = await rpc.call('getBlockTime', [slot], SolanaResults.getBlockTime, signal);
          if (seconds !== null) blockTimes.set(slot, seconds * 1000);
        } catch (error) {
          countError(errors, error);
        }
      }),
    );
    const updates = changed.map((decision) => toUpdate(decision, blockTimes, now));
    await deps.db.asSystem(async (tx) => {
      await applyUpdates(tx, updates, now);
      await touchChecked(tx, decisions.filter((decision) => decision.next === null).map(({ row }) => ({ id: row.id, tenantId: row.tenant_id })), now);
    });
    const at = now.toISOString();
    const rows = new Map<string, TransferRow>(open.map((row) => [row.id, row]));
    for (const update of updates) {
      const row = rows.get(update.id);
      if (row === undefined) continue;
      const list = byTenant.get(row.tenant_id) ?? [];
      const type = row.transfer_type;
      const mint = type === 'mint';
      if (update.status === 'failed') {
        list.push({ name: 'solana_errors_total', service: SERVICE, value: 1, labels: { error_type: update.slot === null ? 'transaction_expired' : 'transaction_failed' }, timestamp: at });
        if (mint) list.push({ name: 'nft_minted_total', service: SERVICE, value: 1, labels: { collection: row.collection ?? '', status: 'failed' }, timestamp: at });
      } else if (update.confirmationMs !== null) {
        list.push({ name: 'solana_transaction_time_ms', service: SERVICE, value: update.confirmationMs, labels: { type }, timestamp: at });
        list.push(mint ? { name: 'nft_minted_total', service: SERVICE, value: 1, labels: { collection: row.collection ?? '', status: 'confirmed' }, timestamp: at } : { name: 'nft_transferred_total', service: SERVICE, value: 1, labels: { type }, timestamp: at });
      }
      byTenant.set(row.tenant_id, list);
    }
    return { byTenant, settled: updates.length };
  };

  const ipfs = async (at: string, signal: AbortSignal): Promise<SampleInput[]> => {
    if (deps.ipfs === undefined) return [];
    const probe = await probeIpfs(deps.ipfs.gatewayUrl, deps.ipfs.cid, deps.ipfs.timeoutMs, signal);
    if (!probe.ok) throw new UpstreamUnavailableError(`ipfs gateway: ${probe.message}`, { dependency: 'ipfs-gateway', reason: probe.reason });
    return [{ name: 'ipfs_gateway_latency_ms', service: 'ipfs', value: probe.latencyMs, labels: { gateway: new URL(deps.ipfs.gatewayUrl).host }, timestamp: at }];
  };

  const record = (source: string, outcome: Parameters<SourceStatus['record']>[3]) =>
    deps.status.record(deps.systemTenantId, BLOCKCHAIN_COLLECTOR, source, outcome).catch((error: unknown) => deps.logger.error({ err: error, source }, 'collector status not stored'));

  return {
    async run(now: Date, signal: AbortSignal, onUnitFailure?: UnitFailed): Promise<void> {
      const at = now.toISOString();
      const errors: Errors = new Map();
      const platform: SampleInput[] = [];
      const rpc = client;
      calls.length = 0;

      if (rpc === undefined) {
        await record('solana-rpc', { status: 'not_configured', variable: 'SOLANA_RPC_URL' });
        await record('nft-transfers', { status: 'not_configured', variable: 'SOLANA_RPC_URL' });
      } else {
        const result = await chain(rpc, at, errors, signal);
        platform.push(...result.samples);
        await record('solana-rpc', result.failures.length === 0 ? { status: 'ok', valuesRecorded: result.samples.length } : { status: 'error', error: result.failures[0] });
        try {
          const settled = await transfers(rpc, now, errors, signal);
          // Settlements are stored for every tenant; each tenant's samples are its own unit.
          for (const [tenantId, samples] of settled.byTenant) {
            if (samples.length === 0) continue;
            await deps.ingest.ingest(tenantId, samples, 'collector').catch((error: unknown) => {
              deps.logger.error({ err: error, tenantId }, 'nft transfer samples of a tenant could not be stored');
              onUnitFailure?.({ tenantId }, error);
            });
          }
          await record('nft-transfers', { status: 'ok', valuesRecorded: settled.settled });
        } catch (error) {
          deps.logger.warn({ err: error }, 'nft transfer settlement failed');
          await record('nft-transfers', { status: 'error', error });
        }
      }

      if (deps.ipfs === undefined) {
        await record('ipfs-gateway', { status: 'not_configured', variable: 'IPFS_GATEWAY_URL and IPFS_PROBE_CID' });
      } else {
        try {
          const samples = await ipfs(at, signal);
          platform.push(...samples);
          await record('ipfs-gateway', { status: 'ok', valuesRecorded: samples.length });
        } catch (error) {
          await record('ipfs-gateway', { status: 'error', error });
        }
      }

      for (const call of calls) {
        platform.push({ name: 'solana_rpc_latency_ms', service: SERVICE, value: call.durationMs, labels: { method: call.method, outcome: call.errorType ?? 'ok' }, timestamp: at });
      }
      for (const [errorType, count] of errors) platform.push({ name: 'solana_errors_total', service: SERVICE, value: count, labels: { error_type: errorType }, timestamp: at });
      if (platform.length > 0) await deps.ingest.ingest(deps.systemTenantId, platform, 'collector');
    },
  };
}
