import { InputError, type SourceFile } from '../diagnostics/index.js';
import { runChunked, runChunkedSync, type ProgressCallback } from './chunked.js';
import { frontend, optimize, fail, lower, type PassHook } from '../passes/pipeline.js';
import { diag } from '../diagnostics/index.js';
import { kernelOutputs, type ArgInfo, type Kernel } from '../ir/kernel.js';
import { printKernel } from '../ir/print.js';
import { checkedRanges, type RangesInput } from '../../runtime/ranges/index.js';
import { prepareArgs, type ArgsInput, type ArrayInput, type FloatDtype } from './inputs.js';
import type { KernelPlan } from '../lower/plan.js';
import { gradientKernel, type GradientKernel } from './grad.js';
import { kernelSolve, type SolveOptions, type SolveResult } from './solve.js';
import { printJs } from '../targets/js.js';
import type { CodeOptions } from '../targets/common.js';
import { cppSource, type CppCodeOptions } from '../targets/cpp.js';
import { backendFor, checkStorage, registeredBackend } from './backends.js';
import type { WebGpuRunOptions } from '../../runtime/webgpu/index.js';
import { shapeText } from '../../runtime/batch/index.js';
import { BACKENDS, SUM_SCHEMES, type Backend, type SumScheme, type BackendName, type BatchLayout, type KernelOutput, type LaunchInputs, type LaunchRequest, type ResultKind, type ResultKindOf, type ResultOf, type RunResult } from './types.js';
import '../../runtime/ref/backend.js';
import '../../runtime/js/backend.js';
import '../../runtime/webgpu/backend.js';
import { printWgsl, type WgslCodeOptions, type WgslShader } from '../targets/wgsl.js';
import { defaultThreads } from '../../runtime/js/index.js';
import { checkOutAliasing, COMPILE_OPTIONS, normalizeOptions, RUN_OPTIONS } from './options.js';

/** Options of {@link compile} and {@link compileModule}. */
export interface CompileOptions {
  /** File name shown in diagnostics (default `<formula>`). */
  file?: string;
  /** Which kernel of a module {@link compile} returns (required when the text has several). */
  kernel?: string;
  /** Called after each stage with the kernel IR (`typecheck`, then each pass of the pipeline). */
  onPass?: PassHook;
  /** Every declared variable is an argument of every kernel, even where unused (set by
   * {@link compile} when it is given KeOps aliases: one array per alias, as KeOps). */
  allDeclaredAreArgs?: boolean;
}

// the names a run accepts live with the API's types (./types.ts), which `keopsc check` can load alone
export { BACKENDS, SUM_SCHEMES, type Backend, type SumScheme } from './types.js';
/** The backends whose `run` returns the result directly. */
export type SyncBackend = Exclude<Backend, 'webgpu'>;

/** Options of {@link CompiledKernel.run}. */
export interface RunOptions extends WebGpuRunOptions {
  /**
   * `cpu` (C++ generated from the kernel, compiled by the system compiler, cached on disk, run by the
   * native addon on a thread pool), `js` (generated JavaScript, worker threads for large problems),
   * `webgpu` (WGSL on the WebGPU adapter, float32 only; asynchronous: `await kernel.run(...)`),
   * `cuda` (CUDA C compiled by NVRTC, run through the driver API by the native addon),
   * `ref` (the float64 reference evaluator: slow, exact, the oracle of the tests) or `auto` (the
   * fastest CPU backend available: `cpu`, else `js` with a one-line notice saying why).
   */
  backend?: Backend;
  /** cpu backend: the vectorised polynomial exp in the inner loop (default: on for float32 only). */
  fastMath?: boolean;
  /**
   * cpu backend: compute scalar products and square distances of an i- and a j-vector of 64 or more
   * components as register-blocked matrix products, the square distance as ‖x‖² + ‖y‖² − 2⟨x, y⟩
   * (default true; see the README's "Matrix products" for its rounding). `false` keeps the direct
   * loop Σ (x_k − y_k)², whose error does not grow with ‖x‖² + ‖y‖².
   */
  gemm?: boolean;
  /** Block-sparse ranges (KeOps's 6 arrays, as a tuple or keyed by name). */
  ranges?: RangesInput;
  /**
   * How Sum-type reductions accumulate: `block` (default: partial sums of √N terms), `kahan`
   * (compensated) or `direct`. The log-sum-exp family always uses its stable online update.
   */
  sumScheme?: SumScheme;
  /** Accumulator type of Sum-type reductions: `float64` gives float32 data a double accumulator. */
  dtypeAcc?: 'auto' | 'float32' | 'float64';
  /** Threads for large problems (default: the machine's cores). Small problems use the calling thread. */
  threads?: number;
  /** A preallocated array that receives the values output (same dtype as the inputs, right length). */
  out?: Float32Array | Float64Array;
  /**
   * Called with (rows done, rows in all) as the run goes: the run is made of blocks of rows of about
   * 250 ms each (src/api/chunked.ts), with the same results as one piece.
   */
  onProgress?: ProgressCallback;
}

/**
 * `backend: 'distributed'`: the run is split into tiles for `keopsc worker` processes on a Redis (see
 * runtime/dist). Registered by the Node entry point; its options are `DistributedOptions`.
 */
export type DistributedRunner = (kernel: CompiledKernel, args: ArgsInput, options: object) => Promise<RunResult>;
let distributedRunner: DistributedRunner | undefined;
/** Install the runner of `backend: 'distributed'` (done by runtime/dist when the Node entry loads). */
export function registerDistributedRunner(run: DistributedRunner): void {
  distributedRunner = run;
}

export type { KernelOutput, RunResult } from './types.js';

/**
 * A compiled kernel: knows its arguments and output shapes, and runs on typed arrays.
 * Instances come from {@link compile} or {@link compileModule}; they are never half-built.
 * `R` is what its runs return: {@link compile} reads it from a literal formula ({@link ResultKindOf}),
 * so a kNN kernel's result has `indices` and a Sum's has `values` without `!`.
 */
export class CompiledKernel<R extends RunResult = RunResult> {
  /** The optimised kernel IR (after every pass). */
  readonly ir: Kernel;
  constructor(ir: Kernel) {
    this.ir = ir;
  }
  get name(): string {
    return this.ir.name;
  }
  /** The arrays the kernel takes, sorted by variable index. */
  get args(): readonly ArgInfo[] {
    return this.ir.args;
  }
  /** 0: output rows are indexed by i (reduce over j); 1: indexed by j. */
  get tag(): 0 | 1 {
    return this.ir.tag;
  }
  /** The output shapes for sizes M and N: (M, ...) for tag 0, (N, ...) for tag 1; with batch dims
   * `batchShape` in front: (B…, M, ...). */
  outputShapes(M: number, N: number, batchShape: readonly number[] = []): { name: 'values' | 'indices'; kind: 'float' | 'index'; shape: number[] }[] {
    const rows = this.ir.tag === 0 ? M : N;
    return kernelOutputs(this.ir).map((o) => ({ name: o.name, kind: o.kind, shape: [...batchShape, rows, ...o.rowShape] }));
  }
  /** Which outputs the kernel's runs return (from the reduction registry). */
  get resultKind(): ResultKind {
    const names = kernelOutputs(this.ir).map((o) => o.name);
    return names.length === 2 ? 'values+indices' : names[0] === 'indices' ? 'indices' : 'values';
  }
  /** The kernel as text: arguments, shared subexpressions and the reduction. */
  toString(): string {
    return printKernel(this.ir);
  }
  /**
   * Run the kernel. `args` by name (`{ x, y, b }`) or positional (in `args` order); each a Float32Array
   * or Float64Array (row-major) or `{ data, shape }`. Throws InputError on bad shapes, dtypes or ranges
   * (an asynchronous backend rejects its Promise instead).
   *
   * @example
   * ```ts
   * const { values } = k.run({ x, y, b });                                   // the fastest CPU backend
   * const r = k.run([x, y, b], { backend: 'js', sumScheme: 'kahan', threads: 2 });
   * const g = await k.run({ x, y, b }, { backend: 'webgpu' });             // float32 on the GPU
   * ```
   */
  run(args: ArgsInput, options: RunOptions & { backend: 'webgpu' }): Promise<R>;
  run(args: ArgsInput, options: Omit<RunOptions, 'backend'> & { backend: 'distributed'; redis: string; tiles?: string | number | readonly [number, number]; [option: string]: unknown }): Promise<R>;
  run(args: ArgsInput, options?: RunOptions & { backend?: SyncBackend }): R;
  run(args: ArgsInput, options?: RunOptions): R | Promise<R>;
  run(args: ArgsInput, opts: RunOptions | (Omit<RunOptions, 'backend'> & { backend: 'distributed' }) = {}): R | Promise<R> {
    // distributed runs check their own options (runtime/dist/coordinator.ts)
    if ((opts as { backend?: unknown } | null)?.backend === 'distributed') {
      if (!distributedRunner) return Promise.reject(new InputError(`backend 'distributed' needs Node.js (import keopsc, not keopsc/browser)`));
      return distributedRunner(this as CompiledKernel, args, opts as object) as Promise<R>;
    }
    let options = opts as RunOptions;
    // one validation of the options for every backend (an asynchronous one reports it through its Promise)
    const asked = (options as { backend?: unknown } | null)?.backend;
    try {
      options = normalizeOptions<RunOptions>(options, RUN_OPTIONS, 'run');
    } catch (e) {
      if (typeof asked === 'string' && registeredBackend(asked as BackendName)?.async) return Promise.reject(e as Error);
      throw e;
    }
    const name = options.backend ?? 'auto';
    if (!BACKENDS.includes(name)) throw new InputError(`unknown backend '${String(name)}'; this build has: ${BACKENDS.join(', ')}`);
    const resolved: BackendName = name === 'auto' ? (cpuAvailable() ? 'cpu' : 'js') : name;
    if (options.onProgress) return registeredBackend(resolved)?.async ? runChunked(this, args, options) : runChunkedSync(this, args, options);
    // an asynchronous backend reports every error (bad input included) through its Promise
    if (registeredBackend(resolved)?.async) return Promise.resolve().then(() => this.launch(resolved, name, args, options));
    return this.launch(resolved, name, args, options);
  }

  /**
   * One launch: check the arguments and the options every backend shares, then that the backend can run
   * here, let it check the request, run it and shape the result. `asked` is the name the caller gave.
   */
  private launch(name: BackendName, asked: string, args: ArgsInput, options: RunOptions): R | Promise<R> {
    const { inputs, request: shared } = this.prepareRun(args, options);
    // float16 storage: a known value and a backend that has it (before the backend is looked for)
    checkStorage(name, undefined, options.storage, asked);
    const found = backendFor(name);
    if (!found.ok) throw new InputError(`backend '${name}' is unavailable: ${found.reason}`);
    const b = found.backend;
    const request = b.check ? b.check(inputs, shared) : shared;
    request.storage = checkStorage(name, inputs.dtype, options.storage, asked);
    if (inputs.batch && !b.batch) throw new InputError(`backend '${name}' does not take batch dims (batch shape ${shapeText(inputs.batch.shape)}); use backend 'cpu', 'js', 'webgpu' or 'cuda'`);
    const outs = b.run(this.plan, inputs, request);
    return outs instanceof Promise ? outs.then((o) => this.toResult(o)) : this.toResult(outs);
  }

  /** The outputs as a result, with the `values` / `indices` shortcuts its kind promises. */
  private toResult(outputs: KernelOutput[]): R {
    const r: RunResult = { outputs };
    for (const o of outputs) {
      if (o.name === 'values') r.values = o;
      else r.indices = o;
    }
    return r as R;
  }

  /**
   * `run` for callers that need the result at once (Genred, LazyTensor, gradients, solvers): the
   * asynchronous `webgpu` backend is refused with a clear error naming `caller`.
   */
  runSync(args: ArgsInput, options: RunOptions = {}, caller = 'this call'): R {
    options = normalizeOptions<RunOptions>(options, RUN_OPTIONS, 'run');
    if (options.backend === 'webgpu') throw new InputError(`backend 'webgpu' is asynchronous and ${caller} is synchronous; use await kernel.run(args, { backend: 'webgpu' }) on a compiled kernel, or backend 'cpu' or 'js' here`);
    if ((options.backend as string) === 'distributed') throw new InputError(`backend 'distributed' is asynchronous and ${caller} is synchronous; use await kernel.run(args, { backend: 'distributed', redis }) on a compiled kernel or a gradient, or a local backend here`);
    return this.run(args, options as RunOptions & { backend?: SyncBackend });
  }

  /** Run on any backend and always get a Promise (what `webgpu` needs; the others resolve at once). */
  async runAsync(args: ArgsInput, options: RunOptions = {}): Promise<R> {
    return this.run(args, options);
  }

  /** Check the arguments and options of a run (shared by every backend). */
  private prepareRun(args: ArgsInput, options: RunOptions): { inputs: LaunchInputs; request: LaunchRequest } {
    const prep = prepareArgs(this.ir, args);
    const code = this.codeOptions(options, prep.dtype);
    const threads = options.threads ?? defaultThreads();
    if (!Number.isInteger(threads) || threads < 1) throw new InputError(`threads must be a positive integer, got ${String(options.threads)}`);
    if (options.ranges !== undefined && prep.batch) {
      throw new InputError(`ranges cannot be combined with batch dims (batch shape ${shapeText(prep.batch.shape)}): KeOps does not support user ranges in batch mode; run each batch entry with its ranges, or drop the batch dims`);
    }
    const ranges = options.ranges === undefined ? undefined : checkedRanges(options.ranges, prep.M, prep.N);
    const out = options.out === undefined ? undefined : this.checkOut(options.out, prep);
    checkOutAliasing(out, prep.arrays, new Map(this.args.map((a) => [a.index, a.name])));
    const inputs: LaunchInputs = { arrays: prep.arrays, M: prep.M, N: prep.N, dtype: prep.dtype, ranges };
    if (prep.batch) inputs.batch = prep.batch;
    const dtypeAcc = options.dtypeAcc === 'auto' ? undefined : options.dtypeAcc;
    return { inputs, request: { code, fastMath: options.fastMath, ...(options.gemm === undefined ? {} : { gemm: options.gemm }), threads, out, ...(dtypeAcc ? { dtypeAcc } : {}) } };
  }

  /** The WGSL shader the webgpu backend runs (see `keopsc compile --target wgsl`). */
  wgslSource(opts: Partial<WgslCodeOptions> = {}): WgslShader {
    return printWgsl(this.plan, opts);
  }

  /** The C++ source the cpu backend compiles for these options (see `keopsc compile --target cpp`). */
  cppSource(opts: CppCodeOptions): string {
    return cppSource(this.plan, opts);
  }

  /** Resolve the code options as a run would (for `keopsc compile --target`). */
  codeOptionsFor(options: Pick<RunOptions, 'sumScheme' | 'dtypeAcc'>, dtype: 'float32' | 'float64'): CodeOptions {
    return this.codeOptions(options, dtype);
  }

  private planCache?: KernelPlan;

  /**
   * The gradient of this reduction with respect to argument `name`, as a kernel that takes this
   * kernel's arguments plus the gradient input `e` (named `eName`, default `e`) of the output's
   * shape. Available for Sum, LogSumExp and SumSoftMaxWeight reductions (as KeOps).
   */
  grad(name: string, eName?: string): GradientKernel {
    return gradientKernel(this, (ir) => new CompiledKernel(ir), name, eName);
  }

  /**
   * Solve (alpha·Id + K) a = b by conjugate gradient, where K·v is this Sum reduction with argument
   * `varName` replaced by v; `args` are the other arguments (KeOps's KernelSolve).
   */
  solve(varName: string, args: Readonly<Record<string, ArrayInput>>, b: ArrayInput, options: SolveOptions & { backend: 'webgpu' }): Promise<SolveResult>;
  solve(varName: string, args: Readonly<Record<string, ArrayInput>>, b: ArrayInput, options?: SolveOptions): SolveResult;
  solve(varName: string, args: Readonly<Record<string, ArrayInput>>, b: ArrayInput, options?: SolveOptions): SolveResult | Promise<SolveResult> {
    return kernelSolve(this, varName, args, b, options);
  }

  /** The lowered plan (shared by every code generator). */
  get plan(): KernelPlan {
    return (this.planCache ??= lower(this.ir));
  }

  /** The JS source generated for these options (what `backend: 'js'` runs). */
  jsSource(options: { dtype?: 'float32' | 'float64'; sumScheme?: SumScheme; dtypeAcc?: 'auto' | 'float32' | 'float64' } = {}): string {
    return printJs(this.plan, this.codeOptions(options, options.dtype ?? 'float64'));
  }

  /** Resolve and check the code options against the reduction and the dtype (KeOps's rules). */
  private codeOptions(options: Pick<RunOptions, 'sumScheme' | 'dtypeAcc'>, dtype: 'float32' | 'float64'): CodeOptions {
    const red = this.ir.reduction;
    const scheme = options.sumScheme ?? 'auto';
    if (!SUM_SCHEMES.includes(scheme)) throw new InputError(`unknown sumScheme '${String(scheme)}'; use one of ${SUM_SCHEMES.join(', ')}`);
    if (scheme !== 'auto' && scheme !== 'direct' && !red.sumLike) throw new InputError(`sumScheme '${scheme}' applies to Sum-type reductions only, not ${red.name}; use 'direct' or leave it out`);
    if (scheme === 'kahan' && red.name !== 'Sum') throw new InputError(`sumScheme 'kahan' applies to Sum_Reduction only; ${red.name} uses a stable online update`);
    const acc = options.dtypeAcc ?? 'auto';
    if (acc !== 'auto' && acc !== 'float32' && acc !== 'float64') throw new InputError(`dtypeAcc must be 'auto', 'float32' or 'float64', got '${String(acc)}'`);
    if (acc !== 'auto' && !red.sumLike) throw new InputError(`dtypeAcc applies to Sum-type reductions only, not ${red.name}`);
    if (acc === 'float32' && dtype === 'float64') throw new InputError(`dtypeAcc 'float32' cannot accumulate float64 data; use 'float64' or leave it out`);
    return { dtype, sumScheme: scheme === 'auto' ? (red.name === 'Sum' ? 'block' : 'direct') : scheme === 'block' && red.name !== 'Sum' ? 'direct' : scheme, accDtype: acc === 'auto' ? dtype : acc };
  }

  private checkOut(out: unknown, prep: { dtype: FloatDtype; M: number; N: number; batch?: BatchLayout }): Float32Array | Float64Array {
    const first = this.outputShapes(prep.M, prep.N, prep.batch?.shape)[0]!;
    if (first.kind !== 'float') throw new InputError(`out= receives the values output, but ${this.ir.reduction.name} returns only indices`);
    const Want = prep.dtype === 'float32' ? Float32Array : Float64Array;
    const size = first.shape.reduce((a, b) => a * b, 1);
    if (!(out instanceof Want)) throw new InputError(`out must be a ${Want.name} (the inputs are ${prep.dtype})`);
    if (out.length !== size) throw new InputError(`out has ${out.length} values but the output has shape (${first.shape.join(', ')}) = ${size} values`);
    return out;
  }
}

let cpuChecked: boolean | undefined;
/** Whether `auto` can use the cpu backend (checked once per process; says why not, once, on stderr;
 * silent in a browser build, where the js backend is the only CPU backend). */
function cpuAvailable(): boolean {
  if (cpuChecked === undefined) {
    const s = backendFor('cpu');
    cpuChecked = s.ok;
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
    if (!s.ok && env && !env.KEOPSC_QUIET) console.warn(`keopsc: the cpu backend is unavailable (${s.reason}); using the js backend`);
  }
  return cpuChecked;
}

/** A compiled module: every kernel of a `.keo` text. */
export interface CompiledModule {
  kernels: CompiledKernel[];
  source: SourceFile;
  /** The kernel with this name; throws a KEO2010 diagnostic error listing the names otherwise. */
  kernel(name: string): CompiledKernel;
}

/**
 * Compile every kernel of a `.keo` module (or formula string). Throws KeopsError on any user error.
 *
 * @example
 * ```ts
 * const mod = compileModule(readFileSync('kernels.keo', 'utf8'), { file: 'kernels.keo' });
 * for (const k of mod.kernels) console.log(k.name, k.args.map((a) => a.name));
 * const gauss = mod.kernel('gauss');
 * ```
 */
export function compileModule(source: string, options: CompileOptions = {}): CompiledModule {
  options = normalizeOptions<CompileOptions>(options, COMPILE_OPTIONS, 'compile');
  if (typeof source !== 'string') throw new InputError(`compile: the source must be a string (a .keo text or a reduction formula), got ${source === null ? 'null' : typeof source}`);
  const { program, source: src } = frontend(source, options.file, { allDeclaredAreArgs: options.allDeclaredAreArgs });
  const kernels = program.kernels.map((k) => new CompiledKernel(optimize(k, options.onPass)));
  return {
    kernels,
    source: src,
    kernel(name: string): CompiledKernel {
      const k = kernels.find((c) => c.name === name);
      if (!k) throw fail([diag('KernelNotFound', `no kernel named '${name}'; this file has ${kernels.map((c) => c.name).join(', ')}`)], src);
      return k;
    },
  };
}

/**
 * Compile one kernel from a `.keo` text or a single reduction string, e.g.
 * `compile('Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)', ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)'])`.
 * `aliases` are KeOps-style declarations (`name = Vi(dim)` takes its position in the list as index).
 * Throws KeopsError with every diagnostic when the text is invalid. For a literal text the kernel's
 * result type follows its reduction ({@link ResultKindOf}): `compile('ArgKMin_Reduction(...)', ...)`
 * runs to a result whose `indices` is always there.
 *
 * @example
 * ```ts
 * const k = compile(`
 *   x = Vi(0, 3); y = Vj(1, 3); b = Vj(2, 1)
 *   gauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)`);
 * const { values } = k.run({ x: { data: xs, shape: [M, 3] }, y: ys, b: bs });   // values.shape = [M, 1]
 * const k2 = compile('Sum_Reduction(SqNorm2(x - y), 1)', ['x = Vi(3)', 'y = Vj(3)']);
 * ```
 */
export function compile<S extends string>(source: S, aliasesOrOptions?: readonly string[] | CompileOptions, maybeOptions: CompileOptions = {}): CompiledKernel<ResultOf<ResultKindOf<S>>> {
  const aliases = Array.isArray(aliasesOrOptions) ? (aliasesOrOptions as readonly string[]) : undefined;
  const options = normalizeOptions<CompileOptions>(aliases ? maybeOptions : aliasesOrOptions, COMPILE_OPTIONS, 'compile');
  const text = aliases ? `${aliasesToDeclarations(aliases).join('\n')}\n${source}` : source;
  const mod = compileModule(text, aliases ? { ...options, allDeclaredAreArgs: true } : options);
  if (options.kernel) return mod.kernel(options.kernel) as CompiledKernel<ResultOf<ResultKindOf<S>>>;
  if (mod.kernels.length > 1) {
    throw fail([diag('AmbiguousKernel', `this text has ${mod.kernels.length} kernels (${mod.kernels.map((k) => k.name).join(', ')}); say which one with { kernel: NAME }`)], mod.source);
  }
  return mod.kernels[0]! as CompiledKernel<ResultOf<ResultKindOf<S>>>;
}

/**
 * KeOps aliases to `.keo` declarations: `x = Vi(3)` at list position k becomes `x = Vi(k, 3)`;
 * `x = Vi(k, 3)` and `x = Var(k, 3, 0)` are kept; a bare `Vi(k, 3)` gets a placeholder name.
 */
export function aliasesToDeclarations(aliases: readonly string[]): string[] {
  return aliases.map((a, k) => {
    if (/[\n;#]/.test(a)) throw new InputError(`alias ${JSON.stringify(a)} must be a single declaration like "x = Vi(3)"`);
    const short = /^\s*([A-Za-z_]\w*)\s*=\s*(Vi|Vj|Pm|Vx|Vy)\s*\(\s*(\d+)\s*\)\s*$/.exec(a);
    if (short) return `${short[1]} = ${short[2]}(${k}, ${short[3]})`;
    if (/^\s*(Vi|Vj|Pm|Vx|Vy|Var)\s*\(/.test(a)) return `_alias${k} = ${a.trim()}`;
    return a.trim();
  });
}
