import type { SyntaxNode } from '@lezer/common';
import { parser } from '@prometheus-io/lezer-promql';
import { isMatchOp, matcherOf, valuePredicate, type Matcher, type ValuePredicate } from '../../platform/matchers/index.js';
import type { BinaryOp, Expr, MatrixSelector, Subquery, VectorMatching, VectorSelector } from './ast.js';
import { badData } from './values.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };
const BINARY_OPS: ReadonlySet<string> = new Set(['+', '-', '*', '/', '%', '^', '==', '!=', '>', '<', '>=', '<=', 'and', 'or', 'unless']);

/** A Prometheus duration (1h30m, 5m, 250ms) in ms. */
export function parseDuration(text: string): number {
  const parts = text.match(/[0-9]+(ms|[smhdwy])/g);
  if (parts === null || parts.join('') !== text) throw badData(`not a valid duration string: "${text}"`);
  return parts.reduce((total, part) => {
    const unit = /ms$/.test(part) ? 'ms' : part.slice(-1);
    return total + Number(part.slice(0, part.length - unit.length)) * (DURATION_UNITS[unit] ?? 0);
  }, 0);
}

function parseNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  const value = Number(text);
  if (!Number.isNaN(value)) return value;
  // A duration where a number goes (newer Prometheus): its seconds.
  return parseDuration(text) / 1000;
}

/** A PromQL string literal: "..." and '...' with Go escapes, `...` raw. */
function parseString(text: string): string {
  const quote = text[0];
  const body = text.slice(1, -1);
  if (quote === '`') return body;
  const escaped = quote === "'" ? body.replace(/\\'/g, "'").replace(/"/g, '\\"') : body;
  try {
    return JSON.parse(`"${escaped}"`) as string;
  } catch {
    throw badData(`invalid string literal ${text}`);
  }
}

/** The matcher's test, with RE2 (linear time); a pattern RE2 refuses is bad_data. */
function valueTest(matcher: Matcher): ValuePredicate {
  const compiled = valuePredicate(matcher);
  if (!compiled.ok) throw badData(`invalid regular expression in matcher ${matcher.name}: ${compiled.refused.reason}`);
  return compiled.test;
}

const children = (node: SyntaxNode): SyntaxNode[] => {
  const out: SyntaxNode[] = [];
  for (let child = node.firstChild; child !== null; child = child.nextSibling) out.push(child);
  return out;
};

/** Reads the Lezer tree of Prometheus's own grammar into this engine's expressions. */
export function parsePromql(query: string): Expr {
  if (query.trim() === '') throw badData('empty query');
  const tree = parser.parse(query);
  const text = (node: SyntaxNode) => query.slice(node.from, node.to);
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) throw badData(`parse error at char ${node.from + 1}: unexpected ${JSON.stringify(query.slice(node.from, node.from + 10)) || 'end of input'}`);
    },
  });

  const labelsOf = (node: SyntaxNode | null | undefined) => (node === null || node === undefined ? [] : children(node).filter((child) => child.name === 'LabelName').map(text));

  const selector = (node: SyntaxNode): VectorSelector => {
    const matchers: Matcher[] = [];
    for (const child of children(node)) {
      if (child.name === 'Identifier') matchers.push(matcherOf('__name__', '=', text(child)));
      else if (child.name === 'LabelMatchers') {
        for (const matcher of children(child)) {
          if (matcher.name !== 'UnquotedLabelMatcher') throw badData(`unsupported label matcher ${text(matcher)}`);
          const name = matcher.getChild('LabelName');
          const op = matcher.getChild('MatchOp');
          const value = matcher.getChild('StringLiteral');
          const opText = op === null ? '' : text(op);
          if (name === null || value === null || !isMatchOp(opText)) throw badData(`invalid label matcher ${text(matcher)}`);
          matchers.push(matcherOf(text(name), opText, parseString(text(value))));
        }
      }
    }
    // Prometheus refuses a selector every series would match (each matcher matches the empty value).
    if (!matchers.some((matcher) => !valueTest(matcher)(''))) throw badData(`vector selector must contain at least one non-empty matcher`);
    return { kind: 'vector', matchers, offsetMs: 0 };
  };

  /** The selector or subquery an offset or @ modifies (a range selector's vector selector). */
  const modified = (expr: Expr, what: string): VectorSelector | Subquery => {
    if (expr.kind === 'vector' || expr.kind === 'subquery') return expr;
    if (expr.kind === 'matrix') return expr.vector;
    throw badData(`${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`);
  };

  const expression = (node: SyntaxNode): Expr => {
    switch (node.name) {
      case 'PromQL':
      case 'ParenExpr': {
        const [inner] = children(node).filter((child) => child.name !== '(' && child.name !== ')');
        if (inner === undefined) throw badData('empty expression');
        return expression(inner);
      }
      case 'NumberDurationLiteral':
        return { kind: 'number', value: parseNumber(text(node)) };
      case 'StringLiteral':
        return { kind: 'string', value: parseString(text(node)) };
      case 'VectorSelector':
        return selector(node);
      case 'MatrixSelector': {
        const vector = node.getChild('VectorSelector');
        const duration = node.getChild('DurationExpr');
        if (vector === null || duration === null) throw badData(`invalid range selector ${text(node)}`);
        return { kind: 'matrix', vector: selector(vector), rangeMs: parseDuration(text(duration)) } satisfies MatrixSelector;
      }
      case 'OffsetExpr': {
        const [inner, , duration] = children(node);
        if (inner === undefined || duration === undefined) throw badData(`invalid offset ${text(node)}`);
        const expr = expression(inner);
        const raw = text(duration).replace(/\s+/g, '');
        modified(expr, 'offset').offsetMs = raw.startsWith('-') ? -parseDuration(raw.slice(1)) : parseDuration(raw);
        return expr;
      }
      case 'StepInvariantExpr': {
        const [inner, , at] = children(node);
        if (inner === undefined || at === undefined) throw badData(`invalid @ modifier ${text(node)}`);
        const expr = expression(inner);
        const preprocessor = at.name === 'AtModifierPreprocessors' ? text(at).replace(/\s+/g, '') : undefined;
        modified(expr, '@').at = preprocessor === undefined ? parseNumber(text(at)) * 1000 : preprocessor.startsWith('start') ? 'start' : 'end';
        return expr;
      }
      case 'UnaryExpr': {
        const [op, inner] = children(node);
        if (op === undefined || inner === undefined) throw badData(`invalid unary expression ${text(node)}`);
        return { kind: 'unary', op: text(op) === '-' ? '-' : '+', expr: expression(inner) };
      }
      case 'FunctionCall': {
        const identifier = node.getChild('FunctionIdentifier');
        const body = node.getChild('FunctionCallBody');
        return { kind: 'call', func: identifier === null ? '' : text(identifier), args: body === null ? [] : children(body).map(expression) };
      }
      case 'AggregateExpr': {
        const op = node.getChild('AggregateOp');
        const modifier = node.getChild('AggregateModifier');
        const args = children(node.getChild('FunctionCallBody') ?? node).map(expression);
        const expr = args[args.length - 1];
        if (op === null || expr === undefined) throw badData(`invalid aggregation ${text(node)}`);
        return {
          kind: 'aggregate',
          op: text(op),
          expr,
          param: args.length > 1 ? args[0] : undefined,
          grouping: modifier === null ? undefined : { without: modifier.getChild('Without') !== null, labels: labelsOf(modifier.getChild('GroupingLabels')) },
        };
      }
      case 'BinaryExpr': {
        const parts = children(node);
        const [lhs] = parts;
        const rhs = parts[parts.length - 1];
        const opNode = parts[1];
        const op = opNode === undefined ? '' : text(opNode).toLowerCase();
        if (lhs === undefined || rhs === undefined || !BINARY_OPS.has(op)) throw badData(`invalid binary expression ${text(node)}`);
        const clause = parts.find((part) => part.name === 'MatchingModifierClause');
        let matching: VectorMatching | undefined;
        if (clause !== undefined) {
          const groupings = children(clause).filter((child) => child.name === 'GroupingLabels');
          const side = clause.getChild('GroupLeft') !== null ? 'left' : clause.getChild('GroupRight') !== null ? 'right' : undefined;
          matching = { on: clause.getChild('On') !== null, labels: labelsOf(groupings[0]), group: side === undefined ? undefined : { side, include: labelsOf(groupings[1]) } };
        }
        return { kind: 'binary', op: op as BinaryOp, lhs: expression(lhs), rhs: expression(rhs), bool: parts.some((part) => part.name === 'BoolModifier'), matching };
      }
      case 'SubqueryExpr': {
        const parts = children(node);
        const inner = parts.find((child) => child.name !== 'DurationExpr' && child.name !== '[' && child.name !== ']' && child.name !== ':');
        const [range, step] = node.getChildren('DurationExpr');
        if (inner === undefined || range === undefined) throw badData(`invalid subquery ${text(node)}`);
        const stepMs = step === undefined ? undefined : parseDuration(text(step));
        if (stepMs !== undefined && stepMs <= 0) throw badData(`subquery step must be positive: ${text(node)}`);
        return { kind: 'subquery', expr: expression(inner), rangeMs: parseDuration(text(range)), stepMs, offsetMs: 0 } satisfies Subquery;
      }
      default:
        throw badData(`unsupported expression ${node.name}: ${text(node)}`);
    }
  };

  return expression(tree.topNode);
}
