/**
 * A LazyTensor API shaped like pykeops's: symbolic M×N(×D) tensors built from arrays with
 * {@link Vi}, {@link Vj} and {@link Pm}, combined with element-wise and vector methods, and reduced
 * (compiled on first use, cached, and run) with `sum`, `min`, `logsumexp`, `Kmin`, ...
 *
 * ```ts
 * const x = Vi(xs, 3), y = Vj(ys, 3);
 * const K = x.sub(y).square().sum(-1).neg().exp();   // exp(-|x_i - y_j|²), a LazyTensor
 * const a = K.matvec(b);                               // Σ_j K_ij b_j, { data, shape: [M] }
 * const s = K.mul(Vj(b, 1)).sum(1);                    // the same, shape [M, 1]
 * ```
 *
 * pykeops conventions: `axis = 1` reduces over j (the output is indexed by i, KeOps tag 0),
 * `axis = 0` reduces over i (tag 1), `axis = -1` (or 2) is the vector operation over the last
 * dimension and returns a LazyTensor. JS numbers become float literals of the formula, not arguments.
 */
import { InputError } from '../diagnostics/index.js';
import { frontend } from '../passes/pipeline.js';
import { floatText } from '../ir/print.js';
import { swapAxes, toRanges, type RangesInput } from '../../runtime/ranges/index.js';
import { andThen } from './maybe.js';
import { aliasesToDeclarations, compile, type Backend, type CompiledKernel, type KernelOutput, type RunOptions, type RunResult } from './compile.js';
import type { IndicesOutput, ValuesOutput } from './types.js';
import type { FloatDtype } from './inputs.js';
import { axisToTag, reductionString, type PassThroughRunOptions } from './genred.js';
import { kernelSolve, type SolveOptions, type SolveResult } from './solve.js';

type Data = Float32Array | Float64Array;
const isTypedArray = (v: unknown): v is Data => v instanceof Float32Array || v instanceof Float64Array;
type Cat = 0 | 1 | 2;

/** An array accepted by {@link Vi}, {@link Vj}, {@link Pm}: a typed array, or `{ data, shape }`. */
export type LazyArrayInput = Data | { data: Data; shape: readonly number[] };

/** Run options of the LazyTensor reductions: `backend`, `ranges`, and any other key passed through. */
export type LazyRunOptions = PassThroughRunOptions;

/** Run options that select the asynchronous webgpu backend: the reduction then returns a Promise. */
export type WebGpuLazyOptions = LazyRunOptions & { backend: 'webgpu' };


/** The (values, indices) pair of a two-output reduction. */
function pair(r: RunResult): ValuesAndIndices {
  return { values: r.values!, indices: r.indices! };
}

/** The result of a two-output reduction (`minArgmin`, `maxArgmax`, `KminArgKmin`). */
export interface ValuesAndIndices {
  /** The values, with the inputs' dtype. */
  values: ValuesOutput;
  /** The indices (int64). */
  indices: IndicesOutput;
}

/** An operand of a LazyTensor method: another LazyTensor, or a JS number (a float literal). */
export type LazyOperand = LazyTensor | number;

// ---- the formula tree ---------------------------------------------------------------------

/** @internal One input array of a formula. Two leaves are the same argument when data, category and dim agree. */
export interface LazyLeaf {
  readonly data: Data;
  readonly dim: number;
  readonly cat: Cat;
  /** Rows (M for cat 0, N for cat 1); the length for parameters. */
  readonly rows: number;
}

/** @internal The formula tree of a LazyTensor: array leaves, float literals and ops. */
export type LazyExpr =
  | { readonly k: 'var'; readonly leaf: LazyLeaf }
  | { readonly k: 'num'; readonly value: number }
  | { readonly k: 'op'; readonly op: string; readonly args: readonly LazyExpr[]; readonly params: readonly (number | readonly number[])[] };

const INFIX: Readonly<Record<string, string>> = { Add: '+', Subtract: '-', Mult: '*', Divide: '/' };
const CAT_CTOR = ['Vi', 'Vj', 'Pm'] as const;

/** Prints formulas over one shared numbering of the leaves (in order of first appearance). */
class Printer {
  readonly leaves: LazyLeaf[] = [];
  private readonly byData = new Map<Data, number[]>();
  private indexOf(l: LazyLeaf): number {
    const list = this.byData.get(l.data) ?? [];
    for (const k of list) {
      const o = this.leaves[k]!;
      if (o.cat === l.cat && o.dim === l.dim) return k;
    }
    this.leaves.push(l);
    list.push(this.leaves.length - 1);
    this.byData.set(l.data, list);
    return this.leaves.length - 1;
  }
  print(e: LazyExpr): string {
    switch (e.k) {
      case 'var':
        return `v${this.indexOf(e.leaf)}`;
      case 'num':
        return e.value < 0 || Object.is(e.value, -0) ? `(-${floatText(-e.value)})` : floatText(e.value);
      case 'op': {
        const args = e.args.map((a) => this.print(a));
        const infix = INFIX[e.op];
        if (infix && args.length === 2) return `(${args[0]} ${infix} ${args[1]})`;
        if (e.op === 'Minus') return `(-${args[0]})`;
        const params = e.params.map((p) => (typeof p === 'number' ? String(p) : `[${p.join(', ')}]`));
        return `${e.op}(${[...args, ...params].join(', ')})`;
      }
    }
  }
  /** KeOps aliases `v<k> = Vi(dim)`: position k is index k. */
  aliases(): string[] {
    return this.leaves.map((l, k) => `v${k} = ${CAT_CTOR[l.cat]}(${l.dim})`);
  }
}

function mapLeaves(e: LazyExpr, f: (l: LazyLeaf) => LazyLeaf, memo = new Map<LazyExpr, LazyExpr>()): LazyExpr {
  const hit = memo.get(e);
  if (hit) return hit;
  let out: LazyExpr;
  if (e.k === 'var') out = { k: 'var', leaf: f(e.leaf) };
  else if (e.k === 'num') out = e;
  else out = { k: 'op', op: e.op, args: e.args.map((a) => mapLeaves(a, f, memo)), params: e.params };
  memo.set(e, out);
  return out;
}

// ---- metadata: dtype and sizes, checked when LazyTensors are combined ------------------------

/** @internal What is checked when LazyTensors combine: one dtype, one M, one N. */
export interface LazyMeta {
  dtype?: FloatDtype;
  /** Rows of the i-variables (M) and of the j-variables (N), when there are any. */
  M?: number;
  N?: number;
}

function joinMeta(parts: readonly LazyTensor[]): LazyMeta {
  const m: LazyMeta = {};
  for (const p of parts) {
    if (p.dtype) {
      if (m.dtype && m.dtype !== p.dtype) throw new InputError(`LazyTensors mix dtypes: ${m.dtype} and ${p.dtype}; build every array with one dtype (all Float32Array or all Float64Array)`);
      m.dtype = p.dtype;
    }
    for (const [key, what] of [['M', 'i'], ['N', 'j']] as const) {
      const v = key === 'M' ? p.sizeM : p.sizeN;
      if (v === undefined) continue;
      const prev = m[key];
      if (prev !== undefined && prev !== v) throw new InputError(`LazyTensors disagree on ${key}: one has ${prev} ${what}-rows and the other ${v}; every V${what} array must have ${key} rows`);
      m[key] = v;
    }
  }
  return m;
}

// ---- compiled-kernel cache --------------------------------------------------------------------

const cache = new Map<string, CompiledKernel>();
let hits = 0;
let misses = 0;

function cachedKernel(aliases: readonly string[], text: string): CompiledKernel {
  const key = `${aliases.join('\n')}\n${text}`;
  const hit = cache.get(key);
  if (hit) {
    hits++;
    return hit;
  }
  misses++;
  const k = compile(text, aliases);
  cache.set(key, k);
  return k;
}

/** Statistics of the LazyTensor kernel cache (one compiled kernel per formula text and reduction). */
export function lazyCacheInfo(): { size: number; hits: number; misses: number } {
  return { size: cache.size, hits, misses };
}

/** Empty the LazyTensor kernel cache and reset its statistics. */
export function clearLazyCache(): void {
  cache.clear();
  hits = 0;
  misses = 0;
}

// ---- construction -----------------------------------------------------------------------------

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}

function unpack(fn: string, x: unknown): { data: Data; shape?: readonly number[] } {
  if (x instanceof Float32Array || x instanceof Float64Array) return { data: x };
  if (typeof x === 'object' && x !== null && 'data' in x) {
    const { data, shape } = x as { data: unknown; shape?: unknown };
    if (!(data instanceof Float32Array || data instanceof Float64Array)) throw new InputError(`${fn}: data must be a Float32Array or Float64Array, got ${typeName(data)}`);
    if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0)) throw new InputError(`${fn}: { data, shape } needs shape as a list of sizes`);
    const n = (shape as number[]).reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new InputError(`${fn}: shape (${shape.join(', ')}) holds ${n} values but data has ${data.length}`);
    return { data, shape: shape as number[] };
  }
  throw new InputError(`${fn}: expected a Float32Array or Float64Array (or { data, shape }), got ${typeName(x)}`);
}

function checkDim(fn: string, dim: unknown): number {
  if (!Number.isInteger(dim) || (dim as number) < 1) throw new InputError(`${fn}: dim must be a positive integer, got ${String(dim)}`);
  return dim as number;
}

function variable(fn: 'Vi' | 'Vj', cat: 0 | 1, x: unknown, dim?: number): LazyTensor {
  const { data, shape } = unpack(fn, x);
  let D: number;
  let rows: number;
  if (shape) {
    if (shape.length === 2) [rows, D] = [shape[0]!, shape[1]!];
    else if (shape.length === 1) [rows, D] = [shape[0]!, 1];
    else throw new InputError(`${fn}: expected shape (${cat === 0 ? 'M' : 'N'}, D) or (${cat === 0 ? 'M' : 'N'},), got (${shape.join(', ')})`);
    if (dim !== undefined && checkDim(fn, dim) !== D) throw new InputError(`${fn}: dim ${dim} disagrees with shape (${shape.join(', ')})`);
  } else {
    if (dim === undefined) throw new InputError(`${fn}: give the dimension, ${fn}(array, dim), or pass { data, shape }`);
    D = checkDim(fn, dim);
    if (data.length % D !== 0) throw new InputError(`${fn}: ${data.length} values is not a multiple of dim ${D}`);
    rows = data.length / D;
  }
  if (D < 1) throw new InputError(`${fn}: the dimension must be at least 1, got shape (${shape!.join(', ')})`);
  const leaf: LazyLeaf = { data, dim: D, cat, rows };
  return new LazyTensor({ k: 'var', leaf }, { dtype: data instanceof Float32Array ? 'float32' : 'float64', [cat === 0 ? 'M' : 'N']: rows });
}

/**
 * An i-indexed LazyTensor x_i from an array of M rows: a row-major typed array of shape (M, dim)
 * (`dim` required), or `{ data, shape }` with shape (M, D) or (M,) (D = 1). Throws InputError.
 */
export function Vi(x: LazyArrayInput, dim?: number): LazyTensor {
  return variable('Vi', 0, x, dim);
}

/**
 * A j-indexed LazyTensor y_j from an array of N rows: a row-major typed array of shape (N, dim)
 * (`dim` required), or `{ data, shape }` with shape (N, D) or (N,) (D = 1). Throws InputError.
 */
export function Vj(y: LazyArrayInput, dim?: number): LazyTensor {
  return variable('Vj', 1, y, dim);
}

/**
 * A parameter LazyTensor: a 1-D array (its length is the dimension) becomes an argument; a JS number
 * becomes a float literal of the formula (not an argument). Throws InputError.
 */
export function Pm(p: LazyArrayInput | number): LazyTensor {
  if (typeof p === 'number') return num(p);
  const { data, shape } = unpack('Pm', p);
  if (shape && shape.length !== 1) throw new InputError(`Pm: expected a 1-D array (shape (D,)), got shape (${shape.join(', ')})`);
  if (data.length < 1) throw new InputError('Pm: the array is empty; a parameter needs at least one value');
  const leaf: LazyLeaf = { data, dim: data.length, cat: 2, rows: data.length };
  return new LazyTensor({ k: 'var', leaf }, { dtype: data instanceof Float32Array ? 'float32' : 'float64' });
}

function num(v: number): LazyTensor {
  if (!Number.isFinite(v)) throw new InputError(`the number ${v} cannot be a formula literal; pass it as an array with Pm(new Float64Array([...]))`);
  return new LazyTensor({ k: 'num', value: v }, {});
}

function lift(v: unknown, what: string): LazyTensor {
  if (v instanceof LazyTensor) return v;
  if (typeof v === 'number') return num(v);
  throw new InputError(`${what}: expected a LazyTensor or a number, got ${typeName(v)}; wrap arrays with Vi, Vj or Pm`);
}

function checkInt(what: string, v: unknown): number {
  if (!Number.isInteger(v)) throw new InputError(`${what} must be an integer, got ${String(v)}`);
  return v as number;
}

function checkIntList(what: string, v: unknown): number[] {
  if (!Array.isArray(v) || !v.every((n) => Number.isInteger(n))) throw new InputError(`${what} must be a list of integers, got ${String(v)}`);
  return [...(v as number[])];
}

function isLazyOperand(v: unknown): v is LazyOperand {
  return v instanceof LazyTensor || typeof v === 'number';
}

// ---- the class --------------------------------------------------------------------------------

/**
 * A symbolic tensor over i (M rows), j (N rows) and a last dimension D, as in pykeops. It holds a
 * formula over the arrays it was built from (each array is one argument, the same array object used
 * twice in the same role is one argument), the dtype and sizes, `ranges` (block-sparse ranges, carried
 * to every reduction) and a default `backend`. Methods return new LazyTensors; reductions compile
 * (once per formula text and reduction, cached) and run.
 */
export class LazyTensor {
  /** Block-sparse ranges used by every reduction of this LazyTensor (KeOps's 6 arrays); settable. */
  ranges?: RangesInput;
  /** Backend used by reductions when their options give none; settable. */
  backend?: Backend;
  /** @internal The formula tree. */
  readonly expr: LazyExpr;
  /** The dtype of the arrays, or undefined when the formula has none (literals only). */
  readonly dtype?: FloatDtype;
  /** @internal M when some i-variable fixes it. */
  readonly sizeM?: number;
  /** @internal N when some j-variable fixes it. */
  readonly sizeN?: number;
  private printed?: { formula: string; aliases: string[]; leaves: LazyLeaf[] };
  private dimCache?: number;

  /** @internal Use {@link Vi}, {@link Vj}, {@link Pm} and the methods instead. */
  constructor(expr: LazyExpr, meta: LazyMeta, from?: { ranges?: RangesInput; backend?: Backend }) {
    this.expr = expr;
    this.dtype = meta.dtype;
    this.sizeM = meta.M;
    this.sizeN = meta.N;
    if (from?.ranges !== undefined) this.ranges = from.ranges;
    if (from?.backend !== undefined) this.backend = from.backend;
  }

  private static make(op: string, parts: readonly LazyTensor[], params: readonly (number | readonly number[])[] = []): LazyTensor {
    const meta = joinMeta(parts);
    const ranges = parts.find((p) => p.ranges !== undefined)?.ranges;
    const backend = parts.find((p) => p.backend !== undefined)?.backend;
    return new LazyTensor({ k: 'op', op, args: parts.map((p) => p.expr), params }, meta, { ranges, backend });
  }

  private unary(op: string, params: readonly (number | readonly number[])[] = []): LazyTensor {
    return LazyTensor.make(op, [this], params);
  }

  private binary(op: string, other: unknown, params: readonly (number | readonly number[])[] = []): LazyTensor {
    return LazyTensor.make(op, [this, lift(other, op)], params);
  }

  private print(): { formula: string; aliases: string[]; leaves: LazyLeaf[] } {
    if (!this.printed) {
      const p = new Printer();
      const formula = p.print(this.expr);
      this.printed = { formula, aliases: p.aliases(), leaves: p.leaves };
    }
    return this.printed;
  }

  /** The formula text, over variables `v0, v1, ...` (numbered in order of first appearance). */
  get formula(): string {
    return this.print().formula;
  }

  /** KeOps aliases of the formula's variables, e.g. `['v0 = Vi(3)', 'v1 = Vj(3)']`. */
  get aliases(): readonly string[] {
    return this.print().aliases;
  }

  /** The number of array arguments the formula takes (JS numbers are literals, not arguments). */
  get nargs(): number {
    return this.print().leaves.length;
  }

  /** M: rows of the i-variables (1 when there is none, as in KeOps). */
  get M(): number {
    return this.sizeM ?? 1;
  }

  /** N: rows of the j-variables (1 when there is none, as in KeOps). */
  get N(): number {
    return this.sizeN ?? 1;
  }

  /** D, the dimension of the formula (type-checks it; throws KeopsError on an invalid formula). */
  get dim(): number {
    if (this.dimCache === undefined) {
      const { aliases, formula } = this.print();
      const text = `${aliasesToDeclarations(aliases).join('\n')}\nSum_Reduction(${formula}, 0)`;
      this.dimCache = frontend(text, '<LazyTensor>').program.kernels[0]!.formula.dim;
    }
    return this.dimCache;
  }

  /** pykeops's `_shape`: [M, N, D]. */
  get shape(): [number, number, number] {
    return [this.M, this.N, this.dim];
  }

  /** A description: formula, aliases and shape. */
  toString(): string {
    return `LazyTensor ${this.formula} with ${this.aliases.join(', ') || 'no arguments'} (M = ${this.M}, N = ${this.N})`;
  }

  // ---- element-wise ------------------------------------------------------------------------

  /** this + other. */
  add(other: LazyOperand): LazyTensor {
    return this.binary('Add', other);
  }
  /** this - other. */
  sub(other: LazyOperand): LazyTensor {
    return this.binary('Subtract', other);
  }
  /** this * other (element-wise, a scalar broadcasts). */
  mul(other: LazyOperand): LazyTensor {
    return this.binary('Mult', other);
  }
  /** this / other (element-wise, a scalar broadcasts). */
  div(other: LazyOperand): LazyTensor {
    return this.binary('Divide', other);
  }
  /** -this. */
  neg(): LazyTensor {
    return this.unary('Minus');
  }
  /** |this|. */
  abs(): LazyTensor {
    return this.unary('Abs');
  }
  /** exp(this). */
  exp(): LazyTensor {
    return this.unary('Exp');
  }
  /** log(this). */
  log(): LazyTensor {
    return this.unary('Log');
  }
  /** this · log(this) (0 at 0). */
  xlogx(): LazyTensor {
    return this.unary('XLogX');
  }
  /** cos(this). */
  cos(): LazyTensor {
    return this.unary('Cos');
  }
  /** sin(this). */
  sin(): LazyTensor {
    return this.unary('Sin');
  }
  /** sin(this) / this (1 at 0). */
  sinxdivx(): LazyTensor {
    return this.unary('SinXDivX');
  }
  /** The normalised sinc: sin(π·this) / (π·this), i.e. `sinxdivx(π·this)`. */
  sinc(): LazyTensor {
    return this.mul(Math.PI).sinxdivx();
  }
  /** asin(this). */
  asin(): LazyTensor {
    return this.unary('Asin');
  }
  /** acos(this). */
  acos(): LazyTensor {
    return this.unary('Acos');
  }
  /** atan(this). */
  atan(): LazyTensor {
    return this.unary('Atan');
  }
  /** atan2(this, other): the angle of the point (other, this). */
  atan2(other: LazyOperand): LazyTensor {
    return this.binary('Atan2', other);
  }
  /** √this. */
  sqrt(): LazyTensor {
    return this.unary('Sqrt');
  }
  /** 1/√this (0 at 0). */
  rsqrt(): LazyTensor {
    return this.unary('Rsqrt');
  }
  /**
   * this ** p: 2 gives Square, 0.5 Sqrt, -0.5 Rsqrt, another integer Pow, another number Powf with a
   * literal exponent, a LazyTensor Powf.
   */
  power(p: LazyOperand): LazyTensor {
    if (typeof p === 'number') {
      if (p === 2) return this.square();
      if (p === 0.5) return this.sqrt();
      if (p === -0.5) return this.rsqrt();
      if (Number.isInteger(p)) return this.unary('Pow', [p]);
    }
    return this.binary('Powf', p);
  }
  /** this². */
  square(): LazyTensor {
    return this.unary('Square');
  }
  /** The sign of this (-1, 0 or 1). */
  sign(): LazyTensor {
    return this.unary('Sign');
  }
  /** Heaviside step: 1 where this >= 0, else 0. */
  step(): LazyTensor {
    return this.unary('Step');
  }
  /** max(this, 0). */
  relu(): LazyTensor {
    return this.unary('ReLU');
  }
  /** this clamped to [a, b]; two integers give ClampInt. */
  clamp(a: LazyOperand, b: LazyOperand): LazyTensor {
    if (Number.isInteger(a) && Number.isInteger(b)) return this.unary('ClampInt', [a as number, b as number]);
    return LazyTensor.make('Clamp', [this, lift(a, 'clamp'), lift(b, 'clamp')]);
  }
  /** a where this >= 0, else b. */
  ifelse(a: LazyOperand, b: LazyOperand): LazyTensor {
    return LazyTensor.make('IfElse', [this, lift(a, 'ifelse'), lift(b, 'ifelse')]);
  }
  /** this mod m, in [offset, offset + m). */
  mod(m: LazyOperand, offset: LazyOperand = 0): LazyTensor {
    return LazyTensor.make('Mod', [this, lift(m, 'mod'), lift(offset, 'mod')]);
  }
  /** this rounded to d decimals. */
  round(d = 0): LazyTensor {
    return this.unary('Round', [checkInt('round: d', d)]);
  }
  /** 1 where this == other, else 0. */
  eq(other: LazyOperand): LazyTensor {
    return this.binary('Equal', other);
  }
  /** 1 where this != other, else 0. */
  ne(other: LazyOperand): LazyTensor {
    return this.binary('NotEqual', other);
  }
  /** 1 where this < other, else 0. */
  lt(other: LazyOperand): LazyTensor {
    return this.binary('LessThan', other);
  }
  /** 1 where this > other, else 0. */
  gt(other: LazyOperand): LazyTensor {
    return LazyTensor.make('LessThan', [lift(other, 'gt'), this]);
  }
  /** 1 where this <= other, else 0. */
  le(other: LazyOperand): LazyTensor {
    return this.binary('LessOrEqual', other);
  }
  /** 1 where this >= other, else 0. */
  ge(other: LazyOperand): LazyTensor {
    return LazyTensor.make('LessOrEqual', [lift(other, 'ge'), this]);
  }

  // ---- vector operations -------------------------------------------------------------------

  /** Σ_k this_k² (dimension 1). */
  sqnorm2(): LazyTensor {
    return this.unary('SqNorm2');
  }
  /** The Euclidean norm (dimension 1). */
  norm2(): LazyTensor {
    return this.unary('Norm2');
  }
  /** this / |this|. */
  normalize(): LazyTensor {
    return this.unary('Normalize');
  }
  /** |this - other|² (dimension 1). */
  sqdist(other: LazyOperand): LazyTensor {
    return this.binary('SqDist', other);
  }
  /** The squared norm of this weighted by s (dim s = 1, D or D²): `WeightedSqNorm(s, this)`. */
  weightedsqnorm(s: LazyOperand): LazyTensor {
    return LazyTensor.make('WeightedSqNorm', [lift(s, 'weightedsqnorm'), this]);
  }
  /** `(this - g).weightedsqnorm(s)`: `WeightedSqDist(s, this, g)`. */
  weightedsqdist(g: LazyOperand, s: LazyOperand): LazyTensor {
    return LazyTensor.make('WeightedSqDist', [lift(s, 'weightedsqdist'), this, lift(g, 'weightedsqdist')]);
  }
  /** Component i (dimension 1). */
  elem(i: number): LazyTensor {
    return this.unary('Elem', [checkInt('elem: i', i)]);
  }
  /** Components i, ..., i + d - 1. */
  extract(i: number, d: number): LazyTensor {
    return this.unary('Extract', [checkInt('extract: i', i), checkInt('extract: d', d)]);
  }
  /** [this, other]: the concatenation of the two vectors. */
  concat(other: LazyOperand): LazyTensor {
    return this.binary('Concat', other);
  }
  /** The one-hot vector of dimension D for the (rounded) scalar this. */
  oneHot(D: number): LazyTensor {
    return this.unary('OneHot', [checkInt('oneHot: D', D)]);
  }
  /** Matrix (this, row-major) times vector v. */
  matvecmult(v: LazyOperand): LazyTensor {
    return this.binary('MatVecMult', v);
  }
  /** Vector this times matrix m (row-major). */
  vecmatmult(m: LazyOperand): LazyTensor {
    return this.binary('VecMatMult', m);
  }
  /** The tensor (outer) product of the two vectors. */
  tensorprod(other: LazyOperand): LazyTensor {
    return this.binary('TensorProd', other);
  }
  /** pykeops's `keops_tensordot`: `TensorDot(this, other, dimsA, dimsB, contA, contB[, perm])`. */
  keopsTensordot(other: LazyOperand, dimsA: readonly number[], dimsB: readonly number[], contA: readonly number[], contB: readonly number[], perm?: readonly number[]): LazyTensor {
    const params = [checkIntList('keopsTensordot: dimsA', dimsA), checkIntList('keopsTensordot: dimsB', dimsB), checkIntList('keopsTensordot: contA', contA), checkIntList('keopsTensordot: contB', contB)];
    if (perm !== undefined) params.push(checkIntList('keopsTensordot: perm', perm));
    return this.binary('TensorDot', other, params);
  }
  /** pykeops's `keops_kron`: `Kron(this, other, dimsA, dimsB)`. */
  keopsKron(other: LazyOperand, dimsA: readonly number[], dimsB: readonly number[]): LazyTensor {
    return this.binary('Kron', other, [checkIntList('keopsKron: dimsA', dimsA), checkIntList('keopsKron: dimsB', dimsB)]);
  }

  // ---- transposition -----------------------------------------------------------------------

  /** The transpose: i-variables become j-variables and back; the two ranges triplets are swapped. */
  t(): LazyTensor {
    const expr = mapLeaves(this.expr, (l) => (l.cat === 2 ? l : { ...l, cat: l.cat === 0 ? 1 : 0 }));
    const ranges = this.ranges === undefined ? undefined : swapAxes(toRanges(this.ranges));
    return new LazyTensor(expr, { dtype: this.dtype, M: this.sizeN, N: this.sizeM }, { ranges, backend: this.backend });
  }

  /** The transpose, as a property (pykeops's `.T`). */
  get T(): LazyTensor {
    return this.t();
  }

  // ---- symbolic calculus -------------------------------------------------------------------

  private static variable(v: LazyTensor, method: string): LazyTensor {
    if (v.expr.k !== 'var') throw new InputError(`${method}: the variable must be a LazyTensor made by Vi, Vj or Pm, not a formula`);
    return v;
  }

  /** Grad(this, v, e): the gradient (∂this/∂v)ᵀ·e, a LazyTensor of v's dimension. */
  grad(v: LazyTensor, e: LazyOperand): LazyTensor {
    return LazyTensor.make('Grad', [this, LazyTensor.variable(v, 'grad'), lift(e, 'Grad')]);
  }

  /** Diff(this, v, u): the directional derivative (∂this/∂v)·u. */
  diff(v: LazyTensor, u: LazyOperand): LazyTensor {
    return LazyTensor.make('Diff', [this, LazyTensor.variable(v, 'diff'), lift(u, 'Diff')]);
  }

  /** Divergence(this, v) = Σ_k ∂this_k/∂v_k. */
  divergence(v: LazyTensor): LazyTensor {
    return LazyTensor.make('Divergence', [this, LazyTensor.variable(v, 'divergence')]);
  }

  /** Laplacian(this, v) of a scalar formula. */
  laplacian(v: LazyTensor): LazyTensor {
    return LazyTensor.make('Laplacian', [this, LazyTensor.variable(v, 'laplacian')]);
  }

  /** GradMatrix(this, v): the transposed Jacobian, flattened (block k is ∇_v this_k). */
  gradMatrix(v: LazyTensor): LazyTensor {
    return LazyTensor.make('GradMatrix', [this, LazyTensor.variable(v, 'gradMatrix')]);
  }

  /**
   * Solve (alpha·Id + K) a = b by conjugate gradient (KeOps's KernelSolve), where K is this scalar
   * LazyTensor K_ij and K·a = Σ_j K_ij a_j; b has N rows (or (N, E)), and so has the solution.
   */
  solve(b: LazyArrayInput, options: SolveOptions & { backend: 'webgpu' }): Promise<SolveResult>;
  solve(b: LazyArrayInput, options?: SolveOptions): SolveResult;
  solve(b: LazyArrayInput, options: SolveOptions = {}): SolveResult | Promise<SolveResult> {
    const bData = isTypedArray(b) ? b : b.data;
    const E = isTypedArray(b) ? 1 : b.shape.length === 2 ? b.shape[1]! : 1;
    const rows = bData.length / E;
    if (!Number.isInteger(rows)) throw new InputError(`solve: b has ${bData.length} values, not a multiple of ${E}`);
    const unknown = Vj({ data: bData, shape: [rows, E] });
    const p = new Printer();
    const f = p.print(this.mul(unknown).expr);
    const kernel = cachedKernel(p.aliases(), reductionString('Sum', f, 0, {}).text);
    const byName = new Map(p.leaves.map((l, k) => [`v${k}`, l]));
    const varName = [...byName].find(([, l]) => l.data === bData && l.cat === 1)![0];
    const args: Record<string, { data: Data; shape: number[] }> = {};
    for (const a of kernel.args) {
      if (a.name === varName) continue;
      const l = byName.get(a.name)!;
      args[a.name] = { data: l.data, shape: l.cat === 2 ? [l.dim] : [l.rows, l.dim] };
    }
    const opts: SolveOptions = { ...options };
    if (opts.ranges === undefined && this.ranges !== undefined) opts.ranges = this.ranges;
    if (opts.backend === undefined && this.backend !== undefined) opts.backend = this.backend;
    if (opts.backend === 'webgpu' && options.backend !== 'webgpu') throw new InputError(`this LazyTensor's backend is 'webgpu', which is asynchronous: pass { backend: 'webgpu' } to solve itself to get a Promise`);
    return kernelSolve(kernel, varName, args, { data: bData, shape: [rows, E] }, opts);
  }

  // ---- reductions --------------------------------------------------------------------------

  /**
   * Compile (cached) and run `<reduction>_Reduction(this, [K,] tag [, weight])`. The default ranges
   * and backend are this LazyTensor's; every other option is passed through.
   */
  private run(reduction: string, axis: unknown, options: LazyRunOptions | undefined, extra: { K?: number; weight?: LazyTensor } = {}): RunResult | Promise<RunResult> {
    const tag = axisToTag(axis);
    const parts = extra.weight ? [this, extra.weight] : [this];
    joinMeta(parts);
    const p = new Printer();
    const f = p.print(this.expr);
    const g = extra.weight ? p.print(extra.weight.expr) : undefined;
    const red = reductionString(reduction, f, tag, { K: extra.K, formula2: g });
    const aliases = p.aliases();
    const kernel = cachedKernel(aliases, red.text);
    const args: Record<string, { data: Data; shape: number[] }> = {};
    const byName = new Map(p.leaves.map((l, k) => [`v${k}`, l]));
    for (const a of kernel.args) {
      const l = byName.get(a.name)!;
      args[a.name] = { data: l.data, shape: l.cat === 2 ? [l.dim] : [l.rows, l.dim] };
    }
    const opts: LazyRunOptions = { ...(options ?? {}) };
    if (opts.ranges === undefined) {
      const ranges = this.ranges ?? extra.weight?.ranges;
      if (ranges !== undefined) opts.ranges = ranges;
      else delete opts.ranges;
    }
    if (opts.backend === undefined) {
      const backend = this.backend ?? extra.weight?.backend;
      if (backend !== undefined) opts.backend = backend;
      else delete opts.backend;
    }
    if (opts.backend === 'webgpu') {
      // asynchronous: only when the call asks for it, so that the result's type says Promise
      if (options?.backend !== 'webgpu') throw new InputError(`this LazyTensor's backend is 'webgpu', which is asynchronous: pass { backend: 'webgpu' } to the reduction itself to get a Promise`);
      return kernel.run(args, opts as RunOptions & { backend: 'webgpu' });
    }
    return kernel.runSync(args, opts, 'a LazyTensor reduction');
  }

  private static checkAxis(method: string, axis: unknown): void {
    if (axis !== 0 && axis !== 1) throw new InputError(`${method}: axis must be 0 (reduce over i) or 1 (reduce over j), got ${String(axis)}`);
  }

  /** The vector Sum over the last dimension (axis -1 or 2): a LazyTensor of dimension 1. */
  sum(axis?: -1 | 2): LazyTensor;
  /** The Sum reduction: axis 1 reduces over j (output (M, D)), axis 0 over i (output (N, D)). */
  sum(axis: 0 | 1, options: WebGpuLazyOptions): Promise<ValuesOutput>;
  sum(axis: 0 | 1, options?: LazyRunOptions): ValuesOutput;
  /** Sum: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  sum(axis: number, options?: LazyRunOptions): LazyTensor | ValuesOutput | Promise<ValuesOutput>;
  sum(axis: number = -1, options?: LazyRunOptions): LazyTensor | KernelOutput | Promise<KernelOutput> {
    return this.vectorOrReduce('sum', 'Sum', 'Sum', axis, options);
  }
  /** The vector Min over the last dimension (axis -1 or 2). */
  min(axis?: -1 | 2): LazyTensor;
  /** The Min reduction over j (axis 1) or i (axis 0). */
  min(axis: 0 | 1, options: WebGpuLazyOptions): Promise<ValuesOutput>;
  min(axis: 0 | 1, options?: LazyRunOptions): ValuesOutput;
  /** Min: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  min(axis: number, options?: LazyRunOptions): LazyTensor | ValuesOutput | Promise<ValuesOutput>;
  min(axis: number = -1, options?: LazyRunOptions): LazyTensor | KernelOutput | Promise<KernelOutput> {
    return this.vectorOrReduce('min', 'Min', 'Min', axis, options);
  }
  /** The vector Max over the last dimension (axis -1 or 2). */
  max(axis?: -1 | 2): LazyTensor;
  /** The Max reduction over j (axis 1) or i (axis 0). */
  max(axis: 0 | 1, options: WebGpuLazyOptions): Promise<ValuesOutput>;
  max(axis: 0 | 1, options?: LazyRunOptions): ValuesOutput;
  /** Max: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  max(axis: number, options?: LazyRunOptions): LazyTensor | ValuesOutput | Promise<ValuesOutput>;
  max(axis: number = -1, options?: LazyRunOptions): LazyTensor | KernelOutput | Promise<KernelOutput> {
    return this.vectorOrReduce('max', 'Max', 'Max', axis, options);
  }
  /** The vector ArgMin over the last dimension (axis -1 or 2). */
  argmin(axis?: -1 | 2): LazyTensor;
  /** The ArgMin reduction (int64 indices; ties give the smallest index). */
  argmin(axis: 0 | 1, options: WebGpuLazyOptions): Promise<IndicesOutput>;
  argmin(axis: 0 | 1, options?: LazyRunOptions): IndicesOutput;
  /** ArgMin: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  argmin(axis: number, options?: LazyRunOptions): LazyTensor | IndicesOutput | Promise<IndicesOutput>;
  argmin(axis: number = -1, options?: LazyRunOptions): LazyTensor | KernelOutput | Promise<KernelOutput> {
    return this.vectorOrReduce('argmin', 'ArgMin', 'ArgMin', axis, options);
  }
  /** The vector ArgMax over the last dimension (axis -1 or 2). */
  argmax(axis?: -1 | 2): LazyTensor;
  /** The ArgMax reduction (int64 indices; ties give the smallest index). */
  argmax(axis: 0 | 1, options: WebGpuLazyOptions): Promise<IndicesOutput>;
  argmax(axis: 0 | 1, options?: LazyRunOptions): IndicesOutput;
  /** ArgMax: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  argmax(axis: number, options?: LazyRunOptions): LazyTensor | IndicesOutput | Promise<IndicesOutput>;
  argmax(axis: number = -1, options?: LazyRunOptions): LazyTensor | KernelOutput | Promise<KernelOutput> {
    return this.vectorOrReduce('argmax', 'ArgMax', 'ArgMax', axis, options);
  }

  private vectorOrReduce(method: string, vectorOp: string, reduction: string, axis: number, options?: LazyRunOptions): LazyTensor | KernelOutput | Promise<KernelOutput> {
    if (axis === -1 || axis === 2) {
      if (options !== undefined) throw new InputError(`${method}(${axis}) is the vector operation ${vectorOp} (a LazyTensor): it takes no run options`);
      return this.unary(vectorOp);
    }
    LazyTensor.checkAxis(method, axis);
    return andThen(this.run(reduction, axis, options), (r) => r.outputs[0]!);
  }

  /**
   * log Σ exp(this) over j (axis 1) or i (axis 0), stabilised; this must be scalar. With a weight g:
   * log Σ exp(this)·g (LogSumExpWeight). The weight may also be given as `options.weight`.
   */
  logsumexp(axis: 0 | 1, weight: LazyOperand | undefined, options: WebGpuLazyOptions): Promise<ValuesOutput>;
  logsumexp(axis: 0 | 1, options: WebGpuLazyOptions & { weight?: LazyOperand }): Promise<ValuesOutput>;
  logsumexp(axis: 0 | 1, weight?: LazyOperand | (LazyRunOptions & { weight?: LazyOperand }), options?: LazyRunOptions): ValuesOutput;
  logsumexp(axis: 0 | 1, weight?: LazyOperand | (LazyRunOptions & { weight?: LazyOperand }), options?: LazyRunOptions): KernelOutput | Promise<KernelOutput> {
    LazyTensor.checkAxis('logsumexp', axis);
    let w: LazyOperand | undefined;
    let opts = options;
    if (weight !== undefined && !isLazyOperand(weight)) {
      if (options !== undefined) throw new InputError('logsumexp: give the weight as the second argument and the options third, or both in one options object');
      const { weight: ow, ...rest } = weight;
      w = ow;
      opts = rest;
    } else w = weight;
    return andThen(this.run('LogSumExp', axis, opts, { weight: w === undefined ? undefined : lift(w, 'logsumexp weight') }), (r) => r.outputs[0]!);
  }

  /** Σ exp(this)·weight / Σ exp(this) over j (axis 1) or i (axis 0), stabilised; this must be scalar. */
  sumsoftmaxweight(weight: LazyOperand, axis: 0 | 1, options: WebGpuLazyOptions): Promise<ValuesOutput>;
  sumsoftmaxweight(weight: LazyOperand, axis: 0 | 1, options?: LazyRunOptions): ValuesOutput;
  sumsoftmaxweight(weight: LazyOperand, axis: 0 | 1, options?: LazyRunOptions): KernelOutput | Promise<KernelOutput> {
    LazyTensor.checkAxis('sumsoftmaxweight', axis);
    return andThen(this.run('SumSoftMaxWeight', axis, options, { weight: lift(weight, 'sumsoftmaxweight weight') }), (r) => r.outputs[0]!);
  }

  /** The minimum and its index (pykeops `min_argmin`). */
  minArgmin(axis: 0 | 1, options: WebGpuLazyOptions): Promise<ValuesAndIndices>;
  minArgmin(axis: 0 | 1, options?: LazyRunOptions): ValuesAndIndices;
  minArgmin(axis: 0 | 1, options?: LazyRunOptions): ValuesAndIndices | Promise<ValuesAndIndices> {
    LazyTensor.checkAxis('minArgmin', axis);
    return andThen(this.run('Min_ArgMin', axis, options), pair);
  }

  /** The maximum and its index (pykeops `max_argmax`). */
  maxArgmax(axis: 0 | 1, options: WebGpuLazyOptions): Promise<ValuesAndIndices>;
  maxArgmax(axis: 0 | 1, options?: LazyRunOptions): ValuesAndIndices;
  maxArgmax(axis: 0 | 1, options?: LazyRunOptions): ValuesAndIndices | Promise<ValuesAndIndices> {
    LazyTensor.checkAxis('maxArgmax', axis);
    return andThen(this.run('Max_ArgMax', axis, options), pair);
  }

  /** The K smallest values, ascending: shape (rows, K) for a scalar, (rows, K, D) otherwise. */
  Kmin(K: number, axis: 0 | 1, options: WebGpuLazyOptions): Promise<ValuesOutput>;
  Kmin(K: number, axis: 0 | 1, options?: LazyRunOptions): ValuesOutput;
  Kmin(K: number, axis: 0 | 1, options?: LazyRunOptions): KernelOutput | Promise<KernelOutput> {
    LazyTensor.checkAxis('Kmin', axis);
    return andThen(this.run('KMin', axis, options, { K }), (r) => r.outputs[0]!);
  }

  /** The indices of the K smallest values (int64; stable: ties give the smaller index first). */
  argKmin(K: number, axis: 0 | 1, options: WebGpuLazyOptions): Promise<IndicesOutput>;
  argKmin(K: number, axis: 0 | 1, options?: LazyRunOptions): IndicesOutput;
  argKmin(K: number, axis: 0 | 1, options?: LazyRunOptions): KernelOutput | Promise<KernelOutput> {
    LazyTensor.checkAxis('argKmin', axis);
    return andThen(this.run('ArgKMin', axis, options, { K }), (r) => r.outputs[0]!);
  }

  /** The K smallest values and their indices (pykeops `Kmin_argKmin`). */
  KminArgKmin(K: number, axis: 0 | 1, options: WebGpuLazyOptions): Promise<ValuesAndIndices>;
  KminArgKmin(K: number, axis: 0 | 1, options?: LazyRunOptions): ValuesAndIndices;
  KminArgKmin(K: number, axis: 0 | 1, options?: LazyRunOptions): ValuesAndIndices | Promise<ValuesAndIndices> {
    LazyTensor.checkAxis('KminArgKmin', axis);
    return andThen(this.run('KMin_ArgKMin', axis, options, { K }), pair);
  }

  // ---- linear operator -----------------------------------------------------------------------

  /**
   * Σ_j K_ij b_j for a scalar K (D = 1): `b` has N rows, a typed array or `{ data, shape }` with shape
   * (N,) or (N, E). The result has shape (M,) for a 1-D b, else (M, E) (pykeops's `K @ b`).
   */
  matvec(b: LazyArrayInput, options: WebGpuLazyOptions): Promise<ValuesOutput>;
  matvec(b: LazyArrayInput, options?: LazyRunOptions): ValuesOutput;
  matvec(b: LazyArrayInput, options?: LazyRunOptions): KernelOutput | Promise<KernelOutput> {
    if (this.dim !== 1) throw new InputError(`matvec: the LazyTensor must be scalar (D = 1), it has D = ${this.dim}`);
    const { data, shape } = unpack('matvec', b);
    if (shape && shape.length !== 1 && shape.length !== 2) throw new InputError(`matvec: b must have shape (N,) or (N, E), got (${shape.join(', ')})`);
    const oneD = !shape || shape.length === 1;
    const bj = oneD ? Vj({ data, shape: [data.length] }) : Vj({ data, shape: shape! });
    return andThen(this.mul(bj).run('Sum', 1, options), (r) => {
      const out = r.outputs[0]!;
      return oneD ? { ...out, shape: [out.shape[0]!] } : out;
    });
  }

  /** Σ_i K_ij b_i: `t().matvec(b)` (b has M rows). */
  rmatvec(b: LazyArrayInput, options?: LazyRunOptions): KernelOutput {
    return this.t().matvec(b, options);
  }
}
