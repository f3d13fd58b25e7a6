/**
 * Cluster pairs in compressed rows, found without testing every pair: the centroid tests of
 * `centroidMask` and `blockSparseRanges` through a bucket grid over the column centroids, and the
 * scan of a dense keep mask for `fromMatrix`. Typed arrays only.
 */
import type { Ranges } from '../ranges/index.js';
import { clusterKernels } from './native.js';

/** Kept cluster pairs by rows: the kept columns of row a are `cols[rowStart[a] .. rowStart[a + 1])`, ascending. */
export interface KeptPairs {
  rowStart: Int32Array;
  cols: Int32Array;
}

/** The per-pair test of {@link closeClusters}. */
export type CentroidTest =
  /** KeOps's tutorial criterion: Σₖ (c_a,k − c_b,k)² < cutoff². */
  | { kind: 'plain'; cutoff: number }
  /**
   * The criterion of blockSparseRanges: |c_a − c_b| < bound + 1e−12·(bound + scale), with
   * bound = cutoff + r_a + r_b.
   */
  | { kind: 'radii'; cutoff: number; radiiA: Float64Array; radiiB: Float64Array; scale: number };

/** A growable Int32Array. */
class IntList {
  data: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.data = new Int32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new Int32Array(2 * this.data.length);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
  take(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

/**
 * The pairs (a, b) of centroids `ca` (Ca × d, row-major) and `cb` (Cb × d) that pass `test`, in
 * compressed rows. The result is exactly the set the test gives on all Ca·Cb pairs, but only the b
 * centroids in the grid buckets near c_a are tested: each test implies |c_a,k − c_b,k| < t_a on every
 * axis k (t_a: the largest threshold row a can meet, plus a margin far above rounding), the b centroids
 * are bucketed by floor((c_b,k − min_k) / H) on a grid of at most 2·Cb + 64 buckets, and row a visits
 * the buckets of the box c_a ± t_a (or every b, when that box has more buckets than there are b's).
 * A centroid with a non-finite coordinate fails every test with a finite threshold and is skipped; an
 * infinite threshold (cutoff = ∞) tests every pair.
 */
export function closeClusters(ca: Float32Array | Float64Array, Ca: number, cb: Float32Array | Float64Array, Cb: number, d: number, test: CentroidTest): KeptPairs {
  const native = clusterKernels();
  if (native) return test.kind === 'radii' ? native.closeClusters(ca, Ca, cb, Cb, d, test.cutoff, test.radiiA, test.radiiB, test.scale) : native.closeClusters(ca, Ca, cb, Cb, d, test.cutoff, null, null, 0);
  const rowStart = new Int32Array(Ca + 1);
  const cols = new IntList(4 * Ca);
  const radii = test.kind === 'radii' ? test : undefined;
  const cutoff = test.cutoff;
  const cut2 = cutoff * cutoff;
  /** Tests the candidates cand[0..m) of row a (ascending), keeping those that pass. One call per row. */
  const testRow = (a: number, cand: Int32Array, m: number): void => {
    const ra = radii ? radii.radiiA[a]! : 0;
    for (let q = 0; q < m; q++) {
      const b = cand[q]!;
      let s = 0;
      for (let k = 0; k < d; k++) {
        const diff = ca[a * d + k]! - cb[b * d + k]!;
        s += diff * diff;
      }
      let ok: boolean;
      if (!radii) ok = s < cut2;
      else {
        const bound = cutoff + ra + radii.radiiB[b]!;
        ok = Math.sqrt(s) < bound + 1e-12 * (bound + radii.scale);
      }
      if (ok) cols.push(b);
    }
  };
  // the largest threshold of each row: a bound on |c_a,k − c_b,k| for every kept b
  let rMaxB = 0;
  if (radii) for (let b = 0; b < Cb; b++) rMaxB = Math.max(rMaxB, radii.radiiB[b]!);
  const half = (a: number): number => {
    if (!radii) return cutoff;
    const t = cutoff + radii.radiiA[a]! + rMaxB;
    return t + 1e-12 * (t + radii.scale);
  };
  let finiteThresholds = Number.isFinite(cutoff) && Number.isFinite(rMaxB);
  if (radii) for (let a = 0; a < Ca && finiteThresholds; a++) finiteThresholds = Number.isFinite(radii.radiiA[a]!);
  if (!finiteThresholds || Cb <= 16 || d === 0) {
    const all = new Int32Array(Cb);
    for (let b = 0; b < Cb; b++) all[b] = b;
    for (let a = 0; a < Ca; a++) {
      testRow(a, all, Cb);
      rowStart[a + 1] = cols.length;
    }
    return { rowStart, cols: cols.take() };
  }
  // the finite b centroids and their bounding box
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  const valid = new Uint8Array(Cb);
  let absMax = 0;
  for (let b = 0; b < Cb; b++) {
    let ok = 1;
    for (let k = 0; k < d; k++) if (!Number.isFinite(cb[b * d + k]!)) ok = 0;
    valid[b] = ok;
    if (ok)
      for (let k = 0; k < d; k++) {
        const v = cb[b * d + k]!;
        if (v < lo[k]!) lo[k] = v;
        if (v > hi[k]!) hi[k] = v;
        absMax = Math.max(absMax, Math.abs(v));
      }
  }
  if (!(lo[0]! <= hi[0]!)) {
    // no finite b centroid: nothing passes a finite threshold
    return { rowStart, cols: new Int32Array(0) };
  }
  let extent = 0;
  let meanHalf = 0;
  for (let k = 0; k < d; k++) extent = Math.max(extent, hi[k]! - lo[k]!);
  for (let a = 0; a < Ca; a++) meanHalf += half(a) / Ca;
  for (let a = 0; a < Ca; a++) for (let k = 0; k < d; k++) if (Number.isFinite(ca[a * d + k]!)) absMax = Math.max(absMax, Math.abs(ca[a * d + k]!));
  // the bucket side: about the typical threshold, doubled until the grid has at most 2·Cb + 64 buckets
  let H = Math.max(meanHalf, extent * 2 ** -20, Number.MIN_VALUE);
  const G = new Float64Array(d);
  for (;;) {
    let total = 1;
    for (let k = 0; k < d; k++) total *= G[k] = Math.floor((hi[k]! - lo[k]!) / H) + 1;
    if (total <= 2 * Cb + 64) break;
    H *= 2;
  }
  let buckets = 1;
  for (let k = 0; k < d; k++) buckets *= G[k]!;
  // counting sort of the valid b by bucket (b ascending within a bucket)
  const bucketOf = new Int32Array(Cb);
  const start = new Int32Array(buckets + 1);
  for (let b = 0; b < Cb; b++) {
    if (!valid[b]) continue;
    let key = 0;
    for (let k = 0; k < d; k++) key = key * G[k]! + Math.min(G[k]! - 1, Math.floor((cb[b * d + k]! - lo[k]!) / H));
    bucketOf[b] = key;
    start[key + 1]!++;
  }
  for (let q = 0; q < buckets; q++) start[q + 1]! += start[q]!;
  const list = new Int32Array(start[buckets]!);
  const fillPos = start.slice(0, buckets);
  const allValid = new Int32Array(list.length);
  for (let b = 0, v = 0; b < Cb; b++)
    if (valid[b]) {
      list[fillPos[bucketOf[b]!]!++] = b;
      allValid[v++] = b;
    }
  // rows: visit the buckets of the box c_a ± t_a
  const boxLo = new Int32Array(d);
  const boxHi = new Int32Array(d);
  const at = new Int32Array(d);
  const cand = new Int32Array(Cb);
  for (let a = 0; a < Ca; a++) {
    let empty = false;
    let volume = 1;
    const t = half(a) * (1 + 1e-9) + 1e-9 * (absMax + H);
    for (let k = 0; k < d && !empty; k++) {
      const c = ca[a * d + k]!;
      if (!Number.isFinite(c)) empty = true;
      const l = Math.max(0, Math.floor((c - t - lo[k]!) / H));
      const h = Math.min(G[k]! - 1, Math.floor((c + t - lo[k]!) / H));
      if (!(l <= h)) empty = true;
      boxLo[k] = l;
      boxHi[k] = h;
      volume *= h - l + 1;
    }
    if (!empty) {
      if (volume >= list.length) testRow(a, allValid, allValid.length);
      else {
        let m = 0;
        at.set(boxLo);
        for (;;) {
          let key = 0;
          for (let k = 0; k < d; k++) key = key * G[k]! + at[k]!;
          for (let q = start[key]!; q < start[key + 1]!; q++) cand[m++] = list[q]!;
          let k = d - 1;
          while (k >= 0 && at[k] === boxHi[k]) {
            at[k] = boxLo[k]!;
            k--;
          }
          if (k < 0) break;
          at[k]!++;
        }
        cand.subarray(0, m).sort();
        testRow(a, cand, m);
      }
    }
    rowStart[a + 1] = cols.length;
  }
  return { rowStart, cols: cols.take() };
}

/**
 * The kept pairs of a dense (Mc, Nc) 0/1 mask, in compressed rows: one pass over the bytes, four at a
 * time where the mask is zero.
 */
export function maskPairs(k: Uint8Array, Mc: number, Nc: number): KeptPairs {
  const native = clusterKernels();
  if (native) return native.maskPairs(k, Mc, Nc);
  const rowStart = new Int32Array(Mc + 1);
  const cols = new IntList(4 * Mc);
  const words = new Uint32Array(k.buffer, 0, k.buffer.byteLength >> 2);
  const base = k.byteOffset;
  for (let a = 0; a < Mc; a++) {
    const end = (a + 1) * Nc;
    let i = a * Nc;
    while (i < end) {
      const g = base + i;
      if ((g & 3) === 0 && i + 4 <= end && words[g >> 2] === 0) {
        i += 4;
        continue;
      }
      if (k[i] !== 0) cols.push(i - a * Nc);
      i++;
    }
    rowStart[a + 1] = cols.length;
  }
  return { rowStart, cols: cols.take() };
}

/**
 * KeOps's six range arrays from kept pairs in compressed rows: `redranges_j` lists `rj[b]` for the kept
 * (a, b) row by row and `slices_i` the row ends; `redranges_i` and `slices_j` the same by columns.
 */
export function rangesFromPairs(ri: Int32Array, rj: Int32Array, { rowStart, cols }: KeptPairs): Ranges {
  const native = clusterKernels();
  if (native) return { ranges_i: ri, ranges_j: rj, ...native.rangesFromPairs(ri, rj, rowStart, cols) };
  const Mc = ri.length / 2;
  const Nc = rj.length / 2;
  const total = cols.length;
  const slices_i = rowStart.slice(1, Mc + 1);
  const redranges_j = new Int32Array(2 * total);
  const colCount = new Int32Array(Nc);
  for (let q = 0; q < total; q++) {
    const b = cols[q]!;
    redranges_j[2 * q] = rj[2 * b]!;
    redranges_j[2 * q + 1] = rj[2 * b + 1]!;
    colCount[b]!++;
  }
  const slices_j = new Int32Array(Nc);
  const colPos = new Int32Array(Nc);
  for (let b = 0, acc = 0; b < Nc; b++) {
    colPos[b] = acc;
    acc += colCount[b]!;
    slices_j[b] = acc;
  }
  const redranges_i = new Int32Array(2 * total);
  for (let a = 0; a < Mc; a++) {
    const s = ri[2 * a]!;
    const e = ri[2 * a + 1]!;
    for (let q = rowStart[a]!; q < rowStart[a + 1]!; q++) {
      const p = colPos[cols[q]!]!++;
      redranges_i[2 * p] = s;
      redranges_i[2 * p + 1] = e;
    }
  }
  return { ranges_i: ri, slices_i, redranges_j, ranges_j: rj, slices_j, redranges_i };
}
