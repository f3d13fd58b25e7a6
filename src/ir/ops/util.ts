/**
 * Shared helpers of the op registry: the broadcasting dimension rules of keops-reference §1.2
 * (written once, used by every element-wise op), parameter access and checks, the scalar algebra
 * that gives each op its eval and its lowering from one declaration (with the broadcasting loops),
 * and small constructors so that each simple math op is one line.
 *
 * Convention for DimError.arg: the index of the offending argument in source order (the op's `sig`),
 * so a bad integer parameter points at its own position. Hints may name formula argument k as `$k`.
 */
import { SCALAR_FNS, type ScalarBuilder, type ScalarFn, type SExpr } from '../scalar.js';
import { DimError, type GradBuilder, type Node, type OpDef, type Param, type PrintSpec } from '../types.js';

export type EvalFn = NonNullable<OpDef['eval']>;
export type LowerFn = NonNullable<OpDef['lower']>;
export type DimFn = OpDef['dim'];
export type Group = OpDef['group'];

// ---------------------------------------------------------------------------------------------
// messages

/** "3", "3 and 2", "3, 2 and 1". */
export function andList(xs: readonly (number | string)[]): string {
  if (xs.length <= 1) return xs.join('');
  return `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** `$0, $1, ...` for the first n formula arguments (for hints). */
export function argRefs(n: number): string {
  return Array.from({ length: n }, (_, k) => `$${k}`).join(', ');
}

export function dimError(message: string, hint?: string, arg?: number): DimError {
  return new DimError(message, hint, arg, 'DimMismatch');
}

export function paramError(message: string, hint?: string, arg?: number): DimError {
  return new DimError(message, hint, arg, 'ParamOutOfRange');
}

// ---------------------------------------------------------------------------------------------
// parameters

/** Integer parameter k of an op whose params were already validated by its dim rule. */
export function pint(params: readonly Param[], k: number): number {
  const p = params[k];
  if (typeof p !== 'number') throw new Error(`internal: parameter ${k} is not a number`);
  return p;
}

/** Integer-list parameter k (validated by the dim rule). */
export function plist(params: readonly Param[], k: number): readonly number[] {
  const p = params[k];
  if (typeof p === 'number' || p === undefined) throw new Error(`internal: parameter ${k} is not a list`);
  return p;
}

/**
 * Checks that params[k] is an integer (>= min when given) and returns it. `pos` is its position in
 * source order (for DimError.arg), `what` names it in the message.
 */
export function intParam(op: string, params: readonly Param[], k: number, pos: number, what: string, min?: number): number {
  const p = params[k];
  if (typeof p !== 'number' || !Number.isSafeInteger(p)) throw paramError(`${op} expects an integer ${what}`, undefined, pos);
  if (min !== undefined && p < min) throw paramError(`${op} ${what} must be >= ${min}, got ${p}`, undefined, pos);
  return p;
}

/** Checks that params[k] is a list of integers (each >= min when given) and returns it. */
export function listParam(op: string, params: readonly Param[], k: number, pos: number, what: string, min?: number): readonly number[] {
  const p = params[k];
  if (p === undefined || typeof p === 'number' || !p.every((x) => Number.isSafeInteger(x)))
    throw paramError(`${op} expects a list of integers for ${what}`, undefined, pos);
  if (min !== undefined && p.some((x) => x < min)) throw paramError(`${op} ${what} entries must be >= ${min}, got [${p.join(',')}]`, undefined, pos);
  return p;
}

export function prod(xs: readonly number[]): number {
  let r = 1;
  for (const x of xs) r *= x;
  return r;
}

// ---------------------------------------------------------------------------------------------
// dimension rules (§1.2)

/**
 * VectorizedScalarOp rule: every argument has the same dimension or dimension 1 (a scalar broadcast
 * to the others); the output has the largest dimension.
 */
export function broadcastDim(op: string, dims: readonly number[]): number {
  let out = 1;
  for (const d of dims) if (d !== 1) out = out === 1 ? d : out;
  const bad = dims.findIndex((d) => d !== 1 && d !== out);
  if (bad >= 0)
    throw dimError(
      `${op} needs arguments of equal dimension (or dimension 1), got ${andList(dims)}`,
      `element-wise operations only broadcast a scalar: ${argRefs(dims.length)}`,
      bad,
    );
  return out;
}

/**
 * VectorizedComplexScalarOp rule: every dimension is even (complex vectors are interleaved re, im);
 * they are equal, or one of them is 2 (a complex scalar broadcast to the others).
 */
export function complexBroadcastDim(op: string, dims: readonly number[]): number {
  const odd = dims.findIndex((d) => d % 2 !== 0);
  if (odd >= 0) throw dimError(`${op} needs complex arguments (even dimension), got dimension ${dims[odd]}`, `complex vectors are stored as (re, im) pairs: $${odd}`, odd);
  let out = 2;
  for (const d of dims) if (d !== 2) out = out === 2 ? d : out;
  const bad = dims.findIndex((d) => d !== 2 && d !== out);
  if (bad >= 0)
    throw dimError(
      `${op} needs complex arguments of equal dimension (or a complex scalar of dimension 2), got ${andList(dims)}`,
      `complex element-wise operations only broadcast a complex scalar: ${argRefs(dims.length)}`,
      bad,
    );
  return out;
}

/** Checks that formula argument k is even (a complex vector) and returns its dimension. */
export function evenDim(op: string, dims: readonly number[], k = 0): number {
  const d = dims[k]!;
  if (d % 2 !== 0) throw dimError(`${op} needs a complex argument (even dimension), got dimension ${d}`, `complex vectors are stored as (re, im) pairs: $${k}`, k);
  return d;
}

/** Checks that formula argument k is a scalar. */
export function scalarDim(op: string, dims: readonly number[], k: number, what = `argument ${k + 1}`): void {
  if (dims[k] !== 1) throw dimError(`${op} needs a scalar ${what}, got dimension ${dims[k]}`, `${what} must have dimension 1: $${k}`, k);
}

/** Checks that formula arguments j and k have the same dimension. */
export function equalDims(op: string, dims: readonly number[], j: number, k: number): void {
  if (dims[j] !== dims[k]) throw dimError(`${op} needs equal dimensions, got ${dims[j]} and ${dims[k]}`, `${op} needs equal dims: $${j}, $${k}`, k);
}

// ---------------------------------------------------------------------------------------------
// one declaration for eval and lower: ops are written over a scalar algebra

/**
 * The scalar functions of the kernel IR (src/ir/scalar.ts), over values of type T: over numbers
 * (`numAlg`, each function is exactly `SCALAR_FNS[fn].eval`) an op's computation is its float64 `eval`;
 * over scalar expressions (`symAlg(S)`) the same code builds its lowering. So eval and lower are one
 * declaration and agree bit for bit. Arguments may be plain numbers (constants).
 */
export type V<T> = T | number;
type UnaryFn = 'neg' | 'exp' | 'log' | 'sin' | 'cos' | 'asin' | 'acos' | 'atan' | 'sqrt' | 'rsqrt' | 'abs' | 'floor' | 'round';
type BinaryFn = 'add' | 'sub' | 'mul' | 'div' | 'atan2' | 'pow' | 'lt' | 'le' | 'eq' | 'ne';
export type Alg<T> = { readonly [F in UnaryFn]: (a: V<T>) => T } & { readonly [F in BinaryFn]: (a: V<T>, b: V<T>) => T } & {
  /** c != 0 ? a : b (c is a 0/1 comparison result) */
  readonly select: (c: V<T>, a: V<T>, b: V<T>) => T;
  /** A value as a T (a number becomes a constant). */
  readonly c: (v: V<T>) => T;
  /** `((0 + xs[0]) + xs[1]) + ...` as one node where the algebra has a better form (a loop). */
  readonly sumOf?: (xs: readonly T[]) => T;
};
type Same<X, Y> = [X] extends [Y] ? ([Y] extends [X] ? true : false) : false;
/** Compile-time check: the unions above are exactly the ScalarFns (a new function must get an arity here). */
const _allScalarFns: Same<ScalarFn, UnaryFn | BinaryFn | 'select'> = true;
void _allScalarFns;

const NUM: Alg<number> = (() => {
  const a: Record<string, unknown> = { c: (v: number) => v };
  for (const [fn, spec] of Object.entries(SCALAR_FNS)) a[fn] = spec.eval;
  return a as Alg<number>;
})();

/** The float64 algebra: each function is `SCALAR_FNS[fn].eval`. */
export function numAlg(): Alg<number> {
  return NUM;
}

const SYM = new WeakMap<ScalarBuilder, Alg<SExpr>>();

/** The algebra of scalar expressions built (hash-consed, constant-folded) by S. */
export function symAlg(S: ScalarBuilder): Alg<SExpr> {
  let alg = SYM.get(S);
  if (!alg) {
    const c = (v: V<SExpr>): SExpr => (typeof v === 'number' ? S.c(v) : v);
    const a: Record<string, unknown> = { c };
    for (const fn of Object.keys(SCALAR_FNS) as ScalarFn[]) a[fn] = (...xs: V<SExpr>[]) => S.op(fn, ...xs.map(c));
    a.sumOf = (xs: readonly SExpr[]) => S.sumOf(xs);
    alg = a as Alg<SExpr>;
    SYM.set(S, alg);
  }
  return alg;
}

/**
 * An op's computation over any algebra: the components of each formula argument in, the `dim`
 * components of the result out. Control flow may depend on dims and params only (never on values),
 * so over scalar expressions every loop unrolls at compile time into straight-line code.
 */
export type Compute = <T>(A: Alg<T>, args: readonly ArrayLike<T>[], params: readonly Param[], dim: number) => readonly V<T>[];

/** `eval` (over numbers) and `lower` (over scalar expressions) of an op, from its one computation. */
export function computed(fn: Compute): { eval: EvalFn; lower: LowerFn } {
  return {
    eval: (args, params, out) => {
      const r = fn(numAlg(), args, params, out.length);
      for (let k = 0; k < out.length; k++) out[k] = r[k]!;
    },
    lower: (args, params, S, dim) => {
      const A = symAlg(S);
      return fn(A, args, params, dim).map((v) => A.c(v));
    },
  };
}

/** Component k of a formula argument under scalar broadcasting (§1.2): a dimension-1 argument applies to every component. */
export function bcast<T>(a: ArrayLike<T>, k: number): T {
  return a[a.length === 1 ? 0 : k]!;
}

/** An element-wise scalar function: `xs` holds component k of each argument. */
export type Elementwise = <T>(A: Alg<T>, xs: readonly T[], params: readonly Param[]) => T;

/** eval of an element-wise op with scalar broadcasting (no allocation per component). */
export function mapEval(fn: Elementwise): EvalFn {
  return (args, params, out) => {
    const A = numAlg();
    const xs = new Array<number>(args.length);
    for (let k = 0; k < out.length; k++) {
      for (let j = 0; j < args.length; j++) xs[j] = bcast(args[j]!, k);
      out[k] = fn(A, xs, params);
    }
  };
}

/** lower of an element-wise op with scalar broadcasting: the same function over scalar expressions. */
export function lowerMap(fn: Elementwise): LowerFn {
  return (args, params, S, dim) => {
    const A = symAlg(S);
    return Array.from({ length: dim }, (_, k) => fn(A, args.map((a) => bcast(a, k)), params));
  };
}

export type F1 = <T>(A: Alg<T>, x: T, params: readonly Param[]) => T;
export type F2 = <T>(A: Alg<T>, x: T, y: T) => T;
export type F3 = <T>(A: Alg<T>, x: T, y: T, z: T) => T;

const elementwise = (fn: Elementwise): { eval: EvalFn; lower: LowerFn } => ({ eval: mapEval(fn), lower: lowerMap(fn) });

// generic scalar helpers (C semantics from the scalar functions)

/** 0 + x0 + x1 + ...: KeOps's summation, left to right from a zero accumulator (a lone -0 sums to +0). */
export function sum0<T>(A: Alg<T>, xs: ArrayLike<V<T>>): T {
  if (A.sumOf && xs.length > 1) return A.sumOf(Array.from(xs, (x) => A.c(x)));
  let s: V<T> = 0;
  for (let k = 0; k < xs.length; k++) s = A.add(s, xs[k]!);
  return A.c(s);
}

/** C truncation toward zero (the (int) cast, on values): floor, or -floor(-y) below 0. */
export function trunc<T>(A: Alg<T>, y: V<T>): T {
  return A.select(A.lt(y, 0), A.neg(A.floor(A.neg(y))), A.floor(y));
}

/** C `fmin`: a NaN argument is ignored (a < b ? a : b when both are numbers; the other one when one is NaN). */
export function fmin<T>(A: Alg<T>, a: V<T>, b: V<T>): T {
  return A.select(A.lt(a, b), a, A.select(A.ne(b, b), a, b));
}

/** a if x < a, b if x > b, else x (NaN stays NaN). */
export function clamp<T>(A: Alg<T>, x: V<T>, a: V<T>, b: V<T>): T {
  return A.select(A.lt(x, a), a, A.select(A.lt(b, x), b, x));
}

// ---------------------------------------------------------------------------------------------
// op constructors

type Extra = Partial<Omit<OpDef, 'name' | 'group' | 'doc'>>;

/** A one-argument element-wise op (output dim = input dim): a scalar function name or a composition. */
export function unary(group: Group, name: string, doc: string, fn: F1 | UnaryFn, extra: Extra = {}): OpDef {
  const e: Elementwise = typeof fn === 'string' ? (A, xs) => A[fn](xs[0]!) : (A, xs, p) => fn(A, xs[0]!, p);
  return { name, group, doc, sig: ['f'], dim: (d) => d[0]!, ...elementwise(e), ...extra };
}

/** A two-argument element-wise op with scalar broadcasting (§1.2). */
export function binary(group: Group, name: string, doc: string, fn: F2 | BinaryFn, extra: Extra = {}): OpDef {
  const e: Elementwise = typeof fn === 'string' ? (A, xs) => A[fn](xs[0]!, xs[1]!) : (A, xs) => fn(A, xs[0]!, xs[1]!);
  return { name, group, doc, sig: ['f', 'f'], dim: (d) => broadcastDim(name, d), ...elementwise(e), ...extra };
}

/** A three-argument element-wise op with scalar broadcasting (§1.2). */
export function ternary(group: Group, name: string, doc: string, fn: F3, extra: Extra = {}): OpDef {
  return { name, group, doc, sig: ['f', 'f', 'f'], dim: (d) => broadcastDim(name, d), ...elementwise((A, xs) => fn(A, xs[0]!, xs[1]!, xs[2]!)), ...extra };
}

export const infix = (symbol: string, level: number): PrintSpec => ({ symbol, style: 'infix', level });
export const prefix = (symbol: string, level: number): PrintSpec => ({ symbol, style: 'prefix', level });
export const postfix = (symbol: string, level: number): PrintSpec => ({ symbol, style: 'postfix', level });

// ---------------------------------------------------------------------------------------------
// derivative rules (OpDef.grad): shorthands over the GradBuilder

export type GradFn = NonNullable<OpDef['grad']>;

/** The simplifying constructors a derivative rule builds with, as short functions. */
export interface GradOps {
  readonly add: (a: Node, b: Node) => Node;
  readonly sub: (a: Node, b: Node) => Node;
  readonly mul: (a: Node, b: Node) => Node;
  readonly div: (a: Node, b: Node) => Node;
  readonly neg: (a: Node) => Node;
  /** op(args) */
  readonly op: (name: string, ...args: Node[]) => Node;
  /** op(args; params) */
  readonly opp: (name: string, args: readonly Node[], params: readonly Param[]) => Node;
  /** a scalar constant (an exact rational when it is a small decimal) */
  readonly c: (v: number) => Node;
  readonly B: GradBuilder;
}

const GOPS = new WeakMap<GradBuilder, GradOps>();

/** The shorthands over B (built once per builder). */
export function gradOps(B: GradBuilder): GradOps {
  let o = GOPS.get(B);
  if (!o) {
    o = {
      add: (a, b) => B.smart('Add', [a, b]),
      sub: (a, b) => B.smart('Subtract', [a, b]),
      mul: (a, b) => B.smart('Mult', [a, b]),
      div: (a, b) => B.smart('Divide', [a, b]),
      neg: (a) => B.smart('Minus', [a]),
      op: (name, ...args) => B.smart(name, args),
      opp: (name, args, params) => B.smart(name, args, params),
      c: (v) => B.cst(v),
      B,
    };
    GOPS.set(B, o);
  }
  return o;
}

/**
 * The rule of a one-argument op: `fn(o, f, out, G, params)` is the contribution (∂out/∂f)ᵀ·G.
 * For element-wise ops it is `f'(f) * G`, where the derivative may reuse `out` (Exp: G*out).
 */
export function grad1(fn: (o: GradOps, f: Node, out: Node, G: Node, params: readonly Param[]) => Node): GradFn {
  return (args, params, out, G, B) => [fn(gradOps(B), args[0]!, out, G, params)];
}

/** A rule over all the formula arguments at once: `fn(o, args, out, G, params)`. */
export function gradN(fn: (o: GradOps, args: readonly Node[], out: Node, G: Node, params: readonly Param[]) => (Node | undefined)[]): GradFn {
  return (args, params, out, G, B) => fn(gradOps(B), args, out, G, params);
}
