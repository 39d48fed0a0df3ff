import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  /** JSON body, or the fields of a form body (Slack's Web API client sends forms). */
  body: Record<string, unknown>;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type Responder = (request: ReceivedRequest) => Answer;

/**
 * A real HTTP receiver on 127.0.0.1. Requests answered with 2xx are `accepted`; every request
 * is in `requests`. `down()` closes the port (connection refused) and `up()` reopens it.
 */
export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  readonly accepted: ReceivedRequest[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(private responder: Responder) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  respondWith(responder: Responder): void {
    this.responder = responder;
  }

  async up(): Promise<this> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const received: ReceivedRequest = { method: request.method ?? 'GET', path: request.url ?? '/', headers: request.headers, raw, body: parseBody(raw, request.headers['content-type']) };
        this.requests.push(received);
        const answer = this.responder(received);
        if (answer.status >= 200 && answer.status < 300) this.accepted.push(received);
        response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.accepted.length = 0;
  }
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (raw === '') return {};
  if (contentType?.includes('application/x-www-form-urlencoded') === true) {
    const fields: Record<string, unknown> = {};
    for (const [key, value] of new URLSearchParams(raw)) {
      fields[key] = key === 'blocks' || key === 'attachments' || key === 'metadata' ? (JSON.parse(value) as unknown) : value;
    }
    return fields;
  }
  return JSON.parse(raw) as Record<string, unknown>;
}

/** Speaks Slack's chat.postMessage: answers ok with a fresh ts per message. */
export function slackResponder(): Responder {
  let counter = 0;
  return (request) => {
    counter += 1;
    if (!request.path.endsWith('/chat.postMessage')) return { status: 200, body: { ok: false, error: 'unknown_method' } };
    return { status: 200, body: { ok: true, channel: request.body['channel'], ts: `1700000000.${String(counter).padStart(6, '0')}`, message: {} } };
  };
}

/** Speaks PagerDuty Events v2: 202 with the dedup_key. */
export const pagerDutyResponder: Responder = (request) => ({ status: 202, body: { status: 'success', message: 'Event processed', dedup_key: request.body['dedup_key'] } });

export const okResponder: Responder = () => ({ status: 200, body: { ok: true } });
