import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { hmacHex, signingString } from '../../src/auth/index.js';

/** One request as the fake service received it. */
export interface ReceivedRequest {
  method: string;
  /** Path with query, exactly as sent (what the signature covers). */
  url: string;
  pathname: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** What a route answers: JSON, a raw body, a delay, or a dropped connection. */
export interface FakeAnswer {
  status?: number;
  json?: unknown;
  raw?: string;
  delayMs?: number;
  /** Close the socket without answering (a crashed upstream). */
  destroy?: boolean;
}

export type FakeHandler = (request: ReceivedRequest) => FakeAnswer | Promise<FakeAnswer>;

/**
 * A real HTTP server on 127.0.0.1 that speaks a platform service's API as the test scripts it.
 * Unscripted routes answer 404. Every request is recorded.
 */
export class FakeService {
  readonly requests: ReceivedRequest[] = [];
  private readonly routes = new Map<string, FakeHandler>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  url = '';

  /** Scripts `METHOD pathname` (exact) or `METHOD pathname-prefix*`. */
  on(method: string, pathname: string, handler: FakeHandler | FakeAnswer): this {
    this.routes.set(`${method} ${pathname}`, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  clear(): void {
    this.routes.clear();
    this.requests.length = 0;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => void this.handle(request, response));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${address.port}`;
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  private find(method: string, pathname: string): FakeHandler | undefined {
    const exact = this.routes.get(`${method} ${pathname}`);
    if (exact !== undefined) return exact;
    for (const [key, handler] of this.routes) {
      if (key.endsWith('*') && `${method} ${pathname}`.startsWith(key.slice(0, -1))) return handler;
    }
    return undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = request.url ?? '/';
    const parsed = new URL(url, 'http://fake');
    const received: ReceivedRequest = { method: request.method ?? 'GET', url, pathname: parsed.pathname, query: parsed.searchParams, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
    this.requests.push(received);
    const handler = this.find(received.method, received.pathname);
    const answer: FakeAnswer = handler === undefined ? { status: 404, json: { error: { code: 'NOT_FOUND', message: 'no such route' } } } : await handler(received);
    if (answer.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (answer.destroy === true) {
      request.socket.destroy();
      return;
    }
    if (response.destroyed) return;
    const body = answer.raw ?? (answer.json === undefined ? '' : JSON.stringify(answer.json));
    response.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    response.end(body);
  }
}

export async function startFakeService(): Promise<FakeService> {
  return new FakeService().start();
}

const headerOf = (request: ReceivedRequest, name: string): string => {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
};

/** True when the request carries a valid DESIGN.md service signature for `secret`. */
export function hasValidSignature(request: ReceivedRequest, secret: string): boolean {
  const timestamp = headerOf(request, 'x-timestamp');
  const nonce = headerOf(request, 'x-nonce');
  const service = headerOf(request, 'x-service-name');
  const tenantId = headerOf(request, 'x-tenant-id');
  const expected = hmacHex(secret, signingString({ timestamp, nonce, service, tenantId, method: request.method, path: request.url, body: request.body }));
  return expected === headerOf(request, 'x-signature');
}

export const headerValue = headerOf;
