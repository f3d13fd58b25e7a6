import { expect } from 'chai';
import { InputError } from '../src/diagnostics/index.js';
import { compile } from '../src/api/compile.js';
import { swapAxes as rangesSwapAxes } from '../runtime/ranges/index.js';
import {
  gridCluster,
  clusterRanges,
  clusterCentroids,
  clusterRangesCentroids,
  sortClusters,
  permuteRows,
  unpermuteRows,
  fromMatrix,
  swapAxes,
  rangesToMask,
  blockSparseRanges,
} from '../runtime/cluster/index.js';
import { rng, uniform, normal, expectClose } from './helpers/data.js';
import { describeClusterPaths } from './helpers/cluster-paths.js';

const num = (a: ArrayLike<number | bigint>): number[] => Array.from(a, Number);
const F = (...v: number[]): Float64Array => Float64Array.from(v);
const pts = (rows: number[][]): { data: Float64Array; shape: number[] } => ({ data: Float64Array.from(rows.flat()), shape: [rows.length, rows[0]?.length ?? 0] });
const pairs = (a: Int32Array): number[][] => Array.from({ length: a.length / 2 }, (_, k) => [a[2 * k]!, a[2 * k + 1]!]);
const throwsInput = (f: () => unknown, re: RegExp): void => {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, `expected an InputError matching ${re}`).to.be.instanceOf(InputError);
  expect((err as Error).message).to.match(re);
  expect((err as Error).message).to.not.contain('\n');
};

/** Oracle: label the cells by sorting their coordinate tuples lexicographically (string-free, O(n² ) is fine for tests). */
function lexLabels(x: Float64Array, n: number, d: number, eps: number[]): number[] {
  const cells = Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, a) => Math.floor(x[i * d + a]! / eps[a]!)));
  const cmp = (u: number[], v: number[]): number => {
    for (let a = 0; a < d; a++) if (u[a] !== v[a]) return u[a]! - v[a]!;
    return 0;
  };
  const uniq = [...cells].sort(cmp).filter((c, k, all) => k === 0 || cmp(c, all[k - 1]!) !== 0);
  return cells.map((c) => uniq.findIndex((u) => cmp(u, c) === 0));
}

/** pykeops.numpy's grid_cluster (D ≤ 3): key = Σ bins·[2²⁰, 2¹⁰, 1], shift by the min key, compact. */
function keopsGridCluster(x: Float64Array, n: number, d: number, size: number): number[] {
  const w = [[1], [1024, 1], [1048576, 1024, 1]][d - 1]!;
  const keys = Array.from({ length: n }, (_, i) => w.reduce((s, wa, a) => s + wa * Math.floor(x[i * d + a]! / size), 0));
  const min = Math.min(...keys);
  const uniq = [...new Set(keys.map((k) => k - min))].sort((a, b) => a - b);
  return keys.map((k) => uniq.indexOf(k - min));
}

/** The (M, N) mask of pairs closer than cutoff. */
function closePairs(x: Float64Array, y: Float64Array, M: number, N: number, d: number, cutoff: number): Uint8Array {
  const m = new Uint8Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += (x[i * d + a]! - y[j * d + a]!) ** 2;
      if (Math.sqrt(s) < cutoff) m[i * N + j] = 1;
    }
  return m;
}

/** KeOps's tutorial data: a noisy spiral x and a Gaussian blob y in the unit square (float64). */
function tutorialData(M: number, N: number, seed: number): { x: Float64Array; y: Float64Array } {
  const nx = normal(2 * M, seed);
  const ny = normal(2 * N, seed + 1);
  const x = new Float64Array(2 * M);
  for (let i = 0; i < M; i++) {
    const t = (2 * Math.PI * i) / M;
    x[2 * i] = 0.4 + 0.4 * (t / 7) * Math.cos(t) + 0.01 * nx[2 * i]!;
    x[2 * i + 1] = 0.5 + 0.3 * Math.sin(t) + 0.01 * nx[2 * i + 1]!;
  }
  const y = Float64Array.from(ny, (v) => v / 10 + 0.6);
  return { x, y };
}

const relL1 = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num_ = 0;
  let den = 0;
  for (let k = 0; k < b.length; k++) {
    num_ += Math.abs(a[k]! - b[k]!);
    den += Math.abs(b[k]!);
  }
  return num_ / den;
};

describeClusterPaths('runtime/cluster', () => {
  describe('gridCluster', () => {
    it('numpy golden: [0, .1, .9, .05, .5] with eps .2 gives [0, 0, 2, 0, 1]', () => {
      const x = F(0, 0.1, 0.9, 0.05, 0.5);
      expect(num(gridCluster(x, 0.2))).to.deep.equal([0, 0, 2, 0, 1]);
      expect(num(gridCluster({ data: x, shape: [5, 1] }, 0.2))).to.deep.equal([0, 0, 2, 0, 1]);
      expect(num(gridCluster({ data: x, shape: [5] }, [0.2]))).to.deep.equal([0, 0, 2, 0, 1]);
      expect(num(gridCluster(Float32Array.from(x), 0.2))).to.deep.equal([0, 0, 2, 0, 1]);
      expect(gridCluster(x, 0.2)).to.be.instanceOf(Int32Array);
    });

    it('cells are anchored at the origin (numpy), not at the minimum (torch)', () => {
      // floor(-.05/.2) = -1 and floor(.05/.2) = 0: two cells, although the points are .1 apart
      expect(num(gridCluster(F(0.05, -0.05), 0.2))).to.deep.equal([1, 0]);
      expect(num(gridCluster(F(-0.3, -0.5, 0.1), 0.2))).to.deep.equal([1, 0, 2]);
    });

    it('numbers cells in lexicographic order, first axis most significant (2-D, 3-D)', () => {
      // cells (1,0), (0,5), (0,-3), (1,0), (-2,7) → sorted (-2,7) (0,-3) (0,5) (1,0)
      const x2 = pts([[1.5, 0.5], [0.5, 5.5], [0.5, -2.5], [1.2, 0.1], [-1.5, 7.9]]);
      expect(num(gridCluster(x2, 1))).to.deep.equal([3, 2, 1, 3, 0]);
      const x3 = pts([[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 1, 0.5], [-1, 9, 9]]);
      expect(num(gridCluster(x3, 1))).to.deep.equal([2, 3, 4, 1, 3, 0]);
    });

    it('agrees with the lexicographic oracle in 2-D, 3-D and 5-D, and with KeOps while its keys do not collide', () => {
      for (const [d, n, seed] of [[2, 400, 1], [3, 500, 2], [5, 300, 3]] as const) {
        const x = uniform(n * d, seed, -1, 1);
        for (const eps of [0.05, 0.3, 0.7]) {
          const got = num(gridCluster({ data: x, shape: [n, d] }, eps));
          expect(got).to.deep.equal(lexLabels(x, n, d, Array<number>(d).fill(eps)));
          if (d <= 3) expect(got).to.deep.equal(keopsGridCluster(x, n, d, eps));
        }
      }
    });

    it('per-axis cell sides', () => {
      const n = 200;
      const x = uniform(n * 3, 7, 0, 1);
      const eps = [0.1, 0.25, 0.5];
      expect(num(gridCluster({ data: x, shape: [n, 3] }, eps))).to.deep.equal(lexLabels(x, n, 3, eps));
      expect(num(gridCluster({ data: x, shape: [n, 3] }, Float64Array.from(eps)))).to.deep.equal(lexLabels(x, n, 3, eps));
    });

    it('never merges cells: 5000 bins on one axis give 5000 labels; KeOps would collide in 2-D', () => {
      const r = rng(5);
      const order = Array.from({ length: 5000 }, (_, k) => k).sort(() => r() - 0.5);
      const x = Float64Array.from(order, (k) => (k + 0.5) * 0.01);
      const lab = gridCluster(x, 0.01);
      expect(num(lab)).to.deep.equal(order);
      // (0, 1024) and (1, 0) share KeOps's key 0·2¹⁰ + 1024 = 1·2¹⁰ + 0; ours keeps them apart
      const x2 = pts([[0.5, 1024.5], [1.5, 0.5], [0.5, 0.5]]);
      expect(new Set(keopsGridCluster(x2.data, 3, 2, 1)).size).to.equal(2);
      expect(num(gridCluster(x2, 1))).to.deep.equal([1, 2, 0]);
    });

    it('handles huge coordinate spans (radix with two digits, sorted ranks) and negative cells', () => {
      const n = 300;
      const x = Float64Array.from(uniform(n * 2, 9, -1, 1), (v) => v * 1e9);
      expect(num(gridCluster({ data: x, shape: [n, 2] }, 3))).to.deep.equal(lexLabels(x, n, 2, [3, 3]));
      // repeated cells in the two-digit radix path (span 4e6 cells) and in the sorted-rank path (span 3e12)
      const z = Float64Array.from({ length: 2 * n }, (_, k) => ((k * 7) % 5) * 1e6 + (k % 3) - 2e6);
      expect(num(gridCluster({ data: z, shape: [n, 2] }, 1))).to.deep.equal(lexLabels(z, n, 2, [1, 1]));
      const y = Float64Array.from({ length: 2 * n }, (_, k) => (k % 7) * 1e12 + (k % 3));
      expect(num(gridCluster({ data: y, shape: [n, 2] }, 2))).to.deep.equal(lexLabels(y, n, 2, [2, 2]));
    });

    it('empty clouds and D = 0', () => {
      expect(num(gridCluster(new Float64Array(0), 1))).to.deep.equal([]);
      expect(num(gridCluster({ data: new Float64Array(0), shape: [0, 3] }, 1))).to.deep.equal([]);
      expect(num(gridCluster({ data: new Float64Array(0), shape: [3, 0] }, []))).to.deep.equal([0, 0, 0]);
    });

    it('checks its inputs', () => {
      const x = pts([[0, 0], [1, 1]]);
      throwsInput(() => gridCluster(x, 0), /eps must be positive and finite, got 0/);
      throwsInput(() => gridCluster(x, -0.1), /eps must be positive/);
      throwsInput(() => gridCluster(x, NaN), /eps must be positive/);
      throwsInput(() => gridCluster(x, Infinity), /eps must be positive/);
      throwsInput(() => gridCluster(x, [0.1, 0]), /positive and finite, got 0 on axis 1/);
      throwsInput(() => gridCluster(x, [0.1]), /1 cell sides but the points have 2 coordinates/);
      throwsInput(() => gridCluster({ data: new Float64Array(8), shape: [2, 2, 2] }, 1), /shape \(2, 2, 2\); a point cloud is \(n, d\)/);
      throwsInput(() => gridCluster({ data: new Float64Array(5), shape: [3, 2] }, 1), /shape \(3, 2\) \(6 values\) but its data holds 5/);
      throwsInput(() => gridCluster({ data: new Int32Array(4) as unknown as Float64Array, shape: [2, 2] }, 1), /must be a Float32Array or Float64Array, got Int32Array/);
      throwsInput(() => gridCluster([0, 1] as unknown as Float64Array, 1), /got an Array/);
      throwsInput(() => gridCluster(pts([[0, NaN]]), 1), /x\[0, 1\] = NaN is not finite/);
      throwsInput(() => gridCluster(F(1e308), 1e-10), /overflows/);
    });

    it('clusters 1e6 points in 3-D in a few seconds', function () {
      this.timeout(30000);
      const n = 1_000_000;
      const x = uniform(3 * n, 21, 0, 1);
      const t0 = performance.now();
      const lab = gridCluster({ data: x, shape: [n, 3] }, 0.05);
      const ms = performance.now() - t0;
      expect(ms).to.be.below(5000);
      let max = 0;
      for (const v of lab) if (v > max) max = v;
      expect(max + 1).to.equal(20 * 20 * 20);
      // spot check: the label of a point is its cell's lexicographic rank (all 8000 cells are non-empty)
      for (const i of [0, 1, 12345, 999_999]) {
        const c = [0, 1, 2].map((a) => Math.floor(x[3 * i + a]! / 0.05));
        expect(lab[i]).to.equal(c[0]! * 400 + c[1]! * 20 + c[2]!);
      }
    });
  });

  describe('clusterRanges', () => {
    it('golden: [0, 0, 2, 2] gives [[0, 2], [2, 2], [2, 4]] (an empty class gives an empty range)', () => {
      const r = clusterRanges(Int32Array.of(0, 0, 2, 2));
      expect(r.shape).to.deep.equal([3, 2]);
      expect(r.data).to.be.instanceOf(Int32Array);
      expect(pairs(r.data)).to.deep.equal([[0, 2], [2, 2], [2, 4]]);
      expect(pairs(clusterRanges([0, 0, 2, 2]).data)).to.deep.equal([[0, 2], [2, 2], [2, 4]]);
      expect(pairs(clusterRanges(BigInt64Array.of(0n, 0n, 2n, 2n)).data)).to.deep.equal([[0, 2], [2, 2], [2, 4]]);
    });

    it('reads only the class sizes; nlab adds trailing empty classes', () => {
      expect(pairs(clusterRanges(Int32Array.of(1, 0, 1, 1)).data)).to.deep.equal([[0, 1], [1, 4]]);
      expect(pairs(clusterRanges(Int32Array.of(0, 1), 4).data)).to.deep.equal([[0, 1], [1, 2], [2, 2], [2, 2]]);
      expect(clusterRanges(new Int32Array(0)).shape).to.deep.equal([0, 2]);
    });

    it('checks the labels', () => {
      throwsInput(() => clusterRanges(Int32Array.of(0, 3), 3), /labels\[1\] = 3 is out of range for 3 classes/);
      throwsInput(() => clusterRanges(Int32Array.of(0, -1)), /labels\[1\] = -1 is negative/);
      throwsInput(() => clusterRanges([0, 1.5]), /labels\[1\] = 1.5 is not a non-negative 32-bit integer/);
      throwsInput(() => clusterRanges(Int32Array.of(0), -2), /number of classes must be a non-negative integer/);
    });
  });

  describe('clusterCentroids and clusterRangesCentroids', () => {
    it('per-class means; an empty class gives NaN', () => {
      const c = clusterCentroids(pts([[0, 0], [2, 2], [4, 5]]), Int32Array.of(0, 0, 2));
      expect(c.shape).to.deep.equal([3, 2]);
      expect(c.data).to.be.instanceOf(Float64Array);
      expectClose(c.data, [1, 1, NaN, NaN, 4, 5]);
      expect(Number.isNaN(c.data[2])).to.equal(true);
      // nlab: a trailing empty class
      expectClose(clusterCentroids(F(1, 3), [0, 0], null, 2).data, [2, NaN]);
      expect(clusterCentroids(F(1, 3), [0, 0]).shape).to.deep.equal([1]);
    });

    it('weighted means, float32 in gives float32 out', () => {
      const c = clusterCentroids(pts([[0, 1], [1, 1], [10, 0]]), [0, 0, 1], [1, 3, 2]);
      expectClose(c.data, [0.75, 1, 10, 0]);
      const c32 = clusterCentroids({ data: Float32Array.of(0, 1, 10), shape: [3, 1] }, [0, 0, 1]);
      expect(c32.data).to.be.instanceOf(Float32Array);
      expect(num(c32.data)).to.deep.equal([0.5, 10]);
      // zero total weight: 0/0
      expect(Number.isNaN(clusterCentroids(F(2, 2), [0, 0], [1, -1]).data[0])).to.equal(true);
      expect(clusterCentroids(F(1, 2), [0, 0], [1, -1]).data[0]).to.equal(-Infinity);
    });

    it('golden: weighted cluster_ranges_centroids', () => {
      const r = clusterRangesCentroids(F(0, 0.5, 1, 2, 3), Int32Array.of(0, 0, 1, 1, 1), F(1, 0.5, 1, 1, 10));
      expect(pairs(r.ranges.data)).to.deep.equal([[0, 2], [2, 5]]);
      expectClose(r.centroids.data, [1 / 6, 2.75], 1e-15);
      expectClose(r.weights, [1.5, 12]);
      // without weights: the class sizes
      const u = clusterRangesCentroids(F(0, 0.5, 1, 2, 3), Int32Array.of(0, 0, 1, 1, 1));
      expectClose(u.weights, [2, 3]);
      expectClose(u.centroids.data, [0.25, 2]);
    });

    it('checks its inputs', () => {
      throwsInput(() => clusterCentroids(F(1, 2, 3), [0, 1]), /labels has 2 entries but there are 3 points/);
      throwsInput(() => clusterCentroids(F(1, 2, 3), [0, 1, 2], [1, 1]), /weights has 2 entries but there are 3 points/);
      throwsInput(() => clusterCentroids(F(1, 2, 3), [0, 1, 2], null, 2), /labels\[2\] = 2 is out of range for 2 classes/);
      throwsInput(() => clusterRangesCentroids({ data: F(1, 2, 3), shape: [1, 1, 3] }, [0]), /a point cloud is \(n, d\)/);
    });
  });

  describe('sortClusters', () => {
    it('golden: x = [0, 5, .4, .3, 2], labels [0, 2, 0, 0, 1]', () => {
      const s = sortClusters(F(0, 5, 0.4, 0.3, 2), Int32Array.of(0, 2, 0, 0, 1));
      expect(s.x).to.be.instanceOf(Float64Array);
      expect(num(s.x)).to.deep.equal([0, 0.4, 0.3, 2, 5]);
      expect(num(s.labels)).to.deep.equal([0, 0, 0, 1, 2]);
      expect(num(s.perm)).to.deep.equal([0, 2, 3, 4, 1]);
    });

    it('is stable and permutes several arrays alike, keeping their types and shapes', () => {
      const lab = Int32Array.of(1, 0, 1, 0, 1, 0);
      const x = pts([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
      const ids = Int32Array.of(10, 11, 12, 13, 14, 15);
      const b = { data: Float32Array.of(0, 0.5, 1, 1.5, 2, 2.5), shape: [6, 1] };
      const big = BigInt64Array.of(0n, 1n, 2n, 3n, 4n, 5n);
      const s = sortClusters([x, ids, b, big], lab);
      expect(num(s.perm)).to.deep.equal([1, 3, 5, 0, 2, 4]);
      expect(num(s.labels)).to.deep.equal([0, 0, 0, 1, 1, 1]);
      const [sx, sids, sb, sbig] = s.x;
      expect(sx.shape).to.deep.equal([6, 2]);
      expect(num(sx.data)).to.deep.equal([1, 1, 3, 3, 5, 5, 0, 0, 2, 2, 4, 4]);
      expect(sids).to.be.instanceOf(Int32Array);
      expect(num(sids)).to.deep.equal([11, 13, 15, 10, 12, 14]);
      expect(sb.data).to.be.instanceOf(Float32Array);
      expect(sb.shape).to.deep.equal([6, 1]);
      expect(num(sb.data)).to.deep.equal([0.5, 1.5, 2.5, 0, 1, 2]);
      expect(sbig).to.be.instanceOf(BigInt64Array);
      expect(num(sbig)).to.deep.equal([1, 3, 5, 0, 2, 4]);
      // the inputs are untouched
      expect(num(ids)).to.deep.equal([10, 11, 12, 13, 14, 15]);
    });

    it('returns the permutation: permuteRows reproduces the sort, unpermuteRows undoes it', () => {
      const n = 500;
      const x = { data: uniform(3 * n, 31), shape: [n, 3] };
      const lab = gridCluster(x, 0.4);
      const s = sortClusters(x, lab);
      expect(num(permuteRows(x, s.perm).data)).to.deep.equal(num(s.x.data));
      expect(num(unpermuteRows(s.x, s.perm).data)).to.deep.equal(num(x.data));
      expect(num(unpermuteRows(s.labels, s.perm))).to.deep.equal(num(lab));
      // stability: inside a class, original indices increase
      for (let k = 1; k < n; k++) if (s.labels[k] === s.labels[k - 1]) expect(s.perm[k]!).to.be.above(s.perm[k - 1]!);
      // bare typed arrays with several values per row
      expect(num(permuteRows(Int32Array.of(0, 1, 2, 3, 4, 5), [2, 0], 3))).to.deep.equal([4, 5, 0, 1]);
      expect(num(unpermuteRows(Int32Array.of(4, 5, 0, 1, 2, 3), [2, 0, 1], 3))).to.deep.equal([0, 1, 2, 3, 4, 5]);
    });

    it('checks its inputs', () => {
      throwsInput(() => sortClusters(F(1, 2, 3), Int32Array.of(0, 1)), /3 values, which is not a whole number of rows for 2 points/);
      throwsInput(() => sortClusters({ data: F(1, 2, 3), shape: [3] }, Int32Array.of(0, 1)), /has 3 rows but there are 2 labels/);
      throwsInput(() => sortClusters([F(1, 2), F(1, 2, 3)], Int32Array.of(0, 1)), /x\[1\] has 3 values/);
      throwsInput(() => sortClusters(F(1, 2), Int32Array.of(0, -4)), /labels\[1\] = -4 is negative/);
      throwsInput(() => unpermuteRows(F(1, 2, 3), [0, 0, 1]), /not a permutation: row 0 appears twice/);
      throwsInput(() => permuteRows(F(1, 2, 3), [3]), /perm\[0\] = 3 is not a row index in \[0, 3\)/);
    });
  });

  describe('fromMatrix and swapAxes', () => {
    it('docstring golden', () => {
      const r = fromMatrix({ data: Int32Array.of(2, 5, 7, 12), shape: [2, 2] }, { data: Int32Array.of(1, 4, 4, 9, 20, 30), shape: [3, 2] }, { data: Uint8Array.of(1, 1, 0, 0, 1, 0), shape: [2, 3] });
      expect(pairs(r.ranges_i)).to.deep.equal([[2, 5], [7, 12]]);
      expect(num(r.slices_i)).to.deep.equal([2, 3]);
      expect(pairs(r.redranges_j)).to.deep.equal([[1, 4], [4, 9], [4, 9]]);
      expect(pairs(r.ranges_j)).to.deep.equal([[1, 4], [4, 9], [20, 30]]);
      expect(num(r.slices_j)).to.deep.equal([1, 3, 3]);
      expect(pairs(r.redranges_i)).to.deep.equal([[2, 5], [2, 5], [7, 12]]);
      for (const v of Object.values(r)) expect(v).to.be.instanceOf(Int32Array);
      // the same from flat pairs and nested boolean rows
      expect(fromMatrix([2, 5, 7, 12], [1, 4, 4, 9, 20, 30], [[true, true, false], [false, true, false]])).to.deep.equal(r);
    });

    it('§3.2 example, run through compile(...).run with ranges on both backends and both axes', () => {
      const r = fromMatrix(clusterRanges([0, 0, 1, 1]), clusterRanges([0, 0, 1, 1, 1]), { data: Int32Array.of(1, 0, 1, 1), shape: [2, 2] });
      expect(pairs(r.ranges_i)).to.deep.equal([[0, 2], [2, 4]]);
      expect(num(r.slices_i)).to.deep.equal([1, 3]);
      expect(pairs(r.redranges_j)).to.deep.equal([[0, 2], [0, 2], [2, 5]]);
      expect(pairs(r.ranges_j)).to.deep.equal([[0, 2], [2, 5]]);
      expect(num(r.slices_j)).to.deep.equal([2, 3]);
      expect(pairs(r.redranges_i)).to.deep.equal([[0, 2], [2, 4], [2, 4]]);
      const x = F(0, 1, 2, 3, 4, 5);
      const y = F(0, 10, 20, 30, 40);
      for (const backend of ['js', 'ref'] as const) {
        expect(num(compile('Sum_Reduction(x + y, 0)', ['x = Vi(1)', 'y = Vj(1)']).run({ x, y }, { ranges: r, backend }).values!.data)).to.deep.equal([10, 12, 110, 115, 0, 0]);
        expect(num(compile('Sum_Reduction(x + y, 1)', ['x = Vi(1)', 'y = Vj(1)']).run({ x, y }, { ranges: r, backend }).values!.data)).to.deep.equal([6, 46, 45, 65, 85]);
        expect(num(compile('Min_Reduction(x + y, 0)', ['x = Vi(1)', 'y = Vj(1)']).run({ x, y }, { ranges: r, backend }).values!.data)).to.deep.equal([0, 1, 2, 3, Infinity, Infinity]);
      }
    });

    it('both triplets describe the same mask, the expansion of keep', () => {
      const r = rng(77);
      for (let trial = 0; trial < 20; trial++) {
        const Mc = 1 + Math.floor(r() * 6);
        const Nc = 1 + Math.floor(r() * 6);
        const sizesI = Array.from({ length: Mc }, () => Math.floor(r() * 4));
        const sizesJ = Array.from({ length: Nc }, () => Math.floor(r() * 4));
        const labI = Int32Array.from(sizesI.flatMap((s, c) => Array<number>(s).fill(c)));
        const labJ = Int32Array.from(sizesJ.flatMap((s, c) => Array<number>(s).fill(c)));
        const keep = Uint8Array.from({ length: Mc * Nc }, () => (r() < 0.4 ? 1 : 0));
        const ranges = fromMatrix(clusterRanges(labI, Mc), clusterRanges(labJ, Nc), { data: keep, shape: [Mc, Nc] });
        const M = labI.length;
        const N = labJ.length;
        const want = Array.from({ length: M * N }, (_, k) => keep[labI[Math.floor(k / N)]! * Nc + labJ[k % N]!]!);
        expect(num(rangesToMask(ranges, M, N, 0).data)).to.deep.equal(want);
        expect(num(rangesToMask(ranges, M, N, 1).data)).to.deep.equal(want);
        expect(num(rangesToMask(swapAxes(ranges), N, M, 0).data)).to.deep.equal(Array.from({ length: M * N }, (_, k) => want[(k % M) * N + Math.floor(k / M)]));
      }
    });

    it('swapAxes is runtime/ranges one, swapping the triplets', () => {
      expect(swapAxes).to.equal(rangesSwapAxes);
      const r = fromMatrix([0, 2, 2, 4], [0, 2, 2, 5], [[1, 0], [1, 1]]);
      const s = swapAxes(r);
      expect(s.ranges_i).to.equal(r.ranges_j);
      expect(s.slices_i).to.equal(r.slices_j);
      expect(s.redranges_j).to.equal(r.redranges_i);
      expect(swapAxes(s)).to.deep.equal(r);
    });

    it('checks its inputs: keep must have the cluster counts as its shape', () => {
      const ri = [0, 2, 2, 4];
      const rj = [0, 2, 2, 5, 5, 6];
      throwsInput(() => fromMatrix(ri, rj, { data: new Uint8Array(4), shape: [2, 2] }), /keep has shape \(2, 2\) but the clusters need \(2, 3\)/);
      throwsInput(() => fromMatrix(ri, rj, { data: new Uint8Array(5), shape: [2, 3] }), /keep has shape \(2, 3\) but its data holds 5 values/);
      throwsInput(() => fromMatrix(ri, rj, [[1, 0, 1]]), /keep has 1 rows, expected 2/);
      throwsInput(() => fromMatrix(ri, rj, [[1, 0, 1], [1, 1]]), /keep\[1\] has 2 entries, expected 3/);
      throwsInput(() => fromMatrix([0, 2, 2], rj, [[1, 0, 1]]), /ranges_i has 3 values; it must hold \[start, end\) pairs/);
      throwsInput(() => fromMatrix([3, 2], rj, [[1, 0, 1]]), /ranges_i\[0\] = \[3, 2\) has start > end/);
      throwsInput(() => fromMatrix({ data: [0, 1, 2], shape: [3] }, rj, [[1, 0, 1]]), /ranges_i has shape \(3,\), expected \(C, 2\)/);
      throwsInput(() => fromMatrix([0, -1], rj, [[1, 0, 1]]), /ranges_i\[0\] holds -1/);
    });

    it('is fast on 2000 × 2000 clusters', () => {
      const C = 2000;
      const rc = clusterRanges(Int32Array.from({ length: 10 * C }, (_, k) => Math.floor(k / 10)));
      const r = rng(3);
      const keep = Uint8Array.from({ length: C * C }, () => (r() < 0.1 ? 1 : 0));
      const t0 = performance.now();
      const ranges = fromMatrix(rc, rc, { data: keep, shape: [C, C] });
      expect(performance.now() - t0).to.be.below(1000);
      const kept = keep.reduce((a, b) => a + b, 0);
      expect(ranges.slices_i[C - 1]).to.equal(kept);
      expect(ranges.slices_j[C - 1]).to.equal(kept);
    });
  });

  describe('blockSparseRanges', () => {
    it('covers every pair closer than cutoff (random clouds, 1-D to 3-D)', () => {
      for (const [d, M, N, eps, cutoff, seed] of [
        [2, 150, 120, 0.2, 0.15, 1],
        [2, 200, 180, 0.1, 0.3, 2],
        [3, 160, 140, 0.25, 0.2, 3],
        [1, 100, 90, 0.05, 0.02, 4],
        [3, 120, 130, 0.5, 0, 5],
      ] as const) {
        const x = uniform(M * d, seed * 10, -1, 1);
        const y = Float64Array.from(normal(N * d, seed * 10 + 1), (v) => v * 0.5);
        const bs = blockSparseRanges({ data: x, shape: [M, d] }, { data: y, shape: [N, d] }, { eps, cutoff, epsY: eps * 1.5 });
        expect(bs.x.shape).to.deep.equal([M, d]);
        expect(num(bs.x.data)).to.deep.equal(num(permuteRows({ data: x, shape: [M, d] }, bs.permX).data));
        expect(num(bs.y.data)).to.deep.equal(num(permuteRows({ data: y, shape: [N, d] }, bs.permY).data));
        expect(num(unpermuteRows(bs.labelsX, bs.permX))).to.deep.equal(num(gridCluster({ data: x, shape: [M, d] }, eps)));
        expect(num(unpermuteRows(bs.labelsY, bs.permY))).to.deep.equal(num(gridCluster({ data: y, shape: [N, d] }, eps * 1.5)));
        expect(bs.ranges).to.deep.equal(fromMatrix(bs.clustersX, bs.clustersY, bs.keep));
        const mask = rangesToMask(bs.ranges, M, N, 0).data;
        expect(num(rangesToMask(bs.ranges, M, N, 1).data)).to.deep.equal(num(mask));
        const close = closePairs(bs.x.data, bs.y.data, M, N, d, cutoff);
        let closeCount = 0;
        let covered = 0;
        for (let k = 0; k < M * N; k++) {
          closeCount += close[k]!;
          covered += mask[k]!;
          if (close[k] && !mask[k]) throw new Error(`pair ${Math.floor(k / N)}, ${k % N} is closer than ${cutoff} but not covered`);
        }
        if (cutoff > 0) expect(closeCount).to.be.above(0);
        expect(bs.keptFraction).to.be.closeTo(covered / (M * N), 1e-12);
        expect(bs.keptFraction).to.be.below(1);
        // centroids and radii are what they claim
        const cc = clusterCentroids(bs.x, bs.labelsX);
        expectClose(bs.centroidsX.data, num(cc.data));
      }
    });

    it("keeps close pairs that KeOps's centroid criterion drops", () => {
      // x cell [0, 1) with points .05 and .95, y cell [1, 2) with 1.05 and 1.95: centroids 1 apart, but .95 and 1.05 are .1 apart
      const x = F(0.05, 0.95);
      const y = F(1.05, 1.95);
      const tutorialKeep = [[Math.abs(0.5 - 1.5) < 0.5 ? 1 : 0]];
      const tut = fromMatrix(clusterRanges([0, 0]), clusterRanges([0, 0]), tutorialKeep);
      expect(num(rangesToMask(tut, 2, 2).data)).to.deep.equal([0, 0, 0, 0]);
      const bs = blockSparseRanges(x, y, { eps: 1, cutoff: 0.5 });
      expect(num(bs.keep.data)).to.deep.equal([1]);
      expectClose(bs.radiiX, [0.45]);
      expect(num(rangesToMask(bs.ranges, 2, 2).data)).to.deep.equal([1, 1, 1, 1]);
      expect(bs.x.shape).to.deep.equal([2]);
    });

    it("Gaussian kernel on the tutorial's data (M = N = 2000): < 0.5 % relative L1 error against the dense sum", function () {
      this.timeout(60000);
      const M = 2000;
      const N = 2000;
      const sigma = 0.05;
      const { x, y } = tutorialData(M, N, 100);
      const b = normal(N, 200);
      const k = compile('x = Vi(0, 2); y = Vj(1, 2); b = Vj(2, 1); g = Sum_Reduction(Exp(-200 * SqDist(x, y)) * b, 0)'); // 1/(2σ²) = 200
      const dense = k.run({ x: { data: x, shape: [M, 2] }, y: { data: y, shape: [N, 2] }, b }).values!.data as Float64Array;

      // KeOps's tutorial pipeline: grid → ranges + centroids → sort → keep = |c_a − c_b| < 4σ → fromMatrix
      const xl = gridCluster({ data: x, shape: [M, 2] }, 0.05);
      const yl = gridCluster({ data: y, shape: [N, 2] }, 0.05);
      const cx = clusterRangesCentroids({ data: x, shape: [M, 2] }, xl);
      const cy = clusterRangesCentroids({ data: y, shape: [N, 2] }, yl);
      const sx = sortClusters({ data: x, shape: [M, 2] }, xl);
      const sy = sortClusters([{ data: y, shape: [N, 2] }, b], yl);
      const Cx = cx.ranges.shape[0];
      const Cy = cy.ranges.shape[0];
      const keep = new Uint8Array(Cx * Cy);
      for (let a = 0; a < Cx; a++)
        for (let c = 0; c < Cy; c++) {
          const D2 = (cx.centroids.data[2 * a]! - cy.centroids.data[2 * c]!) ** 2 + (cx.centroids.data[2 * a + 1]! - cy.centroids.data[2 * c + 1]!) ** 2;
          keep[a * Cy + c] = D2 < (4 * sigma) ** 2 ? 1 : 0;
        }
      const ranges = fromMatrix(cx.ranges, cy.ranges, { data: keep, shape: [Cx, Cy] });
      const sparseSorted = k.run({ x: sx.x, y: sy.x[0], b: sy.x[1] }, { ranges }).values!.data as Float64Array;
      const tutErr = relL1(unpermuteRows(sparseSorted, sx.perm), dense);
      expect(tutErr).to.be.below(0.005);

      // blockSparseRanges with cutoff 4σ: every pair within 4σ is computed
      const bs = blockSparseRanges({ data: x, shape: [M, 2] }, { data: y, shape: [N, 2] }, { eps: 0.05, cutoff: 4 * sigma });
      const out = k.run({ x: bs.x, y: bs.y, b: permuteRows(b, bs.permY) }, { ranges: bs.ranges }).values!;
      const err = relL1(unpermuteRows(out.data as Float64Array, bs.permX), dense);
      expect(err).to.be.below(0.005);
      expect(err).to.be.at.most(tutErr);
      expect(bs.keptFraction).to.be.below(0.5);
    });

    it('js with the ranges equals the reference evaluator with the same ranges (M = N = 300, both tags)', function () {
      this.timeout(60000);
      const M = 300;
      const N = 300;
      const { x, y } = tutorialData(M, N, 300);
      const b = normal(N, 301);
      const a = normal(M, 302);
      const bs = blockSparseRanges({ data: x, shape: [M, 2] }, { data: y, shape: [N, 2] }, { eps: 0.05, cutoff: 0.2 });
      expect(bs.keptFraction).to.be.below(0.9);
      const k0 = compile('x = Vi(0, 2); y = Vj(1, 2); b = Vj(2, 1); g = Sum_Reduction(Exp(-200 * SqDist(x, y)) * b, 0)');
      const args0 = { x: bs.x, y: bs.y, b: permuteRows(b, bs.permY) };
      const js0 = k0.run(args0, { ranges: bs.ranges, backend: 'js' }).values!.data;
      const ref0 = k0.run(args0, { ranges: bs.ranges, backend: 'ref' }).values!.data;
      expectClose(js0, num(ref0), 1e-12, 1e-12);
      const k1 = compile('x = Vi(0, 2); y = Vj(1, 2); a = Vi(2, 1); g = Sum_Reduction(Exp(-200 * SqDist(x, y)) * a, 1)');
      const args1 = { x: bs.x, y: bs.y, a: permuteRows(a, bs.permX) };
      const js1 = k1.run(args1, { ranges: bs.ranges, backend: 'js' }).values!.data;
      const ref1 = k1.run(args1, { ranges: bs.ranges, backend: 'ref' }).values!.data;
      expectClose(js1, num(ref1), 1e-12, 1e-12);
    });

    it('checks its inputs', () => {
      const x = pts([[0, 0], [1, 1]]);
      throwsInput(() => blockSparseRanges(x, pts([[0, 0, 0]]), { eps: 0.1, cutoff: 1 }), /x has 2 coordinates per point but y has 3/);
      throwsInput(() => blockSparseRanges(x, x, { eps: 0, cutoff: 1 }), /options.eps must be positive/);
      throwsInput(() => blockSparseRanges(x, x, { eps: 0.1, epsY: -1, cutoff: 1 }), /options.epsY must be positive/);
      throwsInput(() => blockSparseRanges(x, x, { eps: 0.1, cutoff: -1 }), /cutoff must be a number ≥ 0/);
      throwsInput(() => blockSparseRanges(x, x, { eps: 0.1, cutoff: NaN }), /cutoff must be a number ≥ 0/);
      throwsInput(() => blockSparseRanges(x, { data: F(1, 2, 3), shape: [2, 2] }, { eps: 0.1, cutoff: 1 }), /y has shape \(2, 2\) \(4 values\) but its data holds 3/);
      throwsInput(() => blockSparseRanges(x, x, undefined as unknown as { eps: number; cutoff: number }), /options \{ eps, cutoff \} are required/);
      // Infinity keeps every block
      expect(blockSparseRanges(x, x, { eps: 0.1, cutoff: Infinity }).keptFraction).to.equal(1);
    });
  });
});
