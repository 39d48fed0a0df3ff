import { Redis } from 'ioredis';
import type { PubSub, PubSubHandler } from './pubsub.js';

/**
 * Redis pub/sub. A subscribed connection can do nothing else, so publishing and subscribing
 * use two connections; both reconnect on their own and resubscribe after a reconnect.
 */
export function createRedisPubSub(url: string, namespace = 'monitoring:'): PubSub {
  const publisher = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  const subscriber = new Redis(url, { maxRetriesPerRequest: null, enableOfflineQueue: true });
  // Connection errors surface through failing publishes and the health check, not as crashes.
  publisher.on('error', () => undefined);
  subscriber.on('error', () => undefined);
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
        await subscriber.subscribe(name);
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
