/**
 * The native clustering passes (native/src/cluster.cc, used by the Node entry point) give byte-identical
 * results to the TypeScript ones (runtime/cluster), and the same errors, on random data and edge
 * cases: empty clouds, one point, every point in one cell, D = 0 to 5, float32 and float64, dense and
 * sparse grids (the cell table and the sorted path), NaN and infinite coordinates, bad labels, empty
 * clusters (NaN centroids), cutoffs 0 and ∞. And the addon's functions check their arguments before
 * they touch memory.
 */
import { expect } from 'chai';
import {
  blockSparseRanges,
  centroidMask,
  clusterCentroids,
  clusterRanges,
  clusterRangesCentroids,
  fromMatrix,
  gridCluster,
  permuteRows,
  sortClusters,
  unpermuteRows,
  type PointsInput,
} from '../runtime/cluster/index.js';
import { nativeClusteringOrSkip, withClusterPath } from './helpers/cluster-paths.js';
import { rng } from './helpers/data.js';

/** A value with its typed arrays as (type, bytes), so that deep equality means byte equality. */
function bytes(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return { type: v.constructor.name, bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (Array.isArray(v)) return v.map(bytes);
  if (typeof v === 'function') return 'function';
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, bytes(e)]));
  return v;
}

/** What fn returns (as bytes) or throws (class and message). */
function outcome(fn: () => unknown): unknown {
  try {
    return { value: bytes(fn()) };
  } catch (e) {
    return { error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
}

/** fn on the TypeScript path and on the native path give the same bytes, or the same error. */
function same(fn: () => unknown, what: string): void {
  const ts = outcome(() => withClusterPath(false, fn));
  const native = outcome(() => withClusterPath(true, fn));
  expect(native, what).to.deep.equal(ts);
}

/** A random cloud of n points in d dims: blobs, or spread over a huge span (the sorted path). */
function cloud(n: number, d: number, seed: number, kind: 'blobs' | 'spread' | 'one-cell' | 'huge', f32: boolean): { data: Float32Array | Float64Array; shape: number[] } {
  const r = rng(seed);
  const v = Array.from({ length: n * d }, () => {
    switch (kind) {
      case 'blobs':
        return Math.floor(r() * 3) - 1 + (r() - 0.5) * 0.7;
      case 'spread':
        return (r() - 0.5) * 1e5;
      case 'one-cell':
        return 0.3 + r() * 0.1;
      case 'huge':
        return (r() - 0.5) * 1e15;
    }
  });
  return { data: f32 ? Float32Array.from(v) : Float64Array.from(v), shape: [n, d] };
}

describe('native clustering passes are byte-identical to the TypeScript ones', function () {
  this.timeout(60000);
  const kernels = nativeClusteringOrSkip();
  if (!kernels) return;

  it('gridCluster: empty, one point, one cell, D = 0 to 5, float32/64, dense table and sorted paths', () => {
    let seed = 1;
    for (const f32 of [false, true])
      for (const d of [1, 2, 3, 5])
        for (const n of [0, 1, 2, 7, 300, 2000])
          for (const kind of ['blobs', 'spread', 'one-cell', 'huge'] as const) {
            const x = cloud(n, d, seed++, kind, f32);
            for (const eps of [0.1, 0.37, 1, 5e-3]) same(() => gridCluster(x, eps), `gridCluster ${kind} n=${n} d=${d} eps=${eps} f32=${f32}`);
            same(() => gridCluster(x, Array.from({ length: d }, (_, a) => 0.05 * (a + 1))), `per-axis eps ${kind} n=${n} d=${d}`);
          }
    // D = 0, a bare array, zeros of both signs, cells of negative coordinates
    same(() => gridCluster({ data: new Float64Array(0), shape: [5, 0] }, 1), 'D = 0');
    same(() => gridCluster(Float64Array.of(-0, 0, -1e-300, 1e-300, -0.2, 0.2, -5, 5), 0.1), '±0 and negative cells');
    same(() => gridCluster(Float32Array.of(0, 0.1, 0.9, 0.05, 0.5), 0.2), 'golden');
  });

  it('gridCluster: NaN, infinite and overflowing coordinates give the same error on both paths', () => {
    for (const f32 of [false, true])
      for (const [k, bad] of [NaN, Infinity, -Infinity].entries()) {
        const x = cloud(50, 3, 40 + k, 'blobs', f32);
        x.data[3 * 17 + 1] = bad;
        x.data[3 * 30 + 2] = bad;
        same(() => gridCluster(x, 0.1), `${bad} f32=${f32}`);
        same(() => blockSparseRanges(x, cloud(20, 3, 9, 'blobs', f32), { eps: 0.1, cutoff: 0.2 }), `blockSparseRanges x ${bad}`);
        same(() => blockSparseRanges(cloud(20, 3, 9, 'blobs', f32), x, { eps: 0.1, cutoff: 0.2 }), `blockSparseRanges y ${bad}`);
      }
    // finite, but v / eps overflows (the sorted path's check and the table path's)
    same(() => gridCluster(Float64Array.of(1, 2, 1e308, 3), 1e-10), 'overflow');
    same(() => gridCluster(Float64Array.of(1, NaN), 1), 'one NaN');
  });

  it('clusterRanges, clusterCentroids, clusterRangesCentroids: labels as given, nlab, weights, empty classes, bad labels', () => {
    let seed = 100;
    for (const f32 of [false, true])
      for (const d of [1, 2, 4])
        for (const n of [0, 1, 9, 500]) {
          const x = cloud(n, d, seed++, 'blobs', f32);
          const r = rng(seed++);
          const labels = Int32Array.from({ length: n }, () => Math.floor(r() * 6));
          const w = Float64Array.from({ length: n }, () => r());
          same(() => clusterRanges(labels), 'clusterRanges');
          same(() => clusterRanges(labels, 9), 'clusterRanges nlab');
          same(() => clusterCentroids(x, labels), 'clusterCentroids');
          same(() => clusterCentroids(x, labels, null, 8), 'clusterCentroids nlab (empty classes: NaN)');
          same(() => clusterCentroids(x, labels, w), 'clusterCentroids weighted');
          same(() => clusterRangesCentroids(x, labels), 'clusterRangesCentroids');
          same(() => clusterRangesCentroids(x, labels, w, 7), 'clusterRangesCentroids weighted, nlab');
          same(() => clusterRangesCentroids(x, Array.from(labels)), 'labels as a plain array');
        }
    const x = cloud(6, 2, 5, 'blobs', false);
    for (const bad of [Int32Array.of(0, 1, -1, 2, 0, 1), Int32Array.of(0, 1, 5, 2, 0, 1)]) {
      same(() => clusterRanges(bad, 3), 'bad label, nlab');
      same(() => clusterRanges(bad), 'bad label');
      same(() => clusterRangesCentroids(x, bad, null, 4), 'bad label, centroids');
      same(() => sortClusters(x, bad), 'bad label, sort');
    }
    same(() => clusterRangesCentroids(x, Int32Array.of(0, 1)), 'labels of the wrong length');
  });

  it('sortClusters, permuteRows, unpermuteRows: several arrays of every element type and width', () => {
    let seed = 200;
    for (const n of [0, 1, 13, 700]) {
      const r = rng(seed++);
      const labels = Int32Array.from({ length: n }, () => Math.floor(r() * 9));
      const arrays = [
        cloud(n, 3, seed++, 'blobs', true),
        cloud(n, 1, seed++, 'blobs', false).data,
        { data: Int8Array.from({ length: n * 5 }, () => Math.floor(r() * 256) - 128), shape: [n, 5] },
        { data: Uint16Array.from({ length: n * 2 }, () => Math.floor(r() * 65536)), shape: [n, 2, 1] },
        { data: BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 1e9)) * 1000003n), shape: [n] },
        { data: new Float64Array(0), shape: [n, 0] },
      ] as const;
      same(() => sortClusters([...arrays], labels), `sortClusters n=${n}`);
      same(() => sortClusters(arrays[0], labels), `sortClusters one array n=${n}`);
      const perm = Int32Array.from({ length: n }, (_, k) => k).sort((a, b) => ((a * 7919 + 13) % (n + 1)) - ((b * 7919 + 13) % (n + 1)));
      const gather = Int32Array.from({ length: 2 * n }, () => Math.floor(r() * n));
      for (const a of arrays) {
        same(() => permuteRows(a, perm, n), `permuteRows n=${n}`);
        same(() => permuteRows(a, gather, n), `permuteRows with repeats n=${n}`);
        same(() => unpermuteRows(a, perm, n), `unpermuteRows n=${n}`);
      }
      if (n > 1) {
        same(() => permuteRows(arrays[0], Int32Array.of(0, n), n), 'permuteRows out of range');
        same(() => unpermuteRows(arrays[0], Int32Array.from({ length: n }, () => 0), n), 'unpermuteRows not a permutation');
      }
    }
  });

  it('centroidMask: NaN centroids, cutoff 0 and ∞, few and many columns, float32/64', () => {
    let seed = 300;
    for (const f32 of [false, true])
      for (const d of [1, 2, 3, 4])
        for (const [Ca, Cb] of [
          [0, 5],
          [5, 0],
          [1, 1],
          [7, 16],
          [40, 17],
          [300, 250],
        ] as const) {
          const a = cloud(Ca, d, seed++, 'blobs', f32);
          const b = cloud(Cb, d, seed++, 'blobs', f32);
          if (Ca > 3) a.data[d * 2] = NaN;
          if (Cb > 3) b.data[d * 3 + d - 1] = NaN;
          for (const cutoff of [0, 0.05, 0.3, 1.5, 1e6, Infinity]) same(() => centroidMask(a, b, cutoff), `centroidMask ${Ca}x${Cb} d=${d} cutoff=${cutoff} f32=${f32}`);
        }
    same(() => centroidMask(cloud(3, 2, 1, 'blobs', false), cloud(3, 3, 2, 'blobs', false), 0.1), 'dimension mismatch');
    same(() => centroidMask(cloud(3, 2, 1, 'blobs', false), cloud(3, 2, 2, 'blobs', false), NaN), 'NaN cutoff');
  });

  it('fromMatrix: random masks of every density, empty shapes, other mask forms, bad ranges', () => {
    const r = rng(400);
    const pairs = (C: number): Int32Array => {
      const out = new Int32Array(2 * C);
      for (let c = 0, pos = 0; c < C; c++) {
        out[2 * c] = pos;
        pos += Math.floor(r() * 4);
        out[2 * c + 1] = pos;
      }
      return out;
    };
    for (const [Mc, Nc] of [
      [0, 0],
      [0, 4],
      [3, 0],
      [1, 1],
      [5, 7],
      [61, 33],
      [200, 150],
    ] as const)
      for (const p of [0, 0.02, 0.3, 1]) {
        const ri = pairs(Mc);
        const rj = pairs(Nc);
        const keep = Uint8Array.from({ length: Mc * Nc }, () => (r() < p ? 1 + Math.floor(r() * 200) : 0));
        same(() => fromMatrix({ data: ri, shape: [Mc, 2] }, { data: rj, shape: [Nc, 2] }, { data: keep, shape: [Mc, Nc] }), `fromMatrix ${Mc}x${Nc} p=${p}`);
        same(() => fromMatrix(Array.from(ri), rj, { data: Array.from(keep, (v) => v > 0), shape: [Mc, Nc] }), `fromMatrix booleans ${Mc}x${Nc}`);
        // a mask that is a view into a larger buffer (the word-skipping scan of the TypeScript path)
        const big = new Uint8Array(Mc * Nc + 3);
        big.set(keep, 3);
        same(() => fromMatrix(ri, rj, { data: big.subarray(3), shape: [Mc, Nc] }), `fromMatrix offset view ${Mc}x${Nc}`);
      }
    same(() => fromMatrix([0, 2, 2, 1], [0, 1], { data: new Uint8Array(2), shape: [2, 1] }), 'start > end');
    same(() => fromMatrix([0, 2], [0, 1], { data: new Uint8Array(2), shape: [2, 1] }), 'keep of the wrong shape');
  });

  it('blockSparseRanges: every output field, D = 1 to 3, cutoffs 0 to ∞, epsY, float32/64', () => {
    let seed = 500;
    for (const f32 of [false, true])
      for (const d of [1, 2, 3])
        for (const [M, N] of [
          [0, 10],
          [1, 1],
          [50, 80],
          [900, 700],
        ] as const) {
          const x = cloud(M, d, seed++, 'blobs', f32);
          const y = cloud(N, d, seed++, 'blobs', f32);
          for (const cutoff of [0, 0.1, 0.5, Infinity]) same(() => blockSparseRanges(x as PointsInput, y as PointsInput, { eps: 0.2, cutoff }), `blockSparseRanges ${M}x${N} d=${d} cutoff=${cutoff} f32=${f32}`);
          same(() => blockSparseRanges(x as PointsInput, y as PointsInput, { eps: 0.1, epsY: 0.3, cutoff: 0.25 }), `epsY ${M}x${N} d=${d}`);
        }
    same(() => blockSparseRanges(cloud(5000, 2, 7, 'spread', true) as PointsInput, cloud(3000, 2, 8, 'spread', true) as PointsInput, { eps: 10, cutoff: 30 }), 'sparse grid (sorted path), 5000 × 3000');
  });

  it('the addon functions check every argument before touching memory (TypeError / RangeError, no crash)', () => {
    const f64 = new Float64Array(6);
    const i32 = new Int32Array(3);
    const throwsIn = (fn: () => unknown, kind: typeof TypeError | typeof RangeError, what: string): void => {
      expect(fn, what).to.throw(kind);
    };
    throwsIn(() => kernels.clusterGrid(new Int32Array(6) as unknown as Float64Array, 3, 2, new Float64Array(2), i32), TypeError, 'grid: int data');
    throwsIn(() => kernels.clusterGrid(f64, 4, 2, new Float64Array([1, 1]), i32), RangeError, 'grid: n x d != length');
    throwsIn(() => kernels.clusterGrid(f64, 3, 2, new Float64Array([1]), i32), RangeError, 'grid: sizes length');
    throwsIn(() => kernels.clusterGrid(f64, 3, 2, new Float64Array([1, 0]), i32), RangeError, 'grid: zero size');
    throwsIn(() => kernels.clusterGrid(f64, 3, 2, new Float64Array([1, 1]), new Int32Array(2)), RangeError, 'grid: labels length');
    throwsIn(() => kernels.clusterGrid(f64, -1, 2, new Float64Array([1, 1]), i32), RangeError, 'grid: negative n');
    throwsIn(() => kernels.labelCount(new Float64Array(3) as unknown as Int32Array, -1), TypeError, 'labelCount: float labels');
    throwsIn(() => kernels.classSums(f64, 3, 2, Int32Array.of(0, 1, 2), 2, new Float64Array(4), new Float64Array(2), new Int32Array(2)), RangeError, 'classSums: label >= C');
    throwsIn(() => kernels.classSums(f64, 3, 2, i32, 2, new Float64Array(3), new Float64Array(2), new Int32Array(2)), RangeError, 'classSums: sums length');
    throwsIn(() => kernels.labelOrder(Int32Array.of(0, -1, 0), 2, null, new Int32Array(3), new Int32Array(3)), RangeError, 'labelOrder: negative label');
    throwsIn(() => kernels.labelOrder(i32, 1, Int32Array.of(2), new Int32Array(3), new Int32Array(3)), RangeError, 'labelOrder: counts not the class sizes');
    throwsIn(() => kernels.labelOrder(i32, 1, null, new Int32Array(2), new Int32Array(3)), RangeError, 'labelOrder: perm length');
    throwsIn(() => kernels.permuteRows(f64, 2, Int32Array.of(0, 3), new Float64Array(4), false), RangeError, 'permuteRows: index out of range');
    throwsIn(() => kernels.permuteRows(f64, 2, Int32Array.of(0, -1), new Float64Array(4), false), RangeError, 'permuteRows: negative index');
    throwsIn(() => kernels.permuteRows(f64, 2, Int32Array.of(0, 1), new Float32Array(4), false), TypeError, 'permuteRows: dst of another type');
    throwsIn(() => kernels.permuteRows(f64, 2, Int32Array.of(0, 1), new Float64Array(3), false), RangeError, 'permuteRows: dst length');
    throwsIn(() => kernels.permuteRows(f64, 4, Int32Array.of(0), new Float64Array(4), false), RangeError, 'permuteRows: src not whole rows');
    throwsIn(() => kernels.permuteRows(f64, 2, Int32Array.of(0, 1), new Float64Array(4), true), RangeError, 'permuteRows: scatter of 3 rows by 2');
    throwsIn(() => kernels.clusterRadii(f64, 3, 2, Int32Array.of(0, 0, 1), new Float64Array(2), new Float64Array(1)), RangeError, 'clusterRadii: centroids length');
    throwsIn(() => kernels.closeClusters(f64, 3, f64, 2, 2, 0.1, null, null, 0), RangeError, 'closeClusters: cb length');
    throwsIn(() => kernels.closeClusters(f64, 3, f64, 3, 2, 0.1, new Float64Array(2), new Float64Array(3), 0), RangeError, 'closeClusters: radii length');
    throwsIn(() => kernels.maskPairs(new Uint8Array(5), 2, 3), RangeError, 'maskPairs: keep length');
    throwsIn(() => kernels.maskPairs(new Int8Array(6) as unknown as Uint8Array, 2, 3), TypeError, 'maskPairs: Int8Array');
    throwsIn(() => kernels.rangesFromPairs(Int32Array.of(0, 1), Int32Array.of(0, 1), Int32Array.of(0, 1), Int32Array.of(1)), RangeError, 'rangesFromPairs: column out of range');
    throwsIn(() => kernels.rangesFromPairs(Int32Array.of(0, 1), Int32Array.of(0, 1), Int32Array.of(0, 2), Int32Array.of(0)), RangeError, 'rangesFromPairs: rowStart past cols');
    throwsIn(() => kernels.rangesFromPairs(Int32Array.of(0, 1, 2), Int32Array.of(0, 1), Int32Array.of(0, 0), new Int32Array(0)), RangeError, 'rangesFromPairs: odd ri');
  });
});
