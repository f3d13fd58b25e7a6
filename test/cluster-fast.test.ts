/**
 * The fast paths of runtime/cluster (dense cell table, fused passes, neighbour-bucket centroid tests,
 * word-skipping mask scan) give exactly what straightforward implementations give, on random data:
 * empty clouds, one point, negative coordinates, D = 1, 2, 3, 5, float32 and float64, dense and
 * sparse grids.
 */
import { expect } from 'chai';
import { gridCluster, clusterRangesCentroids, sortClusters, fromMatrix, centroidMask, blockSparseRanges } from '../runtime/cluster/index.js';
import type { Ranges } from '../runtime/ranges/index.js';
import { rng } from './helpers/data.js';
import { describeClusterPaths } from './helpers/cluster-paths.js';

const num = (a: ArrayLike<number>): number[] => Array.from(a, Number);

/** Straightforward grid labels: the distinct cell tuples, sorted lexicographically, numbered. */
function naiveLabels(x: ArrayLike<number>, n: number, d: number, eps: number): number[] {
  const cells = Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, a) => Math.floor(x[i * d + a]! / eps)));
  const cmp = (u: number[], v: number[]): number => {
    for (let a = 0; a < d; a++) if (u[a] !== v[a]) return u[a]! - v[a]!;
    return 0;
  };
  const uniq = [...cells].sort(cmp).filter((c, k, all) => k === 0 || cmp(c, all[k - 1]!) !== 0);
  return cells.map((c) => {
    let lo = 0;
    let hi = uniq.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(uniq[mid]!, c) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

/** Straightforward ranges, centroids (float64 sums in index order) and weights. */
function naiveCentroids(x: ArrayLike<number>, n: number, d: number, lab: number[]): { ranges: number[]; centroids: number[]; weights: number[] } {
  const C = lab.reduce((m, l) => Math.max(m, l + 1), 0);
  const count = new Array<number>(C).fill(0);
  const sums = new Array<number>(C * d).fill(0);
  for (let i = 0; i < n; i++) {
    count[lab[i]!]!++;
    for (let a = 0; a < d; a++) sums[lab[i]! * d + a]! += x[i * d + a]!;
  }
  const ranges: number[] = [];
  let pos = 0;
  for (let c = 0; c < C; c++) ranges.push(pos, (pos += count[c]!));
  return { ranges, centroids: sums.map((s, k) => s / count[Math.floor(k / d)]!), weights: count };
}

/** Straightforward ranges from a mask (KeOps's from_matrix, entry by entry). */
function naiveFromMatrix(ri: ArrayLike<number>, rj: ArrayLike<number>, keep: ArrayLike<number>, Mc: number, Nc: number): Record<keyof Ranges, number[]> {
  const slices_i: number[] = [], redranges_j: number[] = [], slices_j: number[] = [], redranges_i: number[] = [];
  for (let a = 0; a < Mc; a++) {
    for (let b = 0; b < Nc; b++) if (keep[a * Nc + b]) redranges_j.push(rj[2 * b]!, rj[2 * b + 1]!);
    slices_i.push(redranges_j.length / 2);
  }
  for (let b = 0; b < Nc; b++) {
    for (let a = 0; a < Mc; a++) if (keep[a * Nc + b]) redranges_i.push(ri[2 * a]!, ri[2 * a + 1]!);
    slices_j.push(redranges_i.length / 2);
  }
  return { ranges_i: num(ri), slices_i, redranges_j, ranges_j: num(rj), slices_j, redranges_i };
}

const expectRanges = (r: Ranges, want: Record<keyof Ranges, number[]>, what: string): void => {
  for (const k of Object.keys(want) as (keyof Ranges)[]) expect(num(r[k]), `${what}: ${k}`).to.deep.equal(want[k]);
};

/** A random cloud: a few dense blobs, or (spread) points scattered over a huge span. */
function cloud(n: number, d: number, seed: number, spread: boolean, f32: boolean): Float64Array | Float32Array {
  const r = rng(seed);
  const centres = Array.from({ length: 3 * d }, () => (r() - 0.5) * 4);
  const v = Array.from({ length: n * d }, (_, k) => {
    if (spread) return (r() - 0.5) * 1e4;
    const blob = Math.floor(r() * 3);
    return centres[blob * d + (k % d)]! + (r() - 0.5) * 0.8 - 0.3;
  });
  return f32 ? Float32Array.from(v) : Float64Array.from(v);
}

describeClusterPaths('runtime/cluster fast paths equal straightforward implementations', () => {
  const cases: [n: number, d: number, spread: boolean, f32: boolean, eps: number][] = [
    [0, 2, false, false, 0.1],
    [1, 3, false, true, 0.1],
    [1, 1, true, false, 0.5],
    [300, 1, false, false, 0.05],
    [300, 1, true, true, 3],
    [500, 2, false, true, 0.1],
    [400, 2, true, false, 7],
    [400, 3, false, false, 0.2],
    [200, 3, true, true, 50],
    [300, 5, false, false, 0.4],
    [150, 5, true, false, 100],
  ];
  it('labels, ranges, centroids, weights, sorted rows and permutations', () => {
    cases.forEach(([n, d, spread, f32, eps], k) => {
      const x = cloud(n, d, 10 + k, spread, f32);
      const p = { data: x, shape: [n, d] };
      const what = `case ${k} (n = ${n}, d = ${d}${spread ? ', spread' : ''})`;
      const want = naiveLabels(x, n, d, eps);
      const lab = gridCluster(p, eps);
      expect(num(lab), what).to.deep.equal(want);
      const rc = clusterRangesCentroids(p, lab);
      const nc = naiveCentroids(x, n, d, want);
      expect(num(rc.ranges.data), what).to.deep.equal(nc.ranges);
      expect(num(rc.weights), what).to.deep.equal(nc.weights);
      expect(num(rc.centroids.data), what).to.deep.equal(num(f32 ? Float32Array.from(nc.centroids) : nc.centroids));
      const s = sortClusters(p, lab);
      const perm = Array.from({ length: n }, (_, i) => i).sort((i, j) => want[i]! - want[j]! || i - j);
      expect(num(s.perm), what).to.deep.equal(perm);
      expect(num(s.labels), what).to.deep.equal(perm.map((i) => want[i]!));
      expect(num(s.x.data), what).to.deep.equal(perm.flatMap((i) => num(x.subarray(i * d, (i + 1) * d))));
    });
  });

  it('centroidMask keeps exactly the pairs of the all-pairs test, and fromMatrix gives the entry-by-entry ranges', () => {
    cases.forEach(([n, d, spread, f32, eps], k) => {
      const x = cloud(n, d, 30 + k, spread, f32);
      const y = cloud(Math.max(0, n - 37), d, 50 + k, spread, f32);
      const cx = clusterRangesCentroids({ data: x, shape: [n, d] }, gridCluster({ data: x, shape: [n, d] }, eps));
      const m = y.length / d;
      const cy = clusterRangesCentroids({ data: y, shape: [m, d] }, gridCluster({ data: y, shape: [m, d] }, eps));
      const Cx = cx.ranges.shape[0], Cy = cy.ranges.shape[0];
      for (const cutoff of [0, eps, 3 * eps, 40 * eps, Infinity]) {
        const want = new Uint8Array(Cx * Cy);
        for (let a = 0; a < Cx; a++)
          for (let b = 0; b < Cy; b++) {
            let s = 0;
            for (let q = 0; q < d; q++) s += (cx.centroids.data[a * d + q]! - cy.centroids.data[b * d + q]!) ** 2;
            want[a * Cy + b] = s < cutoff * cutoff ? 1 : 0;
          }
        const what = `case ${k}, cutoff ${cutoff}`;
        const mask = centroidMask(cx.centroids, cy.centroids, cutoff);
        expect(mask.shape, what).to.deep.equal([Cx, Cy]);
        expect(num(mask.data), what).to.deep.equal(num(want));
        const ranges = fromMatrix(cx.ranges, cy.ranges, mask);
        expectRanges(ranges, naiveFromMatrix(cx.ranges.data, cy.ranges.data, want, Cx, Cy), what);
      }
    });
  });

  it('fromMatrix reads unaligned Uint8Array views, other arrays and nested rows alike', () => {
    const r = rng(7);
    for (const [Mc, Nc, density] of [[0, 0, 0.5], [1, 1, 1], [7, 13, 0.2], [33, 29, 0.05], [64, 64, 0.9]] as const) {
      const bytes = Uint8Array.from({ length: Mc * Nc + 3 }, () => (r() < density ? 1 + Math.floor(r() * 3) : 0));
      const keep = bytes.subarray(3);
      const ri = Int32Array.from({ length: 2 * Mc }, (_, q) => 5 * (q >> 1) + (q & 1) * 5);
      const rj = Int32Array.from({ length: 2 * Nc }, (_, q) => 2 * (q >> 1) + (q & 1) * 2);
      const want = naiveFromMatrix(ri, rj, keep, Mc, Nc);
      expectRanges(fromMatrix(ri, rj, { data: keep, shape: [Mc, Nc] }), want, `view ${Mc}×${Nc}`);
      expectRanges(fromMatrix(ri, rj, { data: Float64Array.from(keep), shape: [Mc, Nc] }), want, `float64 ${Mc}×${Nc}`);
      expectRanges(fromMatrix(ri, rj, Array.from({ length: Mc }, (_, a) => Array.from(keep.subarray(a * Nc, (a + 1) * Nc), Boolean))), want, `nested ${Mc}×${Nc}`);
    }
  });

  it('blockSparseRanges keeps exactly the blocks of the all-pairs radius test', () => {
    cases.forEach(([n, d, spread, f32, eps], k) => {
      const x = cloud(n, d, 70 + k, spread, f32);
      const y = cloud(n + 11, d, 90 + k, spread, f32);
      for (const cutoff of [0, eps / 2, 2 * eps, Infinity]) {
        const bs = blockSparseRanges({ data: x, shape: [n, d] }, { data: y, shape: [n + 11, d] }, { eps, cutoff });
        const [Cx, Cy] = bs.keep.shape;
        let maxAbs = 0;
        for (const v of [...x, ...y]) maxAbs = Math.max(maxAbs, Math.abs(v));
        const scale = maxAbs * Math.sqrt(d);
        const want = new Uint8Array(Cx * Cy);
        for (let a = 0; a < Cx; a++)
          for (let b = 0; b < Cy; b++) {
            let s = 0;
            for (let q = 0; q < d; q++) {
              const diff = bs.centroidsX.data[a * d + q]! - bs.centroidsY.data[b * d + q]!;
              s += diff * diff;
            }
            const bound = cutoff + bs.radiiX[a]! + bs.radiiY[b]!;
            want[a * Cy + b] = Math.sqrt(s) < bound + 1e-12 * (bound + scale) ? 1 : 0;
          }
        const what = `case ${k}, cutoff ${cutoff}`;
        expect(num(bs.keep.data), what).to.deep.equal(num(want));
        expectRanges(bs.ranges, naiveFromMatrix(bs.clustersX.data, bs.clustersY.data, want, Cx, Cy), what);
        // the per-cloud outputs are those of the separate functions
        const lx = gridCluster({ data: x, shape: [n, d] }, eps);
        const sx = sortClusters({ data: x, shape: [n, d] }, lx);
        expect(num(bs.permX), what).to.deep.equal(num(sx.perm));
        expect(num(bs.labelsX), what).to.deep.equal(num(sx.labels));
        expect(num(bs.x.data), what).to.deep.equal(num(sx.x.data));
        const rc = clusterRangesCentroids({ data: x, shape: [n, d] }, lx);
        expect(num(bs.clustersX.data), what).to.deep.equal(num(rc.ranges.data));
      }
    });
  });

  it('centroidMask checks its inputs and never keeps NaN centroids', () => {
    expect(() => centroidMask({ data: new Float64Array(4), shape: [2, 2] }, { data: new Float64Array(3), shape: [1, 3] }, 1)).to.throw(/2 coordinates per point but centroidsY has 3/);
    expect(() => centroidMask(new Float64Array(2), new Float64Array(2), -1)).to.throw(/cutoff must be a number ≥ 0/);
    expect(() => centroidMask(new Float64Array(2), new Float64Array(2), NaN)).to.throw(/cutoff must be a number ≥ 0/);
    const cy = Float64Array.from({ length: 40 }, (_, k) => (k === 5 ? NaN : k));
    const m = centroidMask(Float64Array.of(NaN, 5.2, 20), cy, 1.5);
    expect(num(m.data.subarray(0, 40)).some(Boolean)).to.equal(false);
    expect(num(m.data.subarray(40, 80)).flatMap((v, b) => (v ? [b] : []))).to.deep.equal([4, 6]);
    expect(num(m.data.subarray(80, 120)).flatMap((v, b) => (v ? [b] : []))).to.deep.equal([19, 20, 21]);
  });
});
