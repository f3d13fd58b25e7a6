/**
 * Shared helpers of the op registry: the broadcasting dimension rules of keops-reference §1.2
 * (written once, used by every element-wise op), parameter access and checks, the element-wise eval
 * loops, and small constructors so that each simple math op is one line.
 *
 * Convention for DimError.arg: the index of the offending argument in source order (the op's `sig`),
 * so a bad integer parameter points at its own position. Hints may name formula argument k as `$k`.
 */
import { DimError, type OpDef, type Param, type PrintSpec } from '../types.js';

export type EvalFn = NonNullable<OpDef['eval']>;
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
// element-wise evaluation with scalar broadcasting

export type Fn1 = (x: number, params: readonly Param[]) => number;
export type Fn2 = (x: number, y: number) => number;
export type Fn3 = (x: number, y: number, z: number) => number;

export function map1(fn: Fn1): EvalFn {
  return (args, params, out) => {
    const a = args[0]!;
    for (let k = 0; k < out.length; k++) out[k] = fn(a[k]!, params);
  };
}

export function map2(fn: Fn2): EvalFn {
  return (args, _params, out) => {
    const a = args[0]!;
    const b = args[1]!;
    const sa = a.length === 1 ? 0 : 1;
    const sb = b.length === 1 ? 0 : 1;
    for (let k = 0; k < out.length; k++) out[k] = fn(a[k * sa]!, b[k * sb]!);
  };
}

export function map3(fn: Fn3): EvalFn {
  return (args, _params, out) => {
    const a = args[0]!;
    const b = args[1]!;
    const c = args[2]!;
    const sa = a.length === 1 ? 0 : 1;
    const sb = b.length === 1 ? 0 : 1;
    const sc = c.length === 1 ? 0 : 1;
    for (let k = 0; k < out.length; k++) out[k] = fn(a[k * sa]!, b[k * sb]!, c[k * sc]!);
  };
}

// ---------------------------------------------------------------------------------------------
// op constructors

type Extra = Partial<Omit<OpDef, 'name' | 'group' | 'doc'>>;

/** A one-argument element-wise op (output dim = input dim). */
export function unary(group: Group, name: string, doc: string, fn: Fn1, extra: Extra = {}): OpDef {
  return { name, group, doc, sig: ['f'], dim: (d) => d[0]!, eval: map1(fn), ...extra };
}

/** A two-argument element-wise op with scalar broadcasting (§1.2). */
export function binary(group: Group, name: string, doc: string, fn: Fn2, extra: Extra = {}): OpDef {
  return { name, group, doc, sig: ['f', 'f'], dim: (d) => broadcastDim(name, d), eval: map2(fn), ...extra };
}

/** A three-argument element-wise op with scalar broadcasting (§1.2). */
export function ternary(group: Group, name: string, doc: string, fn: Fn3, extra: Extra = {}): OpDef {
  return { name, group, doc, sig: ['f', 'f', 'f'], dim: (d) => broadcastDim(name, d), eval: map3(fn), ...extra };
}

export const infix = (symbol: string, level: number): PrintSpec => ({ symbol, style: 'infix', level });
export const prefix = (symbol: string, level: number): PrintSpec => ({ symbol, style: 'prefix', level });
export const postfix = (symbol: string, level: number): PrintSpec => ({ symbol, style: 'postfix', level });

// ---------------------------------------------------------------------------------------------
// C scalar semantics

/** C `round`: halves go away from zero (2.5 → 3, −2.5 → −3), unlike Math.round. */
export function cRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

/** C `pow`: like Math.pow except pow(1, y) = 1 and pow(−1, ±inf) = 1 (JS gives NaN). */
export function cPow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

/** C `fmin`: a NaN argument is ignored. */
export function cFmin(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a < b ? a : b;
}
