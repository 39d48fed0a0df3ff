import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';

/** Deeper JSON than this is refused before validation: no route takes more, and recursive code (JSON.stringify, jsonb) overflows far below 6000. */
export const MAX_JSON_DEPTH = 64;

const NUL = '\u0000';
// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export type InputProblemReason = 'nul_character' | 'lone_surrogate' | 'not_finite_number' | 'too_deep';
export interface InputProblem {
  /** JSON Pointer of the value (or of the object whose key is bad). */
  path: string;
  reason: InputProblemReason;
}

/** Why PostgreSQL cannot store this text, if it cannot. */
export function textProblem(text: string): InputProblemReason | undefined {
  if (text.includes(NUL)) return 'nul_character';
  if (LONE_SURROGATE.test(text)) return 'lone_surrogate';
  return undefined;
}

/** Keeps a bad key readable in the error details without echoing the bad characters. */
const pointerToken = (key: string) => key.replaceAll(NUL, '\\u0000').replace(/[\uD800-\uDFFF]/g, '\uFFFD').replace(/~/g, '~0').replace(/\//g, '~1');

interface Pending {
  value: unknown;
  depth: number;
  parent: Pending | undefined;
  key: string;
}

/** The JSON Pointer of a pending value, built only when a problem is reported. */
function pointerOf(item: Pending | undefined, lastKey?: string): string {
  const tokens: string[] = lastKey === undefined ? [] : [pointerToken(lastKey)];
  for (let node = item; node?.parent !== undefined; node = node.parent) tokens.push(pointerToken(node.key));
  return tokens.length === 0 ? '/' : `/${tokens.reverse().join('/')}`;
}

/**
 * The first value PostgreSQL cannot store or that no schema should see: a NUL character or a lone
 * UTF-16 surrogate in a string or key, a number JSON overflowed to Infinity, nesting past `maxDepth`.
 * Iterative, so hostile nesting cannot overflow the stack here. `checkText: false` skips the
 * string tests when the caller knows no string can hold those characters (JSON text without a
 * `\u` escape: JSON.parse refuses raw control characters, and UTF-8 decoding never yields a
 * lone surrogate).
 */
export function findInputProblem(root: unknown, maxDepth = MAX_JSON_DEPTH, checkText = true): InputProblem | undefined {
  const stack: Pending[] = [{ value: root, depth: 0, parent: undefined, key: '' }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, depth } = item;
    if (typeof value === 'string') {
      const reason = checkText ? textProblem(value) : undefined;
      if (reason !== undefined) return { path: pointerOf(item), reason };
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { path: pointerOf(item), reason: 'not_finite_number' };
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= maxDepth) return { path: pointerOf(item), reason: 'too_deep' };
      if (Array.isArray(value)) {
        for (let index = 0; index < value.length; index += 1) stack.push({ value: value[index], depth: depth + 1, parent: item, key: String(index) });
      } else {
        for (const [key, element] of Object.entries(value)) {
          const keyReason = checkText ? textProblem(key) : undefined;
          if (keyReason !== undefined) return { path: pointerOf(item, key), reason: keyReason };
          stack.push({ value: element, depth: depth + 1, parent: item, key });
        }
      }
    }
  }
  return undefined;
}

const MESSAGES: Record<InputProblemReason, string> = {
  nul_character: 'contains a NUL character',
  lone_surrogate: 'contains a lone UTF-16 surrogate (not valid Unicode)',
  not_finite_number: 'contains a number out of range',
  too_deep: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
};

const PARTS = { body: 'The request body', params: 'A path parameter', querystring: 'The query string' } as const;

export function inputProblemError(part: keyof typeof PARTS, problem: InputProblem): AppError {
  return new AppError('VALIDATION_FAILED', `${PARTS[part]} ${MESSAGES[problem.reason]} at ${problem.path}`, { details: { part, ...problem } });
}

/** Whether every %XX sequence of the query string decodes to valid UTF-8 (a lone surrogate arrives as %ED%A0%80, which does not). */
function queryIsWellEncoded(url: string): boolean {
  const start = url.indexOf('?');
  if (start < 0 || !url.includes('%', start)) return true;
  try {
    for (const piece of url.slice(start + 1).split('&')) decodeURIComponent(piece.replace(/\+/g, ' '));
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses, once for every route, path and query values PostgreSQL cannot store (NUL, lone
 * surrogates, bytes that are not UTF-8) and query numbers that coercion turned into Infinity
 * ("1e400" passes `type: integer` and `maximum`: ajv skips limits on non-finite numbers).
 * JSON bodies are checked by the JSON parser. Runs after validation, before the route's own hooks.
 */
export function installInputGuards(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    if (!queryIsWellEncoded(request.url)) {
      throw new AppError('VALIDATION_FAILED', 'The query string is not valid percent-encoded UTF-8', { details: { part: 'querystring', reason: 'invalid_encoding' } });
    }
    const params = findInputProblem(request.params);
    if (params !== undefined) throw inputProblemError('params', params);
    const query = findInputProblem(request.query);
    if (query !== undefined) throw inputProblemError('querystring', query);
  });
}
