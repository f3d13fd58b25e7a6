/**
 * Clustering utilities for block-sparse reductions: the port of `pykeops.numpy.cluster` (and torch's)
 * with the semantics of keops-reference.md §4, plus {@link blockSparseRanges}, a one-call pipeline
 * with a coverage guarantee.
 *
 * Arrays use the same form as kernel arguments: point clouds are `{ data, shape: [n, d] }` (row-major
 * Float32Array/Float64Array) or a bare float array read as `[n]`; labels are Int32Array (any integer
 * array is accepted); ranges are `{ data: Int32Array, shape: [C, 2] }`; the block-sparse ranges built by
 * {@link fromMatrix} are the six Int32Arrays of `runtime/ranges`, which `kernel.run(args, { ranges })`,
 * Genred and LazyTensor accept as they are.
 *
 * The typical pipeline, as KeOps's tutorials (or {@link blockSparseRanges}, which does all of it):
 *
 * ```ts
 * const lx = gridCluster(x, eps), ly = gridCluster(y, eps);
 * const cx = clusterRangesCentroids(x, lx), cy = clusterRangesCentroids(y, ly);
 * const sx = sortClusters(x, lx), sy = sortClusters([y, b], ly);   // b travels with y
 * const keep = ...;                                                  // (Cx, Cy) centroid criterion
 * const ranges = fromMatrix(cx.ranges, cy.ranges, keep);
 * kernel.run({ x: sx.x, y: sy.x[0], b: sy.x[1] }, { ranges });      // rows in sorted order
 * ```
 * @module
 */
import { InputError } from '../../src/diagnostics/index.js';
import { toRanges, validateRanges, swapAxes, type Ranges, type RangesInput } from '../ranges/index.js';
import { runInOriginalOrder, type BlockSparseKernel, type BlockSparseRunOptions } from './blocksparse-run.js';
import type { ArgsInput } from '../../src/api/inputs.js';
import type { RunResult, SyncBackend } from '../../src/api/compile.js';
import { closeClusters, maskPairs, rangesFromPairs } from './pairs.js';
import { clusterKernels } from './native.js';
import {
  toPoints,
  toLabels,
  toWeights,
  toPairs,
  toMask,
  toRows,
  gatherRows,
  scatterRows,
  typeName,
  type NormPoints,
  type FloatArray,
  type IntPairs,
  type LabelsInput,
  type MaskInput,
  type PairsInput,
  type Permuted,
  type Points,
  type PointsInput,
  type RowsInput,
  type TypedArray,
  type WeightsInput,
} from './arrays.js';

export type { FloatArray, IntPairs, LabelsInput, MaskInput, PairsInput, Permuted, Points, PointsInput, RowsInput, TypedArray, WeightsInput };

/**
 * Swap the two triplets of block-sparse ranges (the ranges of the transposed problem), as KeOps's
 * `swap_axes`. The same function as `runtime/ranges`'s (one implementation, re-exported here).
 */
export { swapAxes };

// ---------------------------------------------------------------------------------------------------
// grid_cluster

/** Cell sides: one positive finite number, or one per axis. */
function toEps(what: string, eps: number | ArrayLike<number>, d: number): Float64Array {
  const sizes = new Float64Array(d);
  if (typeof eps === 'number') sizes.fill(eps);
  else if (typeof eps === 'object' && eps !== null && typeof eps.length === 'number') {
    if (eps.length !== d) throw new InputError(`${what} has ${eps.length} cell sides but the points have ${d} coordinates (give one number, or one per axis)`);
    for (let a = 0; a < d; a++) sizes[a] = Number(eps[a]);
  } else throw new InputError(`${what} must be a positive number or one per axis, got ${typeName(eps)}`);
  for (let a = 0; a < d; a++) {
    const s = sizes[a]!;
    if (!(s > 0) || !Number.isFinite(s)) throw new InputError(`${what} must be positive and finite, got ${typeof eps === 'number' ? eps : `${String(s)} on axis ${a}`}`);
  }
  return sizes;
}

/**
 * Cluster points into the cells of a regular grid: cell coordinates are `floor(x[:, a] / eps[a])` per
 * axis (cells anchored at the origin, as `pykeops.numpy.cluster.grid_cluster`; no shift by the
 * minimum), and the C non-empty cells are numbered 0..C−1 in lexicographic order of their integer
 * coordinates, first axis most significant. There are no empty labels.
 *
 * Golden (§4): `gridCluster(Float64Array.of(0, .1, .9, .05, .5), .2)` → `[0, 0, 2, 0, 1]`.
 *
 * Differences from KeOps, all improvements: any dimension D ≥ 1 (KeOps: D ≤ 3), and two different
 * cells never share a label (KeOps folds the coordinates into one key with weights 2¹⁰ per axis, so
 * cells collide once an axis spans 1024 bins or more). Where KeOps's keys do not collide, the labels
 * are identical to KeOps's. Labels are Int32Array (numpy returns int64). torch's version shifts by the
 * minimum first; pass `x - min` for that behaviour.
 *
 * O(n·D + K) with typed arrays only, K the number of cells of the cloud's bounding box, while K is at
 * most 4n + 65536 (a counting table over the cells: a few tens of ns a point); beyond, O(n·D) by an LSD
 * radix sort of the points by cell (16-bit digits) while each axis spans fewer than 2³² cells, and
 * O(n·D·log n) past that (the cells of such an axis are ranked by a sort first).
 *
 * @param x points, `{ data, shape: [n, d] }` or a bare float array (1-D points); every value finite.
 * @param eps the cell side, one positive number or one per axis.
 * @returns one label per point, in [0, C).
 * @throws InputError on a bad shape, a non-finite coordinate or a non-positive eps.
 *
 * @example
 * ```ts
 * const labels = gridCluster({ data: xs, shape: [M, 3] }, 0.1);          // Int32Array, one label per point
 * const { ranges, centroids } = clusterRangesCentroids({ data: xs, shape: [M, 3] }, labels);   // per cluster
 * ```
 */
export function gridCluster(x: PointsInput, eps: number | ArrayLike<number>): Int32Array {
  const p = toPoints('gridCluster: x', x);
  return gridLabels(p, toEps('gridCluster: eps', eps, p.d), 'gridCluster: x');
}

/** The grid labels of a cloud and, as a by-product of the dense path, the class sizes. */
interface GridCells {
  labels: Int32Array;
  /** Points per label (length C). */
  counts: Int32Array;
}

/** The dense cell table is used while it has at most this many cells (a few per point, or 64 Ki). */
const denseCells = (n: number): number => 4 * n + 65536;

function gridLabels(p: NormPoints, sizes: Float64Array, what: string): Int32Array {
  return gridCells(p, sizes, what).labels;
}

/**
 * Grid labels in O(n·d + K), K the number of cells of the bounding box: per axis one min/max pass
 * (floor(v / s) is monotone in v, so the extreme cells come from the extreme coordinates), one pass
 * folding the cell offsets into a linear key, first axis most significant (so key order is the
 * lexicographic order of the cells), then a counting table of the K keys numbers the occupied cells in
 * key order. Typed arrays only, nothing per point. When K is too large for a table (sparse or wide
 * clouds), {@link gridLabelsSorted} radix-sorts the points instead.
 */
function gridCells(p: NormPoints, sizes: Float64Array, what: string): GridCells {
  const { data, n, d } = p;
  if (n === 0) return { labels: new Int32Array(0), counts: new Int32Array(0) };
  const native = clusterKernels();
  if (native) {
    const labels = new Int32Array(n);
    const counts = native.clusterGrid(data, n, d, sizes, labels);
    if (counts === null) gridError(p, sizes, what);
    return { labels, counts };
  }
  const cellLo = new Float64Array(d);
  const span = new Float64Array(d);
  const bounds = new Float64Array(3);
  let K = 1;
  for (let a = 0; a < d; a++) {
    axisBounds(data, n, d, a, bounds);
    const cl = Math.floor(bounds[0]! / sizes[a]!);
    const ch = Math.floor(bounds[1]! / sizes[a]!);
    if (bounds[2] !== 0 || !Number.isFinite(cl) || !Number.isFinite(ch)) gridError(p, sizes, what);
    cellLo[a] = cl;
    span[a] = ch - cl + 1;
    K *= ch - cl + 1;
  }
  if (!(K <= denseCells(n) && K < 2 ** 31)) return countLabels(gridLabelsSorted(p, sizes, what));
  // the keys, axis by axis (Horner), then a counting table of the K cells
  const key = new Int32Array(n);
  for (let a = 0; a < d; a++) addAxisKeys(data, n, d, a, sizes[a]!, cellLo[a]!, span[a]!, key);
  const table = new Int32Array(K);
  countKeys(key, table);
  const counts = new Int32Array(occupiedCells(table));
  numberCells(table, counts);
  relabel(key, table);
  return { labels: key, counts };
}

// The passes of gridCells, one loop each: a cold first call runs each loop in V8's interpreter until
// that loop is compiled on the stack, and a function that holds several loops is compiled for the
// first one and thrown away at the next (no type feedback there yet), again and again.

/** Lowest and highest coordinate on axis a, and whether one is NaN (1 in out[2]). */
function axisBounds(data: FloatArray, n: number, d: number, a: number, out: Float64Array): void {
  let lo = Infinity;
  let hi = -Infinity;
  let nan = 0;
  for (let o = a; o < n * d; o += d) {
    const v = data[o]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v !== v) nan = 1;
  }
  out[0] = lo;
  out[1] = hi;
  out[2] = nan;
}

/** key[i] = key[i]·w + (floor(x[i, a] / s) − cl): one more axis of the linear cell keys. */
function addAxisKeys(data: FloatArray, n: number, d: number, a: number, s: number, cl: number, w: number, key: Int32Array): void {
  for (let i = 0, o = a; i < n; i++, o += d) key[i] = key[i]! * w + (Math.floor(data[o]! / s) - cl);
}

/** table[k] = the number of keys equal to k. */
function countKeys(key: Int32Array, table: Int32Array): void {
  for (let i = 0; i < key.length; i++) table[key[i]!]!++;
}

/** The number of non-zero entries. */
function occupiedCells(table: Int32Array): number {
  let C = 0;
  for (let k = 0; k < table.length; k++) if (table[k] !== 0) C++;
  return C;
}

/** Numbers the occupied cells in key order: counts[c] = the size of cell c, table[k] = c. */
function numberCells(table: Int32Array, counts: Int32Array): void {
  for (let k = 0, c = 0; k < table.length; k++) {
    const m = table[k]!;
    if (m !== 0) {
      counts[c] = m;
      table[k] = c++;
    }
  }
}

/** key[i] = table[key[i]]. */
function relabel(key: Int32Array, table: Int32Array): void {
  for (let i = 0; i < key.length; i++) key[i] = table[key[i]!]!;
}

/** The class sizes of labels 0..C−1 (C = max + 1). */
function countLabels(labels: Int32Array): GridCells {
  let C = 0;
  for (let k = 0; k < labels.length; k++) if (labels[k]! >= C) C = labels[k]! + 1;
  const counts = new Int32Array(C);
  for (let k = 0; k < labels.length; k++) counts[labels[k]!]!++;
  return { labels, counts };
}

/** Throws the InputError of the first bad coordinate (axis by axis), as the label passes meet them. */
function gridError({ data, n, d }: NormPoints, sizes: Float64Array, what: string): never {
  for (let a = 0; a < d; a++)
    for (let i = 0; i < n; i++) {
      const v = data[i * d + a]!;
      const s = sizes[a]!;
      if (!Number.isFinite(Math.floor(v / s))) {
        throw new InputError(Number.isFinite(v) ? `${what}[${i}, ${a}] / eps = ${v} / ${s} overflows; use a larger eps` : `${what}[${i}, ${a}] = ${v} is not finite`);
      }
    }
  throw new Error('gridError: no bad coordinate'); // unreachable: called only when one exists
}

/**
 * Grid labels by sorting the points by cell (any span): O(n·D) (an LSD radix sort, 16-bit digits)
 * while each axis spans fewer than 2³² cells, O(n·D·log n) beyond (that axis's cells are ranked by a
 * sort first).
 */
function gridLabelsSorted({ data, n, d }: NormPoints, sizes: Float64Array, what: string): Int32Array {
  // Per axis, an unsigned key in the order of the cell coordinate: the offset from the lowest cell
  // (exact: integer-valued doubles less than 2^32 apart), or, for a wider span, the rank among the
  // distinct cells (sorted copy, deduplicated, binary search).
  const keys: Uint32Array[] = [];
  const maxKeys: number[] = [];
  const cells = new Float64Array(n);
  for (let a = 0; a < d && n > 0; a++) {
    const s = sizes[a]!;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = data[i * d + a]!;
      const c = Math.floor(v / s);
      if (!Number.isFinite(c)) {
        throw new InputError(Number.isFinite(v) ? `${what}[${i}, ${a}] / eps = ${v} / ${s} overflows; use a larger eps` : `${what}[${i}, ${a}] = ${v} is not finite`);
      }
      cells[i] = c;
      if (c < lo) lo = c;
      if (c > hi) hi = c;
    }
    const key = new Uint32Array(n);
    let maxKey: number;
    if (hi - lo < 2 ** 32) {
      for (let i = 0; i < n; i++) key[i] = cells[i]! - lo;
      maxKey = hi - lo;
    } else {
      const u = cells.slice().sort();
      let m = 0;
      for (let k = 0; k < n; k++) if (k === 0 || u[k] !== u[m - 1]) u[m++] = u[k]!;
      for (let i = 0; i < n; i++) {
        const c = cells[i]!;
        let l = 0;
        let h = m - 1;
        while (l < h) {
          const mid = (l + h) >> 1;
          if (u[mid]! < c) l = mid + 1;
          else h = mid;
        }
        key[i] = l;
      }
      maxKey = m - 1;
    }
    keys.push(key);
    maxKeys.push(maxKey);
  }
  // LSD radix sort of the points by (key_0, ..., key_{d-1}): stable counting sorts, last axis first;
  // one pass per axis when its keys are small, else two passes of 16 bits.
  let perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let tmp = new Int32Array(n);
  const pass = (key: Uint32Array, shift: number, mask: number, buckets: number): void => {
    const start = new Int32Array(buckets + 1);
    for (let i = 0; i < n; i++) start[((key[i]! >>> shift) & mask) + 1]!++;
    for (let b = 0; b < buckets; b++) start[b + 1]! += start[b]!;
    for (let k = 0; k < n; k++) {
      const i = perm[k]!;
      tmp[start[(key[i]! >>> shift) & mask]!++] = i;
    }
    [perm, tmp] = [tmp, perm];
  };
  for (let a = keys.length - 1; a >= 0; a--) {
    const maxKey = maxKeys[a]!;
    if (maxKey === 0) continue;
    if (maxKey < Math.max(1 << 16, 2 * n)) pass(keys[a]!, 0, 0x7fffffff, maxKey + 1);
    else {
      pass(keys[a]!, 0, 0xffff, 1 << 16);
      pass(keys[a]!, 16, 0xffff, (maxKey >>> 16) + 1);
    }
  }
  const labels = new Int32Array(n);
  let label = -1;
  let prev = -1;
  for (let k = 0; k < n; k++) {
    const i = perm[k]!;
    let same = prev >= 0;
    for (let a = 0; same && a < keys.length; a++) same = keys[a]![i] === keys[a]![prev];
    if (!same) label++;
    labels[i] = label;
    prev = i;
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------------
// cluster_ranges, cluster_centroids, cluster_ranges_centroids

function rangesFromCounts(counts: ArrayLike<number>, C: number): IntPairs {
  const data = new Int32Array(2 * C);
  let pos = 0;
  for (let c = 0; c < C; c++) {
    data[2 * c] = pos;
    pos += counts[c]!;
    data[2 * c + 1] = pos;
  }
  return { data, shape: [C, 2] };
}

/**
 * The [start, end) index range of each class, from the class sizes: class c covers
 * [size₀ + … + size_{c−1}, size₀ + … + size_c). As KeOps's `cluster_ranges`, this reads only the
 * counts, so it describes the points once they are sorted by label ({@link sortClusters}); unsorted
 * labels are accepted (KeOps's pipeline computes the ranges before sorting). Empty classes give empty
 * ranges: labels [0, 0, 2, 2] → [[0, 2], [2, 2], [2, 4]].
 *
 * Differences from KeOps: Int32 bounds, exact for any n (torch's float32 cumulative sum is exact only
 * up to 2²⁴ points); labels are checked.
 *
 * @param labels one non-negative integer label per point.
 * @param nlab the number of classes C (default: max label + 1); every label must be below it.
 * @returns `{ data: Int32Array, shape: [C, 2] }`.
 * @throws InputError for a negative, non-integer or out-of-range label.
 */
export function clusterRanges(labels: LabelsInput, nlab?: number): IntPairs {
  const { labels: lab, count: C } = toLabels('clusterRanges: labels', labels, undefined, nlab);
  const counts = new Int32Array(C);
  for (let k = 0; k < lab.length; k++) counts[lab[k]!]!++;
  return rangesFromCounts(counts, C);
}

/** Per-class weighted means Σ wᵢxᵢ / Σ wᵢ (C·d), weights Σ wᵢ (C) in float64, and class sizes, in one pass. */
function classSums(data: FloatArray, n: number, d: number, lab: Int32Array, C: number, w?: ArrayLike<number>): { sums: Float64Array; wsum: Float64Array; counts: Int32Array } {
  const sums = new Float64Array(C * d);
  const wsum = new Float64Array(C);
  const counts = new Int32Array(C);
  const native = w ? undefined : clusterKernels();
  if (native) {
    native.classSums(data, n, d, lab, C, sums, wsum, counts);
    return { sums, wsum, counts };
  }
  for (let i = 0; i < n; i++) {
    const c = lab[i]!;
    const wi = w ? w[i]! : 1;
    wsum[c]! += wi;
    counts[c]!++;
    const o = c * d;
    const s = i * d;
    if (w) for (let a = 0; a < d; a++) sums[o + a]! += wi * data[s + a]!;
    else for (let a = 0; a < d; a++) sums[o + a]! += data[s + a]!;
  }
  divideSums(sums, wsum, d);
  return { sums, wsum, counts };
}

/** sums[c·d + a] /= wsum[c] (a loop of its own: see gridCells's passes). */
function divideSums(sums: Float64Array, wsum: Float64Array, d: number): void {
  for (let c = 0; c < wsum.length; c++) for (let a = 0; a < d; a++) sums[c * d + a]! /= wsum[c]!;
}

function centroidPoints(x: { data: FloatArray; shape: number[] }, sums: Float64Array, C: number, d: number): Points {
  const data = x.data instanceof Float32Array ? Float32Array.from(sums) : sums;
  return { data, shape: x.shape.length === 1 ? [C] : [C, d] };
}

/**
 * The weighted mean of each class, Σ wᵢxᵢ / Σ wᵢ (w = 1 by default), as KeOps's `cluster_centroids`.
 * An empty class gives NaN (0/0), and so does a class of zero total weight (or ±inf), as in KeOps.
 *
 * Accumulates in float64 whatever x's dtype; the result has x's dtype (float32 in, float32 out, so it
 * can be passed to a kernel next to x) and x's rank: shape [C, d], or [C] for 1-D points. KeOps's
 * precomputed `weights_c` argument is not offered (it only saves one pass).
 *
 * @param x points, `{ data, shape: [n, d] }` or a bare float array (1-D points).
 * @param labels one label per point, in [0, C).
 * @param weights optional, one weight per point (not checked for sign, as KeOps).
 * @param nlab the number of classes C (default: max label + 1).
 * @throws InputError on a bad shape, a label out of range or a weights length mismatch.
 */
export function clusterCentroids(x: PointsInput, labels: LabelsInput, weights?: WeightsInput | null, nlab?: number): Points {
  const p = toPoints('clusterCentroids: x', x);
  const { labels: lab, count: C } = toLabels('clusterCentroids: labels', labels, p.n, nlab);
  const w = weights == null ? undefined : toWeights('clusterCentroids: weights', weights, p.n);
  const { sums } = classSums(p.data, p.n, p.d, lab, C, w);
  return centroidPoints(p, sums, C, p.d);
}

/** What {@link clusterRangesCentroids} returns. */
export interface RangesCentroids {
  /** [start, end) of each class, from the class sizes, `{ data: Int32Array, shape: [C, 2] }`. */
  ranges: IntPairs;
  /** The weighted mean of each class, x's dtype, shape [C, d] (or [C] for 1-D points); NaN for an empty class. */
  centroids: Points;
  /** Per-class total weight Σ wᵢ, or the class sizes (as floats) without weights. */
  weights: Float64Array;
}

/**
 * Ranges, centroids and total weights of each class in one pass, as KeOps's
 * `cluster_ranges_centroids`. As there, the ranges come from the class sizes of the labels as given
 * (sorted or not), so they describe the points after {@link sortClusters}.
 *
 * Golden (§4): x = [0, .5, 1, 2, 3], labels [0, 0, 1, 1, 1], w = [1, .5, 1, 1, 10] → ranges
 * [[0, 2], [2, 5]], centroids [1/6, 2.75], weights [1.5, 12].
 *
 * Differences from KeOps: no `min_weight` clamp (torch clamps weights ≤ 1e-9 up to 1e-9; numpy does
 * not, and neither do we); weights are float64.
 *
 * @param nlab the number of classes C (default: max label + 1).
 * @throws InputError on a bad shape, a label out of range or a weights length mismatch.
 */
export function clusterRangesCentroids(x: PointsInput, labels: LabelsInput, weights?: WeightsInput | null, nlab?: number): RangesCentroids {
  const p = toPoints('clusterRangesCentroids: x', x);
  const { labels: lab, count: C } = toLabels('clusterRangesCentroids: labels', labels, p.n, nlab);
  const w = weights == null ? undefined : toWeights('clusterRangesCentroids: weights', weights, p.n);
  const { sums, wsum, counts } = classSums(p.data, p.n, p.d, lab, C, w);
  return { ranges: rangesFromCounts(counts, C), centroids: centroidPoints(p, sums, C, p.d), weights: wsum };
}

// ---------------------------------------------------------------------------------------------------
// sort_clusters and permutations

/** What {@link sortClusters} returns. */
export interface SortedClusters<T> {
  /** The input array(s) with their rows in label order (same form and array type as given). */
  x: T;
  /** The labels, sorted (non-decreasing). */
  labels: Int32Array;
  /**
   * The permutation: sorted row k is original row `perm[k]`. Map results on sorted rows back to the
   * original order with {@link unpermuteRows}, and permute more arrays alike with {@link permuteRows}.
   */
  perm: Int32Array;
}

/**
 * The stable order of rows by label (counting sort, O(n + C)) and the sorted labels; `counts` (the
 * class sizes, when known) saves the counting pass.
 */
function labelOrder(lab: Int32Array, C: number, counts?: Int32Array): { perm: Int32Array; sorted: Int32Array } {
  const native = clusterKernels();
  if (native) {
    const perm = new Int32Array(lab.length);
    const sorted = new Int32Array(lab.length);
    native.labelOrder(lab, C, counts ?? null, perm, sorted);
    return { perm, sorted };
  }
  const start = new Int32Array(C + 1);
  if (counts) start.set(counts, 1);
  else countInto(lab, start);
  for (let c = 0; c < C; c++) start[c + 1]! += start[c]!;
  const sorted = new Int32Array(lab.length);
  for (let c = 0; c < C; c++) sorted.fill(c, start[c]!, start[c + 1]!);
  const perm = new Int32Array(lab.length);
  placeRows(lab, start, perm);
  return { perm, sorted };
}

/** start[l + 1] += 1 for every label l (loops of their own: see gridCells's passes). */
function countInto(lab: Int32Array, start: Int32Array): void {
  for (let k = 0; k < lab.length; k++) start[lab[k]! + 1]!++;
}

/** The counting sort's placement: perm[start[lab[k]]++] = k. */
function placeRows(lab: Int32Array, start: Int32Array, perm: Int32Array): void {
  for (let k = 0; k < lab.length; k++) perm[start[lab[k]!]!++] = k;
}

/**
 * Sort rows by label, so that every class is contiguous (as KeOps's `sort_clusters`): one array, or a
 * list of arrays all permuted alike (e.g. `[y, b]`: points and their signal). Each array is a typed
 * array of any type or `{ data, shape }` with one row per label (a bare typed array of length n·w is
 * read as n rows of w values). Returns the permuted arrays in the form given, the sorted labels and the
 * permutation.
 *
 * Golden (§4): x = [0, 5, .4, .3, 2], labels [0, 2, 0, 0, 1] → x = [0, .4, .3, 2, 5], labels [0, 0, 0, 1, 2].
 *
 * Differences from KeOps: the sort is **stable** (rows of one class keep their order; KeOps's
 * argsort is not stable, so its order inside a class is unspecified), runs in O(n + C) (a counting
 * sort), and the permutation is returned so that results can be mapped back.
 *
 * @throws InputError for a bad label or an array whose row count differs from the number of labels.
 */
export function sortClusters<const T extends readonly RowsInput[]>(x: T, labels: LabelsInput): SortedClusters<{ -readonly [K in keyof T]: Permuted<T[K]> }>;
export function sortClusters<T extends RowsInput>(x: T, labels: LabelsInput): SortedClusters<Permuted<T>>;
export function sortClusters(x: RowsInput | readonly RowsInput[], labels: LabelsInput): SortedClusters<unknown> {
  const { labels: lab, count: C } = toLabels('sortClusters: labels', labels);
  const list = Array.isArray(x) ? (x as readonly RowsInput[]) : [x as RowsInput];
  const rows = list.map((a, k) => toRows(Array.isArray(x) ? `sortClusters: x[${k}]` : 'sortClusters: x', a, lab.length));
  const { perm, sorted } = labelOrder(lab, C);
  const out = rows.map((r) => {
    const g = gatherRows(r, perm);
    return g.shape ? g : g.data;
  });
  return { x: Array.isArray(x) ? out : out[0], labels: sorted, perm };
}

function toPerm(what: string, perm: ArrayLike<number>, n: number, bijective: boolean): Int32Array {
  if (typeof perm !== 'object' || perm === null || typeof perm.length !== 'number') throw new InputError(`${what} must be an Int32Array of row indices, got ${typeName(perm)}`);
  if (bijective && perm.length !== n) throw new InputError(`${what} has ${perm.length} entries but the array has ${n} rows`);
  const out = perm instanceof Int32Array ? perm : Int32Array.from(perm, Number);
  const seen = bijective ? new Uint8Array(n) : undefined;
  for (let k = 0; k < out.length; k++) {
    const v = out[k]!;
    if (!(v >= 0 && v < n) || v !== Number(perm[k])) throw new InputError(`${what}[${k}] = ${String(perm[k])} is not a row index in [0, ${n})`);
    if (seen) {
      if (seen[v]) throw new InputError(`${what} is not a permutation: row ${v} appears twice`);
      seen[v] = 1;
    }
  }
  return out;
}

/**
 * Gather rows: row k of the result is row `perm[k]` of x. With the `perm` of {@link sortClusters} or
 * {@link blockSparseRanges}, this puts another per-point array (a signal b, weights) in the sorted
 * order. x is `{ data, shape }` (rows = shape[0]) or a bare typed array (one value per row, or
 * length/`rows` values per row when `rows` is given); the result has the same form and array type.
 *
 * @param rows for a bare typed array holding several values per row: the number of rows.
 * @throws InputError for an index out of range.
 */
export function permuteRows<T extends RowsInput>(x: T, perm: ArrayLike<number>, rows?: number): Permuted<T> {
  const r = toRows('permuteRows: x', x, rows);
  const p = toPerm('permuteRows: perm', perm, r.n, false);
  const g = gatherRows(r, p);
  return (g.shape ? g : g.data) as Permuted<T>;
}

/**
 * Scatter rows back: row `perm[k]` of the result is row k of x, the inverse of {@link permuteRows}.
 * Maps a kernel's output on sorted points back to the original order of the points.
 *
 * @param rows for a bare typed array holding several values per row: the number of rows.
 * @throws InputError when perm is not a permutation of the rows.
 */
export function unpermuteRows<T extends RowsInput>(x: T, perm: ArrayLike<number>, rows?: number): Permuted<T> {
  const r = toRows('unpermuteRows: x', x, rows);
  const p = toPerm('unpermuteRows: perm', perm, r.n, true);
  const g = scatterRows(r, p);
  return (g.shape ? g : g.data) as Permuted<T>;
}

// ---------------------------------------------------------------------------------------------------
// from_matrix and masks

/**
 * Build KeOps's block-sparse ranges from a cluster-level boolean mask, as KeOps's `from_matrix`:
 * `keep[a, b]` says whether the rows of i-cluster a (`rangesI[a]`) interact with the columns of
 * j-cluster b (`rangesJ[b]`). `redranges_j` lists `rangesJ[b]` for the true entries scanned row by row,
 * `slices_i` the cumulative row counts; `redranges_i` and `slices_j` are the same on keep transposed,
 * so both triplets describe one mask (the backward pass of a reduction reads the other one).
 *
 * Golden (§4): rangesI [[2, 5], [7, 12]], rangesJ [[1, 4], [4, 9], [20, 30]], keep [[1, 1, 0], [0, 1, 0]]
 * → slices_i [2, 3], redranges_j [[1, 4], [4, 9], [4, 9]], slices_j [1, 3, 3], redranges_i [[2, 5], [2, 5], [7, 12]].
 *
 * The result is the `Ranges` of `runtime/ranges` (six flat Int32Arrays, pairs row-major), which
 * `kernel.run(args, { ranges })`, Genred and LazyTensor take directly. O(Mc·Nc) for the scan of keep (a
 * Uint8Array is read in place, four zero bytes at a time) plus O(kept) for the ranges.
 *
 * Differences from KeOps: int32 arrays (KeOps: int64; the binder converts anyway); the inputs are
 * checked (pairs with 0 ≤ start ≤ end, keep of shape exactly (Mc, Nc)).
 *
 * @param rangesI the i clusters, `{ data, shape: [Mc, 2] }` or flat pairs.
 * @param rangesJ the j clusters, `{ data, shape: [Nc, 2] }` or flat pairs.
 * @param keep `{ data, shape: [Mc, Nc] }` (any typed array or booleans; non-zero is true) or nested rows.
 * @throws InputError when keep's shape is not (Mc, Nc) or a range is malformed.
 */
export function fromMatrix(rangesI: PairsInput, rangesJ: PairsInput, keep: MaskInput): Ranges {
  const ri = toPairs('fromMatrix: ranges_i', rangesI);
  const rj = toPairs('fromMatrix: ranges_j', rangesJ);
  const Mc = ri.length / 2;
  const Nc = rj.length / 2;
  // a Uint8Array mask of the right shape is read in place (non-zero is true either way)
  const data = typeof keep === 'object' && keep !== null && !Array.isArray(keep) && 'data' in keep ? keep.data : undefined;
  const shape = data ? (keep as { shape: unknown }).shape : undefined;
  const direct = data instanceof Uint8Array && data.length === Mc * Nc && Array.isArray(shape) && shape.length === 2 && shape[0] === Mc && shape[1] === Nc;
  const k = direct ? data : toMask('fromMatrix: keep', keep, Mc, Nc);
  return rangesFromPairs(ri, rj, maskPairs(k, Mc, Nc));
}

/**
 * The (Cx, Cy) mask of the cluster pairs whose centroids are closer than `cutoff`:
 * `keep[a·Cy + b] = 1` when Σₖ (cx[a, k] − cy[b, k])² < cutoff² (sums in float64, axis 0 first): the
 * criterion of KeOps's block-sparse tutorial, ready for {@link fromMatrix}. The result is exactly that
 * of the test on all Cx·Cy pairs, but only pairs in neighbouring cells of a grid over the y centroids
 * are tested, so the cost is O((Cx + Cy)·d + kept) for a cutoff of a few cluster sizes (plus the
 * Cx·Cy bytes of the mask, zeroed by the allocation). NaN centroids (empty clusters) are never kept.
 *
 * Note that this criterion (KeOps's) can drop close pairs near the cells' corners;
 * {@link blockSparseRanges} keeps every pair closer than its cutoff.
 *
 * @param centroidsX `{ data, shape: [Cx, d] }` or a bare float array (d = 1), e.g. `clusterRangesCentroids(x, lx).centroids`.
 * @param centroidsY `{ data, shape: [Cy, d] }`, same d.
 * @param cutoff the centroid distance below which a pair is kept (≥ 0; `Infinity` keeps every pair of finite centroids).
 * @throws InputError on bad shapes, a dimension mismatch or a negative/NaN cutoff.
 */
export function centroidMask(centroidsX: PointsInput, centroidsY: PointsInput, cutoff: number): { data: Uint8Array; shape: [number, number] } {
  const px = toPoints('centroidMask: centroidsX', centroidsX);
  const py = toPoints('centroidMask: centroidsY', centroidsY);
  if (px.d !== py.d) throw new InputError(`centroidMask: centroidsX has ${px.d} coordinates per point but centroidsY has ${py.d}`);
  if (typeof cutoff !== 'number' || !(cutoff >= 0)) throw new InputError(`centroidMask: cutoff must be a number ≥ 0, got ${String(cutoff)}`);
  const { rowStart, cols } = closeClusters(px.data, px.n, py.data, py.n, px.d, { kind: 'plain', cutoff });
  const keep = new Uint8Array(px.n * py.n);
  for (let a = 0; a < px.n; a++) for (let q = rowStart[a]!; q < rowStart[a + 1]!; q++) keep[a * py.n + cols[q]!] = 1;
  return { data: keep, shape: [px.n, py.n] };
}

/**
 * Expand block-sparse ranges into the full (M, N) boolean mask of the pairs (i, j) they compute:
 * with `tag` 0 (the default) from the triplet a reduction over j uses (`ranges_i`, `slices_i`,
 * `redranges_j`), with `tag` 1 from the other triplet (`ranges_j`, `slices_j`, `redranges_i`); either
 * way entry [i, j] is at `i·N + j`, so the two masks of consistent ranges are equal. Pairs listed twice
 * (which KeOps counts twice) are just true. For inspection and tests: O(M·N) memory.
 *
 * @throws InputError when the ranges are malformed or out of bounds for (M, N).
 */
export function rangesToMask(ranges: RangesInput, M: number, N: number, tag: 0 | 1 = 0): { data: Uint8Array; shape: [number, number] } {
  for (const [name, v] of [['M', M], ['N', N]] as const) if (!Number.isInteger(v) || v < 0) throw new InputError(`rangesToMask: ${name} must be a non-negative integer, got ${String(v)}`);
  if (tag !== 0 && tag !== 1) throw new InputError(`rangesToMask: tag must be 0 or 1, got ${String(tag)}`);
  const r = toRanges(ranges);
  validateRanges(r, M, N);
  const [out, slices, red] = tag === 0 ? [r.ranges_i, r.slices_i, r.redranges_j] : [r.ranges_j, r.slices_j, r.redranges_i];
  const mask = new Uint8Array(M * N);
  for (let c = 0; c < out.length / 2; c++) {
    const from = c === 0 ? 0 : slices[c - 1]!;
    for (let l = from; l < slices[c]!; l++)
      for (let p = out[2 * c]!; p < out[2 * c + 1]!; p++)
        for (let q = red[2 * l]!; q < red[2 * l + 1]!; q++) {
          if (tag === 0) mask[p * N + q] = 1;
          else mask[q * N + p] = 1;
        }
  }
  return { data: mask, shape: [M, N] };
}

// ---------------------------------------------------------------------------------------------------
// blockSparseRanges

/** Options of {@link blockSparseRanges}. */
export interface BlockSparseOptions {
  /** Grid cell side for x (and y unless `epsY` is given): one positive number or one per axis. */
  eps: number | ArrayLike<number>;
  /** Pairs closer than this are guaranteed to be computed (≥ 0; `Infinity` keeps every block). */
  cutoff: number;
  /** Grid cell side for y (default: `eps`). */
  epsY?: number | ArrayLike<number>;
}

/** What {@link blockSparseRanges} returns. Every per-point output is in sorted order. */
export interface BlockSparse<T extends FloatArray = FloatArray> {
  /** x with its rows sorted by cluster (same dtype and shape as given). */
  x: Points<T>;
  /** y with its rows sorted by cluster. */
  y: Points<T>;
  /** Sorted row k of x is original row `permX[k]` (see {@link permuteRows} / {@link unpermuteRows}). */
  permX: Int32Array;
  /** Sorted row k of y is original row `permY[k]`; permute every j-signal alike (`permuteRows(b, permY)`). */
  permY: Int32Array;
  /** The block-sparse ranges for the sorted clouds (both triplets), ready for `kernel.run(args, { ranges })`. */
  ranges: Ranges;
  /** The kept cluster pairs, `keep[a·Cy + b]`, shape [Cx, Cy]. */
  keep: { data: Uint8Array; shape: [number, number] };
  /** The fraction of the M·N pairs that lie in kept blocks (the work left, relative to a dense run); 0 when M·N = 0. */
  keptFraction: number;
  /** The [start, end) rows of each x cluster in the sorted x, shape [Cx, 2]. */
  clustersX: IntPairs;
  /** The [start, end) rows of each y cluster in the sorted y, shape [Cy, 2]. */
  clustersY: IntPairs;
  /** x cluster centroids (float64, the values the keep test used), shape [Cx, d]. */
  centroidsX: Points<Float64Array>;
  /** y cluster centroids (float64), shape [Cy, d]. */
  centroidsY: Points<Float64Array>;
  /** x cluster radii: the largest distance from a cluster's centroid to one of its points. */
  radiiX: Float64Array;
  /** y cluster radii. */
  radiiY: Float64Array;
  /** The cluster of each sorted x row (non-decreasing). */
  labelsX: Int32Array;
  /** The cluster of each sorted y row (non-decreasing). */
  labelsY: Int32Array;
  /**
   * Run a kernel block-sparse on arguments in their **original** order: every i-argument is permuted
   * with `permX`, every j-argument with `permY`, and the result comes back in the original order
   * (see {@link runInOriginalOrder}). `await` it for `backend: 'webgpu'`.
   */
  run<R extends RunResult>(kernel: BlockSparseKernel<R>, args: ArgsInput, options: BlockSparseRunOptions & { backend: 'webgpu' }): Promise<R>;
  /** The same run on a synchronous backend: the result itself, in the original order. */
  run<R extends RunResult>(kernel: BlockSparseKernel<R>, args: ArgsInput, options?: BlockSparseRunOptions & { backend?: SyncBackend }): R;
}

interface ClusteredCloud {
  sorted: Points;
  perm: Int32Array;
  labels: Int32Array;
  ranges: IntPairs;
  centroids: Float64Array;
  radii: Float64Array;
  C: number;
  maxAbs: number;
}

function clusterCloud(p: NormPoints, eps: number | ArrayLike<number>, what: 'x' | 'y', epsName: string): ClusteredCloud {
  const { labels: lab, counts } = gridCells(p, toEps(`blockSparseRanges: ${epsName}`, eps, p.d), `blockSparseRanges: ${what}`);
  const count = counts.length;
  const { perm, sorted: labels } = labelOrder(lab, count, counts);
  const rows = gatherRows({ data: p.data, width: p.d }, perm).data as FloatArray;
  const { sums: centroids } = classSums(rows, p.n, p.d, labels, count);
  const radii = new Float64Array(count);
  const d = p.d;
  const native = clusterKernels();
  const maxAbs = native ? native.clusterRadii(rows, p.n, d, labels, centroids, radii) : clusterRadii(rows, p.n, d, labels, centroids, radii);
  return { sorted: { data: rows, shape: [...p.shape] }, perm, labels, ranges: rangesFromCounts(counts, count), centroids, radii, C: count, maxAbs };
}

/** Per class the largest distance from its centroid to one of its rows, into radii; returns the largest |coordinate|. */
function clusterRadii(rows: FloatArray, n: number, d: number, labels: Int32Array, centroids: Float64Array, radii: Float64Array): number {
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    const c = labels[i]!;
    let s = 0;
    for (let a = 0; a < d; a++) {
      const v = rows[i * d + a]!;
      const diff = v - centroids[c * d + a]!;
      s += diff * diff;
      if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
    }
    const r = Math.sqrt(s);
    if (r > radii[c]!) radii[c] = r;
  }
  return maxAbs;
}

/**
 * Block-sparse ranges for "every pair closer than `cutoff`", in one call (not in KeOps): clusters x
 * and y on grids of side `eps` ({@link gridCluster}), sorts both clouds by cluster, and keeps the
 * cluster pair (a, b) when the distance between the centroids is below `cutoff + r_a + r_b`, where
 * `r_a` is the radius of cluster a (the largest distance from its centroid to one of its points).
 *
 * **Guarantee: every pair (i, j) with |xᵢ − yⱼ| < cutoff lies in a kept block**, so a kernel that
 * vanishes (or is negligible) beyond `cutoff` is computed exactly (or to that accuracy) on the sorted
 * clouds. Proof: let i be in cluster a (centroid c_a) and j in cluster b (centroid c_b). By the triangle
 * inequality |c_a − c_b| ≤ |c_a − xᵢ| + |xᵢ − yⱼ| + |yⱼ − c_b| ≤ r_a + |xᵢ − yⱼ| + r_b, so
 * |xᵢ − yⱼ| < cutoff implies |c_a − c_b| < cutoff + r_a + r_b, and (a, b) is kept. (The radii are
 * measured from the same float64 centroids the test uses, and the threshold gets a relative slack of
 * 1e−12 to absorb rounding, which can only keep more blocks.) KeOps's tutorial criterion,
 * |c_a − c_b| < cutoff, has no such guarantee: it drops close pairs that sit near the cells' corners.
 *
 * The ranges refer to the **sorted** clouds: run the kernel on `x`, `y` and every j-signal permuted by
 * `permY` (`permuteRows(b, permY)`), and map an i-indexed result back with `unpermuteRows(out, permX)`.
 * Or let `bs.run(kernel, args)` do all of it on the arrays in their original order.
 * Cost O((M + N)·d + K) time for the clustering (K: grid cells of the bounding boxes), O((Cx + Cy)·d +
 * kept) for the centroid test (only neighbouring grid buckets are tested; see {@link centroidMask}) and
 * O(Cx·Cy) bytes for the mask: pick eps so that the clusters hold
 * a few hundred points (KeOps's advice: at most a few thousand clusters per cloud).
 *
 * @param x the i points, `{ data, shape: [M, d] }` or a bare float array (1-D points).
 * @param y the j points, same dimension d (and preferably dtype) as x.
 * @throws InputError on bad shapes, a dimension mismatch, eps ≤ 0 or a negative/NaN cutoff.
 *
 * @example
 * ```ts
 * const bs = blockSparseRanges(x, y, { eps: 0.05, cutoff: 0.2 });
 * const bSorted = permuteRows(b, bs.permY);
 * const out = kernel.run({ x: bs.x, y: bs.y, b: bSorted }, { ranges: bs.ranges });
 * const a = unpermuteRows(out.values!, bs.permX);                          // back to x's order
 * ```
 */
export function blockSparseRanges<T extends FloatArray>(x: T | { data: T; shape: readonly number[] }, y: T | { data: T; shape: readonly number[] }, options: BlockSparseOptions): BlockSparse<T> {
  if (typeof options !== 'object' || options === null) throw new InputError(`blockSparseRanges: options { eps, cutoff } are required, got ${typeName(options)}`);
  const { eps, cutoff } = options;
  if (eps === undefined) throw new InputError('blockSparseRanges: options.eps (the grid cell side) is required');
  if (typeof cutoff !== 'number' || !(cutoff >= 0)) throw new InputError(`blockSparseRanges: options.cutoff must be a number ≥ 0 (Infinity keeps every block), got ${String(cutoff)}`);
  const px = toPoints('blockSparseRanges: x', x);
  const py = toPoints('blockSparseRanges: y', y);
  if (px.d !== py.d) throw new InputError(`blockSparseRanges: x has ${px.d} coordinates per point but y has ${py.d}`);
  const cx = clusterCloud(px, eps, 'x', 'options.eps');
  const cy = clusterCloud(py, options.epsY ?? eps, 'y', options.epsY === undefined ? 'options.eps' : 'options.epsY');
  const d = px.d;
  const Cx = cx.C;
  const Cy = cy.C;
  const scale = Math.max(cx.maxAbs, cy.maxAbs) * Math.sqrt(d);
  const kept = closeClusters(cx.centroids, Cx, cy.centroids, Cy, d, { kind: 'radii', cutoff, radiiA: cx.radii, radiiB: cy.radii, scale });
  const keep = new Uint8Array(Cx * Cy);
  let keptPairs = 0;
  for (let a = 0; a < Cx; a++) {
    const na = cx.ranges.data[2 * a + 1]! - cx.ranges.data[2 * a]!;
    for (let q = kept.rowStart[a]!; q < kept.rowStart[a + 1]!; q++) {
      const b = kept.cols[q]!;
      keep[a * Cy + b] = 1;
      keptPairs += na * (cy.ranges.data[2 * b + 1]! - cy.ranges.data[2 * b]!);
    }
  }
  const ranges = rangesFromPairs(cx.ranges.data, cy.ranges.data, kept);
  const MN = px.n * py.n;
  return {
    x: cx.sorted as Points<T>,
    y: cy.sorted as Points<T>,
    permX: cx.perm,
    permY: cy.perm,
    ranges,
    keep: { data: keep, shape: [Cx, Cy] },
    keptFraction: MN === 0 ? 0 : keptPairs / MN,
    clustersX: cx.ranges,
    clustersY: cy.ranges,
    centroidsX: { data: cx.centroids, shape: [Cx, d] },
    centroidsY: { data: cy.centroids, shape: [Cy, d] },
    radiiX: cx.radii,
    radiiY: cy.radii,
    labelsX: cx.labels,
    labelsY: cy.labels,
    run: <R extends RunResult>(kernel: BlockSparseKernel<R>, args: ArgsInput, opts?: BlockSparseRunOptions) =>
      runInOriginalOrder({ permX: cx.perm, permY: cy.perm, ranges }, kernel, args, opts) as R & Promise<R>,
  };
}
