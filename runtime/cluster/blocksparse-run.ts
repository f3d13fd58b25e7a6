/**
 * Running a kernel block-sparse on arrays in their **original** order: the i- and j-arguments are
 * sorted with the clustering's permutations, the kernel runs with its ranges, and the outputs come
 * back in the original row order (reduction indices as original indices). This is what
 * `BlockSparse.run` (from {@link blockSparseRanges}) and `keopsc run --cluster DIR` do, so that no
 * argument can be left in the wrong order.
 * @module
 */
import { InputError } from '../../src/diagnostics/diagnostic.js';
import type { ArgInfo } from '../../src/ir/kernel.js';
import type { ArgsInput, ArrayInput } from '../../src/api/inputs.js';
import type { RunOptions } from '../../src/api/compile.js';
import type { KernelOutput, RunResult, ValuesOutput } from '../../src/api/types.js';
import { andThen, type MaybePromise } from '../../src/api/maybe.js';
import { rangesFor, rowClusters, type Ranges } from '../ranges/index.js';
import { gatherRows, scatterRows, type TypedArray } from './arrays.js';

/** A clustering: the permutations of both clouds and the ranges that refer to the sorted clouds. */
export interface ClusterOrder {
  /** Sorted row k of the i-points is original row `permX[k]`. */
  readonly permX: Int32Array;
  /** Sorted row k of the j-points is original row `permY[k]`. */
  readonly permY: Int32Array;
  /** Block-sparse ranges for the sorted clouds. */
  readonly ranges: Ranges;
}

/**
 * What `run` accepts: a `CompiledKernel` (from `compile`) or a `GradientKernel` (from `kernel.grad`),
 * or anything with the same `args`, `run` and a `tag` (or a `kernel.tag`).
 */
export interface BlockSparseKernel<R extends RunResult = RunResult> {
  readonly args: readonly ArgInfo[];
  readonly tag?: 0 | 1;
  readonly kernel?: { readonly tag: 0 | 1; readonly ir?: { readonly K?: number } };
  readonly ir?: { readonly K?: number };
  readonly wrt?: ArgInfo;
  run(args: ArgsInput, options?: RunOptions): MaybePromise<R>;
}

/** Run options of a block-sparse run: those of `kernel.run`, less `ranges` (the clustering's) and `out`. */
export type BlockSparseRunOptions = Omit<RunOptions, 'ranges' | 'out'>;

/** A permutation of 0..n-1 as an Int32Array, checked (it comes from a file or a caller). */
export function toPermutation(what: string, perm: ArrayLike<number> | BigInt64Array, n?: number): Int32Array {
  const len = perm.length;
  if (n !== undefined && len !== n) throw new InputError(`${what} has ${len} entries, expected ${n}`);
  const p = new Int32Array(len);
  const seen = new Uint8Array(len);
  for (let k = 0; k < len; k++) {
    const v = Number(perm[k]);
    if (!Number.isInteger(v) || v < 0 || v >= len || seen[v]) throw new InputError(`${what} is not a permutation of 0..${len - 1} (entry ${k} is ${String(perm[k])})`);
    seen[v] = 1;
    p[k] = v;
  }
  return p;
}

function kernelTag(kernel: BlockSparseKernel): 0 | 1 {
  const tag = kernel.tag ?? kernel.kernel?.tag;
  if (tag !== 0 && tag !== 1) throw new InputError('a block-sparse run needs a kernel from compile() or kernel.grad() (it has no reduction tag)');
  return tag;
}

/** The rows of an argument: shape[0], or length / dim for a bare typed array. */
function asRows(name: string, a: ArrayInput, dim: number): { data: TypedArray; width: number; shape: number[] } {
  if (ArrayBuffer.isView(a)) {
    const data = a as Float32Array | Float64Array;
    if (data.length % dim !== 0) throw new InputError(`argument ${name} has ${data.length} values, not a multiple of its dimension ${dim}`);
    return { data, width: dim, shape: [data.length / dim, dim] };
  }
  if (typeof a !== 'object' || a === null || !ArrayBuffer.isView(a.data) || !Array.isArray(a.shape)) throw new InputError(`argument ${name} must be a Float32Array/Float64Array or { data, shape }`);
  const rows = a.shape[0] ?? 0;
  const width = rows ? a.data.length / rows : dim;
  return { data: a.data, width, shape: [...a.shape] };
}

/** Number of reduction indices each (sorted) output row visits under the ranges. */
function candidates(ranges: Ranges, tag: 0 | 1, rows: number): Int32Array {
  const { slices, red } = rangesFor(ranges, tag);
  const cluster = rowClusters(ranges, tag, rows);
  const perCluster = new Int32Array(slices.length);
  for (let c = 0; c < slices.length; c++) for (let l = c ? slices[c - 1]! : 0; l < slices[c]!; l++) perCluster[c]! += red[2 * l + 1]! - red[2 * l]!;
  return Int32Array.from(cluster, (c) => (c < 0 ? 0 : perCluster[c]!));
}

/**
 * Run `kernel` block-sparse on arguments in their original order: i-arguments are permuted with
 * `permX`, j-arguments with `permY`, parameters pass unchanged; the outputs are scattered back to
 * the original rows, and reduction indices (ArgMin, ArgKMin, ...) are mapped to original indices.
 * A slot with no candidate (a row no kept block covers, or `K` above the candidates) keeps index 0
 * as in a plain run. Ties between equal values go to the smallest **sorted** index.
 *
 * @throws InputError when an argument's row count differs from the clustering's, or options hold
 *   `ranges` or `out`.
 */
export function runInOriginalOrder<R extends RunResult>(order: ClusterOrder, kernel: BlockSparseKernel<R>, args: ArgsInput, options: BlockSparseRunOptions = {}): MaybePromise<R> {
  const opts = options as RunOptions;
  if (opts.ranges !== undefined) throw new InputError('a block-sparse run uses the ranges of its clustering: leave options.ranges out (or call kernel.run on the sorted arrays yourself)');
  if (opts.out !== undefined) throw new InputError('a block-sparse run allocates its outputs (they are un-permuted): leave options.out out');
  const tag = kernelTag(kernel);
  const specs = kernel.args;
  const given: Record<string, ArrayInput> = {};
  if (Array.isArray(args)) {
    if (args.length !== specs.length) throw new InputError(`the kernel takes ${specs.length} arrays (${specs.map((s) => s.name).join(', ')}), got ${args.length}`);
    specs.forEach((s, k) => (given[s.name] = (args as readonly ArrayInput[])[k]!));
  } else Object.assign(given, args);
  const sorted: Record<string, ArrayInput> = {};
  for (const [name, a] of Object.entries(given)) {
    const spec = specs.find((s) => s.name === name);
    if (!spec || spec.cat === 2 || a === undefined) {
      sorted[name] = a; // unknown names and parameters: kernel.run reports or takes them as they are
      continue;
    }
    const perm = spec.cat === 0 ? order.permX : order.permY;
    const r = asRows(name, a, spec.dim);
    const n = r.shape[0]!;
    if (n !== perm.length) {
      const [what, size] = spec.cat === 0 ? ['i', 'M'] : ['j', 'N'];
      throw new InputError(`argument ${name} (a ${what}-variable) has ${n} rows but the clustering was made for ${size} = ${perm.length} ${what}-points; pass the arrays the clustering was made from`);
    }
    const g = gatherRows(r, perm);
    sorted[name] = { data: g.data as Float32Array | Float64Array, shape: g.shape! };
  }
  const outPerm = tag === 0 ? order.permX : order.permY;
  const redPerm = tag === 0 ? order.permY : order.permX;
  const K = kernel.ir?.K ?? kernel.kernel?.ir?.K;
  const perParameter = kernel.wrt?.cat === 2; // a parameter's gradient: (dim,), not per row
  return andThen(kernel.run(sorted, { ...opts, ranges: order.ranges }), (res) => {
    if (perParameter) return res;
    const rows = outPerm.length;
    const count = res.outputs.some((o) => o.name === 'indices') ? candidates(order.ranges, tag, rows) : undefined;
    const outputs: KernelOutput[] = res.outputs.map((o) => {
      const width = rows ? o.data.length / rows : 0;
      const back = (data: TypedArray) => scatterRows({ data, width, shape: o.shape }, outPerm).data;
      if (o.name === 'values') return { name: 'values', shape: [...o.shape], data: back(o.data) as ValuesOutput['data'] };
      // per row: K slots of D coordinates (KMin family) or D coordinates (ArgMin/ArgMax)
      const slot = K !== undefined ? width / K : width;
      const idx = new BigInt64Array(o.data.length);
      for (let i = 0; i < rows; i++) {
        const valid = K !== undefined ? count![i]! : count![i]! > 0 ? Infinity : 0;
        for (let c = 0; c < width; c++) {
          const v = o.data[i * width + c]!;
          idx[i * width + c] = Math.floor(c / slot) < valid ? BigInt(redPerm[Number(v)]!) : v;
        }
      }
      return { name: 'indices', shape: [...o.shape], data: back(idx) as BigInt64Array };
    });
    const pick = (name: KernelOutput['name']) => outputs.find((o) => o.name === name);
    return { ...res, outputs, values: pick('values'), indices: pick('indices') } as R;
  });
}
