import type { Matcher } from '../../platform/matchers/index.js';

/** The PromQL expressions this engine evaluates, read from the Lezer tree of Prometheus's grammar (parse.ts). */
export type Expr = NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | Subquery | Call | Aggregate | Binary | Unary;

export interface NumberLiteral {
  kind: 'number';
  value: number;
}

export interface StringLiteral {
  kind: 'string';
  value: string;
}

export interface VectorSelector {
  kind: 'vector';
  /** Every matcher, the metric name as `__name__` among them. */
  matchers: Matcher[];
  offsetMs: number;
  /** `@ <time>` in ms, or `@ start()` / `@ end()` resolved at evaluation. */
  at?: number | 'start' | 'end';
}

export interface MatrixSelector {
  kind: 'matrix';
  vector: VectorSelector;
  rangeMs: number;
}

/** `expr[range:step]`: the instant vector `expr` at every multiple of `step` in the range, as a range vector. */
export interface Subquery {
  kind: 'subquery';
  expr: Expr;
  rangeMs: number;
  /** Absent: the default evaluation interval (1 minute, Prometheus's global default). */
  stepMs: number | undefined;
  offsetMs: number;
  at?: number | 'start' | 'end';
}

export interface Call {
  kind: 'call';
  func: string;
  args: Expr[];
}

export interface Aggregate {
  kind: 'aggregate';
  op: string;
  expr: Expr;
  param?: Expr;
  grouping: { without: boolean; labels: string[] } | undefined;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | '==' | '!=' | '>' | '<' | '>=' | '<=' | 'and' | 'or' | 'unless';

export interface VectorMatching {
  on: boolean;
  labels: string[];
  /** group_left / group_right and their extra labels. */
  group?: { side: 'left' | 'right'; include: string[] };
}

export interface Binary {
  kind: 'binary';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  bool: boolean;
  matching: VectorMatching | undefined;
}

export interface Unary {
  kind: 'unary';
  op: '-' | '+';
  expr: Expr;
}

export const COMPARISON_OPS: ReadonlySet<BinaryOp> = new Set(['==', '!=', '>', '<', '>=', '<=']);
