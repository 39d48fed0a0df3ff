import { Kafka, logLevel, type Consumer, type EachMessageHandler, type IHeaders, type Producer, type RetryOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { parkedTopic, type Bus, type ConsumerLag, type MessageHandler, type OutgoingMessage, type Subscription } from './bus.js';
import { decodeDelivery, type UndecodableDelivery } from './decode.js';

export interface KafkaBusOptions {
  brokers: readonly string[];
  clientId?: string;
  maxAttempts: number;
  retryDelayMs: number;
  logger: Logger;
  /** kafkajs connection timeout and retry schedule (defaults: 3 s, 5 retries). */
  connectionTimeoutMs?: number;
  retry?: RetryOptions;
  /** Called once a message that could not be decoded has been parked. */
  onUndecodable?: (delivery: UndecodableDelivery) => void;
}

const headerText = (headers: IHeaders | undefined): Record<string, string> => {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) result[name] = first.toString();
  }
  return result;
};

export interface KafkaConsumerDeps {
  topic: string;
  group: string;
  handler: MessageHandler;
  options: Pick<KafkaBusOptions, 'maxAttempts' | 'retryDelayMs' | 'logger' | 'onUndecodable'>;
  /** Writes one message to `<topic>.parked`; a throw leaves the offset uncommitted. */
  park: (message: OutgoingMessage) => Promise<void>;
}

/**
 * What a consumer does with each message: a message that cannot be decoded is parked at once;
 * a decoded one goes to the handler, retried in place and parked after the last attempt. It
 * returns once the message is handled or parked, so kafkajs commits the offset and the partition
 * moves on; it throws only when parking fails, and kafkajs then redelivers.
 */
export function kafkaMessageHandler({ topic, group, handler, options, park }: KafkaConsumerDeps): EachMessageHandler {
  return async ({ message }) => {
    const decoded = decodeDelivery({ key: message.key?.toString(), value: message.value, headers: headerText(message.headers) });
    if (!decoded.ok) {
      await park(decoded.parked);
      options.logger.warn({ topic, group, offset: message.offset, reason: decoded.detail }, 'bus message undecodable; parked');
      options.onUndecodable?.({ topic, group, reason: decoded.reason });
      return;
    }
    const { key, value, headers } = decoded;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await handler({ topic, key, value, headers, attempt });
        return;
      } catch (error) {
        if (attempt >= options.maxAttempts) {
          options.logger.warn({ err: error, topic, group, offset: message.offset }, 'bus message parked');
          await park({ key, value, headers: { ...headers, 'parked-reason': String(error instanceof Error ? error.message : error).slice(0, 500), 'parked-attempts': String(attempt) } });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs * attempt).unref());
      }
    }
  };
}

/**
 * Kafka through kafkajs: client id `monitoring-service`, 5 retries, an idempotent producer.
 * Idempotence requires acks from all in-sync replicas, so every topic is written with acks -1
 * (alerts-stream and fraud-events need it anyway). Consumers join the group, start at the
 * newest offset, retry a failed message in place and park it on `<topic>.parked` at the end.
 */
export function createKafkaBus(options: KafkaBusOptions): Bus {
  const kafka = new Kafka({
    clientId: options.clientId ?? 'monitoring-service',
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    retry: options.retry ?? { retries: 5 },
    logCreator: () => (entry) => {
      if (entry.level <= logLevel.WARN) options.logger.warn({ kafka: entry.namespace, ...entry.log }, 'kafka');
    },
  });
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true, transactionTimeout: 30_000, retry: options.retry ?? { retries: 5 } });
  let connecting: Promise<void> | undefined;
  const consumers = new Map<Consumer, { topic: string; group: string }>();
  let closed = false;

  const connected = (): Promise<void> => {
    connecting ??= producer.connect().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };

  const publish = async (topic: string, messages: readonly OutgoingMessage[]): Promise<void> => {
    if (closed) throw new Error('bus is closed');
    if (messages.length === 0) return;
    await connected();
    await producer.send({
      topic,
      acks: -1,
      messages: messages.map((message) => ({ key: message.key ?? null, value: JSON.stringify(message.value ?? null), headers: message.headers ?? {} })),
    });
  };

  const subscribe = async (topic: string, group: string, handler: Parameters<Bus['subscribe']>[2]): Promise<Subscription> => {
    if (closed) throw new Error('bus is closed');
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 30_000, heartbeatInterval: 3_000, allowAutoTopicCreation: true });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      eachMessage: kafkaMessageHandler({ topic, group, handler, options, park: (message) => publish(parkedTopic(topic), [message]) }),
    });
    consumers.set(consumer, { topic, group });
    return {
      async close() {
        if (!consumers.delete(consumer)) return;
        await consumer.disconnect();
      },
    };
  };

  const lag = async (): Promise<ConsumerLag[]> => {
    if (consumers.size === 0) return [];
    const admin = kafka.admin();
    await admin.connect();
    try {
      const result: ConsumerLag[] = [];
      for (const { topic, group } of new Set(consumers.values())) {
        const latest = await admin.fetchTopicOffsets(topic);
        const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
        const done = new Map((committed[0]?.partitions ?? []).map((partition) => [partition.partition, Number(partition.offset)]));
        const total = latest.reduce((sum, partition) => sum + Math.max(0, Number(partition.high) - Math.max(0, done.get(partition.partition) ?? 0)), 0);
        result.push({ topic, group, lag: total });
      }
      return result;
    } finally {
      await admin.disconnect();
    }
  };

  return {
    kind: 'kafka',
    publish: (topic, messages) => publish(topic, messages),
    subscribe,
    lag,
    async close() {
      if (closed) return;
      await Promise.all([...consumers.keys()].map((consumer) => consumer.disconnect()));
      consumers.clear();
      closed = true;
      if (connecting !== undefined) await producer.disconnect().catch(() => undefined);
    },
  };
}
