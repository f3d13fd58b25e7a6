/**
 * `Genred`: pykeops's generic reduction, spelled as in pykeops. A formula and its aliases are compiled
 * once, into a function that takes the arrays positionally:
 *
 * ```ts
 * const gauss = Genred('Exp(-SqDist(x, y)) * b', ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)'], { axis: 1 });
 * const a = gauss(xs, ys, bs);                       // { data, shape: [M, 1] }
 * const [v, idx] = Genred('SqDist(x, y)', ['x = Vi(3)', 'y = Vj(3)'], { reduction: 'KMin_ArgKMin', optArg: 4, axis: 1 })(xs, ys);
 * ```
 */
import { InputError } from '../diagnostics/index.js';
import { REDUCTION_LIST, REDUCTIONS, takesK, takesWeight } from '../ir/reductions.js';
import { andList } from '../ir/ops/util.js';
import { compile, type CompiledKernel, type KernelOutput, type RunOptions, type RunResult } from './compile.js';
import type { ArrayInput } from './inputs.js';
import { kernelSolve, type SolveOptions, type SolveResult } from './solve.js';
import { GENRED_OPTIONS, KERNEL_SOLVE_OPTIONS, normalizeOptions, RUN_OPTIONS, SOLVE_OPTIONS, type KeopsBackend, type KeopsSpellings } from './options.js';

/**
 * Run options of Genred calls and LazyTensor reductions: {@link RunOptions}, or KeOps's spellings of
 * them (`dtype_acc`, `sum_scheme: 'kahan_scheme'`, `backend: 'CPU'`, ...). Checked strictly by
 * `src/api/options.ts`: an unknown key is an error naming the nearest known one.
 */
export type PassThroughRunOptions = Omit<RunOptions, 'backend'> & KeopsSpellings & { backend?: RunOptions['backend'] | KeopsBackend };

/** Reductions whose result is a pair (values, indices). */
export type TwoOutputReduction = 'Max_ArgMax' | 'Min_ArgMin' | 'MaxArgMax' | 'MinArgMin' | 'KMin_ArgKMin';

/** The reduction names {@link Genred} accepts (pykeops's `reduction_op`, plus a few spellings). */
export type GenredReduction =
  | 'Sum'
  | 'Max'
  | 'Min'
  | 'ArgMax'
  | 'ArgMin'
  | TwoOutputReduction
  | 'KMin'
  | 'ArgKMin'
  | 'LogSumExp'
  | 'LogSumExpWeight'
  | 'SumSoftMaxWeight'
  | 'SoftMax';

/** The result of a two-output reduction: `[values, indices]` (indices are int64). */
export type GenredPair = [values: KernelOutput, indices: KernelOutput];

/** What a Genred call returns for reduction `R`: one output, or the pair for two-output reductions. */
export type GenredResult<R extends string = string> = string extends R ? KernelOutput | GenredPair : R extends TwoOutputReduction ? GenredPair : KernelOutput;

/** Options of {@link Genred}: pykeops's constructor keywords, plus default run options. */
export type GenredOptions<R extends string = GenredReduction> = {
  /** The reduction (pykeops `reduction_op`), default `Sum`. */
  reduction?: R;
  /** pykeops's axis: 0 reduces over i (output indexed by j, tag 1; the default), 1 reduces over j (tag 0). */
  axis?: 0 | 1;
  /** K of `KMin`, `ArgKMin`, `KMin_ArgKMin` (pykeops `opt_arg`). */
  optArg?: number;
  /** The weight formula of `LogSumExp` (making it `LogSumExpWeight`) and `SumSoftMaxWeight`. */
  formula2?: string;
  /** pykeops's spelling of `reduction`. */
  reduction_op?: R;
  /** pykeops's spelling of `optArg`. */
  opt_arg?: number;
} & PassThroughRunOptions;

/** One argument of a Genred call: an array, or (last) run options. */
export type GenredCallArg = ArrayInput | PassThroughRunOptions;

/** The callable returned by {@link Genred}: `g(...arrays, runOptions?)`, with its compiled kernel attached. */
export interface GenredFunction<R extends string = string> {
  /** Run on the arrays (positional, in alias/index order), optionally followed by run options. */
  (...args: GenredCallArg[]): GenredResult<R>;
  /** The same call on any backend, as a Promise: what `backend: 'webgpu'` needs (the call refuses it). */
  runAsync(...args: GenredCallArg[]): Promise<GenredResult<R>>;
  /** The compiled kernel (made once, at construction). */
  readonly kernel: CompiledKernel;
  /** The reduction string that was compiled, e.g. `Sum_Reduction(Exp(-SqDist(x,y))*b, 0)`. */
  readonly source: string;
  /** The aliases, as given. */
  readonly aliases: readonly string[];
  /** The canonical reduction name (`Min_ArgMin`, `LogSumExpWeight`, ...). */
  readonly reduction: string;
  /** pykeops's axis (0: reduce over i, 1: reduce over j). */
  readonly axis: 0 | 1;
  /** The KeOps tag: 0 when the output is indexed by i, 1 when it is indexed by j. */
  readonly tag: 0 | 1;
  /** Run options used when a call gives none (the constructor's extra options). */
  readonly defaults: Readonly<PassThroughRunOptions>;
}

/** pykeops reduction names (and aliases such as `SoftMax`) to registry names, from the registry. */
const CANONICAL: Readonly<Record<string, string>> = Object.fromEntries(REDUCTION_LIST.flatMap((r) => r.genredNames.map((alias) => [alias, r.name])));
const GENRED = REDUCTION_LIST.filter((r) => r.genredNames.length > 0);
/** The Genred reductions that take K, and those that take a weight formula (directly or through `withWeight`). */
const K_NAMES = andList(GENRED.filter(takesK).map((r) => r.name));
const WEIGHT_NAMES = andList(GENRED.filter((r) => r.withWeight !== undefined || (takesWeight(r) && !GENRED.some((o) => o.withWeight === r.name))).map((r) => r.name));

/** pykeops axis to KeOps tag: axis 1 (reduce over j) is tag 0; axis 0 (reduce over i) is tag 1. */
export function axisToTag(axis: unknown): 0 | 1 {
  if (axis !== 0 && axis !== 1) throw new InputError(`axis must be 0 (reduce over i) or 1 (reduce over j), got ${String(axis)}`);
  return ((axis + 1) % 2) as 0 | 1;
}

/**
 * The KeOps reduction string `<Name>_Reduction(formula, [K,] tag [, formula2])` for a pykeops reduction
 * name. `LogSumExp` with a `formula2` becomes `LogSumExpWeight`, `SoftMax` is `SumSoftMaxWeight`,
 * `MinArgMin`/`MaxArgMax` are `Min_ArgMin`/`Max_ArgMax`. Throws InputError on an unknown name, a
 * missing or invalid K, a missing `formula2` or one the reduction does not take.
 */
export function reductionString(reduction: string, formula: string, tag: 0 | 1, extra: { K?: number; formula2?: string } = {}): { name: string; text: string } {
  const canonical = CANONICAL[reduction];
  if (!canonical) throw new InputError(`unknown reduction '${reduction}'; use one of ${Object.keys(CANONICAL).join(', ')}`);
  let red = REDUCTIONS[canonical]!;
  if (red.withWeight !== undefined && extra.formula2 !== undefined) red = REDUCTIONS[red.withWeight]!;
  const name = red.name;
  const { K, formula2 } = extra;
  if (takesK(red)) {
    if (K === undefined) throw new InputError(`reduction ${name} needs K: pass optArg (the number of smallest values to keep)`);
    if (!Number.isInteger(K) || K < 1) throw new InputError(`reduction ${name} needs K as a positive integer, got ${String(K)}`);
  } else if (K !== undefined) throw new InputError(`reduction ${name} takes no K (optArg is only for ${K_NAMES})`);
  if (takesWeight(red)) {
    if (formula2 === undefined) throw new InputError(`reduction ${name} needs a weight formula: pass formula2`);
  } else if (formula2 !== undefined) throw new InputError(`reduction ${name} takes no formula2 (only ${WEIGHT_NAMES} have a weight)`);
  const parts = [formula];
  if (K !== undefined) parts.push(String(K));
  parts.push(String(tag));
  if (formula2 !== undefined) parts.push(formula2);
  return { name, text: `${name}_Reduction(${parts.join(', ')})` };
}

/** Whether `v` looks like an array input (a typed array or `{ data, ... }`) rather than run options. */
export function isArrayInput(v: unknown): v is ArrayInput {
  return ArrayBuffer.isView(v) || (typeof v === 'object' && v !== null && !Array.isArray(v) && 'data' in v);
}

/**
 * The arguments of a pykeops-style call `f(x, y, b, options?)`: `count` arrays (described by `what`,
 * e.g. `x = Vi(3), y = Vj(3)`), then optionally an options object (pykeops's keyword arguments), which
 * is returned unchecked. Throws a one-line InputError, starting with `where`, on a wrong count or a
 * non-array argument.
 */
export function splitCall(where: string, call: readonly unknown[], count: number, what: string): { arrays: ArrayInput[]; options: unknown } {
  const hasOptions = call.length > 0 && !isArrayInput(call[call.length - 1]) && (call.length > count || typeof call[call.length - 1] === 'object');
  const arrays = hasOptions ? call.slice(0, -1) : [...call];
  if (arrays.length !== count) throw new InputError(`${where}: takes ${count} array${count === 1 ? '' : 's'} (${what}), got ${arrays.length}`);
  arrays.forEach((a, k) => {
    if (!isArrayInput(a)) throw new InputError(`${where}: argument ${k} must be a Float32Array or Float64Array (or { data, shape }), got ${a === null ? 'null' : Array.isArray(a) ? 'an array' : typeof a}`);
  });
  return { arrays: arrays as ArrayInput[], options: hasOptions ? call[call.length - 1] : undefined };
}

/**
 * pykeops's `Genred(formula, aliases, reduction_op, axis, opt_arg, formula2)`. Compiles
 * `<reduction>_Reduction(formula, [optArg,] tag [, formula2])` once, with tag = (axis + 1) % 2, and
 * returns a function taking the arrays positionally (`x = Vi(3)` at list position k is argument k),
 * optionally followed by run options (`{ backend, ranges, ... }`, merged over the constructor's extra
 * options). The function returns the finalised output `{ data, shape }`, or `[values, indices]` for
 * `Min_ArgMin`, `Max_ArgMax` and `KMin_ArgKMin`.
 *
 * Throws InputError for an unknown reduction, a missing K or `formula2`, a bad axis; KeopsError for an
 * invalid formula.
 *
 * @example
 * ```ts
 * const gaussConv = Genred('Exp(-SqDist(x, y)) * b', ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)'], { reduction: 'Sum', axis: 1 });
 * const { data, shape } = gaussConv(x, y, b);                             // shape [M, 1]
 * const [dists, idx] = Genred('SqDist(x, y)', ['x = Vi(3)', 'y = Vj(3)'], { reduction: 'KMin_ArgKMin', axis: 1, optArg: 5 })(x, y);
 * ```
 */
export function Genred<R extends string = 'Sum'>(formula: string, aliases: readonly string[], options: GenredOptions<R> = {} as GenredOptions<R>): GenredFunction<R> {
  const { reduction = 'Sum', axis = 0, optArg, formula2, ...defaults } = normalizeOptions<GenredOptions<R>>(options, GENRED_OPTIONS, 'Genred');
  if (typeof formula !== 'string') throw new InputError(`Genred: formula must be a string, got ${typeof formula}`);
  if (!Array.isArray(aliases)) throw new InputError('Genred: aliases must be a list of strings like "x = Vi(3)"');
  const tag = axisToTag(axis);
  const red = reductionString(String(reduction), formula, tag, { K: optArg, formula2 });
  const kernel = compile(red.text, aliases);
  const nargs = Math.max(aliases.length, ...kernel.args.map((a) => a.index + 1));
  const twoOutputs = red.name.includes('_Arg');
  /** Split off the run options and check the arrays (shared by the call and runAsync). */
  const prepare = (args: GenredCallArg[]): { byName: Record<string, ArrayInput>; runOptions: RunOptions } => {
    const { arrays, options: given } = splitCall(`Genred ${red.text}`, args, nargs, aliases.join(', '));
    const runOptions = { ...(defaults as RunOptions), ...normalizeOptions<RunOptions>(given, RUN_OPTIONS, 'Genred call') };
    const byName: Record<string, ArrayInput> = {};
    for (const a of kernel.args) byName[a.name] = arrays[a.index]!;
    return { byName, runOptions };
  };
  const result = (res: RunResult): GenredResult<R> => (twoOutputs ? [res.values!, res.indices!] : res.outputs[0]!) as GenredResult<R>;
  const call = (...args: GenredCallArg[]): GenredResult<R> => {
    const { byName, runOptions } = prepare(args);
    return result(kernel.runSync(byName, runOptions, 'a Genred call (use g.runAsync(...) for webgpu)'));
  };
  const runAsync = async (...args: GenredCallArg[]): Promise<GenredResult<R>> => {
    const { byName, runOptions } = prepare(args);
    return result(await kernel.runAsync(byName, runOptions));
  };
  return Object.assign(call, {
    runAsync,
    kernel,
    source: red.text,
    aliases: [...aliases],
    reduction: red.name,
    axis: axis as 0 | 1,
    tag,
    defaults: Object.freeze({ ...defaults }),
  }) as GenredFunction<R>;
}

/** Options of {@link KernelSolve}: the axis (as Genred) and default solve/run options. */
export interface KernelSolveOptions extends Omit<SolveOptions, 'backend'>, KeopsSpellings {
  /** pykeops's axis: 0 (the default, as pykeops: reduce over i, output and unknown indexed by j) or 1. */
  axis?: 0 | 1;
  backend?: SolveOptions['backend'] | KeopsBackend;
}

/** Solve options of one KernelSolve call (keopsc's or KeOps's spellings). */
export type KernelSolveCallOptions = Omit<SolveOptions, 'backend'> & KeopsSpellings & { backend?: SolveOptions['backend'] | KeopsBackend };

/**
 * What {@link KernelSolve} returns. pykeops's call: every alias's array in alias order, with b in the
 * slot of `varinvalias`, then solve options: `Kinv(x, y, b, { alpha })`. keopsc's earlier form is kept
 * as an explicit overload: `Kinv([x, y], b, { alpha })` (the other aliases' arrays as a list, then b).
 * Both return a Promise with `{ backend: 'webgpu' }`.
 */
export interface KernelSolveFunction {
  (...args: [...arrays: ArrayInput[], options: KernelSolveCallOptions & { backend: 'webgpu' }]): Promise<SolveResult>;
  (...args: [...arrays: ArrayInput[], options: KernelSolveCallOptions]): SolveResult;
  (...arrays: ArrayInput[]): SolveResult;
  (others: readonly ArrayInput[], b: ArrayInput, options: KernelSolveCallOptions & { backend: 'webgpu' }): Promise<SolveResult>;
  (others: readonly ArrayInput[], b: ArrayInput, options?: KernelSolveCallOptions): SolveResult;
}

/** What {@link KernelSolve} returns: `solve(arrays, b, options?)`; a Promise with `{ backend: 'webgpu' }`. */
export interface KernelSolveFunction {
  (args: readonly ArrayInput[], b: ArrayInput, callOptions: SolveOptions & { backend: 'webgpu' }): Promise<SolveResult>;
  (args: readonly ArrayInput[], b: ArrayInput, callOptions?: SolveOptions): SolveResult;
}

/**
 * pykeops's `KernelSolve(formula, aliases, varinvalias, axis=0)`: returns a function solving
 * (alpha·Id + K) a = b by conjugate gradient, where K·v is the Sum reduction of `formula` over axis
 * `axis` with `varinvalias` replaced by v. As in pykeops, the default axis is 0 (reduce over i: the
 * output, hence b and the solution, indexed by j), and the call takes every alias's array in order with b in the slot
 * of `varinvalias`:
 *
 * ```ts
 * const Kinv = KernelSolve('Exp(-SqDist(x, y)) * a', ['x = Vi(2)', 'y = Vj(2)', 'a = Vj(1)'], 'a', { axis: 1 });
 * const { data } = Kinv(x, x, b, { alpha: 0.1 });      // pykeops: Kinv(x, x, b, alpha=0.1)
 * const same = Kinv([x, x], b, { alpha: 0.1 });         // the other aliases as a list, then b
 * ```
 */
export function KernelSolve(formula: string, aliases: readonly string[], varinvalias: string, options: KernelSolveOptions = {}): KernelSolveFunction {
  const { axis = 0, ...defaults } = normalizeOptions<KernelSolveOptions>(options, KERNEL_SOLVE_OPTIONS, 'KernelSolve');
  if (typeof formula !== 'string') throw new InputError(`KernelSolve: formula must be a string, got ${typeof formula}`);
  if (!Array.isArray(aliases)) throw new InputError('KernelSolve: aliases must be a list of strings like "x = Vi(3)"');
  const tag = axisToTag(axis);
  const kernel = compile(`Sum_Reduction(${formula}, ${tag})`, aliases);
  const unknown = kernel.args.find((a) => a.name === varinvalias);
  if (!unknown) throw new InputError(`KernelSolve: '${varinvalias}' is not one of the aliases (${kernel.args.map((a) => a.name).join(', ')})`);
  const others = kernel.args.filter((a) => a.name !== varinvalias);
  const nargs = Math.max(aliases.length, ...kernel.args.map((a) => a.index + 1));
  return ((...call: unknown[]) => {
    let others_: unknown[];
    let b: unknown;
    let callOptions: unknown;
    if (Array.isArray(call[0])) {
      // keopsc's form: (otherArrays, b, options?)
      if (call.length > 3) throw new InputError(`KernelSolve: the list form takes (arrays, b, options?), got ${call.length} arguments`);
      [others_, b, callOptions] = call as [unknown[], unknown, unknown];
      if (others_.length !== others.length) throw new InputError(`KernelSolve: expected ${others.length} arrays (${others.map((a) => a.name).join(', ')}), got ${others_.length}`);
    } else {
      // pykeops's form: every alias's array in order, b in the slot of varinvalias, options last
      const split = splitCall('KernelSolve', call, nargs, `${aliases.join(', ')}; b in the slot of ${varinvalias}`);
      const arrays = split.arrays;
      callOptions = split.options;
      b = arrays[unknown.index];
      others_ = others.map((a) => arrays[a.index]);
    }
    const given = normalizeOptions<SolveOptions>(callOptions, SOLVE_OPTIONS, 'KernelSolve call');
    const opts = { ...(defaults as SolveOptions), ...given };
    if (opts.backend === 'webgpu' && given.backend !== 'webgpu') throw new InputError(`KernelSolve: the default backend 'webgpu' is asynchronous: pass { backend: 'webgpu' } in the call to get a Promise`);
    if (!isArrayInput(b)) throw new InputError(`KernelSolve: b must be a Float32Array or Float64Array (or { data, shape }), got ${b === null ? 'null' : typeof b}`);
    return kernelSolve(kernel, varinvalias, Object.fromEntries(others.map((a, k) => [a.name, others_[k] as ArrayInput])), b, opts);
  }) as KernelSolveFunction;
}
