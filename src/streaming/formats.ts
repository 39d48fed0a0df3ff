import { FormatRegistry } from '@sinclair/typebox';

/**
 * TypeBox's Value checker knows no string formats by itself (Fastify's Ajv does). Messages from
 * the bus are checked with Value, so the formats their schemas use are registered here.
 */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export function registerMessageFormats(): void {
  if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (value) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)));
}
