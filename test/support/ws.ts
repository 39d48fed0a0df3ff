import type { AddressInfo } from 'node:net';
import { WebSocket, type ClientOptions } from 'ws';
import type { App } from '../../src/platform/http/types.js';

export interface ServerMessageIn {
  type: string;
  [field: string]: unknown;
}

/** A real WebSocket client that keeps every message it receives and how the connection ended. */
export interface TestClient {
  socket: WebSocket;
  messages: ServerMessageIn[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first not-yet-taken message matching, waiting up to timeoutMs. */
  next(predicate?: (message: ServerMessageIn) => boolean, timeoutMs?: number): Promise<ServerMessageIn>;
  /** Messages taken so far plus pending ones matching, without waiting. */
  received(predicate: (message: ServerMessageIn) => boolean): ServerMessageIn[];
  send(value: unknown): void;
  close(): Promise<void>;
}

/** Base ws:// URL of an app listening on a random port of 127.0.0.1. */
export async function listen(app: App): Promise<string> {
  if (app.server.listening) return `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

export function connect(url: string, options: { protocols?: string[]; headers?: Record<string, string>; ws?: ClientOptions } = {}): TestClient {
  const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers, ...options.ws });
  const messages: ServerMessageIn[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  socket.on('message', (data: Buffer) => {
    messages.push(JSON.parse(data.toString('utf8')) as ServerMessageIn);
    for (const waiter of waiters.splice(0)) waiter();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
  const consumed = new Set<number>();

  const client: TestClient = {
    socket,
    messages,
    closed,
    async next(predicate = () => true, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (let index = taken; index < messages.length; index += 1) {
          const message = messages[index];
          if (message !== undefined && !consumed.has(index) && predicate(message)) {
            consumed.add(index);
            while (consumed.has(taken)) taken += 1;
            return message;
          }
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-5))}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    received: (predicate) => messages.filter(predicate),
    send(value) {
      socket.send(typeof value === 'string' ? value : JSON.stringify(value));
    },
    async close() {
      if (socket.readyState === WebSocket.CLOSED) return;
      socket.close();
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1_000))]);
      socket.terminate();
    },
  };
  return client;
}

/** Connects and authenticates with a token at connect; resolves after the `authenticated` answer. */
export async function connectAs(url: string, token: string): Promise<TestClient> {
  const client = connect(`${url}/api/v1/ws?token=${encodeURIComponent(token)}`);
  await client.next((message) => message.type === 'authenticated');
  return client;
}

export async function subscribe(client: TestClient, metrics: string[]): Promise<ServerMessageIn> {
  client.send({ action: 'subscribe', metrics });
  return client.next((message) => message.type === 'subscribed');
}

export const isMetric = (name?: string) => (message: ServerMessageIn) =>
  message.type === 'metric' && (name === undefined || (Array.isArray(message['samples']) && (message['samples'] as Array<{ name: string }>).some((sample) => sample.name === name)));

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
