import type { KernelPlan } from '../../src/lower/plan.js';
import { allocateOutputs } from '../outputs.js';
import type { KernelOutput } from '../../src/api/types.js';
import type { Ranges } from '../ranges/index.js';
import { coarsenedFor, keepsEveryPair } from '../ranges/index.js';
import { addonStatus, requireAddon, type KernelHandle, type NativeRanges, type NativeRunArgs } from '../native/addon.js';
import { batchArgs, type BatchLayout } from '../batch/index.js';
import { findCompiler, loadCompiled, type CompileOptions, type Compiler } from './compiler.js';

export { addonCandidates, addonStatus, loadAddon, requireAddon } from '../native/addon.js';
export type { KernelHandle, NativeAddon, NativeKernelInfo, NativeRanges, NativeRunArgs } from '../native/addon.js';
export {
  cacheClear,
  cacheDir,
  cacheKey,
  cacheList,
  cacheStats,
  compileKernel,
  compileKernelDetailed,
  cpuModel,
  DEFAULT_FLAGS,
  findCompiler,
  loadCompiled,
  sweepTemps,
  TEMP_MAX_AGE_MS,
} from './compiler.js';
export type { CacheEntry, CompileOptions, CompileResult, Compiler } from './compiler.js';

/** Tuning of the CPU backend. `minParallelPairs`: problems with fewer (row, index) pairs run on the
 * calling thread; tests set it to 0 to exercise the pool on small data. */
export const CPU_CONFIG = { minParallelPairs: 100_000 };

/** Whether the CPU backend can run here: the addon loads and a C++ compiler runs; else why not. */
export function cpuStatus(): { ok: true; compiler: Compiler } | { ok: false; reason: string } {
  const a = addonStatus();
  if (!a.addon) return { ok: false, reason: a.reason ?? 'the native addon is unavailable' };
  const compiler = findCompiler();
  if (!compiler) return { ok: false, reason: 'no C++ compiler found (set $CXX, or install g++ or clang++)' };
  return { ok: true, compiler };
}

/**
 * Run a loaded kernel: the addon checks every array against the kernel's info (TypeError/RangeError)
 * before running it on `threads` threads (the calling thread included). `inputs` by variable index;
 * `outputs` one array per output (values of the dtype, BigInt64Array for indices), filled in place.
 * Returns the number of threads used.
 */
export function runCompiled(
  handle: KernelHandle,
  inputs: readonly (Float32Array | Float64Array | undefined)[],
  outputs: readonly (Float32Array | Float64Array | BigInt64Array)[],
  M: number,
  N: number,
  ranges: NativeRanges | undefined,
  threads: number,
  batch?: BatchLayout,
): number {
  const args: NativeRunArgs = { inputs, outputs, M, N, ranges, threads, minParallelPairs: CPU_CONFIG.minParallelPairs };
  return requireAddon().run(handle, batch ? { ...args, ...batchArgs(batch, inputs.length) } : args);
}

/**
 * Run a kernel plan with compiled C++ (the same shape as runJs, with the C++ source of the plan —
 * printCpp's output — in place of the JS code options). The source is compiled once per machine (on-disk
 * cache) and loaded once per process. `out` optionally receives the values output (checked by the caller).
 */
export function runCpu(
  plan: KernelPlan,
  inp: { arrays: ReadonlyMap<number, Float32Array | Float64Array>; M: number; N: number; dtype: 'float32' | 'float64'; ranges?: Ranges; batch?: BatchLayout },
  source: string,
  threads: number,
  out?: Float32Array | Float64Array,
  compile: CompileOptions = {},
): KernelOutput[] {
  const handle = loadCompiled(source, compile);
  const rows = plan.tag === 0 ? inp.M : inp.N;
  const outputs = allocateOutputs(plan, rows, inp.dtype, out, false, inp.batch?.shape);
  const maxIndex = Math.max(-1, ...inp.arrays.keys());
  const A = Array.from({ length: maxIndex + 1 }, (_, k) => inp.arrays.get(k));
  const C = inp.ranges ? coarsenedFor(inp.ranges, plan.tag) : undefined;
  // ranges that keep every pair in the dense order run the dense kernel: the same values, bit for bit
  const R = C && !keepsEveryPair(C, rows, plan.tag === 0 ? inp.N : inp.M) ? C : undefined;
  runCompiled(
    handle,
    A,
    outputs.map((o) => o.data),
    inp.M,
    inp.N,
    R,
    threads,
    inp.batch,
  );
  return outputs;
}
