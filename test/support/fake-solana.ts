import { FakeService, type FakeAnswer } from './fake-services.js';

/** What a scripted RPC method answers: a result, a JSON-RPC error, or a raw HTTP answer. */
export type RpcAnswer = { result: unknown; delayMs?: number } | { error: { code: number; message: string } } | { http: FakeAnswer };
export type RpcHandler = (params: unknown[]) => RpcAnswer;

/**
 * A Solana JSON-RPC 2.0 endpoint on 127.0.0.1 as the test scripts it. Unscripted methods
 * answer -32601 (method not found), like a real node does for unknown methods.
 */
export class FakeSolana {
  readonly calls: Array<{ method: string; params: unknown[] }> = [];
  private readonly methods = new Map<string, RpcHandler>();
  private readonly http = new FakeService();

  get url(): string {
    return this.http.url;
  }

  on(method: string, answer: RpcAnswer | RpcHandler): this {
    this.methods.set(method, typeof answer === 'function' ? answer : () => answer);
    return this;
  }

  clear(): void {
    this.methods.clear();
    this.calls.length = 0;
  }

  callsOf(method: string): unknown[][] {
    return this.calls.filter((call) => call.method === method).map((call) => call.params);
  }

  async start(): Promise<this> {
    this.http.on('POST', '/', (request) => {
      const envelope = JSON.parse(request.body) as { id: unknown; method: string; params?: unknown[] };
      const params = envelope.params ?? [];
      this.calls.push({ method: envelope.method, params });
      const handler = this.methods.get(envelope.method);
      const answer: RpcAnswer = handler === undefined ? { error: { code: -32601, message: 'Method not found' } } : handler(params);
      if ('http' in answer) return answer.http;
      if ('error' in answer) return { json: { jsonrpc: '2.0', id: envelope.id, error: answer.error } };
      return { json: { jsonrpc: '2.0', id: envelope.id, result: answer.result }, delayMs: answer.delayMs };
    });
    await this.http.start();
    return this;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

export async function startFakeSolana(): Promise<FakeSolana> {
  return new FakeSolana().start();
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

/** A well-formed base58 string of `length` characters derived from `seed` (addresses: 44, signatures: 88). */
export function base58(seed: string, length: number): string {
  let out = '';
  let state = 7;
  for (const char of seed) state = (state * 31 + char.charCodeAt(0)) % 2_147_483_647;
  for (let index = 0; index < length; index += 1) {
    state = (state * 48_271) % 2_147_483_647;
    out += BASE58[state % BASE58.length] ?? '1';
  }
  return out;
}
