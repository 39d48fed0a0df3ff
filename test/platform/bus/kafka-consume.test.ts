import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { EachMessagePayload, IHeaders } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { countUndecodable, createBusMetrics, type DeliveredMessage, type OutgoingMessage } from '../../../src/platform/bus/index.js';
import { kafkaMessageHandler } from '../../../src/platform/bus/kafka.js';

/**
 * The Kafka consumer's eachMessage, driven with payloads shaped as kafkajs hands them over (no
 * broker can run here): kafkajs commits a message's offset once eachMessage resolves and
 * redelivers it when eachMessage throws, so resolving is what lets the partition move on.
 */
const logger = pino({ level: 'silent' });

let offset = 0;
const payload = (value: Buffer | null, headers: IHeaders = {}, key = 'tenant-1'): EachMessagePayload => ({
  topic: 'metrics-stream',
  partition: 0,
  message: { key: Buffer.from(key), value, headers, timestamp: String(Date.now()), attributes: 0, offset: String((offset += 1)) },
  heartbeat: async () => undefined,
  pause: () => () => undefined,
});

function consumer(park: (message: OutgoingMessage) => Promise<void> = async () => undefined, handle: (message: DeliveredMessage) => Promise<void> = async () => undefined) {
  const registry = new Registry();
  const handled: DeliveredMessage[] = [];
  const parked: OutgoingMessage[] = [];
  const eachMessage = kafkaMessageHandler({
    topic: 'metrics-stream',
    group: 'monitoring-metrics-group',
    handler: async (message) => {
      await handle(message);
      handled.push(message);
    },
    options: { maxAttempts: 3, retryDelayMs: 1, logger, onUndecodable: countUndecodable(createBusMetrics(registry, undefined)) },
    park: async (message) => {
      await park(message);
      parked.push(message);
    },
  });
  return { eachMessage, handled, parked, registry };
}

describe('Kafka consumer: messages that cannot be decoded', () => {
  it('a value that is not JSON is parked with its raw text and counted, and the next message is handled (it used to throw before the retry logic and block the partition)', async () => {
    const { eachMessage, handled, parked, registry } = consumer();
    await expect(eachMessage(payload(Buffer.from('{"tenant_id": oops'), { origin: Buffer.from('ticket-service') }))).resolves.toBeUndefined();
    await eachMessage(payload(Buffer.from('{"id":"good"}')));
    expect(handled.map((message) => message.value)).toEqual([{ id: 'good' }]);
    expect(handled[0]).toMatchObject({ key: 'tenant-1', attempt: 1, topic: 'metrics-stream' });
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ key: 'tenant-1', value: '{"tenant_id": oops', headers: { origin: 'ticket-service', 'parked-value': 'raw-text', 'parked-attempts': '0' } });
    expect(parked[0]?.headers?.['parked-reason']).toMatch(/not JSON/);
    expect(await registry.metrics()).toContain('monitoring_bus_messages_undecodable_total{topic="metrics-stream",group="monitoring-metrics-group",reason="value-not-json"} 1');
  });

  it('a tombstone (null value), an empty value and bytes that are not UTF-8 are parked and counted by reason, in order with the good ones', async () => {
    const { eachMessage, handled, parked, registry } = consumer();
    await eachMessage(payload(null));
    await eachMessage(payload(Buffer.from('1')));
    await eachMessage(payload(Buffer.alloc(0)));
    await eachMessage(payload(Buffer.from([0xc3, 0x28])));
    await eachMessage(payload(Buffer.from('2')));
    expect(handled.map((message) => message.value)).toEqual([1, 2]);
    expect(parked.map((message) => [message.value, message.headers?.['parked-value']])).toEqual([
      [null, 'absent'],
      ['', 'raw-text'],
      [Buffer.from([0xc3, 0x28]).toString('base64'), 'base64'],
    ]);
    const text = await registry.metrics();
    for (const reason of ['value-missing', 'value-not-json', 'value-not-utf8']) expect(text).toContain(`reason="${reason}"} 1`);
  });

  it('throws when parking fails, so kafkajs leaves the offset uncommitted and redelivers, and counts only once parked', async () => {
    let brokerUp = false;
    const { eachMessage, parked, registry } = consumer(async () => {
      if (!brokerUp) throw new Error('broker unreachable');
    });
    const bad = payload(Buffer.from('nope'));
    await expect(eachMessage(bad)).rejects.toThrow('broker unreachable');
    expect(await registry.metrics()).not.toContain('monitoring_bus_messages_undecodable_total{');
    brokerUp = true;
    await eachMessage(bad);
    expect(parked).toHaveLength(1);
    expect(await registry.metrics()).toContain('reason="value-not-json"} 1');
  });

  it('still retries a decoded message whose handler fails and parks it after the last attempt', async () => {
    const attempts: number[] = [];
    const { eachMessage, handled, parked } = consumer(undefined, async (message) => {
      attempts.push(message.attempt);
      throw new Error('cannot handle this');
    });
    await eachMessage(payload(Buffer.from('{"id":"poison"}')));
    expect(attempts).toEqual([1, 2, 3]);
    expect(handled).toEqual([]);
    expect(parked).toEqual([{ key: 'tenant-1', value: { id: 'poison' }, headers: { 'parked-reason': 'cannot handle this', 'parked-attempts': '3' } }]);
  });
});
