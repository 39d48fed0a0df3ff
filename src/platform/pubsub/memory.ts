import type { PubSub, PubSubHandler } from './pubsub.js';

/** In-process pub/sub: one instance, so nothing crosses a process boundary. */
export function createMemoryPubSub(): PubSub {
  const channels = new Map<string, Set<PubSubHandler>>();
  return {
    kind: 'memory',
    crossInstance: false,
    async publish(channel, message) {
      for (const handler of channels.get(channel) ?? []) handler(message);
    },
    async subscribe(channel, handler) {
      const set = channels.get(channel) ?? new Set<PubSubHandler>();
      channels.set(channel, set);
      set.add(handler);
      return async () => {
        set.delete(handler);
      };
    },
    async close() {
      channels.clear();
    },
  };
}
