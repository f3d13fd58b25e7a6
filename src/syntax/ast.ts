import type { Span } from '../diagnostics/index.js';

/**
 * The abstract syntax of `.keo` modules and formula strings, with a source span on every node.
 * The AST is what the parser produces; it knows nothing about ops, dimensions or categories
 * (that is elaboration's job, in src/passes/elaborate.ts).
 */
export type Expr = NumberExpr | NameExpr | CallExpr | ListExpr | UnaryExpr | BinaryExpr;

/** A numeric literal. `text` is the literal as written; `isInt` is true for digit-only literals. */
export interface NumberExpr {
  kind: 'number';
  value: number;
  text: string;
  isInt: boolean;
  span: Span;
}

/** A reference to a declared variable or a definition. */
export interface NameExpr {
  kind: 'name';
  name: string;
  span: Span;
}

/** `Callee(arg, ...)`: an op, a reduction, or a variable constructor (Vi/Vj/Pm/Var). */
export interface CallExpr {
  kind: 'call';
  callee: string;
  calleeSpan: Span;
  args: Expr[];
  span: Span;
}

/** `[a, b, ...]`: an integer list parameter (TensorDot, Kron). Items are checked during elaboration. */
export interface ListExpr {
  kind: 'list';
  items: Expr[];
  span: Span;
}

/** Unary minus (unary plus is accepted by the parser and dropped). */
export interface UnaryExpr {
  kind: 'unary';
  op: '-';
  operand: Expr;
  span: Span;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '|' | '**' | '<' | '<=' | '>' | '>=' | '==' | '!=';

/** An infix operation. `opSpan` covers the operator token. */
export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOp;
  left: Expr;
  right: Expr;
  opSpan: Span;
  span: Span;
}

/** `name = expr`. */
export interface AssignStmt {
  kind: 'assign';
  name: string;
  nameSpan: Span;
  value: Expr;
  span: Span;
}

/** A bare expression statement (a formula string given to the API, or an anonymous kernel). */
export interface ExprStmt {
  kind: 'expr';
  value: Expr;
  span: Span;
}

/** A statement of a module: `name = expr` or a bare expression. */
export type Statement = AssignStmt | ExprStmt;

/** A parsed `.keo` module or formula string. */
export interface Module {
  file: string;
  statements: Statement[];
  span: Span;
}
