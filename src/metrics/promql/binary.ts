import { COMPARISON_OPS, type BinaryOp, type VectorMatching } from './ast.js';
import { badData, PromqlError, signature, withoutName, type InstantVector, type Labels, type Sample, type Scalar, type Value } from './values.js';

/** The arithmetic or comparison of two numbers; a comparison gives 1 or 0 (its truth). */
function operate(op: BinaryOp, left: number, right: number): number {
  switch (op) {
    case '+':
      return left + right;
    case '-':
      return left - right;
    case '*':
      return left * right;
    case '/':
      return left / right;
    case '%':
      return left % right;
    case '^':
      return left ** right;
    case '==':
      return left === right ? 1 : 0;
    case '!=':
      return left !== right ? 1 : 0;
    case '>':
      return left > right ? 1 : 0;
    case '<':
      return left < right ? 1 : 0;
    case '>=':
      return left >= right ? 1 : 0;
    case '<=':
      return left <= right ? 1 : 0;
    default:
      throw badData(`operator ${op} needs two instant vectors`);
  }
}

const matchKey = (labels: Labels, matching: VectorMatching | undefined): string =>
  matching?.on === true ? signature(labels, matching.labels) : signature(labels, undefined, ['__name__', ...(matching?.labels ?? [])]);

function resultLabels(labels: Labels, op: BinaryOp, bool: boolean, matching: VectorMatching | undefined): Labels {
  const comparisonFilter = COMPARISON_OPS.has(op) && !bool;
  let result = comparisonFilter ? { ...labels } : withoutName(labels);
  if (matching !== undefined && matching.group === undefined) {
    if (matching.on) result = Object.fromEntries(Object.entries(result).filter(([name]) => matching.labels.includes(name)));
    else for (const name of matching.labels) delete result[name];
  }
  return result;
}

function setOperation(op: BinaryOp, left: InstantVector, right: InstantVector, matching: VectorMatching | undefined): InstantVector {
  const rightKeys = new Set(right.samples.map((sample) => matchKey(sample.labels, matching)));
  if (op === 'and') return { kind: 'vector', samples: left.samples.filter((sample) => rightKeys.has(matchKey(sample.labels, matching))) };
  if (op === 'unless') return { kind: 'vector', samples: left.samples.filter((sample) => !rightKeys.has(matchKey(sample.labels, matching))) };
  const leftKeys = new Set(left.samples.map((sample) => matchKey(sample.labels, matching)));
  return { kind: 'vector', samples: [...left.samples, ...right.samples.filter((sample) => !leftKeys.has(matchKey(sample.labels, matching)))] };
}

function vectorVector(op: BinaryOp, left: InstantVector, right: InstantVector, bool: boolean, matching: VectorMatching | undefined): InstantVector {
  if (op === 'and' || op === 'or' || op === 'unless') return setOperation(op, left, right, matching);
  const group = matching?.group;
  // The "one" side is indexed; with group_right it is the left.
  const [many, one] = group?.side === 'right' ? [right, left] : [left, right];
  const ones = new Map<string, Sample>();
  for (const sample of one.samples) {
    const key = matchKey(sample.labels, matching);
    if (ones.has(key)) throw new PromqlError('execution', `found duplicate series for the match group ${key} on the ${group?.side === 'right' ? 'left' : 'right'} hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side`);
    ones.set(key, sample);
  }
  const out: Sample[] = [];
  const seen = new Set<string>();
  for (const sample of many.samples) {
    const key = matchKey(sample.labels, matching);
    const match = ones.get(key);
    if (match === undefined) continue;
    const [leftSample, rightSample] = group?.side === 'right' ? [match, sample] : [sample, match];
    const value = operate(op, leftSample.value, rightSample.value);
    if (COMPARISON_OPS.has(op) && !bool && value === 0) continue;
    let labels = resultLabels(sample.labels, op, bool, matching);
    if (group !== undefined) for (const name of group.include) {
      const extra = match.labels[name];
      if (extra === undefined || extra === '') delete labels[name];
      else labels = { ...labels, [name]: extra };
    }
    if (group === undefined) {
      if (seen.has(key)) throw new PromqlError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      seen.add(key);
    }
    out.push({ labels, value: COMPARISON_OPS.has(op) && !bool ? leftSample.value : value });
  }
  return { kind: 'vector', samples: out };
}

/** `vector op scalar` (or, `swapped`, `scalar op vector`). */
function vectorScalar(op: BinaryOp, vector: InstantVector, scalar: number, bool: boolean, swapped: boolean): InstantVector {
  const out: Sample[] = [];
  for (const sample of vector.samples) {
    const value = swapped ? operate(op, scalar, sample.value) : operate(op, sample.value, scalar);
    if (COMPARISON_OPS.has(op) && !bool) {
      if (value === 0) continue;
      out.push({ labels: sample.labels, value: sample.value });
    } else out.push({ labels: withoutName(sample.labels), value });
  }
  return { kind: 'vector', samples: out };
}

export function binary(op: BinaryOp, left: Value, right: Value, bool: boolean, matching: VectorMatching | undefined): Value {
  if (left.kind === 'scalar' && right.kind === 'scalar') {
    if (COMPARISON_OPS.has(op) && !bool) throw badData('comparisons between scalars must use BOOL modifier');
    return { kind: 'scalar', value: operate(op, left.value, right.value) } satisfies Scalar;
  }
  if (left.kind === 'vector' && right.kind === 'vector') return vectorVector(op, left, right, bool, matching);
  if (left.kind === 'vector' && right.kind === 'scalar') return vectorScalar(op, left, right.value, bool, false);
  if (left.kind === 'scalar' && right.kind === 'vector') return vectorScalar(op, right, left.value, bool, true);
  throw badData(`binary expression must contain only scalar and instant vector types`);
}
