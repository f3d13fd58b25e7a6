/**
 * Strict options: the one validation path for every options object of the API (compile options, run
 * options, Genred and KernelSolve constructor options, LazyTensor reductions, solve, gradient kernels).
 *
 * - An unknown key is an InputError naming the key and the nearest known one.
 * - KeOps's snake_case spellings are accepted with KeOps's meaning (`dtype_acc`, `use_double_acc`,
 *   `sum_scheme: 'block_sum' | 'kahan_scheme' | 'direct_sum'`, `use_fast_math`,
 *   `backend: 'CPU' | 'GPU' | 'GPU_1D' | 'GPU_2D'`, `reduction_op`, `opt_arg`, `varinvalias`...) and
 *   rewritten to keopsc's names; giving both spellings of one option is an error.
 * - KeOps options with no keopsc equivalent (`enable_chunks`, `rec_multVar_highdim`, `optional_flags`,
 *   `dtype`, `device_id` where it cannot be honoured) are refused with the reason, never dropped.
 * - `null`, wrong types and out-of-range values give the same one-line InputError on every backend.
 *
 * Checks that need the inputs (the `out` array's length and dtype, `out` sharing memory with an
 * input, ranges against M and N) are in {@link checkOutAliasing} and the run itself.
 */
import { InputError } from '../diagnostics/index.js';
import { backendFor } from './backends.js';
import type { CompileOptions, RunOptions } from './compile.js';
import type { SolveOptions } from './solve.js';

/** Backends a kernel can run on (keopsc's names). */
export const BACKEND_NAMES = ['ref', 'js', 'cpu', 'cuda', 'webgpu', 'auto'] as const;
/** Summation schemes (keopsc's names). */
export const SUM_SCHEME_NAMES = ['auto', 'block', 'kahan', 'direct'] as const;
/** The most threads a run may ask for (the native addon's limit, applied on every backend). */
export const MAX_THREADS = 1024;

/** What a checker gets: the value, where it is (for messages), and the object being built. */
type Checker = (value: unknown, ctx: { key: string; where: string }) => unknown;

/** One known option: how to check it, and a few words for the error message of a wrong value. */
interface OptionDef {
  check: Checker;
}

/** A KeOps spelling: the keopsc key it sets, and how its value translates (default: unchanged). */
interface AliasDef {
  to: string;
  value?: (v: unknown, ctx: { key: string; where: string }) => unknown;
}

/** A KeOps option keopsc refuses, with the reason (or a function deciding, for `device_id`). */
type Refusal = string | ((v: unknown) => string | undefined);

/** A family of options: the keys it knows, the KeOps aliases, the refused KeOps keys. */
export interface OptionSet {
  /** What the object is, for messages (`run options`, `Genred options`, ...). */
  readonly what: string;
  readonly keys: Readonly<Record<string, OptionDef>>;
  readonly aliases: Readonly<Record<string, AliasDef>>;
  readonly refused: Readonly<Record<string, Refusal>>;
}

/** KeOps's backends: `CPU` is keopsc's `cpu`; `GPU`, `GPU_1D`, `GPU_2D` (and `_host`) are `cuda`. */
export type KeopsBackend = 'CPU' | 'GPU' | 'GPU_1D' | 'GPU_2D' | 'GPU_host' | 'GPU_1D_host' | 'GPU_2D_host';

/** KeOps's spellings of run options, accepted with KeOps's meaning (see the porting guide). */
export interface KeopsSpellings {
  /** `dtypeAcc`. */
  dtype_acc?: 'auto' | 'float32' | 'float64';
  /** `true` is `dtypeAcc: 'float64'` (giving both is an error, as in KeOps). */
  use_double_acc?: boolean;
  /** `sumScheme`: `block_sum` is `block`, `kahan_scheme` is `kahan`, `direct_sum` is `direct`. */
  sum_scheme?: 'auto' | 'block_sum' | 'kahan_scheme' | 'direct_sum';
  /** `fastMath`. */
  use_fast_math?: boolean;
  /** Accepted when it names the CUDA device in use (or -1); refused otherwise, with the reason. */
  device_id?: number;
}

// ---- value checkers -------------------------------------------------------------------------------

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return typeof v;
}

const oneOf =
  (values: readonly string[]): Checker =>
  (v, { key, where }) => {
    const list = values.map((s) => `'${s}'`).join(', ');
    if (typeof v === 'string' && !values.includes(v)) throw new InputError(`${where}: unknown ${key} '${v}'; use one of ${list}`);
    if (typeof v !== 'string') throw new InputError(`${where}: ${key} must be one of ${list}, got ${describe(v)}`);
    return v;
  };

const bool: Checker = (v, { key, where }) => {
  if (typeof v !== 'boolean') throw new InputError(`${where}: ${key} must be true or false, got ${describe(v)}`);
  return v;
};

const positiveNumber =
  (min: number, inclusive: boolean): Checker =>
  (v, { key, where }) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (inclusive ? v < min : v <= min)) throw new InputError(`${where}: ${key} must be a finite number ${inclusive ? '>=' : '>'} ${min}, got ${describe(v)}`);
    return v;
  };

const intIn =
  (lo: number, hi: number): Checker =>
  (v, { key, where }) => {
    const range = lo === 1 ? `a positive integer${hi < Number.MAX_SAFE_INTEGER ? ` (at most ${hi})` : ''}` : `an integer from ${lo} to ${hi}`;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new InputError(`${where}: ${key} must be ${range}, got ${describe(v)}`);
    return v;
  };

const string: Checker = (v, { key, where }) => {
  if (typeof v !== 'string') throw new InputError(`${where}: ${key} must be a string, got ${describe(v)}`);
  return v;
};

const func: Checker = (v, { key, where }) => {
  if (typeof v !== 'function') throw new InputError(`${where}: ${key} must be a function, got ${describe(v)}`);
  return v;
};

const floatArray: Checker = (v, { key, where }) => {
  if (!(v instanceof Float32Array || v instanceof Float64Array)) throw new InputError(`${where}: ${key} must be a Float32Array or Float64Array, got ${describe(v)}`);
  return v;
};

/** Ranges: a tuple of 6 arrays or an object keyed by name; the contents are checked by the run. */
const rangesValue: Checker = (v, { key, where }) => {
  if (typeof v !== 'object' || v === null) throw new InputError(`${where}: ${key} must be KeOps's 6 arrays (a list, or an object with ranges_i, slices_i, redranges_j, ranges_j, slices_j, redranges_i), got ${describe(v)}`);
  return v;
};

const axisValue: Checker = (v, { key, where }) => {
  if (v !== 0 && v !== 1) throw new InputError(`${where}: ${key} must be 0 (reduce over i) or 1 (reduce over j), got ${describe(v)}`);
  return v;
};

// ---- KeOps spellings ------------------------------------------------------------------------------

const KEOPS_SUM_SCHEMES: Readonly<Record<string, string>> = { auto: 'auto', block_sum: 'block', kahan_scheme: 'kahan', direct_sum: 'direct' };

/** KeOps's backend names to keopsc's: `CPU` is `cpu`; every GPU form is `cuda` (KeOps's grid is 1-D). */
function keopsBackend(v: unknown, { key, where }: { key: string; where: string }): unknown {
  if (typeof v !== 'string') return v; // the backend checker says what is wrong
  if ((BACKEND_NAMES as readonly string[]).includes(v)) return v;
  if (v === 'CPU') return 'cpu';
  const gpu = /^GPU(_1D|_2D)?(_host|_device)?$/.exec(v);
  if (!gpu) return v;
  if (gpu[2] === '_device') throw new InputError(`${where}: ${key} '${v}' means arrays already on the GPU, which keopsc's API does not take (it takes host typed arrays); use 'GPU' (copies to the GPU and back, as KeOps's '_host')`);
  const cuda = backendFor('cuda');
  if (!cuda.ok) throw new InputError(`${where}: ${key} '${v}' (KeOps) is keopsc's 'cuda' backend, which is unavailable here: ${cuda.reason}; use 'CPU' (or 'cpu'), or 'webgpu' for another GPU`);
  return 'cuda';
}

function keopsSumScheme(v: unknown, { key, where }: { key: string; where: string }): unknown {
  if (typeof v === 'string' && v in KEOPS_SUM_SCHEMES) return KEOPS_SUM_SCHEMES[v];
  throw new InputError(`${where}: ${key} must be one of ${Object.keys(KEOPS_SUM_SCHEMES).map((s) => `'${s}'`).join(', ')} (KeOps's names; keopsc's sumScheme takes ${SUM_SCHEME_NAMES.map((s) => `'${s}'`).join(', ')}), got ${describe(v)}`);
}

function useDoubleAcc(v: unknown, { key, where }: { key: string; where: string }): unknown {
  if (typeof v !== 'boolean') throw new InputError(`${where}: ${key} must be true or false, got ${describe(v)}`);
  return v ? 'float64' : 'auto';
}

/** `device_id`: honoured when it names the CUDA device keopsc uses; refused otherwise, with the reason. */
function deviceId(v: unknown): string | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -1) return `device_id must be an integer >= -1, got ${describe(v)}`;
  const cuda = backendFor('cuda');
  if (!cuda.ok) return `device_id selects a CUDA device, and the cuda backend is unavailable here (${cuda.reason})`;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
  const current = Number(env.KEOPSC_CUDA_DEVICE ?? 0);
  if (v === -1 || v === current) return undefined;
  return `keopsc runs on CUDA device ${current} (set KEOPSC_CUDA_DEVICE=${v} before the first run to use device ${v})`;
}

// ---- the option families --------------------------------------------------------------------------

// Each table is typed by the options interface it checks: a key added to RunOptions (or SolveOptions,
// CompileOptions) fails the type check until it has a checker here.
const RUN_KEYS: { [K in keyof Required<RunOptions>]: OptionDef } = {
  // KeOps's backend names ('CPU', 'GPU', ...) are translated first (the key is the same)
  backend: { check: (v, ctx) => oneOf(BACKEND_NAMES)(keopsBackend(v, ctx), ctx) },
  fastMath: { check: bool },
  gemm: { check: bool },
  ranges: { check: rangesValue },
  sumScheme: { check: oneOf(SUM_SCHEME_NAMES) },
  dtypeAcc: { check: oneOf(['auto', 'float32', 'float64']) },
  threads: { check: intIn(1, MAX_THREADS) },
  out: { check: floatArray },
  onProgress: { check: func },
  storage: {
    // the same words as the backends' float16 check (checkStorage), which decides per backend later
    check: (v, { key, where }) => {
      if (v !== 'float32' && v !== 'float16') throw new InputError(`${where}: ${key} must be 'float32' or 'float16', got ${typeof v === 'string' ? `'${v}'` : describe(v)}`);
      return v;
    },
  },
};

const RUN_ALIASES: Record<string, AliasDef> = {
  dtype_acc: { to: 'dtypeAcc' },
  use_double_acc: { to: 'dtypeAcc', value: useDoubleAcc },
  sum_scheme: { to: 'sumScheme', value: keopsSumScheme },
  use_fast_math: { to: 'fastMath' },
  fast_math: { to: 'fastMath' },
};

const NO_CHUNKS = "KeOps's chunked GPU mode for high dimensions has no keopsc equivalent (keopsc's kernels need no chunking switch); leave it out";
const RUN_REFUSED: Record<string, Refusal> = {
  enable_chunks: NO_CHUNKS,
  rec_multVar_highdim: NO_CHUNKS,
  multVar_highdim: NO_CHUNKS,
  optional_flags: "it passes raw compiler flags to KeOps's build, which keopsc does not take (the cpu backend reads $CXX; fastMath and sumScheme are the supported switches); leave it out",
  device_id: deviceId,
  dtype: 'the dtype follows the input arrays in keopsc (Float32Array or Float64Array); convert the arrays instead',
  cuda_type: 'the dtype follows the input arrays in keopsc (Float32Array or Float64Array); convert the arrays instead',
  nbatchdims: 'batch dimensions are not supported yet; run one batch at a time',
};

/** `kernel.run`, LazyTensor reductions, Genred calls, gradient kernels. */
export const RUN_OPTIONS: OptionSet = { what: 'run options', keys: RUN_KEYS, aliases: RUN_ALIASES, refused: RUN_REFUSED };

const { out: _out, ...RUN_KEYS_BUT_OUT } = RUN_KEYS;
const SOLVE_KEYS: { [K in keyof Required<SolveOptions>]: OptionDef } = {
  ...RUN_KEYS_BUT_OUT,
  alpha: { check: positiveNumber(0, true) },
  eps: { check: positiveNumber(0, false) },
  maxIter: { check: intIn(1, Number.MAX_SAFE_INTEGER) },
};

/** `kernel.solve`, LazyTensor `solve`, a KernelSolve call. */
export const SOLVE_OPTIONS: OptionSet = { what: 'solve options', keys: SOLVE_KEYS, aliases: { ...RUN_ALIASES, max_iter: { to: 'maxIter' } }, refused: { ...RUN_REFUSED, out: 'a solve returns its solution in a new array (out= is for kernel runs)' } };

/** The `KernelSolve(...)` constructor: pykeops's `axis` plus default solve options. */
export const KERNEL_SOLVE_OPTIONS: OptionSet = { what: 'KernelSolve options', keys: { ...SOLVE_KEYS, axis: { check: axisValue } }, aliases: SOLVE_OPTIONS.aliases, refused: SOLVE_OPTIONS.refused };

/** The `Genred(...)` constructor: pykeops's keywords plus default run options. */
export const GENRED_OPTIONS: OptionSet = {
  what: 'Genred options',
  keys: {
    ...RUN_OPTIONS.keys,
    reduction: { check: string },
    axis: { check: axisValue },
    optArg: { check: (v) => v }, // checked with the reduction (reductionString)
    formula2: { check: string },
  },
  aliases: { ...RUN_ALIASES, reduction_op: { to: 'reduction' }, opt_arg: { to: 'optArg' } },
  refused: RUN_REFUSED,
};

/** `compile` and `compileModule`. */
export const COMPILE_OPTIONS: OptionSet = {
  what: 'compile options',
  keys: { file: { check: string }, kernel: { check: string }, onPass: { check: func }, allDeclaredAreArgs: { check: bool } } satisfies { [K in keyof Required<CompileOptions>]: OptionDef },
  aliases: {},
  refused: {
    ...Object.fromEntries(Object.keys(RUN_KEYS).map((k) => [k, `${k} is a run option: pass it to kernel.run(args, { ${k} })`])),
  },
};

// ---- the one validation path ------------------------------------------------------------------------

/** Levenshtein distance, case-insensitive and blind to `_` (so `sum_scheme` is near `sumScheme`). */
function distance(a: string, b: string): number {
  const s = a.toLowerCase().replace(/_/g, ''), t = b.toLowerCase().replace(/_/g, '');
  let prev = Array.from({ length: t.length + 1 }, (_, k) => k);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[t.length]!;
}

/** The known key nearest to `key` (the option's keopsc name when the nearest is a KeOps alias). */
export function nearestKey(key: string, set: OptionSet): string {
  const names = [...Object.keys(set.keys), ...Object.keys(set.aliases)];
  let best = names[0]!;
  for (const n of names) if (distance(key, n) < distance(key, best)) best = n;
  return best;
}

/**
 * Check an options object against `set` and return it with KeOps's spellings rewritten to keopsc's
 * (a new object; the input is not changed). `undefined` is `{}`. Throws a one-line InputError, that
 * starts with `where`, on anything else than a plain object, an unknown or refused key, a key given
 * in both spellings, or a wrong value.
 */
export function normalizeOptions<T extends object>(raw: unknown, set: OptionSet, where: string): T {
  if (raw === undefined) return {} as T;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || ArrayBuffer.isView(raw)) {
    const hint = typeof raw === 'string' && (BACKEND_NAMES as readonly string[]).includes(raw) ? `; write { backend: '${raw}' }` : '';
    throw new InputError(`${where}: ${set.what} must be an object such as { backend: 'cpu' }, got ${describe(raw)}${hint}`);
  }
  const out: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue; // { ranges: undefined } is "not given", as in a spread of defaults
    const ctx = { key, where };
    let target = key;
    let v: unknown = value;
    if (key in set.keys) {
      // known
    } else if (key in set.aliases) {
      const a = set.aliases[key]!;
      target = a.to;
      v = a.value ? a.value(value, ctx) : value;
    } else if (key in set.refused) {
      const r = set.refused[key]!;
      const reason = typeof r === 'string' ? r : r(value);
      if (reason !== undefined) throw new InputError(`${where}: option ${key} is not supported: ${reason}`);
      continue; // honoured as it is (device_id naming the device in use)
    } else {
      const near = nearestKey(key, set);
      const alias = set.aliases[near];
      throw new InputError(`${where}: unknown option '${key}'; did you mean '${near}'${alias ? ` (keopsc: ${alias.to})` : ''}? Known: ${Object.keys(set.keys).join(', ')}`);
    }
    if (target in from) throw new InputError(`${where}: ${from[target]} and ${key} set the same option (${target}); give one of them`);
    if (v === null) throw new InputError(`${where}: ${key} is null; leave the option out for its default`);
    out[target] = set.keys[target]!.check(v, { key, where });
    from[target] = key;
  }
  return out as T;
}

/** Whether two typed arrays share memory (any overlap of their byte ranges). */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * `out` must not share memory with an input (the kernel reads the inputs while it writes): refused on
 * every backend with the same message. `names` gives the inputs' names by variable index.
 */
export function checkOutAliasing(out: ArrayBufferView | undefined, arrays: ReadonlyMap<number, ArrayBufferView>, names: ReadonlyMap<number, string>): void {
  if (!out) return;
  for (const [index, a] of arrays) {
    if (overlaps(out, a)) throw new InputError(`out shares memory with the input ${names.get(index) ?? `#${index}`}; pass a separate array (the kernel reads the inputs while it writes out)`);
  }
}
