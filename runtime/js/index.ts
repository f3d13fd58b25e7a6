import type { KernelPlan } from '../../src/lower/plan.js';
import { allocateOutputs, toKernelOutputs } from '../outputs.js';
import type { KernelOutput } from '../../src/api/types.js';
import type { CodeOptions } from '../../src/targets/common.js';
import type { Ranges } from '../ranges/index.js';
import { coarsenedFor } from '../ranges/index.js';
import { compileJs, type JsKernelFn } from './compile.js';
import { batchCount, batchOffsetTable, type BatchLayout } from '../batch/index.js';

/**
 * The parallel runner: registered by `./pool.ts` (worker_threads, Node only) when the Node entry point
 * loads it. Without it (e.g. in a browser bundle of the compiler) the JS backend runs on the calling
 * thread only, so this module has no Node-only import.
 */
export interface ParallelRunner {
  threads(): number;
  shared<T extends Float32Array | Float64Array | Int32Array>(a: T): T;
  run(source: string, fn: JsKernelFn, job: ParallelJob, threads: number): void;
}

/** A parallel run: output rows [0, rows) of each batch entry (one entry when `batch` is absent). */
export interface ParallelJob {
  A: unknown[];
  O: unknown[];
  M: number;
  N: number;
  R: unknown;
  rows: number;
  /** Batch dims: B entries; `offs[t * A.length + k]` is input k's base offset in entry t, and output o
   * of entry t starts at `t * outStride[o]`. */
  batch?: { B: number; offs: Float64Array; outStride: number[] };
}

/**
 * One chunk of a parallel run (the source is shared with the worker threads): chunk `c` is rows
 * [r0, r1) of batch entry ⌊c / chunks per entry⌋, run on views of that entry's inputs and outputs.
 */
export const CHUNK_SOURCE = `function runChunk(fn, job, chunk, c) {
  const cpb = Math.ceil(job.rows / chunk);
  const r0 = (c % cpb) * chunk, r1 = Math.min(job.rows, r0 + chunk);
  const b = job.batch;
  if (!b) return fn(job.A, job.O, job.M, job.N, r0, r1, job.R);
  const t = Math.floor(c / cpb), n = job.A.length;
  const A = job.A.map((a, k) => a && a.subarray(b.offs[t * n + k]));
  const O = job.O.map((o, k) => o.subarray(t * b.outStride[k], (t + 1) * b.outStride[k]));
  fn(A, O, job.M, job.N, r0, r1, null);
}`;
/** The number of chunks of a parallel run. */
export function chunkCount(job: ParallelJob, chunk: number): number {
  return (job.batch?.B ?? 1) * Math.ceil(job.rows / chunk);
}
let runner: ParallelRunner | undefined;
/** Install the parallel runner (called by runtime/js/pool.ts). */
export function setParallelRunner(r: ParallelRunner): void {
  runner = r;
}
/** The default thread count: the machine's cores when the worker pool is available, else 1. */
export function defaultThreads(): number {
  return runner ? runner.threads() : 1;
}

/** Tuning of the JS backend. `parallelMinPairs`: problems with fewer pairs run on the calling thread
 * (a thread hand-off costs about 0.1 ms); tests set it to 0 to exercise the pool on small data. */
export const JS_CONFIG = { parallelMinPairs: 1 << 18 };

/**
 * Run a kernel plan with generated JS. `arrays` holds the inputs by variable index (all of `dtype`);
 * `threads` (default: the machine's cores) applies to problems large enough to gain from it.
 * `out` optionally receives the values output (checked by the caller). Indices come back int64.
 */
export function runJs(
  plan: KernelPlan,
  inp: { arrays: ReadonlyMap<number, Float32Array | Float64Array>; M: number; N: number; dtype: 'float32' | 'float64'; ranges?: Ranges; batch?: BatchLayout },
  code: CodeOptions,
  threads = defaultThreads(),
  out?: Float32Array | Float64Array,
): KernelOutput[] {
  const { fn, source } = compileJs(plan, code);
  const rows = plan.tag === 0 ? inp.M : inp.N;
  const B = inp.batch ? batchCount(inp.batch) : 1;
  const outputs = allocateOutputs(plan, rows, inp.dtype, out, true, inp.batch?.shape);
  const R = inp.ranges ? coarsenedFor(inp.ranges, plan.tag) : null;
  const maxIndex = Math.max(-1, ...inp.arrays.keys());
  const A: (Float32Array | Float64Array | undefined)[] = Array.from({ length: maxIndex + 1 }, (_, k) => inp.arrays.get(k));
  const pairs = B * (R ? rows * 64 + (R.red.length ? estimatePairs(R) : 0) : rows * (plan.tag === 0 ? inp.N : inp.M));
  const nThreads = Math.max(1, Math.min(Math.floor(threads), B * rows));
  const batch = inp.batch && {
    B,
    offs: batchOffsetTable(inp.batch, A.map((_, k) => k)),
    outStride: outputs.map((o) => o.data.length / Math.max(1, B)),
  };
  if (!runner || nThreads === 1 || pairs < JS_CONFIG.parallelMinPairs) {
    if (!batch) fn(A, outputs.map((o) => o.data), inp.M, inp.N, 0, rows, R);
    else for (let c = 0; c < B; c++) runChunk(fn, { A, O: outputs.map((o) => o.data), M: inp.M, N: inp.N, R: null, rows, batch }, Math.max(1, rows), c);
    return toKernelOutputs(outputs, inp.dtype);
  }
  const { shared } = runner;
  const sA = A.map((a) => (a ? shared(a) : undefined));
  const sO = outputs.map((o) => shared(o.data));
  const sR = R ? { out: shared(R.out), slices: shared(R.slices), red: shared(R.red) } : null;
  runner.run(source, fn, { A: sA, O: sO, M: inp.M, N: inp.N, R: sR, rows, ...(batch ? { batch } : {}) }, nThreads);
  outputs.forEach((o, k) => {
    if (sO[k] !== o.data) o.data.set(sO[k]! as never);
  });
  return toKernelOutputs(outputs, inp.dtype);
}

/** Total pairs a ranges run visits (rows × their reduction lengths), to decide on threads. */
function estimatePairs(R: { out: Int32Array; slices: Int32Array; red: Int32Array }): number {
  let total = 0;
  for (let c = 0; c < R.out.length / 2; c++) {
    const la = c === 0 ? 0 : R.slices[c - 1]!;
    let len = 0;
    for (let l = la; l < R.slices[c]!; l++) len += R.red[2 * l + 1]! - R.red[2 * l]!;
    total += (R.out[2 * c + 1]! - R.out[2 * c]!) * len;
  }
  return total;
}

/** {@link CHUNK_SOURCE}, compiled for the calling thread. */
export const runChunk = new Function(`${CHUNK_SOURCE}; return runChunk;`)() as (fn: JsKernelFn, job: ParallelJob, chunk: number, c: number) => void;
