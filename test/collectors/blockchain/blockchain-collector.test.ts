import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BLOCKCHAIN_COLLECTOR, createBlockchainCollector } from '../../../src/collectors/blockchain/index.js';
import { ManualClock } from '../../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../../support/app.js';
import { startFakeService, type FakeService } from '../../support/fake-services.js';
import { base58, startFakeSolana, type FakeSolana } from '../../support/fake-solana.js';
import { failTenant } from '../../support/tenant-faults.js';

const INTERVAL = 30_000;
const WALLETS = [base58('wallet-a', 44), base58('wallet-b', 44)];
const CID = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi';

interface StoredSample {
  metric_name: string;
  value: number;
  labels: Record<string, string>;
  timestamp: string;
}
interface Transfer {
  id: string;
  status: string;
  slot: number | null;
  error: string | null;
  submitted_at: string;
  confirmed_at: string | null;
  confirmation_ms: number | null;
}
type StatusRow = { scope: string; collector: string; source: string; status: string; reason: string | null; message: string | null };

describe('blockchain collector', () => {
  // Starts from the real time: on a persistent database (PostgreSQL runs) earlier runs left samples at earlier instants.
  const clock = new ManualClock(Date.now());
  let solana: FakeSolana;
  let ipfs: FakeService;
  let testApp: TestApp;
  let system: string;
  /** What getSignatureStatuses answers per signature; absent = null (unknown to the node). */
  const chainStatuses = new Map<string, unknown>();

  const scriptHealthyChain = () => {
    solana.clear();
    solana
      .on('getSlot', { result: 250_000_123 })
      .on('getBlockHeight', { result: 230_000_001 })
      .on('getRecentPerformanceSamples', {
        result: [
          { slot: 250_000_100, numTransactions: 180_000, numSlots: 150, samplePeriodSecs: 60, numNonVoteTransactions: 42_000 },
          { slot: 250_000_000, numTransactions: 120_000, numSlots: 148, samplePeriodSecs: 60, numNonVoteTransactions: 30_000 },
        ],
      })
      .on('getRecentPrioritizationFees', { result: [{ slot: 1, prioritizationFee: 0 }, { slot: 2, prioritizationFee: 5000 }, { slot: 3, prioritizationFee: 100 }, { slot: 4, prioritizationFee: 200 }] })
      .on('getBalance', (params) => ({ result: { context: { slot: 250_000_123 }, value: params[0] === WALLETS[0] ? 4_500_000_000 : 12_000 } }))
      .on('getSignatureStatuses', (params) => ({ result: { context: { slot: 250_000_123 }, value: (params[0] as string[]).map((signature) => chainStatuses.get(signature) ?? null) } }))
      .on('getBlockTime', (params) => ({ result: blockTimes.get(params[0] as number) ?? null }));
  };
  const blockTimes = new Map<number, number>();

  beforeAll(async () => {
    [solana, ipfs] = await Promise.all([startFakeSolana(), startFakeService()]);
    testApp = await createTestApp({
      clock,
      env: {
        SOLANA_RPC_URL: solana.url,
        SOLANA_RPC_TIMEOUT_MS: '1500',
        SOLANA_MINT_WALLETS: WALLETS.join(','),
        IPFS_GATEWAY_URL: `${ipfs.url}/gw`,
        IPFS_PROBE_CID: CID,
        NFT_TRANSFER_EXPIRY_MS: '120000',
        BLOCKCHAIN_COLLECTOR_INTERVAL_MS: String(INTERVAL),
      },
    });
    system = testApp.container.config.SYSTEM_TENANT_ID;
  });
  afterAll(async () => {
    await testApp?.close();
    await Promise.all([solana.close(), ipfs.close()]);
  });
  beforeEach(() => {
    clock.advance(INTERVAL);
    scriptHealthyChain();
    ipfs.clear();
    ipfs.on('GET', `/gw/ipfs/${CID}`, { json: { name: 'Ticket #1', image: 'ipfs://x' } });
  });

  const runCollector = async () => {
    const outcome = await testApp.container.scheduler.runNow(BLOCKCHAIN_COLLECTOR);
    expect(outcome.status).toBe('ran');
  };
  /** Samples written at the current clock instant (the system tenant is shared by the tests). */
  const samplesNow = async (tenant: string, name: string): Promise<StoredSample[]> => {
    const response = await testApp.app.inject({ method: 'GET', url: `/api/v1/monitoring/metrics?name=${name}&limit=1000`, headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    return response.json<{ data: StoredSample[] }>().data.filter((sample) => sample.timestamp === clock.now().toISOString());
  };
  const platformStatus = async (tenant: string) => {
    const response = await testApp.app.inject({ method: 'GET', url: '/api/v1/monitoring/collectors', headers: await bearer(tenant, ['viewer']) });
    const rows = response.json<{ data: StatusRow[] }>().data.filter((row) => row.collector === BLOCKCHAIN_COLLECTOR);
    return new Map(rows.map((row) => [row.source, row]));
  };
  const scrape = async () => (await testApp.app.inject({ method: 'GET', url: '/metrics' })).body;
  const track = async (tenant: string, body: Record<string, unknown>) => {
    const path = '/api/v1/monitoring/nft/transfers';
    const signed = signedHeaders({ method: 'POST', path, body, tenantId: tenant, service: 'marketplace-service', now: () => clock.nowMs() });
    return testApp.app.inject({ method: 'POST', url: path, headers: signed.headers, payload: signed.payload });
  };
  const newTransfer = (overrides: Record<string, unknown> = {}) => ({
    token_address: base58(randomUUID(), 44),
    from_address: base58(randomUUID(), 44),
    to_address: base58(randomUUID(), 44),
    signature: base58(randomUUID(), 88),
    ...overrides,
  });
  const transferOf = async (tenant: string, id: string): Promise<Transfer> => {
    const response = await testApp.app.inject({ method: 'GET', url: `/api/v1/monitoring/nft/transfers/${id}`, headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    return response.json<Transfer>();
  };

  it('records the chain state exactly as the RPC node reported it', async () => {
    await runCollector();
    expect((await samplesNow(system, 'solana_slot'))[0]?.value).toBe(250_000_123);
    expect((await samplesNow(system, 'solana_block_height'))[0]?.value).toBe(230_000_001);
    const tps = Object.fromEntries((await samplesNow(system, 'solana_tps')).map((sample) => [sample.labels['kind'], sample.value]));
    expect(tps).toEqual({ all: 300_000 / 120, non_vote: 72_000 / 120 });
    const fees = Object.fromEntries((await samplesNow(system, 'solana_prioritization_fee_micro_lamports')).map((sample) => [sample.labels['stat'], sample.value]));
    expect(fees).toEqual({ median: 200, p75: 5000, max: 5000 });
    const balances = Object.fromEntries((await samplesNow(system, 'solana_wallet_balance_lamports')).map((sample) => [sample.labels['wallet'], sample.value]));
    expect(balances).toEqual({ [WALLETS[0] ?? '']: 4_500_000_000, [WALLETS[1] ?? '']: 12_000 });
    const ipfsLatency = await samplesNow(system, 'ipfs_gateway_latency_ms');
    expect(ipfsLatency).toHaveLength(1);
    expect(ipfsLatency[0]?.value).toBeGreaterThan(0);
    expect(ipfs.requests.map((request) => request.pathname)).toEqual([`/gw/ipfs/${CID}`]);
    const latency = await samplesNow(system, 'solana_rpc_latency_ms');
    // getSignatureStatuses also appears when a persistent database still holds open transfers of earlier runs.
    expect([...new Set(latency.map((sample) => sample.labels['method']))]).toEqual(expect.arrayContaining(['getSlot', 'getBlockHeight', 'getRecentPerformanceSamples', 'getRecentPrioritizationFees', 'getBalance']));
    expect(latency.every((sample) => sample.labels['outcome'] === 'ok')).toBe(true);
    expect(await samplesNow(system, 'solana_errors_total')).toEqual([]);

    const status = await platformStatus(newTenant());
    expect(status.get('solana-rpc')).toMatchObject({ scope: 'platform', status: 'ok' });
    expect(status.get('ipfs-gateway')).toMatchObject({ scope: 'platform', status: 'ok' });
    expect(status.get('nft-transfers')).toMatchObject({ scope: 'platform', status: 'ok' });
    expect(await scrape()).toMatch(/api_response_time_ms_count\{endpoint="getSlot",service="solana-rpc"\} [1-9]/);
  });

  it('records nothing for an RPC node that is down, shows why, counts the error, and keeps running', async () => {
    for (const method of ['getSlot', 'getBlockHeight', 'getRecentPerformanceSamples', 'getRecentPrioritizationFees', 'getBalance']) solana.on(method, { http: { status: 503, raw: 'upstream down' } });
    ipfs.on('GET', `/gw/ipfs/${CID}`, { status: 504, raw: 'gateway timeout' });
    await runCollector();
    for (const name of ['solana_slot', 'solana_block_height', 'solana_tps', 'solana_wallet_balance_lamports', 'ipfs_gateway_latency_ms']) expect(await samplesNow(system, name)).toEqual([]);
    const errors = await samplesNow(system, 'solana_errors_total');
    expect(errors).toEqual([expect.objectContaining({ value: 6, labels: { error_type: 'http_status' } })]);
    const status = await platformStatus(newTenant());
    expect(status.get('solana-rpc')).toMatchObject({ status: 'error', reason: 'http_status' });
    expect(status.get('ipfs-gateway')).toMatchObject({ status: 'error', reason: 'http_status' });
    // solana_errors_total reaches the catalogue from the ingest dispatch queue, after the commit.
    await testApp.container.ingest.dispatched();
    const metrics = await scrape();
    expect(metrics).toMatch(/solana_errors_total\{error_type="http_status"\} [1-9]/);
    expect(metrics).toMatch(/collector_errors_total\{collector="blockchain-collector",source="solana-rpc",reason="http_status"\} [1-9]/);

    // The node comes back: the next cycle records values again.
    clock.advance(INTERVAL);
    scriptHealthyChain();
    await runCollector();
    expect((await samplesNow(system, 'solana_slot'))[0]?.value).toBe(250_000_123);
    expect((await platformStatus(newTenant())).get('solana-rpc')?.status).toBe('ok');
  });

  it('tells slow answers, malformed bodies and RPC errors apart', async () => {
    solana.on('getSlot', { result: 1, delayMs: 3_000 });
    solana.on('getBlockHeight', { http: { raw: '{"jsonrpc":"2.0","result":' } });
    solana.on('getRecentPerformanceSamples', { error: { code: -32005, message: 'Node is behind by 42 slots' } });
    solana.on('getRecentPrioritizationFees', { result: 'not a list' });
    await runCollector();
    const errors = Object.fromEntries((await samplesNow(system, 'solana_errors_total')).map((sample) => [sample.labels['error_type'], sample.value]));
    expect(errors).toEqual({ timeout: 1, malformed_body: 1, rpc_error: 1, invalid_response: 1 });
    expect(await samplesNow(system, 'solana_slot')).toEqual([]);
    expect((await samplesNow(system, 'solana_wallet_balance_lamports')).length).toBe(2);
    expect((await platformStatus(newTenant())).get('solana-rpc')?.status).toBe('error');
  });

  it('moves a transfer from pending to confirmed to finalized, timing it from block time', async () => {
    const tenant = newTenant();
    const body = newTransfer({ type: 'resale' });
    const created = await track(tenant, body);
    expect(created.statusCode).toBe(201);
    const transfer = created.json<Transfer>();
    expect(transfer).toMatchObject({ status: 'pending', slot: null, confirmed_at: null });

    await runCollector();
    expect((await transferOf(tenant, transfer.id)).status).toBe('pending');
    expect(solana.callsOf('getSignatureStatuses').at(-1)?.[0]).toContain(body.signature);

    const submitted = new Date(transfer.submitted_at).getTime();
    blockTimes.set(777, Math.floor(submitted / 1000) + 12);
    chainStatuses.set(body.signature, { slot: 777, confirmations: 3, err: null, confirmationStatus: 'confirmed' });
    clock.advance(INTERVAL);
    await runCollector();
    const confirmed = await transferOf(tenant, transfer.id);
    const expectedMs = (Math.floor(submitted / 1000) + 12) * 1000 - submitted;
    expect(confirmed).toMatchObject({ status: 'confirmed', slot: 777, error: null, confirmation_ms: expectedMs });
    expect((await samplesNow(tenant, 'solana_transaction_time_ms')).map((sample) => [sample.value, sample.labels['type']])).toEqual([[expectedMs, 'resale']]);
    expect((await samplesNow(tenant, 'nft_transferred_total')).map((sample) => [sample.value, sample.labels['type']])).toEqual([[1, 'resale']]);
    // A tenant's transfers count in its own export, never in the platform's /metrics (issue 13, point 5).
    const exported = await testApp.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics/export', headers: await bearer(tenant, ['viewer']) });
    expect(exported.body).toMatch(/nft_transferred_total\{[^}]*type="resale"[^}]*\} 1/);
    expect(await scrape()).not.toMatch(/nft_transferred_total\{type="resale"\} [1-9]/);

    chainStatuses.set(body.signature, { slot: 777, confirmations: null, err: null, confirmationStatus: 'finalized' });
    clock.advance(INTERVAL);
    await runCollector();
    expect(await transferOf(tenant, transfer.id)).toMatchObject({ status: 'finalized', confirmation_ms: expectedMs });
    // Finalizing does not count the transfer a second time.
    expect(await samplesNow(tenant, 'nft_transferred_total')).toEqual([]);

    const list = await testApp.app.inject({ method: 'GET', url: '/api/v1/monitoring/nft/transfers?status=finalized', headers: await bearer(tenant, ['viewer']) });
    expect(list.json<{ data: Transfer[] }>().data.map((row) => row.id)).toEqual([transfer.id]);
  });

  it('records a failed transaction with the chain error, and a failed mint on nft_minted_total', async () => {
    const tenant = newTenant();
    const body = newTransfer({ type: 'mint', collection: 'summer-fest' });
    const transfer = (await track(tenant, body)).json<Transfer>();
    chainStatuses.set(body.signature, { slot: 900, confirmations: 0, err: { InstructionError: [0, { Custom: 6001 }] }, confirmationStatus: 'confirmed' });
    await runCollector();
    const failed = await transferOf(tenant, transfer.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('Custom');
    expect(failed.confirmation_ms).toBeNull();
    expect((await samplesNow(tenant, 'nft_minted_total')).map((sample) => sample.labels)).toEqual([{ collection: 'summer-fest', status: 'failed' }]);
    expect((await samplesNow(tenant, 'solana_errors_total')).map((sample) => sample.labels['error_type'])).toEqual(['transaction_failed']);
  });

  it('marks a transaction the chain never saw as failed once it expired', async () => {
    const tenant = newTenant();
    const transfer = (await track(tenant, newTransfer())).json<Transfer>();
    await runCollector();
    expect((await transferOf(tenant, transfer.id)).status).toBe('pending');
    clock.advance(121_000);
    await runCollector();
    const expired = await transferOf(tenant, transfer.id);
    expect(expired.status).toBe('failed');
    expect(expired.error).toMatch(/not found on chain .* \(expired\)/);
  });

  it('keeps transfers pending while the RPC node cannot answer', async () => {
    const tenant = newTenant();
    const body = newTransfer();
    const transfer = (await track(tenant, body)).json<Transfer>();
    solana.on('getSignatureStatuses', { http: { destroy: true } });
    chainStatuses.set(body.signature, { slot: 1, confirmations: 1, err: null, confirmationStatus: 'confirmed' });
    await runCollector();
    expect((await transferOf(tenant, transfer.id)).status).toBe('pending');
    expect((await platformStatus(tenant)).get('nft-transfers')).toMatchObject({ status: 'error', reason: 'network' });
  });

  it('refuses bad transfer input, duplicates and unauthorized callers without writing anything', async () => {
    const tenant = newTenant();
    const cases: Array<[Record<string, unknown>, string]> = [
      [newTransfer({ signature: 'not-base58-0OIl' }), 'signature'],
      [newTransfer({ to_address: 'short' }), 'to_address'],
      [newTransfer({ type: 'Mint!' }), 'type'],
      [newTransfer({ unexpected: true }), 'unexpected'],
      [newTransfer({ submitted_at: new Date(clock.nowMs() + 3_600_000).toISOString() }), 'submitted_at'],
    ];
    for (const [body, field] of cases) {
      const response = await track(tenant, body);
      expect(response.statusCode).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
      // The answer names the field that was refused.
      expect(response.body, field).toContain(field);
    }
    const viewer = await testApp.app.inject({ method: 'POST', url: '/api/v1/monitoring/nft/transfers', headers: { ...(await bearer(tenant, ['viewer'])), 'content-type': 'application/json' }, payload: JSON.stringify(newTransfer()) });
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    const anonymous = await testApp.app.inject({ method: 'POST', url: '/api/v1/monitoring/nft/transfers', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(newTransfer()) });
    expect(anonymous.statusCode).toBe(401);
    const list = await testApp.app.inject({ method: 'GET', url: '/api/v1/monitoring/nft/transfers', headers: await bearer(tenant, ['viewer']) });
    expect(list.json<{ data: Transfer[] }>().data).toEqual([]);

    const body = newTransfer();
    expect((await track(tenant, body)).statusCode).toBe(201);
    const duplicate = await track(tenant, body);
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json<{ error: { code: string } }>().error.code).toBe('CONFLICT');
    const after = await testApp.app.inject({ method: 'GET', url: '/api/v1/monitoring/nft/transfers', headers: await bearer(tenant, ['viewer']) });
    expect(after.json<{ data: Transfer[] }>().data).toHaveLength(1);
    // Another tenant does not see it.
    const other = await testApp.app.inject({ method: 'GET', url: '/api/v1/monitoring/nft/transfers', headers: await bearer(newTenant(), ['viewer']) });
    expect(other.json<{ data: Transfer[] }>().data).toEqual([]);
  });

  it("a tenant whose samples cannot be stored is counted; the other tenants' settled transfers are recorded (the first failure stopped the loop)", async () => {
    const [failing, healthy] = [newTenant(), newTenant()];
    const transfers: Array<{ tenant: string; id: string }> = [];
    for (const tenant of [failing, healthy]) {
      const body = newTransfer({ type: 'resale' });
      const transfer = (await track(tenant, body)).json<Transfer>();
      transfers.push({ tenant, id: transfer.id });
      blockTimes.set(880, Math.floor(new Date(transfer.submitted_at).getTime() / 1000) + 5);
      chainStatuses.set(body.signature, { slot: 880, confirmations: 3, err: null, confirmationStatus: 'confirmed' });
    }
    const undo = failTenant(testApp.container.db, failing, (sql) => sql.includes('INSERT INTO metric_head'));
    try {
      const outcome = await testApp.container.scheduler.runNow(BLOCKCHAIN_COLLECTOR);
      expect(outcome.status).toBe('ran');
      expect(outcome.failedTenants).toContain(failing);
      expect(outcome.failedTenants).not.toContain(healthy);
    } finally {
      undo();
    }
    for (const { tenant, id } of transfers) expect((await transferOf(tenant, id)).status).toBe('confirmed');
    expect(await samplesNow(healthy, 'nft_transferred_total')).toEqual([expect.objectContaining({ value: 1 })]);
    expect(await samplesNow(failing, 'nft_transferred_total')).toEqual([]);
    expect((await platformStatus(newTenant())).get('nft-transfers')?.status).toBe('ok');
  });

  it('says "not configured" for Solana and IPFS when their URLs are unset', async () => {
    const { container } = testApp;
    const platformTenant = newTenant();
    const collector = createBlockchainCollector({ db: container.db, ingest: container.ingest, status: container.collectorStatus, logger: container.logger, rpc: undefined, ipfs: undefined, wallets: [], systemTenantId: platformTenant, transferExpiryMs: 60_000 });
    const before = solana.calls.length;
    await collector.run(clock.now(), new AbortController().signal);
    expect(solana.calls.length).toBe(before);
    const rows = (await container.collectorStatus.list(platformTenant)).filter((row) => row.scope === 'tenant');
    expect(rows.map((row) => [row.source, row.status, row.message])).toEqual([
      ['ipfs-gateway', 'not_configured', 'not configured (set IPFS_GATEWAY_URL and IPFS_PROBE_CID)'],
      ['nft-transfers', 'not_configured', 'not configured (set SOLANA_RPC_URL)'],
      ['solana-rpc', 'not_configured', 'not configured (set SOLANA_RPC_URL)'],
    ]);
    expect(await samplesNow(platformTenant, 'solana_slot')).toEqual([]);
  });
});
