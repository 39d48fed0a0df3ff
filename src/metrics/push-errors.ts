import type { FastifySchemaValidationError } from 'fastify';
import { ValidationError } from '../errors.js';
import { schemaErrorDetails } from '../platform/http/errors.js';

/** One refused sample of a push, as ingest's own checks report it. */
export interface SampleProblem {
  index: number;
  name: string | null;
  reason: string;
}

/** A sample's errors inside the batch shape: `/metrics/<index>` and what lies below it. */
const SAMPLE_PATH = /^\/metrics\/(\d+)(\/.*)?$/;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** `/labels/env` -> `labels.env` (JSON Pointer, RFC 6901). */
const fieldOf = (pointer: string): string =>
  pointer
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .join('.');

const joinField = (field: string, key: unknown): string => (field === '' ? String(key) : `${field}.${String(key)}`);

function reasonOf(error: FastifySchemaValidationError, field: string, alternatives: readonly FastifySchemaValidationError[]): string {
  if (error.keyword === 'required') return `${joinField(field, error.params['missingProperty'])} is required`;
  if (error.keyword === 'additionalProperties') return `${joinField(field, error.params['additionalProperty'])} is not a field of a sample`;
  const subject = field === '' ? 'the sample' : field;
  if (error.keyword === 'anyOf' && alternatives.length > 0) return `${subject} ${alternatives.map((alternative) => alternative.message ?? 'is invalid').join(', or ')}`;
  return `${subject} ${error.message ?? 'is invalid'}`;
}

/**
 * The body schema's errors of one push, in the shape ingest's own checks answer: one
 * entry per bad sample with its index, name and reason, instead of every error of both shapes the
 * body may take (`{sample}` and `{"metrics":[...]}`, an anyOf). When the batch's envelope itself
 * is wrong (`metrics` not a non-empty array, an unknown top-level field), the schema errors of the
 * batch shape only; undefined when the body is not even an object (the schema's own errors).
 */
export function samplesSchemaError(errors: readonly FastifySchemaValidationError[], body: unknown): ValidationError | undefined {
  if (!isRecord(body)) return undefined;
  const batch = 'metrics' in body;
  const samples: unknown[] = batch ? (Array.isArray(body['metrics']) ? body['metrics'] : []) : [body];
  // anyOf branch 0 is the single sample, branch 1 the batch: only the branch the body meant counts.
  const branch = batch ? '#/anyOf/1/' : '#/anyOf/0/';
  const relevant = errors.filter((error) => error.schemaPath.startsWith(branch));
  if (relevant.length === 0) return undefined;
  const envelope = batch ? relevant.filter((error) => !SAMPLE_PATH.test(error.instancePath)) : [];
  if (envelope.length > 0) return new ValidationError('Request body is invalid', schemaErrorDetails(envelope));
  const reasons = new Map<number, Set<string>>();
  for (const error of relevant) {
    const match = batch ? SAMPLE_PATH.exec(error.instancePath) : /^()(\/.*)?$/.exec(error.instancePath);
    if (match === null) return undefined;
    // A union inside a sample (timestamp: string or number) reports each alternative, then itself.
    const below = (parent: FastifySchemaValidationError) => (other: FastifySchemaValidationError) => other.schemaPath.startsWith(`${parent.schemaPath}/`);
    if (relevant.some((other) => other.keyword === 'anyOf' && below(other)(error))) continue;
    const alternatives = error.keyword === 'anyOf' ? relevant.filter(below(error)) : [];
    const index = batch ? Number(match[1]) : 0;
    const set = reasons.get(index) ?? new Set<string>();
    set.add(reasonOf(error, fieldOf(match[2] ?? ''), alternatives));
    reasons.set(index, set);
  }
  if (reasons.size === 0) return undefined;
  const problems: SampleProblem[] = [...reasons.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, set]) => {
      const sample = samples[index];
      const name = isRecord(sample) && typeof sample['name'] === 'string' ? sample['name'] : null;
      return { index, name, reason: [...set].join('; ') };
    });
  return new ValidationError(`${problems.length} of ${samples.length} samples are invalid; nothing was stored`, { samples: problems });
}
