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

/**
 * Run options as passed through to {@link CompiledKernel.run}: the known ones (`backend`, `ranges`)
 * plus any other key (e.g. `sumScheme`, `threads`, `out`), forwarded untouched.
 */
export type PassThroughRunOptions = RunOptions & { [option: string]: unknown };

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
 * pykeops's `Genred(formula, aliases, reduction_op, axis, opt_arg, formula2)`. Compiles
 * `<reduction>_Reduction(formula, [optArg,] tag [, formula2])` once, with tag = (axis + 1) % 2, and
 * returns a function taking the arrays positionally (`x = Vi(3)` at list position k is argument k),
 * optionally followed by run options (`{ backend, ranges, ... }`, merged over the constructor's extra
 * options). The function returns the finalised output `{ data, shape }`, or `[values, indices]` for
 * `Min_ArgMin`, `Max_ArgMax` and `KMin_ArgKMin`.
 *
 * Throws InputError for an unknown reduction, a missing K or `formula2`, a bad axis; KeopsError for an
 * invalid formula.
 */
export function Genred<R extends string = 'Sum'>(formula: string, aliases: readonly string[], options: GenredOptions<R> = {} as GenredOptions<R>): GenredFunction<R> {
  for (const [py, ts] of [['reduction_op', 'reduction'], ['opt_arg', 'optArg']] as const) {
    if (py in options) throw new InputError(`Genred: the option is spelled ${ts} here, not ${py}`);
  }
  const { reduction = 'Sum', axis = 0, optArg, formula2, ...defaults } = options;
  if (typeof formula !== 'string') throw new InputError(`Genred: formula must be a string, got ${typeof formula}`);
  if (!Array.isArray(aliases)) throw new InputError('Genred: aliases must be a list of strings like "x = Vi(3)"');
  const tag = axisToTag(axis);
  const red = reductionString(String(reduction), formula, tag, { K: optArg, formula2 });
  const kernel = compile(red.text, aliases);
  const nargs = Math.max(aliases.length, ...kernel.args.map((a) => a.index + 1));
  const twoOutputs = red.name.includes('_Arg');
  /** Split off the run options and check the arrays (shared by the call and runAsync). */
  const prepare = (args: GenredCallArg[]): { byName: Record<string, ArrayInput>; runOptions: PassThroughRunOptions } => {
    let runOptions: PassThroughRunOptions = defaults;
    if (args.length > 0 && !isArrayInput(args[args.length - 1])) {
      const last = args[args.length - 1];
      if (typeof last !== 'object' || last === null || Array.isArray(last)) {
        throw new InputError(`Genred: argument ${args.length - 1} must be a Float32Array or Float64Array (or { data, shape }), or run options last`);
      }
      runOptions = { ...defaults, ...(last as PassThroughRunOptions) };
      args = args.slice(0, -1);
    }
    if (args.length !== nargs) {
      throw new InputError(`Genred: ${red.text} takes ${nargs} array${nargs === 1 ? '' : 's'} (${aliases.join(', ')}), got ${args.length}`);
    }
    const byName: Record<string, ArrayInput> = {};
    args.forEach((a, k) => {
      if (!isArrayInput(a)) throw new InputError(`Genred: argument ${k} must be a Float32Array or Float64Array (or { data, shape })`);
    });
    for (const a of kernel.args) byName[a.name] = args[a.index] as ArrayInput;
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
export interface KernelSolveOptions extends SolveOptions {
  /** 1 (default here as in pykeops' examples: reduce over j, output indexed by i) or 0. */
  axis?: 0 | 1;
}

/**
 * pykeops's `KernelSolve(formula, aliases, varinvalias, axis)`: returns a function that, given the
 * arrays of the aliases other than `varinvalias` (in alias order) and b, solves (alpha·Id + K) a = b by
 * conjugate gradient, where K·v is the Sum reduction of `formula` with `varinvalias` replaced by v.
 *
 * ```ts
 * const solve = KernelSolve('Exp(-SqDist(x, y)) * a', ['x = Vi(2)', 'y = Vj(2)', 'a = Vj(1)'], 'a', { axis: 1 });
 * const { data } = solve([x, x], b, { alpha: 0.1 });
 * ```
 */
/** What {@link KernelSolve} returns: `solve(arrays, b, options?)`; a Promise with `{ backend: 'webgpu' }`. */
export interface KernelSolveFunction {
  (args: readonly ArrayInput[], b: ArrayInput, callOptions: SolveOptions & { backend: 'webgpu' }): Promise<SolveResult>;
  (args: readonly ArrayInput[], b: ArrayInput, callOptions?: SolveOptions): SolveResult;
}

export function KernelSolve(formula: string, aliases: readonly string[], varinvalias: string, options: KernelSolveOptions = {}): KernelSolveFunction {
  const { axis = 1, ...defaults } = options;
  const tag = axisToTag(axis);
  const kernel = compile(`Sum_Reduction(${formula}, ${tag})`, aliases);
  if (!kernel.args.some((a) => a.name === varinvalias)) throw new InputError(`KernelSolve: '${varinvalias}' is not one of the aliases (${kernel.args.map((a) => a.name).join(', ')})`);
  const others = kernel.args.filter((a) => a.name !== varinvalias);
  return ((args: readonly ArrayInput[], b: ArrayInput, callOptions: SolveOptions = {}) => {
    if (args.length !== others.length) throw new InputError(`KernelSolve: expected ${others.length} arrays (${others.map((a) => a.name).join(', ')}), got ${args.length}`);
    const opts = { ...defaults, ...callOptions };
    if (opts.backend === 'webgpu' && callOptions.backend !== 'webgpu') throw new InputError(`KernelSolve: the default backend 'webgpu' is asynchronous: pass { backend: 'webgpu' } in the call to get a Promise`);
    return kernelSolve(kernel, varinvalias, Object.fromEntries(others.map((a, k) => [a.name, args[k]!])), b, opts);
  }) as KernelSolveFunction;
}
