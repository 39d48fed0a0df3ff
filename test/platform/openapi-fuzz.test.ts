import type { HTTPMethods } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant } from '../support/app.js';
import { startFakeService } from '../support/fake-services.js';
import { seededRandom } from '../support/fraud.js';
import {
  HOSTILE_BODIES,
  HOSTILE_NUMBER_TEXTS,
  HOSTILE_STRINGS,
  MISSING,
  build,
  describePath,
  encodeComponent,
  hashOf,
  hostileValues,
  locations,
  sample,
  shuffled,
  toJson,
  type Schema,
} from '../support/fuzz.js';

/**
 * Schema-driven fuzz of every operation in the OpenAPI document: hostile strings, numbers at and
 * beyond every limit, wrong types and deep nesting in every parameter and body field. No answer
 * may be a 5xx, and every 4xx carries error.code. Reproduce a failure with the seed it prints:
 * FUZZ_SEED=<seed> npx vitest run test/platform/openapi-fuzz.test.ts -t '<operation>'.
 * FUZZ_CASES sets the cases per operation (default 48; `all` runs every case, ~13,000 requests).
 */
const SEED = Number.parseInt(process.env['FUZZ_SEED'] ?? '20261207', 10);
const CASES_SETTING = process.env['FUZZ_CASES'] ?? '48';
const CASES = CASES_SETTING === 'all' ? Infinity : Number.parseInt(CASES_SETTING, 10);

interface Parameter {
  in: 'query' | 'path' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}
interface Operation {
  method: HTTPMethods;
  path: string;
  parameters: Parameter[];
  body: Schema | undefined;
}
interface OpenApi {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
}
type Headers = Record<string, string>;
/** Parameter values by name: undefined = left out, an array = repeated. */
type Params = Record<string, string | string[] | undefined>;
/** One request: the hostile parameter (if any) over valid ones, and the JSON body text. */
interface Case {
  what: string;
  override: Params;
  body: string | undefined;
}

// Upstreams answer, so operations that need them reach their handlers instead of 503 NOT_CONFIGURED.
const events = await startFakeService();
events.on('GET', '/api/v1/events/*', (request) => ({ json: { id: request.pathname.split('/').pop(), venue_id: 'venue-1', name: 'Fuzz', capacity: 100, on_sale_at: new Date(Date.now() - 3_600_000).toISOString(), starts_at: new Date(Date.now() + 86_400_000).toISOString(), status: 'on_sale' } }));
// Thousands of requests of one tenant: request-rate limits would answer most of them with 429.
const t = await createTestApp({ env: { EVENT_SERVICE_URL: events.url, LIMIT_REQUESTS_PER_TENANT: '10000000', LIMIT_REQUESTS_PER_IP: '10000000' } });
afterAll(async () => {
  await t.close();
  await events.close();
});
const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApi>();
const operations: Operation[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, parameters: operation.parameters ?? [], body: operation.requestBody?.content['application/json']?.schema })),
);

const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
const printable = (text: string) => /^[\t\x20-\x7e]*$/.test(text);

/** Valid values of the required parameters; a uuid path parameter is the existing resource or a random id. */
function validParams(operation: Operation, existingId: string | undefined): Params {
  const params: Params = {};
  for (const parameter of operation.parameters) {
    if (parameter.in === 'path' && parameter.schema.format === 'uuid' && existingId !== undefined) params[parameter.name] = existingId;
    else if (parameter.required === true || parameter.in === 'path') params[parameter.name] = asText(sample(parameter.schema));
  }
  return params;
}

function hostileParamValues(parameter: Parameter): Array<string | string[] | undefined> {
  const { schema } = parameter;
  const values: Array<string | string[] | undefined> = [...HOSTILE_STRINGS, ...HOSTILE_NUMBER_TEXTS, 'true', '[]', '{}', ['1', '2']];
  if (schema.maxLength !== undefined) values.push('a'.repeat(schema.maxLength), 'a'.repeat(schema.maxLength + 1));
  for (const bound of [schema.minimum, schema.maximum]) if (bound !== undefined) values.push(String(bound - 1), String(bound + 1), `${bound}.5`);
  if (parameter.required === true) values.push(undefined);
  return parameter.in === 'header' ? values.filter((value) => typeof value === 'string' && printable(value)) : values;
}

/** Every case of one operation: each hostile value in each parameter and body location, and whole hostile bodies. */
function allCases(operation: Operation): Case[] {
  const validBody = operation.body === undefined ? undefined : toJson(sample(operation.body));
  const cases: Case[] = [];
  for (const parameter of operation.parameters) {
    for (const value of hostileParamValues(parameter)) cases.push({ what: `${parameter.in} ${parameter.name}=${JSON.stringify(value)?.slice(0, 60)}`, override: { [parameter.name]: value }, body: validBody });
  }
  if (operation.body !== undefined) {
    const body = operation.body;
    for (const location of locations(body)) {
      const where = describePath(location.path);
      for (const value of hostileValues(location.schema)) cases.push({ what: `body ${where} = ${toJson(value).slice(0, 60)}`, override: {}, body: toJson(build(body, location.path, value)) });
      for (const key of location.schema.required ?? []) cases.push({ what: `body ${where} without ${key}`, override: {}, body: toJson(build(body, [...location.path, { key }], MISSING)) });
    }
    for (const hostile of HOSTILE_BODIES) cases.push({ what: `body: ${hostile.what}`, override: {}, body: hostile.text });
  } else {
    cases.push({ what: 'an unexpected body', override: {}, body: toJson({ a: '\u0000' }) });
  }
  return cases;
}

function urlOf(operation: Operation, params: Params): string {
  let url = operation.path;
  const query: string[] = [];
  for (const parameter of operation.parameters) {
    const value = params[parameter.name];
    if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, encodeComponent(typeof value === 'string' ? value : ''));
    else if (parameter.in === 'query' && value !== undefined) for (const item of [value].flat()) query.push(`${encodeComponent(parameter.name)}=${encodeComponent(item)}`);
  }
  return query.length === 0 ? url : `${url}?${query.join('&')}`;
}

function headersOf(operation: Operation, auth: Headers, params: Params, body: string | undefined): Headers {
  const headers: Headers = { ...auth };
  if (body !== undefined) headers['content-type'] = 'application/json';
  for (const parameter of operation.parameters) {
    const value = params[parameter.name];
    if (parameter.in === 'header' && typeof value === 'string') headers[parameter.name] = value;
  }
  return headers;
}

/** The id of a resource made through the collection's POST with a valid body, so `{id}` routes reach a real row. */
async function existingIdFor(operation: Operation, auth: Headers): Promise<string | undefined> {
  const collection = operation.path.replace(/\/\{[^}]+\}.*$/, '');
  const create = operations.find((candidate) => candidate.method === 'POST' && candidate.path === collection && candidate.body !== undefined);
  if (collection === operation.path || create?.body === undefined) return undefined;
  const response = await t.app.inject({ method: 'POST', url: collection, headers: { ...auth, 'content-type': 'application/json' }, payload: toJson(sample(create.body)) });
  if (response.statusCode >= 300) return undefined;
  const json = response.json<{ id?: unknown; data?: { id?: unknown } }>();
  const id = json.id ?? json.data?.id;
  return typeof id === 'string' ? id : undefined;
}

interface Failure {
  what: string;
  request: string;
  status: number;
  response: string;
}

describe(`OpenAPI fuzz (FUZZ_SEED=${SEED} FUZZ_CASES=${CASES_SETTING})`, () => {
  it('found the operations', () => {
    expect(operations.length).toBeGreaterThan(50);
  });

  it.each(operations.map((operation) => [`${operation.method} ${operation.path}`, operation] as const))('%s', { timeout: 120_000 }, async (name, operation) => {
    const random = seededRandom(SEED ^ hashOf(name));
    // A tenant per operation: what one operation stores (5000 samples of a series) cannot make another slow (train a model on them).
    const auth = await bearer(newTenant(), ['admin']);
    const existingId = await existingIdFor(operation, auth);
    const cases = shuffled(allCases(operation), random).slice(0, CASES);
    const failures: Failure[] = [];
    for (const fuzz of cases) {
      const params = { ...validParams(operation, random() < 0.5 ? existingId : undefined), ...fuzz.override };
      const url = urlOf(operation, params);
      const response = await t.app.inject({ method: operation.method, url, headers: headersOf(operation, auth, params, fuzz.body), payload: fuzz.body });
      const code = errorCodeOf(response.body, operation.path);
      if (response.statusCode >= 500 || (response.statusCode >= 400 && code === undefined)) {
        failures.push({ what: fuzz.what, request: `${operation.method} ${url.slice(0, 300)} ${fuzz.body?.slice(0, 300) ?? ''}`, status: response.statusCode, response: response.body.slice(0, 300) });
      }
    }
    expect(failures, `FUZZ_SEED=${SEED} FUZZ_CASES=${CASES_SETTING} npx vitest run test/platform/openapi-fuzz.test.ts -t '${name}'`).toEqual([]);
  });

  it('every integer in the document has a maximum, so none reaches SQL out of range', () => {
    const unbounded: string[] = [];
    const visit = (schema: Schema, where: string): void => {
      if (schema.type === 'integer' && schema.maximum === undefined) unbounded.push(where);
      for (const [key, property] of Object.entries(schema.properties ?? {})) visit(property, `${where}/${key}`);
      if (schema.items !== undefined) visit(schema.items, `${where}/0`);
      if (typeof schema.additionalProperties === 'object') visit(schema.additionalProperties, `${where}/*`);
      for (const branch of schema.anyOf ?? []) visit(branch, where);
    };
    for (const operation of operations) {
      for (const parameter of operation.parameters) visit(parameter.schema, `${operation.method} ${operation.path} ${parameter.in} ${parameter.name}`);
      if (operation.body !== undefined) visit(operation.body, `${operation.method} ${operation.path} body`);
    }
    expect(unbounded).toEqual([]);
  });
});

/** The Prometheus HTTP API answers its own protocol's errors: {"status":"error","errorType":...}. */
const PROMETHEUS_API = /^\/api\/v1\/(query|query_range|series|labels|label\/|metadata|status\/)/;

function errorCodeOf(body: string, path: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown }; status?: unknown; errorType?: unknown };
    if (PROMETHEUS_API.test(path) && parsed.status === 'error' && typeof parsed.errorType === 'string') return parsed.errorType;
    return typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}

