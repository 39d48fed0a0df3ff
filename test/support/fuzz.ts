import { randomUUID } from 'node:crypto';

/** The subset of JSON Schema that the OpenAPI document of this service uses. */
export interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  nullable?: boolean;
}


export function hashOf(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}

/** Fisher-Yates with the seeded PRNG. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = out[i] as T;
    out[i] = out[j] as T;
    out[j] = a;
  }
  return out;
}

/** A JSON literal written as is: numbers JSON.stringify cannot write (1e400, 2^64) and deep nesting. */
export class Raw {
  constructor(readonly text: string) {}
}
/** A field left out of its object. */
export const MISSING = Symbol('missing');

export const DEPTH = 6000;
export const deepArray = (depth = DEPTH): Raw => new Raw(`${'['.repeat(depth)}${']'.repeat(depth)}`);
export const deepObject = (depth = DEPTH): Raw => new Raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

/** JSON text of a value that may hold Raw literals and MISSING fields. Lone surrogates come out as \\uXXXX escapes. */
export function toJson(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return `[${value.map((item) => toJson(item)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value).filter(([, field]) => field !== MISSING);
    return `{${fields.map(([key, field]) => `${JSON.stringify(key)}:${toJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Percent-encodes like encodeURIComponent, but writes a lone surrogate as its WTF-8 bytes (%ED%A0%80) instead of throwing. */
export function encodeComponent(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    if (char.length === 1 && code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((byte) => `%${byte.toString(16).toUpperCase()}`).join('');
    } else out += encodeURIComponent(char);
  }
  return out;
}

const soon = () => new Date(Date.now() + 3_600_000).toISOString();
const STRING_CANDIDATES = () => ['fuzz', 'EUR', '24h', soon(), '1'.repeat(32), '1'.repeat(64)];

/** A valid value of the schema (the first branch of an anyOf, required fields only, minimal arrays). */
export function sample(schema: Schema): unknown {
  if (schema.enum !== undefined) return schema.enum[0];
  if (schema.anyOf !== undefined) return sample(schema.anyOf[0] ?? {});
  switch (schema.type) {
    case 'string':
      return sampleString(schema);
    case 'integer':
    case 'number':
      return Math.min(schema.minimum ?? 1, schema.maximum ?? Number.MAX_SAFE_INTEGER);
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sample(schema.items ?? {}));
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((key) => [key, sample(schema.properties?.[key] ?? {})]));
    default:
      return 'fuzz';
  }
}

function sampleString(schema: Schema): string {
  if (schema.format === 'date-time') return soon();
  if (schema.format === 'uuid') return randomUUID();
  if (schema.format === 'email') return 'fuzz@example.com';
  if (schema.format === 'uri') return 'https://example.com/fuzz';
  const min = schema.minLength ?? 1;
  const max = schema.maxLength ?? Infinity;
  const pattern = schema.pattern === undefined ? undefined : new RegExp(schema.pattern);
  const fits = (text: string) => text.length >= min && text.length <= max && (pattern === undefined || pattern.test(text));
  return STRING_CANDIDATES().find(fits) ?? 'fuzz'.padEnd(min, 'z').slice(0, Math.max(min, Math.min(4, max)));
}

/** One step into a body: a property, the first array item, or a branch of an anyOf. */
export type Step = { key: string } | { index: 0 } | { branch: number };

/** Every place in a body schema a hostile value can go, with the schema found there. */
export function locations(schema: Schema, path: Step[] = [], depth = 0): Array<{ path: Step[]; schema: Schema }> {
  const here = { path, schema };
  if (depth > 6) return [here];
  if (schema.anyOf !== undefined && schema.enum === undefined) {
    const branches = schema.anyOf.flatMap((branch, i) => (branch.type === 'object' || branch.type === 'array' ? locations(branch, [...path, { branch: i }], depth + 1) : []));
    return [here, ...branches];
  }
  if (schema.type === 'array' && schema.items !== undefined) return [here, ...locations(schema.items, [...path, { index: 0 }], depth + 1)];
  if (schema.type === 'object') {
    const inner = Object.entries(schema.properties ?? {}).flatMap(([key, property]) => locations(property, [...path, { key }], depth + 1));
    const extra = typeof schema.additionalProperties === 'object' ? locations(schema.additionalProperties, [...path, { key: 'fuzz_key' }], depth + 1) : [];
    return [here, ...inner, ...extra];
  }
  return [here];
}

/** A valid value of `schema` that holds `leaf` at `path` (a missing field when leaf is MISSING). */
export function build(schema: Schema, path: readonly Step[], leaf: unknown): unknown {
  const [step, ...rest] = path;
  if (step === undefined) return leaf;
  if ('branch' in step) return build(schema.anyOf?.[step.branch] ?? {}, rest, leaf);
  if ('index' in step) {
    const items = sample(schema) as unknown[];
    return [build(schema.items ?? {}, rest, leaf), ...items.slice(1)];
  }
  const base = (sample(schema) ?? {}) as Record<string, unknown>;
  const property = schema.properties?.[step.key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : {});
  return { ...base, [step.key]: build(property, rest, leaf) };
}

export const describePath = (path: readonly Step[]): string =>
  path.map((step) => ('key' in step ? `/${step.key}` : 'index' in step ? '/0' : `(anyOf ${step.branch})`)).join('') || '/';

const kindsOf = (schema: Schema): Set<string> =>
  new Set(schema.anyOf !== undefined && schema.enum === undefined ? schema.anyOf.flatMap((branch) => [...kindsOf(branch)]) : [schema.type ?? 'any']);

const LONG = 'x'.repeat(10_000);
/** Strings no field should choke on. */
export const HOSTILE_STRINGS = ['\u0000', 'a\u0000b', '\uD800', 'x\uDC00y', LONG, '../../../etc/passwd', "'; DROP TABLE samples; --", '\\', '\\q', '"', '%00', '', ' ', '\u202e\u{1F4A9}', '{{7*7}}', '<script>'];
/** Numbers written in a query string or a path. */
export const HOSTILE_NUMBER_TEXTS = ['1e400', '-1e400', '-1', '0', '1e20', '9223372036854775808', '18446744073709551616', '1.5', 'NaN', 'Infinity', '0x10', ''];

/** Hostile JSON values for a body location of this schema: at and beyond every limit, wrong types, deep nesting. */
export function hostileValues(schema: Schema): unknown[] {
  const kinds = kindsOf(schema);
  const out: unknown[] = [null, true, 'fuzz', 1, [], {}, [1, 2], { a: 1 }, deepArray(), deepObject()];
  if (kinds.has('string') || kinds.has('any')) {
    out.push(...HOSTILE_STRINGS);
    if (schema.maxLength !== undefined) out.push('a'.repeat(schema.maxLength), 'a'.repeat(schema.maxLength + 1));
    if (schema.minLength !== undefined && schema.minLength > 0) out.push('a'.repeat(schema.minLength - 1));
  }
  if (kinds.has('number') || kinds.has('integer') || kinds.has('any')) {
    out.push(new Raw('1e400'), new Raw('-1e400'), new Raw('9223372036854775808'), new Raw('18446744073709551616'), 1e20, -1e20, -1, 0, 1.5, -0.5, Number.MAX_SAFE_INTEGER + 2, '1', '1e400');
    for (const bound of [schema.minimum, schema.maximum]) if (bound !== undefined) out.push(bound, bound - 1, bound + 1, bound + 0.5);
  }
  if (kinds.has('boolean')) out.push('true', 0, 'false');
  if (kinds.has('array')) {
    const item = sample(schema.items ?? {});
    if (schema.maxItems !== undefined) out.push(Array.from({ length: schema.maxItems + 1 }, () => item));
    out.push(Array.from({ length: 5000 }, () => item), [null], ['\u0000'], [deepArray(100)]);
  }
  if (kinds.has('object')) out.push({ '\u0000': 'x' }, { '\uD800': 'x' }, { ['k'.repeat(10_000)]: 'x' }, JSON.parse('{"__proto__":{"polluted":true}}') as unknown, Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, 'v'])));
  return out;
}

/** Whole bodies that are not what any operation expects. */
export const HOSTILE_BODIES: Array<{ what: string; text: string }> = [
  { what: 'deep array', text: deepArray().text },
  { what: 'deep object', text: deepObject().text },
  { what: 'raw 1e400', text: '1e400' },
  { what: 'null', text: 'null' },
  { what: 'a string', text: '"fuzz"' },
  { what: 'an array', text: '[{}]' },
  { what: 'malformed', text: '{"a":' },
  { what: 'a NUL key', text: '{"\\u0000":1}' },
  { what: 'a lone surrogate key', text: '{"\\ud800":1}' },
  { what: 'proto pollution', text: '{"__proto__":{"x":1},"constructor":{"prototype":{"x":1}}}' },
];
