import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createRedisClient } from '../redis/client.js';
import { parkedTopic, type Bus, type ConsumerLag, type MessageHandler, type OutgoingMessage, type Subscription } from './bus.js';
import { decodeDelivery, type Decoded, type UndecodableDelivery } from './decode.js';
import { keyHash } from './partition.js';

export interface RedisStreamsBusOptions {
  url: string;
  /** Key prefix of every stream, lease and member key. */
  namespace?: string;
  /** Streams per topic: a key always lands on the same one, and one member of a group owns each. */
  partitions: number;
  maxLen: number;
  maxAttempts: number;
  retryDelayMs: number;
  /** A member that stops renewing loses its partitions (and their unacknowledged messages) after this. */
  leaseMs?: number;
  blockMs?: number;
  /** Longest wait for one command (publish, ack, lease); a frozen Redis fails publishes after it. */
  commandTimeoutMs?: number;
  logger: Logger;
  /** Called once an entry that could not be decoded has been parked. */
  onUndecodable?: (delivery: UndecodableDelivery) => void;
}

type Entry = [id: string, fields: string[]];

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Redis Streams bus. A topic is split into partition streams; a key always goes to the same
 * partition. Members of a consumer group lease partitions (one owner each, rebalanced as
 * members come and go) and read them with XREADGROUP, so per-key order holds while the group
 * shares the work. A failed handler is retried in place; after maxAttempts the message is
 * parked on `<topic>.parked`. Messages a dead member left unacknowledged are taken over with
 * XAUTOCLAIM by the partition's next owner and redelivered with a higher attempt.
 */
export function createRedisStreamsBus(options: RedisStreamsBusOptions): Bus {
  const ns = options.namespace ?? 'monitoring:bus:';
  const leaseMs = options.leaseMs ?? 10_000;
  const blockMs = options.blockMs ?? 1_000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 1_000;
  const client = createRedisClient(options.url, { role: 'bus', commandTimeoutMs, logger: options.logger });
  const subscriptions = new Set<{ topic: string; group: string; close(): Promise<void> }>();
  const streamKey = (topic: string, partition: number) => `${ns}${topic}:${partition}`;
  let roundRobin = 0;
  let closed = false;

  const partitionOf = (key: string | undefined) => (key === undefined ? (roundRobin += 1) : keyHash(key)) % options.partitions;

  const publish = async (topic: string, messages: readonly OutgoingMessage[]): Promise<void> => {
    if (closed) throw new Error('bus is closed');
    if (messages.length === 0) return;
    const pipeline = client.pipeline();
    for (const message of messages) {
      const fields = ['value', JSON.stringify(message.value ?? null), 'headers', JSON.stringify(message.headers ?? {})];
      if (message.key !== undefined) fields.push('key', message.key);
      pipeline.xadd(streamKey(topic, partitionOf(message.key)), 'MAXLEN', '~', options.maxLen, '*', ...fields);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error !== null);
    if (failed?.[0] != null) throw failed[0];
  };

  /** An entry's fields (`value`, `headers`, optional `key`) as a message, or what to park instead. */
  const decode = (fields: string[]): Decoded => {
    const map = new Map<string, string>();
    for (let index = 0; index + 1 < fields.length; index += 2) map.set(fields[index] ?? '', fields[index + 1] ?? '');
    return decodeDelivery({ key: map.get('key'), value: map.get('value'), headers: map.get('headers') });
  };

  const subscribe = async (topic: string, group: string, handler: MessageHandler): Promise<Subscription> => {
    if (closed) throw new Error('bus is closed');
    const member = randomUUID();
    // XREADGROUP blocks for blockMs on purpose: its own timeout is that plus the command timeout.
    const reader = client.duplicate({ commandTimeout: blockMs + commandTimeoutMs });
    reader.on('error', () => undefined);
    const membersKey = `${ns}members:${topic}:${group}`;
    const leaseKey = (partition: number) => `${ns}lease:${topic}:${group}:${partition}`;
    const owned = new Set<number>();
    let stopped = false;

    /**
     * Creates the group on every partition stream. A new group starts at the newest entry; one
     * recreated after Redis lost it (restarted empty: NOGROUP) starts at the beginning of what the
     * new stream holds, so nothing published since the restart is skipped.
     */
    const ensureGroups = async (startId: '$' | '0'): Promise<void> => {
      for (let partition = 0; partition < options.partitions; partition += 1) {
        await client.xgroup('CREATE', streamKey(topic, partition), group, startId, 'MKSTREAM').catch((error: unknown) => {
          if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
        });
      }
    };
    let groupsReady: '$' | '0' | 'ready' = '$';
    // While Redis is down the loop and the rebalancer fail every half second: one line per 10 s.
    let lastReadWarningAt = 0;
    const isNoGroup = (error: unknown) => error instanceof Error && error.message.includes('NOGROUP');

    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

    const handle = async (partition: number, id: string, fields: string[] | null, firstAttempt: number): Promise<void> => {
      const stream = streamKey(topic, partition);
      if (fields === null) {
        await client.xack(stream, group, id);
        return;
      }
      const decoded = decode(fields);
      if (!decoded.ok) {
        // No retry can fix it: parked at once and acknowledged, so the partition moves on.
        await publish(parkedTopic(topic), [decoded.parked]);
        await client.xack(stream, group, id);
        options.logger.warn({ topic, group, id, reason: decoded.detail }, 'bus message undecodable; parked');
        options.onUndecodable?.({ topic, group, reason: decoded.reason });
        return;
      }
      const message = { topic, key: decoded.key, value: decoded.value, headers: decoded.headers };
      for (let attempt = firstAttempt; ; attempt += 1) {
        try {
          await handler({ ...message, attempt });
          break;
        } catch (error) {
          if (attempt >= options.maxAttempts) {
            options.logger.warn({ err: error, topic, group, id, attempt }, 'bus message parked');
            await publish(parkedTopic(topic), [{ key: message.key, value: message.value, headers: { ...message.headers, 'parked-reason': String(error instanceof Error ? error.message : error).slice(0, 500), 'parked-attempts': String(attempt) } }]);
            break;
          }
          if (stopped) return;
          await sleep(options.retryDelayMs * attempt);
        }
      }
      await client.xack(stream, group, id);
    };

    /** Takes over what earlier owners of the partition left unacknowledged, oldest first. */
    const reclaim = async (partition: number): Promise<void> => {
      const stream = streamKey(topic, partition);
      let cursor = '0-0';
      do {
        const [next, entries] = (await client.xautoclaim(stream, group, member, 0, cursor, 'COUNT', 100)) as [string, Array<Entry | null>, string[]?];
        cursor = next;
        const ids = entries.flatMap((entry) => (entry === null ? [] : [entry[0]]));
        const deliveries = new Map<string, number>();
        if (ids.length > 0) {
          const pending = (await client.xpending(stream, group, ids[0] ?? '-', ids[ids.length - 1] ?? '+', ids.length, member)) as Array<[string, string, number, number]>;
          for (const [id, , , count] of pending) deliveries.set(id, count);
        }
        for (const entry of entries) {
          if (entry === null || stopped || !owned.has(partition)) continue;
          await handle(partition, entry[0], entry[1], Math.max(2, deliveries.get(entry[0]) ?? 2));
        }
      } while (cursor !== '0-0' && !stopped && owned.has(partition));
    };

    const toReclaim: number[] = [];
    const rebalance = async (): Promise<void> => {
      const now = Date.now();
      await client.zadd(membersKey, now, member);
      await client.zremrangebyscore(membersKey, '-inf', now - leaseMs);
      const members = (await client.zrange(membersKey, '0', '-1')).sort();
      const index = Math.max(0, members.indexOf(member));
      const count = Math.max(1, members.length);
      for (let partition = 0; partition < options.partitions; partition += 1) {
        const wanted = partition % count === index;
        if (owned.has(partition)) {
          const kept = wanted && Number(await client.eval(RENEW, 1, leaseKey(partition), member, String(leaseMs))) === 1;
          if (!kept) {
            owned.delete(partition);
            await client.eval(RELEASE, 1, leaseKey(partition), member);
          }
        } else if (wanted && (await client.set(leaseKey(partition), member, 'PX', leaseMs, 'NX')) === 'OK') {
          owned.add(partition);
          toReclaim.push(partition);
        }
      }
    };

    // Redis may be down at start: the subscription starts anyway and its loop waits for Redis.
    try {
      await ensureGroups('$');
      groupsReady = 'ready';
      await rebalance();
    } catch (error) {
      options.logger.warn({ err: error, topic, group }, 'bus consumer waiting for Redis');
    }
    const rebalancer = setInterval(() => {
      if (!stopped)
        rebalance().catch((error: unknown) => {
          if (Date.now() - lastReadWarningAt < 10_000) return;
          lastReadWarningAt = Date.now();
          options.logger.warn({ err: error, topic, group }, 'bus rebalance failed (Redis unreachable?)');
        });
    }, Math.max(50, Math.floor(leaseMs / 3)));
    rebalancer.unref();

    const loop = async (): Promise<void> => {
      while (!stopped) {
        try {
          if (groupsReady !== 'ready') {
            await ensureGroups(groupsReady);
            groupsReady = 'ready';
            options.logger.info({ topic, group }, 'bus consumer group ready');
            await rebalance();
          }
          const partition = toReclaim.shift();
          if (partition !== undefined) {
            await reclaim(partition);
            continue;
          }
          const mine = [...owned];
          if (mine.length === 0) {
            await sleep(Math.min(blockMs, 100));
            continue;
          }
          const keys = mine.map((p) => streamKey(topic, p));
          const result = (await reader.xreadgroup('GROUP', group, member, 'COUNT', 100, 'BLOCK', blockMs, 'STREAMS', ...keys, ...keys.map(() => '>'))) as Array<[string, Entry[]]> | null;
          for (const [stream, entries] of result ?? []) {
            const partition = mine[keys.indexOf(stream)] ?? 0;
            for (const [id, fields] of entries) {
              if (stopped) break;
              await handle(partition, id, fields, 1);
            }
          }
        } catch (error) {
          if (stopped) break;
          if (isNoGroup(error)) {
            // Redis restarted empty (or the group was deleted): recreate it and read on.
            groupsReady = '0';
            for (const partition of owned) toReclaim.push(partition);
            options.logger.warn({ topic, group }, 'bus consumer group lost (NOGROUP); recreating it');
            continue;
          }
          if (Date.now() - lastReadWarningAt >= 10_000) {
            lastReadWarningAt = Date.now();
            options.logger.warn({ err: error, topic, group }, 'bus read failed; retrying');
          }
          // What was read but not acknowledged (a failed XACK or park, the rest of the batch) is
          // still pending for this member: take it up again before reading anything new.
          for (const partition of owned) if (!toReclaim.includes(partition)) toReclaim.push(partition);
          await sleep(Math.min(blockMs, 500));
        }
      }
    };
    const running = loop();

    const subscription = {
      topic,
      group,
      async close() {
        if (stopped) return;
        stopped = true;
        clearInterval(rebalancer);
        reader.disconnect();
        await running;
        subscriptions.delete(subscription);
        for (const partition of owned) await client.eval(RELEASE, 1, leaseKey(partition), member).catch(() => undefined);
        owned.clear();
        await client.zrem(membersKey, member).catch(() => undefined);
      },
    };
    subscriptions.add(subscription);
    return subscription;
  };

  const lag = async (): Promise<ConsumerLag[]> => {
    const totals = new Map<string, ConsumerLag>();
    for (const { topic, group } of subscriptions) {
      const id = `${topic}\n${group}`;
      if (totals.has(id)) continue;
      let sum = 0;
      for (let partition = 0; partition < options.partitions; partition += 1) {
        const groups = (await client.xinfo('GROUPS', streamKey(topic, partition))) as Array<Array<string | number | null>>;
        const info = groups.find((fields) => fields[fields.indexOf('name') + 1] === group);
        const value = info?.[info.indexOf('lag') + 1];
        if (typeof value === 'number') sum += value;
      }
      totals.set(id, { topic, group, lag: sum });
    }
    return [...totals.values()];
  };

  return {
    kind: 'redis',
    publish: (topic, messages) => publish(topic, messages),
    subscribe,
    lag,
    async close() {
      if (closed) return;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      closed = true;
      await client.quit().catch(() => client.disconnect());
    },
  };
}
