import type { Logger } from 'pino';
import type { Bus, OutgoingMessage, PublishOptions } from './bus.js';
import type { BusMetrics } from './bus.metrics.js';

interface Pending {
  topic: string;
  message: OutgoingMessage;
  options: PublishOptions | undefined;
}

export interface RetryQueueOptions {
  maxQueued: number;
  /**
   * Publishes waiting for the broker at once; beyond, new ones join the queue. Callers that do not
   * wait for the broker (ingest after its commit) cannot pile up unbounded pending publishes.
   */
  maxInFlight?: number;
  initialDelayMs: number;
  maxDelayMs?: number;
  /** How long close() keeps trying to deliver what is queued. */
  flushTimeoutMs?: number;
  logger: Logger;
  metrics: Pick<BusMetrics, 'retryQueueDepth' | 'retryQueueDropped'>;
}

export interface RetryingBus extends Bus {
  /** Messages waiting for the broker. */
  queued(): number;
}

/**
 * A publish the broker does not accept is kept in a bounded in-memory queue and retried with
 * backoff, in order: while anything waits, new publishes queue behind it so a key's messages
 * keep their order. Only a full queue drops (the newest messages), and every drop is counted.
 */
export function withRetryQueue(bus: Bus, options: RetryQueueOptions): RetryingBus {
  const queue: Pending[] = [];
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  let delayMs = options.initialDelayMs;
  let timer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let closed = false;
  let inFlight = 0;
  const maxInFlight = options.maxInFlight ?? 64;

  const depth = () => options.metrics.retryQueueDepth.set(queue.length);

  const enqueue = (topic: string, messages: readonly OutgoingMessage[], publishOptions: PublishOptions | undefined): number => {
    let dropped = 0;
    for (const message of messages) {
      if (queue.length >= options.maxQueued) {
        dropped += 1;
        continue;
      }
      queue.push({ topic, message, options: publishOptions });
    }
    if (dropped > 0) {
      options.metrics.retryQueueDropped.inc({ topic }, dropped);
      options.logger.error({ topic, dropped, queued: queue.length }, 'bus retry queue full: messages dropped');
    }
    depth();
    return dropped;
  };

  /** Publishes queued messages, oldest first, in runs of one topic; stops at the first failure. */
  const drain = async (): Promise<boolean> => {
    while (queue.length > 0) {
      const first = queue[0];
      if (first === undefined) break;
      let count = 0;
      while (count < queue.length && count < 500 && queue[count]?.topic === first.topic && queue[count]?.options?.acks === first.options?.acks) count += 1;
      const run = queue.slice(0, count);
      try {
        await bus.publish(first.topic, run.map((item) => item.message), first.options);
      } catch (error) {
        options.logger.warn({ err: error, topic: first.topic, queued: queue.length }, 'bus still unreachable; will retry');
        return false;
      }
      queue.splice(0, count);
      depth();
    }
    return true;
  };

  const schedule = () => {
    if (timer !== undefined || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      draining = drain().then((done) => {
        draining = undefined;
        delayMs = done ? options.initialDelayMs : Math.min(maxDelayMs, delayMs * 2);
        if (!done) schedule();
      });
    }, delayMs);
    timer.unref();
  };

  return {
    kind: bus.kind,
    lag: bus.lag,
    queued: () => queue.length,
    async publish(topic, messages, publishOptions) {
      if (closed) throw new Error('bus is closed');
      if (queue.length > 0 || draining !== undefined || inFlight >= maxInFlight) {
        const dropped = enqueue(topic, messages, publishOptions);
        schedule();
        if (dropped > 0) throw new Error(`bus retry queue full: ${dropped} message(s) dropped`);
        return;
      }
      inFlight += 1;
      try {
        await bus.publish(topic, messages, publishOptions);
      } catch (error) {
        options.logger.warn({ err: error, topic, messages: messages.length }, 'publish failed; kept for retry');
        const dropped = enqueue(topic, messages, publishOptions);
        schedule();
        if (dropped > 0) throw new Error(`bus retry queue full: ${dropped} message(s) dropped`, { cause: error });
      } finally {
        inFlight -= 1;
      }
    },
    subscribe: (topic, group, handler) => bus.subscribe(topic, group, handler),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      if (draining !== undefined) await draining;
      if (queue.length > 0) {
        const flushed = await Promise.race([drain(), new Promise<false>((resolve) => setTimeout(() => resolve(false), options.flushTimeoutMs ?? 2_000).unref())]);
        if (!flushed && queue.length > 0) {
          const byTopic = new Map<string, number>();
          for (const item of queue) byTopic.set(item.topic, (byTopic.get(item.topic) ?? 0) + 1);
          for (const [topic, count] of byTopic) options.metrics.retryQueueDropped.inc({ topic }, count);
          options.logger.error({ dropped: Object.fromEntries(byTopic) }, 'bus unreachable at shutdown: queued messages dropped');
          queue.length = 0;
          depth();
        }
      }
      await bus.close();
    },
  };
}
