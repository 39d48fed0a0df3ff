import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { createBus } from '../../../src/platform/bus/index.js';
import { testEnv } from '../../support/env.js';

const logger = pino({ level: 'silent' });

describe('bus adapter choice', () => {
  it('refuses BUS=redis without REDIS_URL and BUS=kafka without KAFKA_BROKERS, naming the variable', () => {
    expect(() => createBus(loadConfig(testEnv({ BUS: 'redis', REDIS_URL: undefined })), { registry: new Registry(), logger })).toThrow(ConfigError);
    expect(() => createBus(loadConfig(testEnv({ BUS: 'redis', REDIS_URL: undefined })), { registry: new Registry(), logger })).toThrow(/BUS=redis needs REDIS_URL/);
    expect(() => createBus(loadConfig(testEnv({ BUS: 'kafka' })), { registry: new Registry(), logger })).toThrow(/BUS=kafka needs KAFKA_BROKERS/);
    expect(() => loadConfig(testEnv({ BUS: 'rabbit' }))).toThrow(ConfigError);
  });

  it('defaults to Kafka when KAFKA_BROKERS is set and to the in-process bus otherwise, stamping this service as origin', async () => {
    const kafka = createBus(loadConfig(testEnv({ KAFKA_BROKERS: '127.0.0.1:1' })), { registry: new Registry(), logger });
    expect(kafka.kind).toBe('kafka');
    await kafka.close();
    const memory = createBus(loadConfig(testEnv()), { registry: new Registry(), logger });
    expect(memory.kind).toBe('memory');
    const seen: Array<Record<string, string>> = [];
    await memory.subscribe('t', 'g', async (message) => {
      seen.push(message.headers);
    });
    await memory.publish('t', [{ value: 1 }, { value: 2, headers: { origin: 'ticket-service' } }]);
    await memory.close();
    expect(seen).toEqual([{ origin: 'monitoring-service' }, { origin: 'ticket-service' }]);
  });
});
