import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisClientOptions {
  /** Who uses the connection, for the logs ("cache", "bus", "pubsub"). */
  role: string;
  /**
   * Longest wait for one command, queued or sent: a stopped Redis fails commands after it, a
   * frozen one (SIGSTOP: the socket stays open, nothing answers) too. Unset only for connections
   * whose commands block on purpose (subscriber, XREADGROUP BLOCK), which bound themselves.
   */
  commandTimeoutMs?: number;
  /** Reconnection attempts a command waits through before it fails; null waits for ever (subscribers). */
  maxRetriesPerRequest?: number | null;
  logger?: Logger;
}

/**
 * An ioredis connection with the service's failure policy: every command has a timeout,
 * reconnection is automatic with capped backoff, and connection state changes are logged once
 * per transition (never as an unhandled 'error' event, which would end the process).
 */
export function createRedisClient(url: string, options: RedisClientOptions): Redis {
  const settings: RedisOptions = {
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 1 : options.maxRetriesPerRequest,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    retryStrategy: (attempt) => Math.min(2_000, 100 * attempt),
  };
  if (options.commandTimeoutMs !== undefined) settings.commandTimeout = options.commandTimeoutMs;
  const client = new Redis(url, settings);
  watchConnection(client, options.role, options.logger);
  return client;
}

/** Logs when a connection goes down (with the first error) and when it is back. */
export function watchConnection(client: Redis, role: string, logger: Logger | undefined): void {
  let down = false;
  let lastError: string | undefined;
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  client.on('reconnecting', () => {
    if (down) return;
    down = true;
    logger?.warn({ redis: role, error: lastError }, 'redis connection lost; reconnecting (commands fail after their timeout meanwhile)');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    logger?.info({ redis: role }, 'redis connection restored');
  });
}
