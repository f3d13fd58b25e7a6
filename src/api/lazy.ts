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
import type { MaybePromise } from './maybe.js';
import { aliasesToDeclarations, compile, type Backend, type CompiledKernel, type KernelOutput, type RunOptions, type RunResult } from './compile.js';
import type { IndicesOutput, ValuesOutput } from './types.js';
import type { ArrayInput, FloatDtype } from './inputs.js';
import { axisToTag, reductionString, splitCall, type PassThroughRunOptions } from './genred.js';
import { kernelSolve, type SolveOptions, type SolveResult } from './solve.js';
import { normalizeOptions, RUN_OPTIONS, SOLVE_OPTIONS, type KeopsBackend } from './options.js';

type Data = Float32Array | Float64Array;
type Cat = 0 | 1 | 2;

/** An array accepted by {@link Vi}, {@link Vj}, {@link Pm}: a typed array, or `{ data, shape }`. */
export type LazyArrayInput = Data | { data: Data; shape: readonly number[] };

/** Run options of the LazyTensor reductions: `backend`, `ranges`, and any other key passed through. */
export type LazyRunOptions = PassThroughRunOptions;

/** Run options that select the asynchronous webgpu backend: the reduction then returns a Promise. */
export type WebGpuLazyOptions = LazyRunOptions & { backend: 'webgpu' };


/**
 * A reduction of a LazyTensor with symbolic variables (`Vi(0, 3)`, ...): call it with their arrays, in
 * index order, optionally followed by run options (pykeops's `K(x, y, b)`). With `backend: 'webgpu'`
 * (given to the reduction or to the call) the call returns a Promise.
 */
export interface LazyReduction<T> {
  (...argsAndOptions: (LazyArrayInput | LazyRunOptions)[]): T;
  /** The compiled kernel (its first `nargs` arguments are the symbolic variables). */
  readonly kernel: CompiledKernel;
  /** The reduction that was compiled, e.g. `Sum_Reduction((v0 - v1), 0)`. */
  readonly source: string;
  /** How many arrays a call takes. */
  readonly nargs: number;
  /** The symbolic variables, in call order, e.g. `['Vi(0, 3)', 'Vj(1, 3)']`. */
  readonly args: readonly string[];
}

/** What a reduction of a `LazyTensor<S>` returns: the result, or a {@link LazyReduction} when S is symbolic. */
export type Reduced<S extends boolean, T> = [S] extends [false] ? T : LazyReduction<T>;

/** The kernel arguments of a printed formula: the symbolic ones from the call, the arrays from the leaves. */
function leafArgs(kernel: CompiledKernel, p: Printer, symbolicArrays: readonly ArrayInput[]): Record<string, ArrayInput> {
  const args: Record<string, ArrayInput> = {};
  for (const a of kernel.args) {
    const k = Number(a.name.slice(1));
    const l = p.leaves[k]!;
    args[a.name] = k < p.symbolic ? symbolicArrays[k]! : { data: l.data!, shape: leafShape(l) };
  }
  return args;
}

/** The first output of a run. */
const first = (r: RunResult): KernelOutput => r.outputs[0]!;

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

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any symbolic-ness: methods cast to their own
type AnyLazy = LazyTensor<any>;

/** An operand of a LazyTensor method: another LazyTensor, or a JS number (a float literal). */
export type LazyOperand<T extends boolean = boolean> = LazyTensor<T> | number;

// ---- the formula tree ---------------------------------------------------------------------

/**
 * @internal One input of a formula: an array (`data`), or a symbolic variable (`index`, supplied when
 * the reduction is called). Two array leaves are the same argument when data, category and dim agree;
 * two symbolic leaves when their index agrees.
 */
export interface LazyLeaf {
  readonly data?: Data;
  /** The variable index of a symbolic leaf (`Vi(0, 3)`). */
  readonly index?: number;
  readonly dim: number;
  readonly cat: Cat;
  /** Rows (M for cat 0, N for cat 1); the length for parameters; 0 for symbolic leaves. */
  readonly rows: number;
  /** Leading batch dims (pykeops's (B…, M, 1, D), (B…, 1, N, D), (B…, 1, 1, D)); absent: none. */
  readonly batch?: readonly number[];
}

/** The shape a leaf is passed to a kernel with: (B…, rows, dim), or (B…, dim) for a parameter. */
function leafShape(l: LazyLeaf): number[] {
  return [...(l.batch ?? []), ...(l.cat === 2 ? [l.dim] : [l.rows, l.dim])];
}

/**
 * pykeops's batched spelling, shape (B…, M, 1, D) for an i-variable, (B…, 1, N, D) for a j-variable,
 * (B…, 1, 1, D) for a parameter (at least one batch dim): its batch dims, rows and D; InputError when
 * the two middle sizes are not laid out for the role.
 */
function batchedShape(fn: string, cat: Cat, shape: readonly number[]): { batch: number[]; rows: number; D: number } {
  const [a, b, D] = shape.slice(-3) as [number, number, number];
  const want = cat === 0 ? '(B…, M, 1, D)' : cat === 1 ? '(B…, 1, N, D)' : '(B…, 1, 1, D)';
  const ok = cat === 0 ? b === 1 : cat === 1 ? a === 1 : a === 1 && b === 1;
  if (!ok) throw new InputError(`${fn}: a batched array has shape ${want}, got (${shape.join(', ')})`);
  return { batch: shape.slice(0, -3), rows: cat === 0 ? a : cat === 1 ? b : D, D };
}

/** @internal The formula tree of a LazyTensor: array leaves, float literals and ops. */
export type LazyExpr =
  | { readonly k: 'var'; readonly leaf: LazyLeaf }
  | { readonly k: 'num'; readonly value: number }
  | { readonly k: 'op'; readonly op: string; readonly args: readonly LazyExpr[]; readonly params: readonly (number | readonly number[])[] };

const INFIX: Readonly<Record<string, string>> = { Add: '+', Subtract: '-', Mult: '*', Divide: '/' };
const CAT_CTOR = ['Vi', 'Vj', 'Pm'] as const;

/** The symbolic leaves of formulas, by index (checking that each index has one dim and category). */
function symbolicLeaves(exprs: readonly LazyExpr[]): Map<number, LazyLeaf> {
  const found = new Map<number, LazyLeaf>();
  const seen = new Set<LazyExpr>();
  const walk = (e: LazyExpr): void => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.k === 'op') e.args.forEach(walk);
    else if (e.k === 'var' && e.leaf.index !== undefined) {
      const l = e.leaf, o = found.get(l.index!);
      if (o && (o.cat !== l.cat || o.dim !== l.dim)) throw new InputError(`symbolic variable ${l.index} is used as both ${CAT_CTOR[o.cat]}(${o.index}, ${o.dim}) and ${CAT_CTOR[l.cat]}(${l.index}, ${l.dim}); one index is one variable`);
      found.set(l.index!, l);
    }
  };
  exprs.forEach(walk);
  let missing = 0;
  while (found.has(missing)) missing++;
  if (missing < found.size || (found.size > 0 && !found.has(found.size - 1))) {
    const used = [...found.keys()].sort((a, b) => a - b);
    throw new InputError(`symbolic variables use indices ${used.slice(0, 8).join(', ')}${used.length > 8 ? ', ...' : ''}, so index ${missing} has no variable; number them 0, 1, 2, ... (they are the call's arguments, in index order)`);
  }
  return found;
}

/**
 * Prints formulas over one shared numbering of the leaves: symbolic variables keep their index (they
 * are the first arguments), arrays follow in order of first appearance. Leaf k is named `v<k>`.
 */
class Printer {
  /** The leaves by variable index (symbolic ones first). */
  readonly leaves: LazyLeaf[] = [];
  /** How many leading leaves are symbolic (supplied at call time). */
  readonly symbolic: number;
  private readonly byData = new Map<Data, number[]>();
  constructor(exprs: readonly LazyExpr[]) {
    const sym = symbolicLeaves(exprs);
    this.symbolic = sym.size;
    for (let k = 0; k < sym.size; k++) this.leaves.push(sym.get(k)!);
  }
  private indexOf(l: LazyLeaf): number {
    if (l.index !== undefined) return l.index;
    const list = this.byData.get(l.data!) ?? [];
    for (const k of list) {
      const o = this.leaves[k]!;
      if (o.cat === l.cat && o.dim === l.dim) return k;
    }
    this.leaves.push(l);
    list.push(this.leaves.length - 1);
    this.byData.set(l.data!, list);
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

function joinMeta(parts: readonly AnyLazy[]): LazyMeta {
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
  let batch: number[] | undefined;
  if (shape && shape.length >= 4) {
    ({ batch, rows, D } = batchedShape(fn, cat, shape));
    if (dim !== undefined && checkDim(fn, dim) !== D) throw new InputError(`${fn}: dim ${dim} disagrees with shape (${shape.join(', ')})`);
  } else if (shape) {
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
  const leaf: LazyLeaf = { data, dim: D, cat, rows, ...(batch ? { batch } : {}) };
  return new LazyTensor({ k: 'var', leaf }, { dtype: data instanceof Float32Array ? 'float32' : 'float64', [cat === 0 ? 'M' : 'N']: rows });
}

/**
 * An i-indexed LazyTensor x_i from an array of M rows: a row-major typed array of shape (M, dim)
 * (`dim` required), or `{ data, shape }` with shape (M, D) or (M,) (D = 1); with batch dims pykeops's
 * (B…, M, 1, D), broadcast against the other arguments' batch dims where a size is 1. Throws InputError.
 */
export function Vi(index: number, dim: number): LazyTensor<true>;
export function Vi(x: LazyArrayInput, dim?: number): LazyTensor;
export function Vi(x: LazyArrayInput | number, dim?: number): LazyTensor<boolean> {
  return typeof x === 'number' ? symbolic('Vi', 0, x, dim) : variable('Vi', 0, x, dim);
}

/**
 * A j-indexed LazyTensor y_j from an array of N rows: a row-major typed array of shape (N, dim)
 * (`dim` required), or `{ data, shape }` with shape (N, D) or (N,) (D = 1); with batch dims pykeops's
 * (B…, 1, N, D). Throws InputError.
 */
export function Vj(index: number, dim: number): LazyTensor<true>;
export function Vj(y: LazyArrayInput, dim?: number): LazyTensor;
export function Vj(y: LazyArrayInput | number, dim?: number): LazyTensor<boolean> {
  return typeof y === 'number' ? symbolic('Vj', 1, y, dim) : variable('Vj', 1, y, dim);
}

/**
 * A parameter LazyTensor: a 1-D array (its length is the dimension) becomes an argument; a JS number
 * becomes a float literal of the formula (not an argument). Throws InputError.
 */
export function Pm(index: number, dim: number): LazyTensor<true>;
export function Pm(p: LazyArrayInput | number): LazyTensor;
export function Pm(p: LazyArrayInput | number, dim?: number): LazyTensor<boolean> {
  if (typeof p === 'number') return dim === undefined ? num(p) : symbolic('Pm', 2, p, dim);
  const { data, shape } = unpack('Pm', p);
  if (shape && shape.length >= 4) {
    const { batch, D } = batchedShape('Pm', 2, shape);
    if (D < 1) throw new InputError('Pm: the array is empty; a parameter needs at least one value');
    const leaf: LazyLeaf = { data, dim: D, cat: 2, rows: D, batch };
    return new LazyTensor({ k: 'var', leaf }, { dtype: data instanceof Float32Array ? 'float32' : 'float64' });
  }
  if (shape && shape.length !== 1) throw new InputError(`Pm: expected a 1-D array (shape (D,)), got shape (${shape.join(', ')})`);
  if (data.length < 1) throw new InputError('Pm: the array is empty; a parameter needs at least one value');
  const leaf: LazyLeaf = { data, dim: data.length, cat: 2, rows: data.length };
  return new LazyTensor({ k: 'var', leaf }, { dtype: data instanceof Float32Array ? 'float32' : 'float64' });
}

/** A symbolic variable: `Vi(0, 3)` is the call's argument 0, an i-variable of dimension 3. */
function symbolic(fn: 'Vi' | 'Vj' | 'Pm', cat: Cat, index: number, dim: unknown): LazyTensor<true> {
  if (!Number.isInteger(index) || index < 0) throw new InputError(`${fn}(index, dim): the index must be a non-negative integer, got ${index}`);
  if (dim === undefined) throw new InputError(`${fn}(${index}): a symbolic variable needs its dimension, ${fn}(index, dim) (its data comes when the reduction is called); to wrap data, pass the array: ${fn}(data, dim)`);
  const D = checkDim(fn, dim);
  return new LazyTensor<true>({ k: 'var', leaf: { index, dim: D, cat, rows: 0 } }, {});
}

/** pykeops's construction rule for `LazyTensor(x, axis?)` (see the LazyTensor constructor). */
function fromShaped(x: unknown, axis: unknown): LazyTensor {
  const fn = 'LazyTensor';
  if (typeof x === 'number') {
    if (axis !== undefined) throw new InputError(`${fn}(number): a number is a formula literal and takes no axis`);
    return num(x);
  }
  const { data, shape } = unpack(fn, x);
  if (axis !== undefined && axis !== 0 && axis !== 1) throw new InputError(`${fn}: axis must be 0 (an i-variable) or 1 (a j-variable), got ${String(axis)}`);
  const dims = shape ?? [data.length];
  const show = `(${dims.join(', ')})`;
  if (dims.length === 1) {
    if (axis !== undefined) throw new InputError(`${fn}: a 1-D array is a parameter and takes no axis; give shape (rows, D) with axis ${String(axis)} for a variable`);
    return Pm({ data, shape: dims });
  }
  if (dims.length === 2) {
    if (axis === undefined) throw new InputError(`${fn}: a 2-D array of shape ${show} needs axis 0 (an i-variable) or 1 (a j-variable), as in pykeops; or give shape (M, 1, D) or (1, N, D)`);
    return variable(axis === 0 ? 'Vi' : 'Vj', axis, { data, shape: dims }) as LazyTensor;
  }
  if (axis !== undefined) throw new InputError(`${fn}: an array of shape ${show} places itself (pykeops's rule); leave axis out`);
  // the last three sizes place the array; any sizes before them are batch dimensions (pykeops's rule)
  const [a, b, D] = dims.slice(-3) as [number, number, number];
  const batched = dims.length > 3;
  if (a === 1 && b === 1) return Pm({ data, shape: batched ? dims : [D] });
  if (b === 1) return variable('Vi', 0, { data, shape: batched ? dims : [a, D] }) as LazyTensor;
  if (a === 1) return variable('Vj', 1, { data, shape: batched ? dims : [b, D] }) as LazyTensor;
  throw new InputError(`${fn}: shape ${show} is neither (M, 1, D) (an i-variable), (1, N, D) (a j-variable) nor (1, 1, D) (a parameter); insert the axis of size 1 (pykeops: x[:, None, :] or y[None, :, :])`);
}

function num(v: number): LazyTensor {
  if (!Number.isFinite(v)) throw new InputError(`the number ${v} cannot be a formula literal; pass it as an array with Pm(new Float64Array([...]))`);
  return new LazyTensor({ k: 'num', value: v }, {});
}

function lift(v: unknown, what: string): AnyLazy {
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
 *
 * @example
 * ```ts
 * const x = Vi({ data: xs, shape: [M, 3] }), y = Vj({ data: ys, shape: [N, 3] });
 * const K = x.sqdist(y).neg().exp();                                      // symbolic M x N
 * const a = K.matvec({ data: bs, shape: [N, 1] });                        // { data, shape: [M, 1] }
 * const nearest = x.sqdist(y).argmin(1);                                 // index of the nearest y_j, per i
 * ```
 */
export class LazyTensor<S extends boolean = false> {
  /** Block-sparse ranges used by every reduction of this LazyTensor (KeOps's 6 arrays); settable. */
  ranges?: RangesInput;
  /** Backend used by reductions when their options give none; settable. */
  backend?: Backend | KeopsBackend;
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

  /**
   * pykeops's `LazyTensor(x)`: a LazyTensor from an array whose shape places it (pykeops's rule),
   * `{ data, shape }` with shape (M, 1, D) an i-variable (`x[:, None, :]`), (1, N, D) a j-variable
   * (`y[None, :, :]`), (1, 1, D) or (D,) a parameter (`p[None, None, :]`); a 2-D (rows, D) array
   * with `axis` 0 (i-variable) or 1 (j-variable); a number is a float literal. Leading batch
   * dimensions are refused for now. Throws InputError.
   */
  constructor(x: LazyArrayInput | number, axis?: 0 | 1);
  /** @internal Used by {@link Vi}, {@link Vj}, {@link Pm} and the methods. */
  constructor(expr: LazyExpr, meta: LazyMeta, from?: { ranges?: RangesInput; backend?: Backend | KeopsBackend });
  constructor(a: LazyExpr | LazyArrayInput | number, b?: LazyMeta | 0 | 1, from?: { ranges?: RangesInput; backend?: Backend | KeopsBackend }) {
    const isExpr = typeof a === 'object' && a !== null && 'k' in a;
    const t = isExpr ? undefined : fromShaped(a as LazyArrayInput | number, b);
    const expr = t ? t.expr : (a as LazyExpr);
    const meta = t ? { dtype: t.dtype, M: t.sizeM, N: t.sizeN } : (b as LazyMeta);
    this.expr = expr;
    this.dtype = meta.dtype;
    this.sizeM = meta.M;
    this.sizeN = meta.N;
    if (from?.ranges !== undefined) this.ranges = from.ranges;
    if (from?.backend !== undefined) this.backend = from.backend;
  }

  private static make(op: string, parts: readonly AnyLazy[], params: readonly (number | readonly number[])[] = []): AnyLazy {
    const meta = joinMeta(parts);
    const ranges = parts.find((p) => p.ranges !== undefined)?.ranges;
    const backend = parts.find((p) => p.backend !== undefined)?.backend;
    return new LazyTensor({ k: 'op', op, args: parts.map((p) => p.expr), params }, meta, { ranges, backend });
  }

  private unary(op: string, params: readonly (number | readonly number[])[] = []): AnyLazy {
    return LazyTensor.make(op, [this], params);
  }

  private binary(op: string, other: unknown, params: readonly (number | readonly number[])[] = []): AnyLazy {
    return LazyTensor.make(op, [this, lift(other, op)], params);
  }

  private print(): { formula: string; aliases: string[]; leaves: LazyLeaf[] } {
    if (!this.printed) {
      const p = new Printer([this.expr]);
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

  /** pykeops's `_shape`: [B…, M, N, D], the broadcast batch dimensions of the arguments in front. */
  get _shape(): number[] {
    return [...this.batchShape, this.M, this.N, this.dim];
  }

  /** pykeops's `shape`: [B…, M, N, D], without D when D = 1. */
  get shape(): number[] {
    return this.dim === 1 ? [...this.batchShape, this.M, this.N] : [...this.batchShape, this.M, this.N, this.dim];
  }

  /** The batch shape of the array arguments, broadcast (sizes of 1 stretch); [] without batch dims. */
  private get batchShape(): number[] {
    const out: number[] = [];
    for (const l of this.print().leaves) {
      const b = l.batch ?? [];
      b.forEach((n, k) => {
        out[k] = out[k] === undefined || out[k] === 1 ? n : out[k]!;
      });
    }
    return out;
  }

  /** pykeops's `ndim`: the dimension D of the formula (as {@link dim}). */
  get ndim(): number {
    return this.dim;
  }

  /** pykeops's `nbatchdims`: the number of leading batch dimensions of the arguments (0 without). */
  get nbatchdims(): number {
    return this.batchShape.length;
  }

  /** A description: formula, aliases and shape. */
  toString(): string {
    return `LazyTensor ${this.formula} with ${this.aliases.join(', ') || 'no arguments'} (M = ${this.M}, N = ${this.N})`;
  }

  // ---- element-wise ------------------------------------------------------------------------

  /** this + other. */
  add<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('Add', other);
  }
  /** this - other. */
  sub<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('Subtract', other);
  }
  /** this * other (element-wise, a scalar broadcasts). */
  mul<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('Mult', other);
  }
  /** this / other (element-wise, a scalar broadcasts). */
  div<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('Divide', other);
  }
  /** -this. */
  neg(): LazyTensor<S> {
    return this.unary('Minus');
  }
  /** |this|. */
  abs(): LazyTensor<S> {
    return this.unary('Abs');
  }
  /** exp(this). */
  exp(): LazyTensor<S> {
    return this.unary('Exp');
  }
  /** log(this). */
  log(): LazyTensor<S> {
    return this.unary('Log');
  }
  /** this · log(this) (0 at 0). */
  xlogx(): LazyTensor<S> {
    return this.unary('XLogX');
  }
  /** cos(this). */
  cos(): LazyTensor<S> {
    return this.unary('Cos');
  }
  /** sin(this). */
  sin(): LazyTensor<S> {
    return this.unary('Sin');
  }
  /** sin(this) / this (1 at 0). */
  sinxdivx(): LazyTensor<S> {
    return this.unary('SinXDivX');
  }
  /** The normalised sinc: sin(π·this) / (π·this), i.e. `sinxdivx(π·this)`. */
  sinc(): LazyTensor<S> {
    return this.mul(Math.PI).sinxdivx();
  }
  /** asin(this). */
  asin(): LazyTensor<S> {
    return this.unary('Asin');
  }
  /** acos(this). */
  acos(): LazyTensor<S> {
    return this.unary('Acos');
  }
  /** atan(this). */
  atan(): LazyTensor<S> {
    return this.unary('Atan');
  }
  /** atan2(this, other): the angle of the point (other, this). */
  atan2<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('Atan2', other);
  }
  /** √this. */
  sqrt(): LazyTensor<S> {
    return this.unary('Sqrt');
  }
  /** 1/√this (0 at 0). */
  rsqrt(): LazyTensor<S> {
    return this.unary('Rsqrt');
  }
  /**
   * this ** p: 2 gives Square, 0.5 Sqrt, -0.5 Rsqrt, another integer Pow, another number Powf with a
   * literal exponent, a LazyTensor Powf.
   */
  power<T extends boolean = false>(p: LazyOperand<T>): LazyTensor<S | T> {
    if (typeof p === 'number') {
      if (p === 2) return this.square();
      if (p === 0.5) return this.sqrt();
      if (p === -0.5) return this.rsqrt();
      if (Number.isInteger(p)) return this.unary('Pow', [p]);
    }
    return this.binary('Powf', p);
  }
  /** this². */
  square(): LazyTensor<S> {
    return this.unary('Square');
  }
  /** The sign of this (-1, 0 or 1). */
  sign(): LazyTensor<S> {
    return this.unary('Sign');
  }
  /** Heaviside step: 1 where this >= 0, else 0. */
  step(): LazyTensor<S> {
    return this.unary('Step');
  }
  /** max(this, 0). */
  relu(): LazyTensor<S> {
    return this.unary('ReLU');
  }
  /** this clamped to [a, b]; two integers give ClampInt. */
  clamp<T extends boolean = false, U extends boolean = false>(a: LazyOperand<T>, b: LazyOperand<U>): LazyTensor<S | T | U> {
    if (Number.isInteger(a) && Number.isInteger(b)) return this.unary('ClampInt', [a as number, b as number]);
    return LazyTensor.make('Clamp', [this, lift(a, 'clamp'), lift(b, 'clamp')]);
  }
  /** a where this >= 0, else b. */
  ifelse<T extends boolean = false, U extends boolean = false>(a: LazyOperand<T>, b: LazyOperand<U>): LazyTensor<S | T | U> {
    return LazyTensor.make('IfElse', [this, lift(a, 'ifelse'), lift(b, 'ifelse')]);
  }
  /** this mod m, in [offset, offset + m). */
  mod<T extends boolean = false, U extends boolean = false>(m: LazyOperand<T>, offset: LazyOperand<U> = 0): LazyTensor<S | T | U> {
    return LazyTensor.make('Mod', [this, lift(m, 'mod'), lift(offset, 'mod')]);
  }
  /** this rounded to d decimals. */
  round(d = 0): LazyTensor<S> {
    return this.unary('Round', [checkInt('round: d', d)]);
  }
  /** 1 where this == other, else 0. */
  eq<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('Equal', other);
  }
  /** 1 where this != other, else 0. */
  ne<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('NotEqual', other);
  }
  /** 1 where this < other, else 0. */
  lt<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('LessThan', other);
  }
  /** 1 where this > other, else 0. */
  gt<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return LazyTensor.make('LessThan', [lift(other, 'gt'), this]);
  }
  /** 1 where this <= other, else 0. */
  le<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('LessOrEqual', other);
  }
  /** 1 where this >= other, else 0. */
  ge<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return LazyTensor.make('LessOrEqual', [lift(other, 'ge'), this]);
  }

  // ---- vector operations -------------------------------------------------------------------

  /** Σ_k this_k² (dimension 1). */
  sqnorm2(): LazyTensor<S> {
    return this.unary('SqNorm2');
  }
  /** The Euclidean norm (dimension 1). */
  norm2(): LazyTensor<S> {
    return this.unary('Norm2');
  }
  /** this / |this|. */
  normalize(): LazyTensor<S> {
    return this.unary('Normalize');
  }
  /** |this - other|² (dimension 1). */
  sqdist<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('SqDist', other);
  }
  /** The squared norm of this weighted by s (dim s = 1, D or D²): `WeightedSqNorm(s, this)`. */
  weightedsqnorm<T extends boolean = false>(s: LazyOperand<T>): LazyTensor<S | T> {
    return LazyTensor.make('WeightedSqNorm', [lift(s, 'weightedsqnorm'), this]);
  }
  /** `(this - g).weightedsqnorm(s)`: `WeightedSqDist(s, this, g)`. */
  weightedsqdist<T extends boolean = false, U extends boolean = false>(g: LazyOperand<T>, s: LazyOperand<U>): LazyTensor<S | T | U> {
    return LazyTensor.make('WeightedSqDist', [lift(s, 'weightedsqdist'), this, lift(g, 'weightedsqdist')]);
  }
  /** Component i (dimension 1). */
  elem(i: number): LazyTensor<S> {
    return this.unary('Elem', [checkInt('elem: i', i)]);
  }
  /** Components i, ..., i + d - 1. */
  extract(i: number, d: number): LazyTensor<S> {
    return this.unary('Extract', [checkInt('extract: i', i), checkInt('extract: d', d)]);
  }
  /** `[this, other]`: the concatenation of the two vectors. */
  concat<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('Concat', other);
  }
  /** The one-hot vector of dimension D for the (rounded) scalar this. */
  oneHot(D: number): LazyTensor<S> {
    return this.unary('OneHot', [checkInt('oneHot: D', D)]);
  }
  /** Matrix (this, row-major) times vector v. */
  matvecmult<T extends boolean = false>(v: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('MatVecMult', v);
  }
  /** Vector this times matrix m (row-major). */
  vecmatmult<T extends boolean = false>(m: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('VecMatMult', m);
  }
  /** The tensor (outer) product of the two vectors. */
  tensorprod<T extends boolean = false>(other: LazyOperand<T>): LazyTensor<S | T> {
    return this.binary('TensorProd', other);
  }
  /** pykeops's `keops_tensordot`: `TensorDot(this, other, dimsA, dimsB, contA, contB[, perm])`. */
  keopsTensordot<T extends boolean = false>(other: LazyOperand<T>, dimsA: readonly number[], dimsB: readonly number[], contA: readonly number[], contB: readonly number[], perm?: readonly number[]): LazyTensor<S | T> {
    const params = [checkIntList('keopsTensordot: dimsA', dimsA), checkIntList('keopsTensordot: dimsB', dimsB), checkIntList('keopsTensordot: contA', contA), checkIntList('keopsTensordot: contB', contB)];
    if (perm !== undefined) params.push(checkIntList('keopsTensordot: perm', perm));
    return this.binary('TensorDot', other, params);
  }
  /** pykeops's `keops_kron`: `Kron(this, other, dimsA, dimsB)`. */
  keopsKron<T extends boolean = false>(other: LazyOperand<T>, dimsA: readonly number[], dimsB: readonly number[]): LazyTensor<S | T> {
    return this.binary('Kron', other, [checkIntList('keopsKron: dimsA', dimsA), checkIntList('keopsKron: dimsB', dimsB)]);
  }

  /** The Euclidean norm over the last dimension (pykeops's `norm(dim)`: dim must be -1 or 2). */
  norm(dim: number): LazyTensor<S> {
    if (dim !== -1 && dim !== 2) throw new InputError(`norm(${String(dim)}): LazyTensors have norms over the last dimension only (dim -1 or 2), as in pykeops`);
    return this.norm2();
  }
  /** Concatenation with other LazyTensors along the last dimension (axis -1 or 2), as `concat`. */
  concatenate(others: LazyOperand | readonly LazyOperand[], axis = -1): LazyTensor<boolean> {
    return concatenate([this, ...(Array.isArray(others) ? others : [others as LazyOperand])], axis);
  }
  /** Soft-DTW between the sequences this and y (their dimensions are the lengths), cost (xᵢ − yⱼ)², smoothing gamma. */
  softdtw_sqdist<T extends boolean = false, U extends boolean = false>(y: LazyOperand<T>, gamma: LazyOperand<U>): LazyTensor<S | T | U> {
    return LazyTensor.make('SoftDTW_SqDist', [this, lift(y, 'softdtw_sqdist'), lift(gamma, 'softdtw_sqdist')]);
  }
  /** The B-spline basis of order k for the knots (this) at the scalar x: dimension D − k − 1 (pykeops's `bspline`). */
  bspline<T extends boolean = false>(x: LazyOperand<T>, k = 0): LazyTensor<S | T> {
    if (!Number.isInteger(k) || k < 0) throw new InputError(`bspline: the order k must be a non-negative integer, got ${String(k)}`);
    return this.binary('BSpline', x, [k]);
  }
  /** The trace of the linear map v ↦ this (this must be linear in v; pykeops's `trace_operator`). */
  trace_operator<V extends boolean = false>(v: LazyTensor<V>): LazyTensor<S | V> {
    return LazyTensor.make('TraceOperator', [this, LazyTensor.variable(v, 'trace_operator')]);
  }
  /** This formula with `other` computed once and reused (KeOps's `Factorize`; keopsc's CSE does this for every formula). */
  factorize<T extends boolean = false>(other: LazyTensor<T>): LazyTensor<S | T> {
    return this.binary('Factorize', other);
  }
  /** This formula with its repeated subformulas computed once (KeOps's `AutoFactorize`; keopsc's CSE always does this). */
  auto_factorize(): LazyTensor<S> {
    return this.unary('AutoFactorize');
  }

  // ---- complex numbers (a complex vector of dimension D is 2D reals: re, im interleaved) ----------

  /** The real parts of a complex LazyTensor (pykeops's `z.real`; dimension D/2). */
  get real(): LazyTensor<S> {
    return this.unary('ComplexReal');
  }
  /** The imaginary parts of a complex LazyTensor (pykeops's `z.imag`; dimension D/2). */
  get imag(): LazyTensor<S> {
    return this.unary('ComplexImag');
  }
  /** The argument of each complex entry (dimension D/2). */
  angle(): LazyTensor<S> {
    return this.unary('ComplexAngle');
  }
  /** The complex conjugate. */
  conj(): LazyTensor<S> {
    return this.unary('Conj');
  }
  /** exp(1j·this) for a real LazyTensor: a complex one of dimension 2D. */
  exp1j(): LazyTensor<S> {
    return this.unary('ComplexExp1j');
  }
  /** This real LazyTensor seen as complex (zero imaginary parts; dimension 2D). */
  real2complex(): LazyTensor<S> {
    return this.unary('Real2Complex');
  }
  /** 1j·this for a real LazyTensor (dimension 2D). */
  imag2complex(): LazyTensor<S> {
    return this.unary('Imag2Complex');
  }

  // ---- pykeops's snake_case spellings ---------------------------------------------------------

  /** pykeops's `one_hot`: {@link oneHot}. */
  one_hot(D: number): LazyTensor<S> {
    return this.oneHot(D);
  }
  /** pykeops's `grad_matrix`: {@link gradMatrix}. */
  grad_matrix<V extends boolean = false>(v: LazyTensor<V>): LazyTensor<S | V> {
    return this.gradMatrix(v);
  }
  /** pykeops's `keops_tensordot`: {@link keopsTensordot}. */
  keops_tensordot<T extends boolean = false>(other: LazyOperand<T>, dimsA: readonly number[], dimsB: readonly number[], contA: readonly number[], contB: readonly number[], perm?: readonly number[]): LazyTensor<S | T> {
    return this.keopsTensordot(other, dimsA, dimsB, contA, contB, perm);
  }
  /** pykeops's `keops_kron`: {@link keopsKron}. */
  keops_kron<T extends boolean = false>(other: LazyOperand<T>, dimsA: readonly number[], dimsB: readonly number[]): LazyTensor<S | T> {
    return this.keopsKron(other, dimsA, dimsB);
  }

  // ---- transposition -----------------------------------------------------------------------

  /** The transpose: i-variables become j-variables and back; the two ranges triplets are swapped. */
  t(): LazyTensor<S> {
    const expr = mapLeaves(this.expr, (l) => (l.cat === 2 ? l : { ...l, cat: l.cat === 0 ? 1 : 0 }));
    const ranges = this.ranges === undefined ? undefined : swapAxes(toRanges(this.ranges));
    return new LazyTensor(expr, { dtype: this.dtype, M: this.sizeN, N: this.sizeM }, { ranges, backend: this.backend });
  }

  /** The transpose, as a property (pykeops's `.T`). */
  get T(): LazyTensor<S> {
    return this.t();
  }

  // ---- symbolic calculus -------------------------------------------------------------------

  private static variable(v: AnyLazy, method: string): AnyLazy {
    if (v.expr.k !== 'var') throw new InputError(`${method}: the variable must be a LazyTensor made by Vi, Vj or Pm, not a formula`);
    return v;
  }

  /** Grad(this, v, e): the gradient (∂this/∂v)ᵀ·e, a LazyTensor of v's dimension. */
  grad<V extends boolean = false, T extends boolean = false>(v: LazyTensor<V>, e: LazyOperand<T>): LazyTensor<S | V | T> {
    return LazyTensor.make('Grad', [this, LazyTensor.variable(v, 'grad'), lift(e, 'Grad')]);
  }

  /** Diff(this, v, u): the directional derivative (∂this/∂v)·u. */
  diff<V extends boolean = false, T extends boolean = false>(v: LazyTensor<V>, u: LazyOperand<T>): LazyTensor<S | V | T> {
    return LazyTensor.make('Diff', [this, LazyTensor.variable(v, 'diff'), lift(u, 'Diff')]);
  }

  /** Divergence(this, v) = Σ_k ∂this_k/∂v_k. */
  divergence<V extends boolean = false>(v: LazyTensor<V>): LazyTensor<S | V> {
    return LazyTensor.make('Divergence', [this, LazyTensor.variable(v, 'divergence')]);
  }

  /** Laplacian(this, v) of a scalar formula. */
  laplacian<V extends boolean = false>(v: LazyTensor<V>): LazyTensor<S | V> {
    return LazyTensor.make('Laplacian', [this, LazyTensor.variable(v, 'laplacian')]);
  }

  /** GradMatrix(this, v): the transposed Jacobian, flattened (block k is ∇_v this_k). */
  gradMatrix<V extends boolean = false>(v: LazyTensor<V>): LazyTensor<S | V> {
    return LazyTensor.make('GradMatrix', [this, LazyTensor.variable(v, 'gradMatrix')]);
  }

  /**
   * Solve (alpha·Id + K) a = b by conjugate gradient (KeOps's KernelSolve), where K is this scalar
   * LazyTensor K_ij and K·a = Σ_j K_ij a_j; b has N rows (or (N, E)), and so has the solution.
   */
  solve(b: LazyArrayInput, options: SolveOptions & { backend: 'webgpu' }): Promise<SolveResult>;
  solve(b: LazyArrayInput, options?: SolveOptions): SolveResult;
  solve(b: LazyArrayInput, options: SolveOptions = {}): SolveResult | Promise<SolveResult> {
    const { data: bData, shape: bShape } = unpack('solve', b);
    const E = bShape && bShape.length === 2 ? bShape[1]! : 1;
    const rows = bData.length / E;
    if (!Number.isInteger(rows)) throw new InputError(`solve: b has ${bData.length} values, not a multiple of ${E}`);
    const unknown = Vj({ data: bData, shape: [rows, E] });
    const product = this.mul(unknown);
    const p = new Printer([product.expr]);
    if (p.symbolic > 0) throw new InputError('solve: this LazyTensor has symbolic variables (Vi(0, 3), ...); build it from arrays to solve, or use KernelSolve(formula, aliases, varinvalias)');
    const f = p.print(product.expr);
    const kernel = cachedKernel(p.aliases(), reductionString('Sum', f, 0, {}).text);
    const varIndex = p.leaves.findIndex((l) => l.data === bData && l.cat === 1);
    const args = leafArgs(kernel, p, []);
    delete args[`v${varIndex}`];
    const given = normalizeOptions<SolveOptions>(options, SOLVE_OPTIONS, 'LazyTensor solve');
    const opts: SolveOptions = { ...this.inherited('LazyTensor solve', given), ...given };
    if (opts.backend === 'webgpu' && given.backend !== 'webgpu') throw new InputError(`this LazyTensor's backend is 'webgpu', which is asynchronous: pass { backend: 'webgpu' } to solve itself to get a Promise`);
    return kernelSolve(kernel, `v${varIndex}`, args, { data: bData, shape: [rows, E] }, opts);
  }

  // ---- reductions --------------------------------------------------------------------------

  /**
   * Compile (cached) `<reduction>_Reduction(this, [K,] tag [, weight])` and run it, giving `post` of
   * the result. The default ranges and backend are this LazyTensor's. When the formula has symbolic
   * variables (`Vi(0, 3)`), nothing runs: the result is a {@link LazyReduction} to call with their
   * arrays (in index order) and optional run options (merged over these).
   */
  private run<T>(reduction: string, axis: unknown, options: LazyRunOptions | undefined, extra: { K?: number; weight?: AnyLazy }, post: (r: RunResult) => T): MaybePromise<T> | LazyReduction<MaybePromise<T>> {
    const tag = axisToTag(axis);
    const parts = extra.weight ? [this, extra.weight] : [this];
    joinMeta(parts);
    const p = new Printer(parts.map((t) => t.expr));
    const f = p.print(this.expr);
    const g = extra.weight ? p.print(extra.weight.expr) : undefined;
    const red = reductionString(reduction, f, tag, { K: extra.K, formula2: g });
    const aliases = p.aliases();
    const kernel = cachedKernel(aliases, red.text);
    const where = `LazyTensor ${reduction} reduction`;
    const given = normalizeOptions<RunOptions>(options, RUN_OPTIONS, where);
    const defaults: RunOptions = { ...this.inherited(where, given, extra.weight), ...given };
    const exec = (symbolicArrays: readonly ArrayInput[], opts: RunOptions, asked: RunOptions): MaybePromise<T> => {
      const args = leafArgs(kernel, p, symbolicArrays);
      if (opts.backend === 'webgpu') {
        // asynchronous: only when the call asks for it, so that the result's type says Promise
        if (asked.backend !== 'webgpu') throw new InputError(`this LazyTensor's backend is 'webgpu', which is asynchronous: pass { backend: 'webgpu' } to the reduction itself to get a Promise`);
        return kernel.run(args, opts as RunOptions & { backend: 'webgpu' }).then(post);
      }
      return post(kernel.runSync(args, opts, 'a LazyTensor reduction'));
    };
    if (p.symbolic === 0) return exec([], defaults, given);
    const symbols = p.leaves.slice(0, p.symbolic).map((l, k) => `${CAT_CTOR[l.cat]}(${k}, ${l.dim})`);
    const call = (...argsAndOptions: unknown[]): MaybePromise<T> => {
      const { arrays, options } = splitCall(where, argsAndOptions, p.symbolic, `${symbols.join(', ')}, in index order`);
      const asked = normalizeOptions<RunOptions>(options, RUN_OPTIONS, `${where} call`);
      return exec(arrays as ArrayInput[], { ...defaults, ...asked }, { ...given, ...asked });
    };
    return Object.assign(call, { kernel, source: red.text, nargs: p.symbolic, args: symbols });
  }

  /** The `ranges` and `backend` attributes (this LazyTensor's, else the weight's) that `given` does not set, checked as options. */
  private inherited(where: string, given: RunOptions, weight?: AnyLazy): RunOptions {
    const attrs = { ranges: given.ranges === undefined ? (this.ranges ?? weight?.ranges) : undefined, backend: given.backend === undefined ? (this.backend ?? weight?.backend) : undefined };
    return normalizeOptions<RunOptions>(attrs, RUN_OPTIONS, `${where} (the LazyTensor's ranges and backend)`);
  }

  private static checkAxis(method: string, axis: unknown): void {
    if (axis !== 0 && axis !== 1) throw new InputError(`${method}: axis must be 0 (reduce over i) or 1 (reduce over j), got ${String(axis)}`);
  }

  /** The vector Sum over the last dimension (axis -1 or 2): a LazyTensor of dimension 1. */
  sum(axis?: -1 | 2): LazyTensor<S>;
  /** The Sum reduction: axis 1 reduces over j (output (M, D)), axis 0 over i (output (N, D)). */
  sum(axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesOutput>>;
  sum(axis: 0 | 1, options?: LazyRunOptions): Reduced<S, ValuesOutput>;
  /** Sum: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  sum(axis: number, options?: LazyRunOptions): LazyTensor<S> | Reduced<S, MaybePromise<ValuesOutput>>;
  sum(axis: number = -1, options?: LazyRunOptions): unknown {
    return this.vectorOrReduce('sum', 'Sum', 'Sum', axis, options);
  }
  /** The vector Min over the last dimension (axis -1 or 2). */
  min(axis?: -1 | 2): LazyTensor<S>;
  /** The Min reduction over j (axis 1) or i (axis 0). */
  min(axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesOutput>>;
  min(axis: 0 | 1, options?: LazyRunOptions): Reduced<S, ValuesOutput>;
  /** Min: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  min(axis: number, options?: LazyRunOptions): LazyTensor<S> | Reduced<S, MaybePromise<ValuesOutput>>;
  min(axis: number = -1, options?: LazyRunOptions): unknown {
    return this.vectorOrReduce('min', 'Min', 'Min', axis, options);
  }
  /** The vector Max over the last dimension (axis -1 or 2). */
  max(axis?: -1 | 2): LazyTensor<S>;
  /** The Max reduction over j (axis 1) or i (axis 0). */
  max(axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesOutput>>;
  max(axis: 0 | 1, options?: LazyRunOptions): Reduced<S, ValuesOutput>;
  /** Max: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  max(axis: number, options?: LazyRunOptions): LazyTensor<S> | Reduced<S, MaybePromise<ValuesOutput>>;
  max(axis: number = -1, options?: LazyRunOptions): unknown {
    return this.vectorOrReduce('max', 'Max', 'Max', axis, options);
  }
  /** The vector ArgMin over the last dimension (axis -1 or 2). */
  argmin(axis?: -1 | 2): LazyTensor<S>;
  /** The ArgMin reduction (int64 indices; ties give the smallest index). */
  argmin(axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<IndicesOutput>>;
  argmin(axis: 0 | 1, options?: LazyRunOptions): Reduced<S, IndicesOutput>;
  /** ArgMin: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  argmin(axis: number, options?: LazyRunOptions): LazyTensor<S> | Reduced<S, MaybePromise<IndicesOutput>>;
  argmin(axis: number = -1, options?: LazyRunOptions): unknown {
    return this.vectorOrReduce('argmin', 'ArgMin', 'ArgMin', axis, options);
  }
  /** The vector ArgMax over the last dimension (axis -1 or 2). */
  argmax(axis?: -1 | 2): LazyTensor<S>;
  /** The ArgMax reduction (int64 indices; ties give the smallest index). */
  argmax(axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<IndicesOutput>>;
  argmax(axis: 0 | 1, options?: LazyRunOptions): Reduced<S, IndicesOutput>;
  /** ArgMax: a reduction for axis 0 or 1, the vector op for axis -1 or 2. */
  argmax(axis: number, options?: LazyRunOptions): LazyTensor<S> | Reduced<S, MaybePromise<IndicesOutput>>;
  argmax(axis: number = -1, options?: LazyRunOptions): unknown {
    return this.vectorOrReduce('argmax', 'ArgMax', 'ArgMax', axis, options);
  }

  private vectorOrReduce(method: string, vectorOp: string, reduction: string, axis: number, options?: LazyRunOptions): unknown {
    if (axis === -1 || axis === 2) {
      if (options !== undefined) throw new InputError(`${method}(${axis}) is the vector operation ${vectorOp} (a LazyTensor): it takes no run options`);
      return this.unary(vectorOp);
    }
    LazyTensor.checkAxis(method, axis);
    return this.run(reduction, axis, options, {}, first);
  }

  /**
   * log Σ exp(this) over j (axis 1) or i (axis 0), stabilised; this must be scalar. With a weight g:
   * log Σ exp(this)·g (LogSumExpWeight). The weight may also be given as `options.weight`.
   */
  logsumexp(axis: 0 | 1, weight: LazyOperand | undefined, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesOutput>>;
  logsumexp(axis: 0 | 1, options: WebGpuLazyOptions & { weight?: LazyOperand }): Reduced<S, Promise<ValuesOutput>>;
  logsumexp(axis: 0 | 1, weight?: LazyOperand | (LazyRunOptions & { weight?: LazyOperand }), options?: LazyRunOptions): Reduced<S, ValuesOutput>;
  logsumexp(axis: 0 | 1, weight?: LazyOperand | (LazyRunOptions & { weight?: LazyOperand }), options?: LazyRunOptions): unknown {
    LazyTensor.checkAxis('logsumexp', axis);
    let w: LazyOperand | undefined;
    let opts = options;
    if (weight !== undefined && !isLazyOperand(weight)) {
      if (options !== undefined) throw new InputError('logsumexp: give the weight as the second argument and the options third, or both in one options object');
      const { weight: ow, ...rest } = weight;
      w = ow;
      opts = rest;
    } else w = weight;
    return this.run('LogSumExp', axis, opts, { weight: w === undefined ? undefined : lift(w, 'logsumexp weight') }, first);
  }

  /** Σ exp(this)·weight / Σ exp(this) over j (axis 1) or i (axis 0), stabilised; this must be scalar. */
  sumsoftmaxweight(weight: LazyOperand, axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesOutput>>;
  sumsoftmaxweight(weight: LazyOperand, axis: 0 | 1, options?: LazyRunOptions): Reduced<S, ValuesOutput>;
  sumsoftmaxweight(weight: LazyOperand, axis: 0 | 1, options?: LazyRunOptions): unknown {
    LazyTensor.checkAxis('sumsoftmaxweight', axis);
    return this.run('SumSoftMaxWeight', axis, options, { weight: lift(weight, 'sumsoftmaxweight weight') }, first);
  }

  /** The minimum and its index (pykeops `min_argmin`). */
  minArgmin(axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesAndIndices>>;
  minArgmin(axis: 0 | 1, options?: LazyRunOptions): Reduced<S, ValuesAndIndices>;
  minArgmin(axis: 0 | 1, options?: LazyRunOptions): unknown {
    LazyTensor.checkAxis('minArgmin', axis);
    return this.run('Min_ArgMin', axis, options, {}, pair);
  }

  /** The maximum and its index (pykeops `max_argmax`). */
  maxArgmax(axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesAndIndices>>;
  maxArgmax(axis: 0 | 1, options?: LazyRunOptions): Reduced<S, ValuesAndIndices>;
  maxArgmax(axis: 0 | 1, options?: LazyRunOptions): unknown {
    LazyTensor.checkAxis('maxArgmax', axis);
    return this.run('Max_ArgMax', axis, options, {}, pair);
  }

  /** The K smallest values, ascending: shape (rows, K) for a scalar, (rows, K, D) otherwise. */
  Kmin(K: number, axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesOutput>>;
  Kmin(K: number, axis: 0 | 1, options?: LazyRunOptions): Reduced<S, ValuesOutput>;
  Kmin(K: number, axis: 0 | 1, options?: LazyRunOptions): unknown {
    LazyTensor.checkAxis('Kmin', axis);
    return this.run('KMin', axis, options, { K }, first);
  }

  /** The indices of the K smallest values (int64; stable: ties give the smaller index first). */
  argKmin(K: number, axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<IndicesOutput>>;
  argKmin(K: number, axis: 0 | 1, options?: LazyRunOptions): Reduced<S, IndicesOutput>;
  argKmin(K: number, axis: 0 | 1, options?: LazyRunOptions): unknown {
    LazyTensor.checkAxis('argKmin', axis);
    return this.run('ArgKMin', axis, options, { K }, first);
  }

  /** The K smallest values and their indices (pykeops `Kmin_argKmin`). */
  KminArgKmin(K: number, axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesAndIndices>>;
  KminArgKmin(K: number, axis: 0 | 1, options?: LazyRunOptions): Reduced<S, ValuesAndIndices>;
  KminArgKmin(K: number, axis: 0 | 1, options?: LazyRunOptions): unknown {
    LazyTensor.checkAxis('KminArgKmin', axis);
    return this.run('KMin_ArgKMin', axis, options, { K }, pair);
  }

  // ---- pykeops's `*_reduction` spellings (and snake_case names of the two-output reductions): the
  // same methods under a second name (assigned to the prototype below), so ported code reads as it did

  /** pykeops's `sum_reduction(axis)`: the Sum reduction ({@link LazyTensor.sum} with axis 0 or 1). */
  declare sum_reduction: AxisReduction<S, ValuesOutput>;
  /** pykeops's `min_reduction(axis)`. */
  declare min_reduction: AxisReduction<S, ValuesOutput>;
  /** pykeops's `max_reduction(axis)`. */
  declare max_reduction: AxisReduction<S, ValuesOutput>;
  /** pykeops's `argmin_reduction(axis)`. */
  declare argmin_reduction: AxisReduction<S, IndicesOutput>;
  /** pykeops's `argmax_reduction(axis)`. */
  declare argmax_reduction: AxisReduction<S, IndicesOutput>;
  /** pykeops's `min_argmin(axis)`: {@link LazyTensor.minArgmin}. */
  declare min_argmin: AxisReduction<S, ValuesAndIndices>;
  /** pykeops's `min_argmin_reduction(axis)`. */
  declare min_argmin_reduction: AxisReduction<S, ValuesAndIndices>;
  /** pykeops's `max_argmax(axis)`: {@link LazyTensor.maxArgmax}. */
  declare max_argmax: AxisReduction<S, ValuesAndIndices>;
  /** pykeops's `max_argmax_reduction(axis)`. */
  declare max_argmax_reduction: AxisReduction<S, ValuesAndIndices>;
  /** pykeops's `Kmin_reduction(K, axis)`. */
  declare Kmin_reduction: KReduction<S, ValuesOutput>;
  /** pykeops's `argKmin_reduction(K, axis)`. */
  declare argKmin_reduction: KReduction<S, IndicesOutput>;
  /** pykeops's `Kmin_argKmin(K, axis)`: {@link LazyTensor.KminArgKmin}. */
  declare Kmin_argKmin: KReduction<S, ValuesAndIndices>;
  /** pykeops's `Kmin_argKmin_reduction(K, axis)`. */
  declare Kmin_argKmin_reduction: KReduction<S, ValuesAndIndices>;
  /** pykeops's `logsumexp_reduction(axis, weight?)`: {@link LazyTensor.logsumexp}. */
  declare logsumexp_reduction: LazyTensor<S>['logsumexp'];
  /** pykeops's `sumsoftmaxweight_reduction(weight, axis)`: {@link LazyTensor.sumsoftmaxweight}. */
  declare sumsoftmaxweight_reduction: LazyTensor<S>['sumsoftmaxweight'];

  // ---- linear operator -----------------------------------------------------------------------

  /**
   * Σ_j K_ij b_j for a scalar K (D = 1): `b` has N rows, a typed array or `{ data, shape }` with shape
   * (N,) or (N, E). The result has shape (M,) for a 1-D b, else (M, E) (pykeops's `K @ b`).
   */
  matvec(b: LazyArrayInput, options: WebGpuLazyOptions): Reduced<S, Promise<ValuesOutput>>;
  matvec(b: LazyArrayInput, options?: LazyRunOptions): Reduced<S, ValuesOutput>;
  matvec(b: LazyArrayInput, options?: LazyRunOptions): unknown {
    if (this.dim !== 1) throw new InputError(`matvec: the LazyTensor must be scalar (D = 1), it has D = ${this.dim}`);
    const { data, shape } = unpack('matvec', b);
    if (shape && shape.length !== 1 && shape.length !== 2) throw new InputError(`matvec: b must have shape (N,) or (N, E), got (${shape.join(', ')})`);
    const oneD = !shape || shape.length === 1;
    const bj = oneD ? Vj({ data, shape: [data.length] }) : Vj({ data, shape: shape! });
    return this.mul(bj).run('Sum', 1, options, {}, (r) => {
      const out = r.outputs[0]!;
      return oneD ? { ...out, shape: [out.shape[0]!] } : out;
    });
  }

  /** Σ_i K_ij b_i: `t().matvec(b)` (b has M rows). */
  rmatvec(b: LazyArrayInput, options: WebGpuLazyOptions): Reduced<S, Promise<KernelOutput>>;
  rmatvec(b: LazyArrayInput, options?: LazyRunOptions): Reduced<S, KernelOutput>;
  rmatvec(b: LazyArrayInput, options?: LazyRunOptions): unknown {
    return this.t().matvec(b, options);
  }
}

/** A reduction method over axis 0 or 1 returning T (a Promise with `backend: 'webgpu'`). */
export interface AxisReduction<S extends boolean, T> {
  (axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<T>>;
  (axis: 0 | 1, options?: LazyRunOptions): Reduced<S, T>;
}
/** A K-reduction method (`Kmin_reduction(K, axis)`). */
export interface KReduction<S extends boolean, T> {
  (K: number, axis: 0 | 1, options: WebGpuLazyOptions): Reduced<S, Promise<T>>;
  (K: number, axis: 0 | 1, options?: LazyRunOptions): Reduced<S, T>;
}


{
  const proto = LazyTensor.prototype as unknown as Record<string, unknown>;
  const axisOnly = (method: 'sum' | 'min' | 'max' | 'argmin' | 'argmax', name: string) =>
    function (this: LazyTensor<boolean>, axis: unknown, options?: LazyRunOptions) {
      if (axis !== 0 && axis !== 1) throw new InputError(`${name}: axis must be 0 (reduce over i) or 1 (reduce over j), got ${String(axis)}; for the vector operation over the last dimension use ${method}(-1)`);
      return this[method](axis, options);
    };
  for (const m of ['sum', 'min', 'max', 'argmin', 'argmax'] as const) proto[`${m}_reduction`] = axisOnly(m, `${m}_reduction`);
  const same: Record<string, string> = {
    min_argmin: 'minArgmin',
    min_argmin_reduction: 'minArgmin',
    max_argmax: 'maxArgmax',
    max_argmax_reduction: 'maxArgmax',
    Kmin_reduction: 'Kmin',
    argKmin_reduction: 'argKmin',
    Kmin_argKmin: 'KminArgKmin',
    Kmin_argKmin_reduction: 'KminArgKmin',
    logsumexp_reduction: 'logsumexp',
    sumsoftmaxweight_reduction: 'sumsoftmaxweight',
  };
  for (const [alias, method] of Object.entries(same)) proto[alias] = proto[method];
}

/**
 * pykeops's `LazyTensor.concatenate((x1, x2, ...), axis=-1)` (and `cat`): the concatenation along the
 * last dimension (axis -1 or 2), as nested `Concat`s. Throws InputError on an empty list or another axis.
 */
export function concatenate(parts: readonly LazyOperand[], axis = -1): LazyTensor<boolean> {
  if (!Array.isArray(parts) || parts.length === 0) throw new InputError('concatenate: give a non-empty list of LazyTensors');
  if (axis !== -1 && axis !== 2) throw new InputError(`concatenate: LazyTensors concatenate along the last dimension only (axis -1 or 2), got ${String(axis)}`);
  let out = lift(parts[0], 'concatenate');
  for (const p of parts.slice(1)) out = out.concat(lift(p, 'concatenate'));
  return out;
}

/** pykeops's `LazyTensor.cat((x1, x2, ...), dim)`: {@link concatenate}. */
export function cat(parts: readonly LazyOperand[], dim = -1): LazyTensor<boolean> {
  return concatenate(parts, dim);
}
