import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { sample } from 'openapi-sampler';
import type { TSchema } from '@sinclair/typebox';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createContainer } from '../src/container.js';
import { TOPICS } from '../src/platform/bus/index.js';
import { AlertMessageSchema, BatchMetricMessageSchema, FraudMessageSchema, SingleMetricMessageSchema } from '../src/streaming/messages.js';

/**
 * `npm run docs:api`: writes, into each page of docs/, the request and response of every route
 * that page covers, generated from the route schemas through the OpenAPI document of
 * @fastify/swagger (the one served at /docs/json), and into docs/realtime.md the values of the
 * bus messages other services produce, from their TypeBox schemas. Examples are the schemas'
 * own `examples` where they have one, else synthesized by openapi-sampler (deterministic:
 * types, formats, enums, defaults). test/api-docs.test.ts fails when a page is not current.
 */

export interface JsonSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  example?: unknown;
  examples?: unknown[];
}

interface MediaType {
  schema?: JsonSchema;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema?: JsonSchema;
}

interface Operation {
  summary?: string;
  description?: string;
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, MediaType> };
  responses?: Record<string, { description?: string; content?: Record<string, MediaType> }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}

export const API_BEGIN = '<!-- api:begin -->';
export const API_END = '<!-- api:end -->';

/** Which page documents which routes: the first page with a matching path prefix (or exact path). */
export const PAGES: ReadonlyArray<{ file: string; prefixes: readonly string[] }> = [
  { file: 'docs/operations.md', prefixes: ['/status', '/health/live', '/health/ready', '/cache/', '/api/v1/monitoring/limits', '/api/v1/monitoring/api-keys'] },
  { file: 'docs/alerting.md', prefixes: ['/api/v1/monitoring/alerts'] },
  { file: 'docs/metrics.md', prefixes: ['/api/v1/monitoring/metrics', '/metrics', '/grafana', '/api/v1/write', '/v1/metrics', '/api/v1/query', '/api/v1/query_range', '/api/v1/series', '/api/v1/labels', '/api/v1/label/', '/api/v1/metadata', '/api/v1/status/'] },
  { file: 'docs/realtime.md', prefixes: ['/api/v1/ws'] },
  { file: 'docs/analytics-ml.md', prefixes: ['/api/v1/analytics/'] },
  { file: 'docs/collectors-reports.md', prefixes: ['/api/v1/monitoring/collectors', '/api/v1/monitoring/nft/', '/api/v1/monitoring/reports'] },
  { file: 'docs/health-sla-incidents.md', prefixes: ['/health', '/api/v1/monitoring/dashboard', '/api/v1/monitoring/dashboards', '/api/v1/monitoring/incidents'] },
];

const matches = (path: string, prefix: string) => path === prefix || (path.startsWith(prefix) && (prefix.endsWith('/') || path[prefix.length] === '/'));

/** The page of a route; a route no page claims is an error, so a new route cannot go undocumented. */
export function pageOf(path: string): string {
  const page = PAGES.find((candidate) => candidate.prefixes.some((prefix) => matches(path, prefix)));
  if (page === undefined) throw new Error(`No docs page covers ${path}: add its prefix to PAGES in scripts/api-docs.ts`);
  return page.file;
}

/** The OpenAPI document of the real app, built on the embedded adapters with a fixed configuration. */
export async function openApiDocument(): Promise<OpenApiDocument> {
  // A fixed environment, never the caller's: limits and defaults that appear in schemas are the documented defaults.
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: 'memory://',
    REPORTS_DIR: `${tmpdir()}/monitoring-api-docs-${process.pid}`,
    JWT_SECRET: 'api-docs-jwt-secret-that-is-long-enough-0123456789',
    INTERNAL_HMAC_SECRET: 'api-docs-hmac-secret-that-is-long-enough-0123456789',
    BUS_CONSUMERS_ENABLED: 'false',
  });
  const container = await createContainer({ config });
  const app = await buildApp(container);
  try {
    await app.ready();
    const document: unknown = app.swagger();
    return document as OpenApiDocument;
  } finally {
    await app.close();
  }
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const json = (value: unknown) => JSON.stringify(value, null, 2);

/** A short human reading of a schema's type, for tables. */
export function describeType(schema: JsonSchema | undefined): string {
  if (schema === undefined) return 'any';
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum !== undefined) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(' \\| ');
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants !== undefined) return [...new Set(variants.map(describeType))].join(' or ');
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : schema.type;
  if (type === 'array') return `array of ${describeType(schema.items)}${bounds(schema.minItems, schema.maxItems, ' items')}`;
  if (type === 'object' || (type === undefined && (schema.properties !== undefined || schema.additionalProperties !== undefined))) {
    return schema.properties === undefined && typeof schema.additionalProperties === 'object' ? `object of ${describeType(schema.additionalProperties)}` : 'object';
  }
  if (type === undefined) return 'any';
  const format = schema.format === undefined ? '' : ` (${schema.format})`;
  if (type === 'string') return `string${format}${bounds(schema.minLength, schema.maxLength, ' chars')}${schema.pattern === undefined ? '' : `, matching \`${schema.pattern}\``}`;
  if (type === 'integer' || type === 'number') return `${type}${format}${bounds(schema.minimum, schema.maximum, '')}`;
  return `${type}${format}`;
}

function bounds(min: number | undefined, max: number | undefined, unit: string): string {
  if (min === undefined && max === undefined) return '';
  if (min !== undefined && max !== undefined) return `, ${min}-${max}${unit}`;
  return min !== undefined ? `, ≥ ${min}${unit}` : `, ≤ ${max ?? ''}${unit}`;
}

/** TypeBox records are `patternProperties`, which openapi-sampler does not read: as OpenAPI has them. */
function openApiShape(schema: JsonSchema): JsonSchema {
  const copy: JsonSchema = JSON.parse(JSON.stringify(schema)) as JsonSchema;
  const visit = (node: JsonSchema): void => {
    if (node.patternProperties !== undefined) {
      const [first] = Object.values(node.patternProperties);
      node.additionalProperties = first ?? true;
      delete node.patternProperties;
    }
    for (const child of [...Object.values(node.properties ?? {}), ...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) visit(child);
    if (node.items !== undefined) visit(node.items);
    if (typeof node.additionalProperties === 'object') visit(node.additionalProperties);
  };
  visit(copy);
  return copy;
}

/** The media type's example, else the schema's, else one synthesized from the schema. */
export function exampleOf(media: MediaType): unknown {
  if (media.example !== undefined) return media.example;
  const [first] = Object.values(media.examples ?? {});
  if (first?.value !== undefined) return first.value;
  if (media.schema === undefined) return undefined;
  return sample(openApiShape(media.schema) as Parameters<typeof sample>[0], { quiet: true, enablePatterns: true });
}

/** The object schema a field's value holds (itself, or its array's items), if it has named fields. */
function nestedObject(schema: JsonSchema): { schema: JsonSchema; suffix: string } | undefined {
  if (schema.properties !== undefined) return { schema, suffix: '.' };
  if (schema.items?.properties !== undefined) return { schema: schema.items, suffix: '[].' };
  return undefined;
}

function fieldRows(schema: JsonSchema, prefix: string, depth: number): string[] {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).flatMap(([name, property]) => {
    const fallback = property.default === undefined ? '' : `\`${JSON.stringify(property.default)}\``;
    const row = `| \`${prefix}${name}\` | ${cell(describeType(property))} | ${required.has(name) && property.default === undefined ? 'yes' : ''} | ${cell(fallback)} | ${cell(property.description ?? '')} |`;
    const nested = depth < 3 ? nestedObject(property) : undefined;
    return nested === undefined ? [row] : [row, ...fieldRows(nested.schema, `${prefix}${name}${nested.suffix}`, depth + 1)];
  });
}

/** The fields of an object schema, nested ones as `parent.child` and `list[].child`. */
function fieldsTable(schema: JsonSchema): string[] {
  const rows = fieldRows(schema, '', 1);
  if (rows.length === 0) return [];
  return ['| Field | Type | Required | Default | Description |', '|---|---|---|---|---|', ...rows];
}

function parametersTable(parameters: readonly Parameter[]): string[] {
  if (parameters.length === 0) return [];
  return [
    '| Parameter | In | Type | Required | Default | Description |',
    '|---|---|---|---|---|---|',
    ...parameters.map((parameter) => {
      const schema = parameter.schema ?? {};
      // A parameter with a default is optional to the caller, whatever the schema's `required` says.
      const required = parameter.required === true && schema.default === undefined;
      const fallback = schema.default === undefined ? '' : `\`${JSON.stringify(schema.default)}\``;
      return `| \`${parameter.name}\` | ${parameter.in} | ${cell(describeType(schema))} | ${required ? 'yes' : ''} | ${cell(fallback)} | ${cell(parameter.description ?? schema.description ?? '')} |`;
    }),
  ];
}

function codeBlock(language: string, value: unknown): string[] {
  return ['```' + language, typeof value === 'string' && language !== 'json' ? value : json(value), '```'];
}

/** A request body: its example and fields, or those of each variant when it is one of several shapes. */
function renderBody(body: MediaType): string[] {
  const schema = body.schema ?? {};
  const lines = ['Request body (`application/json`)' + (schema.description === undefined ? ':' : `, ${schema.description}:`), ''];
  const variants = schema.anyOf ?? schema.oneOf;
  const hasOwnExample = body.example !== undefined || body.examples !== undefined;
  if (variants === undefined || hasOwnExample || !variants.every((variant) => variant.properties !== undefined)) {
    return [...lines, ...codeBlock('json', exampleOf(body)), '', ...withBlankAfter(fieldsTable(schema))];
  }
  variants.forEach((variant, index) => {
    lines.push(`Shape ${index + 1} of ${variants.length}${variant.description === undefined ? '' : `, ${variant.description}`}:`, '', ...codeBlock('json', exampleOf({ schema: variant })), '', ...withBlankAfter(fieldsTable(variant)));
  });
  return lines;
}

const withBlankAfter = (lines: string[]) => (lines.length === 0 ? [] : [...lines, '']);

function renderOperation(method: string, path: string, operation: Operation): string[] {
  const lines = [`### \`${method.toUpperCase()} ${path}\``, ''];
  if (operation.summary !== undefined) lines.push(operation.summary, '');
  if (operation.description !== undefined && operation.description !== operation.summary) lines.push(operation.description, '');
  const parameters = parametersTable(operation.parameters ?? []);
  if (parameters.length > 0) lines.push(...parameters, '');
  const body = operation.requestBody?.content?.['application/json'];
  if (body !== undefined) lines.push(...renderBody(body));
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    const content = Object.entries(response.content ?? {});
    if (content.length === 0) {
      lines.push(status === '204' ? `Response \`${status}\`: no body.` : `Response \`${status}\`: not described by the route's schema.`, '');
      continue;
    }
    for (const [type, media] of content) {
      const example = exampleOf(media);
      lines.push(`Response \`${status}\` (\`${type}\`):`, '', ...codeBlock(type === 'application/json' ? 'json' : 'text', example), '');
    }
  }
  return lines;
}

const HTTP_NOTE = [
  'Generated by `npm run docs:api` from the route schemas (the OpenAPI document at `/docs/json`); do not edit by hand.',
  'Examples are the schemas\' own where they have one, else synthesized from the types, formats, enums and defaults:',
  'placeholders such as `"string"`, `0` or the instant `2019-08-24T14:15:22Z` stand for any value of that type. An error answers',
  '`{"error":{"code","message","details"?},"requestId"}` with the status of its code (see the README).',
];

/** The generated reference of one page's routes. */
export function renderRoutes(document: OpenApiDocument, file: string): string[] {
  const lines: string[] = [];
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (pageOf(path) === file) lines.push(...renderOperation(method, path, operation));
    }
  }
  return lines;
}

const BUS_MESSAGES: ReadonlyArray<{ topic: string; title: string; schema: TSchema }> = [
  { topic: TOPICS.metrics, title: 'one sample', schema: SingleMetricMessageSchema },
  { topic: TOPICS.metrics, title: 'a batch', schema: BatchMetricMessageSchema },
  { topic: TOPICS.fraud, title: 'a fraud detection', schema: FraudMessageSchema },
  { topic: TOPICS.alerts, title: 'an alert event', schema: AlertMessageSchema },
];

/** The values of the messages this service consumes, from the schemas its consumers check them with. */
export function renderBusMessages(): string[] {
  const lines = ['### Message values (generated from `src/streaming/messages.ts`)', ''];
  for (const message of BUS_MESSAGES) {
    const schema = openApiShape(message.schema);
    lines.push(`#### \`${message.topic}\`: ${message.title}`, '', ...codeBlock('json', exampleOf({ schema })), '', ...fieldsTable(schema), '');
  }
  return lines;
}

/** The generated block of a page, markers included. */
export function apiBlock(document: OpenApiDocument, file: string): string {
  const routes = renderRoutes(document, file);
  const bus = file === 'docs/realtime.md' ? renderBusMessages() : [];
  const lines = [API_BEGIN, '## Requests and responses (generated)', '', ...HTTP_NOTE, ''];
  if (routes.length === 0) lines.push('No route of this page is in the OpenAPI document (WebSocket routes are not); the messages are described above.', '');
  lines.push(...routes, ...bus);
  while (lines[lines.length - 1] === '') lines.pop();
  return `${lines.join('\n')}\n${API_END}`;
}

/** The page with its generated block replaced, or appended when the page has none yet. */
export function withApiBlock(page: string, block: string): string {
  const start = page.indexOf(API_BEGIN);
  if (start === -1) return `${page.trimEnd()}\n\n${block}\n`;
  const end = page.indexOf(API_END, start);
  if (end === -1) throw new Error(`${API_BEGIN} without ${API_END}`);
  return `${page.slice(0, start)}${block}${page.slice(end + API_END.length)}`;
}

/** Every page as the generator writes it now, from the pages as they are on disk. */
export async function generatedPages(): Promise<Map<string, string>> {
  const document = await openApiDocument();
  const pages = new Map<string, string>();
  for (const { file } of PAGES) pages.set(file, withApiBlock(readFileSync(file, 'utf8'), apiBlock(document, file)));
  return pages;
}

if (process.argv[1]?.endsWith('api-docs.ts') === true) {
  const pages = await generatedPages();
  for (const [file, content] of pages) writeFileSync(file, content);
  process.stdout.write(`Wrote the generated requests and responses of ${[...pages.keys()].join(', ')}.\n`);
}
