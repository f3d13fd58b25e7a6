/**
 * The shared types of the formula IR. Kept free of run-time imports so that op definitions, the node
 * factory and the passes can all depend on it without cycles.
 */
import type { ScalarBuilder, SExpr } from './scalar.js';

/** A compile-time parameter of an op: an integer (Elem index, Pow exponent, ...), an integer list
 * (TensorDot dims), or a number (the value of a constant). */
export type Param = number | readonly number[];

/** Variable categories, as in KeOps: 0 = indexed by i, 1 = indexed by j, 2 = parameter. */
export type Cat = 0 | 1 | 2;

/** Bits of `Node.deps`: which categories a value depends on. */
export const DEP_I = 1;
export const DEP_J = 2;
export const DEP_P = 4;

/**
 * One formula node. There is exactly one node type: ops are data (`op` names an entry of the
 * registry in src/ir/ops). Nodes are hash-consed by `mk` (src/ir/node.ts): two structurally equal
 * formulas are the same object, so `===` is structural equality and common subexpressions are shared.
 */
export interface Node {
  /** Unique, stable within a process; increases with creation order (children before parents). */
  readonly id: number;
  /** Registry name: `Var`, `IntCst`, `Exp`, `Sum`, ... */
  readonly op: string;
  /** Formula arguments. */
  readonly args: readonly Node[];
  /** Compile-time parameters (see the op's `sig`). */
  readonly params: readonly Param[];
  /** Output dimension (length of the vector this node computes for one (i, j) pair). */
  readonly dim: number;
  /** Bitmask of DEP_I | DEP_J | DEP_P: the categories of the variables this node depends on. */
  readonly deps: number;
  /** The hash-consing key: op, params and argument ids. */
  readonly key: string;
  /** 1 for a leaf, else 1 + the deepest argument. */
  readonly depth: number;
}

/**
 * A dimension error thrown by an op's `dim` rule. Elaboration turns it into a KEO3001 (or the given
 * kind) diagnostic pointing at the call, or at argument `arg` when given.
 */
export class DimError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly arg?: number,
    readonly kind: 'DimMismatch' | 'ParamOutOfRange' | 'CategoryMisuse' | 'NotAVariable' | 'BadConstant' = 'DimMismatch',
  ) {
    super(message);
    this.name = 'DimError';
  }
}

/** How an op is printed in IR dumps: infix binary operator or prefix unary, with its precedence
 * level (lower binds tighter; a child is parenthesised when its level is >= the parent's, as KeOps). */
export interface PrintSpec {
  symbol: string;
  style: 'infix' | 'prefix' | 'postfix';
  level: number;
}

/**
 * The constructors a macro expansion builds with: the node factory's (src/ir/node.ts `EXPAND`), passed
 * in so that the op registry does not import the factory, which imports the registry.
 */
export interface ExpandBuilder {
  mk(op: string, args: readonly Node[], params?: readonly Param[]): Node;
  /** The exact rational constant p/q. */
  rat(p: number, q: number): Node;
}

/** The constructors a derivative rule builds with. */
export interface GradBuilder {
  /** The simplifying constructor of the simplify pass. */
  smart(op: string, args: readonly Node[], params?: readonly Param[]): Node;
  /** Reduce a contribution to dimension d: the identity when dims agree, the Sum of the components
   * when d = 1 (a broadcast scalar argument). */
  sumTo(c: Node, d: number): Node;
  /** A constant. */
  cst(v: number): Node;
  /** Reverse-mode gradient of f with respect to v along e, for rules that need it (e.g. Max via ArgMax). */
  gradOf(f: Node, v: Node, e: Node): Node;
}

/**
 * A registry entry: everything the compiler knows about one op.
 *
 * - `sig` lists the arguments in source order: `f` a formula, `i` an integer, `l` an integer list;
 *   a trailing `?` marks an optional argument (only at the end).
 * - `dim(argDims, params)` is the dimension rule: returns the output dimension or throws DimError.
 *   `argDims` has one entry per formula argument, `params` one per integer/list argument, in order.
 * - `eval(args, params, out)` is the float64 scalar semantics used by the reference evaluator: `args`
 *   holds one vector per formula argument (lengths = their dims), `out` has length = output dim.
 * - `expand(args, params, B)` rewrites a macro op (SqDist, Norm2, ...) into core ops, built with B
 *   (the node factory's constructors, src/ir/node.ts `EXPAND`); it runs in the expand pass. An op has `eval` or `expand` (or is an autodiff op, expanded by the autodiff pass).
 */
export interface OpDef {
  name: string;
  group: 'variable' | 'constant' | 'math' | 'compare' | 'vector' | 'tensor' | 'complex' | 'autodiff' | 'other' | 'internal';
  /** One line of documentation. */
  doc: string;
  sig: readonly string[];
  /** The dimension rule (see above): the output dimension, or a thrown DimError. */
  dim(argDims: readonly number[], params: readonly Param[]): number;
  /** The float64 scalar semantics (the reference evaluator), writing `out`. */
  eval?(args: readonly Float64Array[], params: readonly Param[], out: Float64Array): void;
  /** A macro op's rewrite into core ops (the expand pass), built with `B`. */
  expand?(args: readonly Node[], params: readonly Param[], B: ExpandBuilder): Node;
  /**
   * Lowering to the scalar kernel IR (src/ir/scalar.ts): given the scalar components of each
   * formula argument (`args[k]` has length = that argument's dim), return the `dim` components of the
   * result, built with `S`. Must compute exactly what `eval` computes. Every op with `eval` has it.
   */
  lower?(args: readonly (readonly SExpr[])[], params: readonly Param[], S: ScalarBuilder, dim: number): SExpr[];
  /**
   * Reverse-mode derivative rule (the autodiff pass, src/passes/autodiff.ts). Given this node `out`
   * = op(args; params) and a cotangent `G` (a formula of dimension out.dim), return for each formula
   * argument its contribution (∂out/∂arg)ᵀ·G, a formula of that argument's dimension, or undefined
   * when the argument gets none. Build results with `B.smart` (simplifying constructor) so that
   * gradients stay compact; `B.sumTo(c, d)` reduces a contribution to dimension d (a scalar argument
   * broadcast to a vector receives the Sum of its contributions).
   */
  grad?(args: readonly Node[], params: readonly Param[], out: Node, G: Node, B: GradBuilder): (Node | undefined)[];
  /** 'zero': the gradient is zero wherever it exists (Floor, Sign, comparisons, Arg ops, ...).
   * 'error': not differentiable (KeOps cannot either): differentiating it is a diagnostic. */
  noGrad?: 'zero' | 'error';
  /** f(a, b) = f(b, a): the simplifier may reorder the arguments. */
  commutative?: boolean;
  print?: PrintSpec;
  /** Other accepted spellings (e.g. legacy names). */
  aliases?: readonly string[];
  /** True for ops users should not write (they appear after expansion or autodiff); still parseable. */
  internal?: boolean;
}
