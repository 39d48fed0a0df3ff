import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReceiverMode = { kind: 'ok' } | { kind: 'fail'; status: number } | { kind: 'slow'; delayMs: number };

export interface Delivery {
  at: number;
  /** Header x-notification-id: one outbox row. */
  notificationId: string;
  body: Record<string, unknown>;
  /** What the receiver did: answered 2xx to a connection still open, failed, answered too late (the sender had gone), or still holds it. */
  outcome: 'accepted' | 'failed' | 'abandoned' | 'held';
}

/**
 * A webhook receiver whose behaviour the test switches: `ok`, `fail` (a 5xx), or `slow` (holds
 * each request delayMs, then answers 200 if the sender still waits). A 2xx counts as accepted
 * only when it reached a sender that was still waiting for it.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private server: Server | undefined;
  private mode: ReceiverMode = { kind: 'ok' };

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return `http://127.0.0.1:${address?.port ?? 0}`;
  }

  set(mode: ReceiverMode): void {
    this.mode = mode;
  }

  /** Notification ids accepted more than once, with how many times. */
  acceptedTwice(alertname: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const delivery of this.of(alertname)) if (delivery.outcome === 'accepted') counts[delivery.notificationId] = (counts[delivery.notificationId] ?? 0) + 1;
    return Object.fromEntries(Object.entries(counts).filter(([, count]) => count > 1));
  }

  /** Deliveries whose payload's groupLabels.alertname is `alertname`. */
  of(alertname: string): Delivery[] {
    return this.deliveries.filter((delivery) => {
      const labels = delivery.body['groupLabels'];
      return typeof labels === 'object' && labels !== null && 'alertname' in labels && labels.alertname === alertname;
    });
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          body = {};
        }
        const delivery: Delivery = { at: Date.now(), notificationId: String(request.headers['x-notification-id'] ?? ''), body, outcome: 'held' };
        this.deliveries.push(delivery);
        const mode = this.mode;
        if (mode.kind === 'fail') {
          delivery.outcome = 'failed';
          response.writeHead(mode.status, { 'content-type': 'application/json' }).end('{"error":"receiver failing"}');
          return;
        }
        const answer = () => {
          if (request.socket.destroyed || response.destroyed) {
            delivery.outcome = 'abandoned';
            return;
          }
          delivery.outcome = 'accepted';
          response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        };
        if (mode.kind === 'slow') setTimeout(answer, mode.delayMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
