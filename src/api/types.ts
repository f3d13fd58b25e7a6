/**
 * The types of the public API, in one place: what a run takes (arrays, sizes, ranges), what it returns
 * (outputs and results, typed per reduction family) and the one interface every backend implements
 * (ref, js, cpu, cuda, webgpu), and the names of the backends and summation schemes. No Node import:
 * the browser build includes it; `keopsc check` loads it alone (for the options of `run`).
 * @module
 */
import type { KernelPlan } from '../lower/plan.js';
import type { Ranges } from '../../runtime/ranges/index.js';
import type { BatchLayout } from '../../runtime/batch/index.js';

export type { BatchLayout } from '../../runtime/batch/index.js';
import type { CodeOptions } from '../targets/common.js';

export type { CodeOptions } from '../targets/common.js';

/** Backends a kernel can run on. `webgpu` is asynchronous (its `run` returns a Promise). */
export type Backend = 'ref' | 'js' | 'cpu' | 'cuda' | 'webgpu' | 'auto';
/** Every backend name `run` accepts, `auto` included. */
export const BACKENDS: readonly Backend[] = ['ref', 'js', 'cpu', 'cuda', 'webgpu', 'auto'];
/** Summation schemes of Sum-type reductions (keops-reference §2). */
export type SumScheme = 'auto' | 'block' | 'kahan' | 'direct';
/** Every summation scheme `run` accepts (`auto`: `block`). */
export const SUM_SCHEMES: readonly SumScheme[] = ['auto', 'block', 'kahan', 'direct'];

/** The float types of kernel data. */
export type FloatDtype = 'float32' | 'float64';
/** A row-major float array. */
export type FloatArray = Float32Array | Float64Array;

/** A float array as kernel input: a row-major typed array, or `{ data, shape }`. */
export type ArrayInput = FloatArray | { data: FloatArray; shape: readonly number[] };
/** Kernel arguments: by name (`{ x, y, b }`), or positional in the order of `kernel.args` (by index). */
export type ArgsInput = Readonly<Record<string, ArrayInput>> | readonly ArrayInput[];

/** How a GPU backend stores float32 inputs on the device (`float16`: IEEE halves; webgpu and cuda). */
export type Storage = 'float32' | 'float16';

// ---------------------------------------------------------------------------------------------------
// Outputs and results

/** The values output of a run: the inputs' dtype, row-major, shape (rows, ...). */
export interface ValuesOutput {
  name: 'values';
  shape: number[];
  data: FloatArray;
}

/**
 * The indices output of a run (ArgMin, ArgKMin, ...): int64 row-major, shape (rows, ...). Each entry is
 * an index into the reduction axis (j for tag 0, i for tag 1), 0 where the reduction set is empty.
 * {@link indicesToNumbers} and {@link indicesToInt32} convert them.
 */
export interface IndicesOutput {
  name: 'indices';
  shape: number[];
  data: BigInt64Array;
}

/** One output array of a run. Values have the inputs' dtype; indices are int64. */
export type KernelOutput = ValuesOutput | IndicesOutput;

/** What a run returns: the outputs in order, plus `values` / `indices` shortcuts. */
export interface RunResult {
  outputs: KernelOutput[];
  values?: ValuesOutput;
  indices?: IndicesOutput;
}

/** Which outputs a reduction has: values only (Sum, Min, KMin, LogSumExp, ...), indices only (ArgMin,
 * ArgMax, ArgKMin) or both (Min_ArgMin, Max_ArgMax, KMin_ArgKMin). */
export type ResultKind = 'values' | 'indices' | 'values+indices';

/** A result with values only (Sum, Min, KMin, the log-sum-exp family): `values` is always there. */
export interface ValuesResult extends RunResult {
  outputs: [ValuesOutput];
  values: ValuesOutput;
  indices?: undefined;
}
/** A result with indices only (ArgMin, ArgMax, ArgKMin): `indices` is always there. */
export interface IndicesResult extends RunResult {
  outputs: [IndicesOutput];
  indices: IndicesOutput;
  values?: undefined;
}
/** A result with both (Min_ArgMin, Max_ArgMax, KMin_ArgKMin). */
export interface ValuesAndIndicesResult extends RunResult {
  outputs: [ValuesOutput, IndicesOutput];
  values: ValuesOutput;
  indices: IndicesOutput;
}

/** The result type of a kernel whose outputs are `K` ({@link RunResult} when `K` is not known). */
export type ResultOf<K extends ResultKind> = [ResultKind] extends [K]
  ? RunResult
  : K extends 'values'
    ? ValuesResult
    : K extends 'indices'
      ? IndicesResult
      : K extends 'values+indices'
        ? ValuesAndIndicesResult
        : RunResult;

/**
 * The result kind of a formula text, read from its reduction's name when the text is a literal with a
 * single `..._Reduction(` call (e.g. `'ArgKMin_Reduction(SqDist(x, y), 5, 0)'` gives `'indices'`);
 * otherwise every kind (a plain {@link RunResult}). The run checks it: a result never lacks a field
 * its type promises.
 */
export type ResultKindOf<S extends string> = string extends S
  ? ResultKind
  : S extends `${string}_Reduction(${string}_Reduction(${string}`
    ? ResultKind
    : S extends `${string}Min_ArgMin_Reduction(${string}` | `${string}Max_ArgMax_Reduction(${string}` | `${string}KMin_ArgKMin_Reduction(${string}`
      ? 'values+indices'
      : S extends `${string}ArgMin_Reduction(${string}` | `${string}ArgMax_Reduction(${string}` | `${string}ArgKMin_Reduction(${string}`
        ? 'indices'
        : S extends `${string}_Reduction(${string}`
          ? 'values'
          : ResultKind;

/** Index data as plain numbers (exact: every index is below 2^53). */
export function indicesToNumbers(o: IndicesOutput): number[] {
  return Array.from(o.data, Number);
}

/** Index data as an Int32Array (a copy); throws RangeError when an index does not fit in 32 bits. */
export function indicesToInt32(o: IndicesOutput): Int32Array {
  const out = new Int32Array(o.data.length);
  for (let k = 0; k < out.length; k++) {
    const v = o.data[k]!;
    if (v > 0x7fffffffn || v < -0x80000000n) throw new RangeError(`index ${v} at position ${k} does not fit in an Int32Array; use indicesToNumbers`);
    out[k] = Number(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The backend interface

/** Names of the backends (`auto` picks cpu, else js). */
export type BackendName = 'ref' | 'js' | 'cpu' | 'cuda' | 'webgpu';

/**
 * What one launch receives: the inputs by variable index (all of `dtype`, shapes checked), the sizes M
 * and N and checked block-sparse ranges. A launch computes every output row of the plan's tag.
 */
export interface LaunchInputs {
  arrays: ReadonlyMap<number, FloatArray>;
  M: number;
  N: number;
  dtype: FloatDtype;
  ranges?: Ranges;
  /**
   * Batch dimensions (absent: none): the launch computes one reduction per entry of `batch.shape`, M
   * and N being the sizes of one entry; an argument's entry starts at its offset from `batch.strides`
   * (0 on a broadcast dim). Outputs are (B…, rows, …). Never together with `ranges` (as KeOps).
   */
  batch?: BatchLayout;
}

/** The resolved options of one launch (checked by `CompiledKernel.run`, then by the backend's `check`). */
export interface LaunchRequest {
  code: CodeOptions;
  /** The accumulator the caller asked for (`dtypeAcc`; absent for 'auto'), which `code.accDtype`
   * resolves: a backend that picks its own dtype (webgpu, float32 only) refuses a float64 one. */
  dtypeAcc?: 'float32' | 'float64';
  /** cpu and cuda: fast math (default: the cpu backend's polynomial exp for float32; off on cuda). */
  fastMath?: boolean;
  /** cpu: register-blocked matrix products for long scalar products and square distances (default true). */
  gemm?: boolean;
  /** Threads for large problems (js, cpu). */
  threads: number;
  /** Receives the values output (checked: the dtype and the length of the first output). */
  out?: FloatArray;
  /** GPU backends: how the inputs are stored on the device. */
  storage?: Storage;
}

/** Whether a backend can run here, and if not, why not and how to fix it (one line). */
export type BackendStatus = { ok: true } | { ok: false; reason: string };

/**
 * The one interface of the backends. `CompiledKernel.run` checks the arguments and the options every
 * backend shares, asks the registry ({@link registerBackend}) for the backend, lets it `check` (and
 * resolve) the request, then calls `run`, which returns the outputs in plan order: values of the
 * inputs' dtype (the request's `out` array when given), indices int64.
 *
 * Batch dimensions are part of a launch (`inputs.batch`): every backend runs the whole batch in one
 * launch (the batch index is part of its grid). Distributed tiles plug in here too: a tile is a launch
 * over a row block and a reduction chunk.
 */
export interface KernelBackend {
  readonly name: BackendName;
  /** `run` returns a Promise (webgpu); callers that need the result at once refuse such a backend. */
  readonly async: boolean;
  /** Whether `run` takes `inputs.batch` (the whole batch in one launch); a run with batch dims on a
   * backend without it is refused. */
  readonly batch?: boolean;
  /** Whether it can run here. */
  status(): BackendStatus;
  /** Reject (InputError) what this backend cannot do and return the request it will run. */
  check?(inputs: LaunchInputs, request: LaunchRequest): LaunchRequest;
  /** Run the plan on the checked inputs: the outputs (values, then indices), or their Promise. */
  run(plan: KernelPlan, inputs: LaunchInputs, request: LaunchRequest): KernelOutput[] | Promise<KernelOutput[]>;
}
