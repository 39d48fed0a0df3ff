import type { Logger } from 'pino';
import { createRedisClient } from '../redis/client.js';
import type { PubSub, PubSubHandler } from './pubsub.js';

/**
 * Redis pub/sub. A subscribed connection can do nothing else, so publishing and subscribing
 * use two connections; both reconnect on their own and resubscribe after a reconnect.
 */
export function createRedisPubSub(url: string, namespace = 'monitoring:', options: { commandTimeoutMs?: number; logger?: Logger } = {}): PubSub {
  // Connection errors surface through failing publishes and the health check, not as crashes.
  const publisher = createRedisClient(url, { role: 'pubsub', commandTimeoutMs: options.commandTimeoutMs ?? 1_000, logger: options.logger });
  // The subscriber waits for Redis as long as it takes and resubscribes after every reconnect.
  const subscriber = createRedisClient(url, { role: 'pubsub-subscriber', maxRetriesPerRequest: null });
  const channels = new Map<string, Set<PubSubHandler>>();
  subscriber.on('message', (channel: string, message: string) => {
    for (const handler of channels.get(channel) ?? []) handler(message);
  });
  let closed = false;

  return {
    kind: 'redis',
    crossInstance: true,
    async publish(channel, message) {
      await publisher.publish(namespace + channel, message);
    },
    async subscribe(channel, handler) {
      const name = namespace + channel;
      let set = channels.get(name);
      if (set === undefined) {
        set = new Set();
        channels.set(name, set);
        // Not awaited: with Redis down at start-up the service starts and subscribes once Redis is back.
        subscriber.subscribe(name).catch((error: unknown) => options.logger?.warn({ err: error, channel: name }, 'redis subscribe failed'));
      }
      set.add(handler);
      const handlers = set;
      return async () => {
        handlers.delete(handler);
        if (handlers.size === 0 && channels.get(name) === handlers) {
          channels.delete(name);
          if (!closed) await subscriber.unsubscribe(name);
        }
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      channels.clear();
      await Promise.all([publisher.quit().catch(() => publisher.disconnect()), subscriber.quit().catch(() => subscriber.disconnect())]);
    },
  };
}
