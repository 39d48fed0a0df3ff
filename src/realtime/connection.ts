import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import type { UserPrincipal } from '../auth/index.js';
import { AppError } from '../errors.js';
import type { LimitName } from '../limits/index.js';
import type { Clock } from '../platform/clock.js';
import { ALERTS, AuthMessageSchema, ClientMessageSchema, PingMessageSchema, SubscribeMessageSchema, CloseCodes, EVERYTHING, type ClientMessage, type ServerMessage } from './messages.js';
import type { RealtimeMetrics } from './realtime.metrics.js';

const MAX_TIMER_MS = 2_147_483_647;

const SCHEMA_BY_ACTION: Record<string, TSchema | undefined> = { auth: AuthMessageSchema, subscribe: SubscribeMessageSchema, unsubscribe: SubscribeMessageSchema, ping: PingMessageSchema };

export interface VerifiedToken {
  principal: UserPrincipal;
  /** Epoch ms of the token's exp claim; the connection is closed when it passes. */
  expiresAtMs: number | null;
}

export interface ConnectionLimits {
  authTimeoutMs: number;
  maxBufferedBytes: number;
  /** Client messages per second; beyond it messages are refused, beyond twice it the client is closed. */
  messageRateLimit: number;
  maxSubscriptions: number;
  /** How long a closing connection may take to flush its close frame before it is cut. */
  closeGraceMs: number;
}

export interface ConnectionDeps {
  clock: Clock;
  logger: Logger;
  metrics: RealtimeMetrics;
  limits: ConnectionLimits;
  verifyToken: (token: string) => Promise<VerifiedToken>;
  /** Counts a refusal by a tenant limit and gives the error to send (RATE_LIMITED). */
  refuse(tenantId: string | undefined, limit: LimitName, message: string, details: { current: number; requested?: number }): AppError;
  /** Called once the connection knows its tenant; false when a connection limit refuses it (then it is closed). */
  onAuthenticated(connection: Connection): boolean;
  onClosed(connection: Connection): void;
}

/**
 * One client: authentication (at connect or by message within the timeout), its subscriptions,
 * its rate limit and its send buffer. Messages are handled one at a time, in arrival order.
 */
export class Connection {
  readonly id = randomUUID();
  readonly subscriptions = new Set<string>();
  principal: UserPrincipal | undefined;
  expiresAtMs: number | null = null;
  lastSeenMs: number;
  private closing = false;
  private chain: Promise<void> = Promise.resolve();
  private authTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private rateWindow = -1;
  private rateCount = 0;

  constructor(
    private readonly socket: WebSocket,
    private readonly deps: ConnectionDeps,
  ) {
    this.lastSeenMs = deps.clock.nowMs();
    socket.on('message', (data, isBinary) => {
      this.lastSeenMs = deps.clock.nowMs();
      this.chain = this.chain.then(() => this.receive(data, isBinary)).catch((error: unknown) => deps.logger.error({ err: error, connection: this.id }, 'websocket message handling failed'));
    });
    socket.on('pong', () => {
      this.lastSeenMs = deps.clock.nowMs();
    });
    socket.on('error', (error) => deps.logger.debug({ err: error, connection: this.id }, 'websocket error'));
    socket.on('close', () => {
      clearTimeout(this.authTimer);
      clearTimeout(this.expiryTimer);
      this.closing = true;
      deps.onClosed(this);
    });
  }

  get tenantId(): string | undefined {
    return this.principal?.tenantId;
  }

  get isOpen(): boolean {
    return !this.closing && this.socket.readyState === WebSocket.OPEN;
  }

  /** Starts the connection: authenticates a token given at connect, or waits for an `auth` message. */
  start(token: string | undefined): void {
    if (token !== undefined) {
      this.chain = this.chain.then(() => this.authenticate(token));
      return;
    }
    this.authTimer = setTimeout(() => {
      if (this.principal === undefined) this.close(CloseCodes.UNAUTHENTICATED, 'authentication timeout', 'auth_timeout');
    }, this.deps.limits.authTimeoutMs);
    this.authTimer.unref();
  }

  /** Sends unless the client is too slow: past the buffer limit the client is closed with a reason. */
  send(message: ServerMessage | Buffer, type: string = Buffer.isBuffer(message) ? 'push' : message.type): boolean {
    if (!this.isOpen) {
      this.deps.metrics.messagesDropped.inc({ reason: 'closed' });
      return false;
    }
    if (this.socket.bufferedAmount > this.deps.limits.maxBufferedBytes) {
      this.deps.metrics.messagesDropped.inc({ reason: 'slow_consumer' });
      this.close(CloseCodes.SLOW_CONSUMER, `send buffer over ${this.deps.limits.maxBufferedBytes} bytes: client too slow`, 'slow_consumer');
      return false;
    }
    // Broadcasts arrive encoded once for every recipient; they still go out as text frames.
    if (Buffer.isBuffer(message)) this.socket.send(message, { binary: false });
    else this.socket.send(JSON.stringify(message));
    this.deps.metrics.messagesSent.inc({ type });
    return true;
  }

  onceClosed(callback: () => void): void {
    if (this.socket.readyState === WebSocket.CLOSED) callback();
    else this.socket.once('close', callback);
  }

  ping(): void {
    if (this.isOpen) this.socket.ping();
  }

  /** Closes with a code and reason; a peer that does not complete the close handshake is cut. */
  close(code: number, reason: string, metricReason: string): void {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    this.deps.metrics.connectionsClosed.inc({ reason: metricReason });
    this.socket.close(code, reason);
    const cut = setTimeout(() => this.socket.terminate(), this.deps.limits.closeGraceMs);
    cut.unref();
    this.socket.once('close', () => clearTimeout(cut));
  }

  private async receive(data: RawData, isBinary: boolean): Promise<void> {
    if (this.closing) return;
    if (!this.withinRateLimit()) return;
    const message = this.parse(data, isBinary);
    if (message === undefined) return;
    this.deps.metrics.messagesReceived.inc({ action: message.action });
    if (message.action === 'ping') {
      this.send({ type: 'pong', timestamp: this.deps.clock.now().toISOString() });
      return;
    }
    if (message.action === 'auth') {
      if (this.principal !== undefined) this.sendError('BAD_REQUEST', 'Already authenticated');
      else await this.authenticate(message.token);
      return;
    }
    if (this.principal === undefined) {
      this.close(CloseCodes.UNAUTHENTICATED, 'authenticate first', 'unauthenticated');
      return;
    }
    if (message.action === 'subscribe') this.subscribe(message.metrics);
    else this.unsubscribe(message.metrics);
  }

  private parse(data: RawData, isBinary: boolean): ClientMessage | undefined {
    let parsed: unknown;
    try {
      if (isBinary) throw new Error('binary');
      parsed = JSON.parse(rawToString(data));
    } catch {
      this.deps.metrics.messagesReceived.inc({ action: 'invalid' });
      this.sendError('BAD_REQUEST', 'Messages must be JSON text');
      return undefined;
    }
    if (Value.Check(ClientMessageSchema, parsed)) return parsed;
    this.deps.metrics.messagesReceived.inc({ action: 'invalid' });
    const action = typeof parsed === 'object' && parsed !== null && 'action' in parsed ? parsed.action : undefined;
    const schema = typeof action === 'string' ? SCHEMA_BY_ACTION[action] : undefined;
    if (schema === undefined) {
      this.sendError('VALIDATION_FAILED', 'Unknown action; actions: auth, subscribe, unsubscribe, ping', [{ path: '/action', message: 'must be auth, subscribe, unsubscribe or ping' }]);
      return undefined;
    }
    const problems = [...Value.Errors(schema, parsed)].slice(0, 5).map((error) => ({ path: error.path || '/', message: error.message }));
    this.sendError('VALIDATION_FAILED', `Invalid ${String(action)} message`, problems);
    return undefined;
  }

  private async authenticate(token: string): Promise<void> {
    try {
      const verified = await this.deps.verifyToken(token);
      if (this.closing) return;
      clearTimeout(this.authTimer);
      this.principal = verified.principal;
      this.expiresAtMs = verified.expiresAtMs;
      if (!this.deps.onAuthenticated(this)) return;
      this.send({
        type: 'authenticated',
        tenant_id: verified.principal.tenantId,
        subject: verified.principal.subject,
        expires_at: verified.expiresAtMs === null ? null : new Date(verified.expiresAtMs).toISOString(),
      });
      this.closeAtExpiry();
    } catch (error) {
      const reason = error instanceof AppError ? error.message : 'Token is invalid';
      this.sendError('UNAUTHENTICATED', reason);
      this.close(CloseCodes.UNAUTHENTICATED, reason.slice(0, 120), 'unauthenticated');
    }
  }

  /** Closes with 4401 when the token's exp passes (the heartbeat's check stays as a backstop). */
  private closeAtExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.expiresAtMs === null || this.closing) return;
    const remaining = this.expiresAtMs - this.deps.clock.nowMs();
    if (remaining <= 0) {
      this.close(CloseCodes.UNAUTHENTICATED, 'token expired', 'token_expired');
      return;
    }
    // Timers fire at most 2^31-1 ms (24.8 days) ahead; a longer-lived token is re-checked then.
    this.expiryTimer = setTimeout(() => this.closeAtExpiry(), Math.min(remaining, MAX_TIMER_MS));
    this.expiryTimer.unref();
  }

  private subscribe(names: readonly string[]): void {
    const added = names.filter((name) => !this.subscriptions.has(name));
    const unique = [...new Set(added)];
    if (this.subscriptions.size + unique.length > this.deps.limits.maxSubscriptions) {
      const refusal = this.deps.refuse(this.tenantId, 'ws_subscriptions_per_connection', `At most ${this.deps.limits.maxSubscriptions} subscriptions per connection`, { current: this.subscriptions.size, requested: unique.length });
      this.sendError(refusal.code, refusal.message, refusal.details);
      return;
    }
    for (const name of unique) this.subscriptions.add(name);
    this.send({ type: 'subscribed', metrics: [...new Set(names)], subscriptions: [...this.subscriptions] });
  }

  private unsubscribe(names: readonly string[]): void {
    for (const name of names) this.subscriptions.delete(name);
    this.send({ type: 'unsubscribed', metrics: [...new Set(names)], subscriptions: [...this.subscriptions] });
  }

  /** Wants every sample of the named metric? */
  wantsMetric(name: string): boolean {
    return this.subscriptions.has(EVERYTHING) || this.subscriptions.has(name);
  }

  wantsAlerts(): boolean {
    return this.subscriptions.has(EVERYTHING) || this.subscriptions.has(ALERTS);
  }

  /** Tells the client why (an error message with the details), then closes with 4429. */
  refuseConnection(error: AppError): void {
    this.sendError(error.code, error.message, error.details);
    this.close(CloseCodes.RATE_LIMITED, error.message.slice(0, 120), 'connection_limit');
  }

  private sendError(code: string, message: string, details?: unknown): void {
    this.send(details === undefined ? { type: 'error', code, message } : { type: 'error', code, message, details });
  }

  private withinRateLimit(): boolean {
    const window = Math.floor(this.deps.clock.nowMs() / 1000);
    if (window !== this.rateWindow) {
      this.rateWindow = window;
      this.rateCount = 0;
    }
    this.rateCount += 1;
    const limit = this.deps.limits.messageRateLimit;
    if (this.rateCount <= limit) return true;
    this.deps.metrics.messagesReceived.inc({ action: 'rate_limited' });
    if (this.rateCount > limit * 2) this.close(CloseCodes.RATE_LIMITED, `more than ${limit * 2} messages in one second`, 'rate_limited');
    else if (this.rateCount === limit + 1) this.sendError('RATE_LIMITED', `At most ${limit} messages per second; further messages in this second are ignored`, { limit });
    return false;
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
