import { randomUUID } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AppError } from '../../errors.js';

/** Why a Solana call gave no usable answer; the `error_type` label of solana_errors_total. */
export type SolanaErrorType = 'timeout' | 'network' | 'http_status' | 'malformed_body' | 'invalid_response' | 'rpc_error';

export class SolanaRpcError extends AppError {
  readonly errorType: SolanaErrorType;
  readonly method: string;
  constructor(method: string, errorType: SolanaErrorType, message: string, extra: { rpcCode?: number; status?: number } = {}, cause?: unknown) {
    super('DEPENDENCY_UNAVAILABLE', `solana ${method}: ${message}`, { details: { dependency: 'solana-rpc', reason: errorType, method, ...extra }, cause });
    this.errorType = errorType;
    this.method = method;
  }
}

export interface RpcCall {
  method: string;
  durationMs: number;
  errorType: SolanaErrorType | null;
}

export interface SolanaRpc {
  call<T extends TSchema>(method: string, params: readonly unknown[], result: T, signal?: AbortSignal): Promise<Static<T>>;
}

const RpcEnvelope = Type.Object({
  jsonrpc: Type.Literal('2.0'),
  result: Type.Optional(Type.Unknown()),
  error: Type.Optional(Type.Object({ code: Type.Integer(), message: Type.String() })),
});

/**
 * A minimal JSON-RPC 2.0 client for a Solana endpoint: one call per request, a timeout, every
 * result checked against its schema. No retries: the collector runs again in 30 s, and a retry
 * storm against a struggling RPC node helps nobody.
 */
export function createSolanaRpc(options: { url: string; timeoutMs: number; onCall?: (call: RpcCall) => void }): SolanaRpc {
  return {
    async call(method, params, result, signal) {
      const started = performance.now();
      const done = (errorType: SolanaErrorType | null) => options.onCall?.({ method, durationMs: performance.now() - started, errorType });
      const fail = (type: SolanaErrorType, message: string, extra: { rpcCode?: number; status?: number } = {}, cause?: unknown): never => {
        done(type);
        throw new SolanaRpcError(method, type, message, extra, cause);
      };
      const timeout = AbortSignal.timeout(options.timeoutMs);
      let text: string;
      let status: number;
      try {
        const response = await fetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: randomUUID(), method, params }),
          signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        return fail(timeout.aborted ? 'timeout' : 'network', timeout.aborted ? `no answer within ${options.timeoutMs} ms` : 'unreachable', {}, error);
      }
      if (status < 200 || status >= 300) return fail('http_status', `answered HTTP ${status}`, { status });
      let envelope: unknown;
      try {
        envelope = JSON.parse(text);
      } catch (error) {
        return fail('malformed_body', 'answer is not valid JSON', { status }, error);
      }
      if (!Value.Check(RpcEnvelope, envelope)) return fail('malformed_body', 'answer is not a JSON-RPC 2.0 response', { status });
      if (envelope.error !== undefined) return fail('rpc_error', `${envelope.error.message} (code ${envelope.error.code})`, { rpcCode: envelope.error.code });
      const value: unknown = envelope.result;
      if (!Value.Check(result, value)) {
        const first = [...Value.Errors(result, value)][0];
        return fail('invalid_response', `result does not match the expected shape (${first?.path ?? ''} ${first?.message ?? ''})`);
      }
      done(null);
      return value;
    },
  };
}

/** Result shapes of the methods the collector uses (Solana JSON-RPC API). */
export const SolanaResults = {
  getSlot: Type.Integer({ minimum: 0 }),
  getBlockHeight: Type.Integer({ minimum: 0 }),
  getRecentPerformanceSamples: Type.Array(
    Type.Object({
      slot: Type.Integer({ minimum: 0 }),
      numTransactions: Type.Integer({ minimum: 0 }),
      numSlots: Type.Integer({ minimum: 0 }),
      samplePeriodSecs: Type.Integer({ minimum: 1 }),
      numNonVoteTransactions: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
    }),
  ),
  getRecentPrioritizationFees: Type.Array(Type.Object({ slot: Type.Integer({ minimum: 0 }), prioritizationFee: Type.Integer({ minimum: 0 }) })),
  getBalance: Type.Object({ context: Type.Object({ slot: Type.Integer() }), value: Type.Integer({ minimum: 0 }) }),
  getSignatureStatuses: Type.Object({
    context: Type.Object({ slot: Type.Integer() }),
    value: Type.Array(
      Type.Union([
        Type.Null(),
        Type.Object({
          slot: Type.Integer({ minimum: 0 }),
          confirmations: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
          err: Type.Unknown(),
          confirmationStatus: Type.Optional(Type.Union([Type.Literal('processed'), Type.Literal('confirmed'), Type.Literal('finalized'), Type.Null()])),
        }),
      ]),
    ),
  }),
  getBlockTime: Type.Union([Type.Integer(), Type.Null()]),
} as const;

export type SignatureStatus = Static<typeof SolanaResults.getSignatureStatuses>['value'][number];
