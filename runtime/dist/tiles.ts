import { InputError } from '../../src/diagnostics/index.js';
import { rangesFor, rowClusters, type Ranges } from '../ranges/index.js';

/**
 * The tiles of a distributed run: I blocks of output rows × J chunks of the reduction index. Rows are
 * i for tag 0 and j for tag 1; the reduction index is the other one. Cuts balance the pairs a tile
 * computes: all rows × indices without ranges, the pairs the ranges keep with them.
 */
export interface TileGrid {
  /** Row block boundaries: block b is [rowCuts[b], rowCuts[b + 1]). */
  rowCuts: number[];
  /** Reduction chunk boundaries: chunk c is [redCuts[c], redCuts[c + 1]). */
  redCuts: number[];
  /** Kept pairs of each tile, tile t = b · J + c. */
  pairs: number[];
}

/** One tile: its number (block · J + chunk), output rows [start, end), reduction indices [start, end)
 * and kept pairs. */
export interface Tile {
  index: number;
  block: number;
  chunk: number;
  rows: [number, number];
  red: [number, number];
  pairs: number;
}

export function tilesOf(g: TileGrid): Tile[] {
  const J = g.redCuts.length - 1;
  const out: Tile[] = [];
  for (let b = 0; b + 1 < g.rowCuts.length; b++) {
    for (let c = 0; c < J; c++) {
      const index = b * J + c;
      out.push({ index, block: b, chunk: c, rows: [g.rowCuts[b]!, g.rowCuts[b + 1]!], red: [g.redCuts[c]!, g.redCuts[c + 1]!], pairs: g.pairs[index]! });
    }
  }
  return out;
}

/** Parse `--tiles I` or `IxJ` (or a number, or [I, J]). */
export function parseTiles(t: string | number | readonly [number, number]): [number, number] {
  const [I, J] = typeof t === 'number' ? [t, 1] : typeof t === 'string' ? (/^\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*$/.exec(t)?.slice(1).map((v) => (v === undefined ? 1 : Number(v))) ?? [NaN, NaN]) : t;
  if (!(Number.isInteger(I) && Number.isInteger(J) && I! >= 1 && J! >= 1)) throw new InputError(`tiles must be I or IxJ with positive integers (row blocks x reduction chunks), got '${String(t)}'`);
  return [I!, J!];
}

/** Cut points of `n` items into `parts` with balanced cumulative weights (prefix[k] = weight of items < k). */
function balancedCuts(prefix: Float64Array, n: number, parts: number, snap?: (cut: number, target: number) => number): number[] {
  const total = prefix[n]!;
  const cuts = [0];
  for (let q = 1; q < parts; q++) {
    let cut: number;
    if (total === 0) cut = Math.round((q * n) / parts);
    else {
      const target = (q * total) / parts;
      // first k with prefix[k] >= target
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (prefix[mid]! >= target) hi = mid;
        else lo = mid + 1;
      }
      cut = snap ? snap(lo, target) : lo;
    }
    if (cut > cuts[cuts.length - 1]! && cut < n) cuts.push(cut);
  }
  cuts.push(n);
  if (n === 0) return [0, 0];
  return cuts;
}

/**
 * Plan an I × J grid (fewer where the problem is too small to cut so finely). With ranges, a row block
 * never ends in the middle of a cluster's rows unless that cluster alone holds more than a block's share.
 */
export function planGrid(rows: number, red: number, tag: 0 | 1, ranges: Ranges | undefined, I: number, J: number): TileGrid {
  let rowW: Float64Array;
  let colPrefix: Float64Array;
  let snap: ((cut: number, target: number) => number) | undefined;
  const rowPrefix = new Float64Array(rows + 1);
  if (!ranges) {
    rowW = new Float64Array(rows).fill(red);
    colPrefix = Float64Array.from({ length: red + 1 }, (_, k) => k * rows);
  } else {
    const tri = rangesFor(ranges, tag);
    const cluster = rowClusters(ranges, tag, rows);
    const clusters = tri.slices.length;
    const kept = new Float64Array(clusters);
    const members = new Float64Array(clusters);
    for (let k = 0; k < clusters; k++) {
      const from = k === 0 ? 0 : tri.slices[k - 1]!;
      for (let l = from; l < tri.slices[k]!; l++) kept[k] = kept[k]! + tri.red[2 * l + 1]! - tri.red[2 * l]!;
    }
    rowW = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const k = cluster[r]!;
      if (k < 0) continue;
      rowW[r] = kept[k]!;
      members[k] = members[k]! + 1;
    }
    const diff = new Float64Array(red + 1);
    for (let k = 0; k < clusters; k++) {
      const from = k === 0 ? 0 : tri.slices[k - 1]!;
      for (let l = from; l < tri.slices[k]!; l++) {
        const [a, b] = [tri.red[2 * l]!, tri.red[2 * l + 1]!];
        diff[a] = diff[a]! + members[k]!;
        diff[b] = diff[b]! - members[k]!;
      }
    }
    colPrefix = new Float64Array(red + 1);
    let run = 0;
    for (let c = 0; c < red; c++) {
      run += diff[c]!;
      colPrefix[c + 1] = colPrefix[c]! + run;
    }
    // the row extent of the cluster a cut falls into: move the cut to its nearer edge unless the
    // cluster alone is heavier than a block
    snap = (cut, target) => {
      if (cut <= 0 || cut >= rows) return cut;
      const k = cluster[cut]!;
      if (k < 0 || cluster[cut - 1] !== k) return cut;
      let a = cut;
      while (a > 0 && cluster[a - 1] === k) a--;
      let b = cut;
      while (b < rows && cluster[b] === k) b++;
      const weight = rowPrefix[b]! - rowPrefix[a]!;
      if (weight > rowPrefix[rows]! / I) return cut;
      return target - rowPrefix[a]! <= rowPrefix[b]! - target ? a : b;
    };
  }
  for (let r = 0; r < rows; r++) rowPrefix[r + 1] = rowPrefix[r]! + rowW[r]!;
  const rowCuts = balancedCuts(rowPrefix, rows, Math.min(I, Math.max(rows, 1)), snap);
  const redCuts = balancedCuts(colPrefix, red, Math.min(J, Math.max(red, 1)));
  // kept pairs per tile: exact without ranges; with ranges, the rows' kept pairs split over chunks in
  // proportion to the columns' weights (what progress and throughput need)
  const pairs: number[] = [];
  const colTotal = colPrefix[red]!;
  for (let b = 0; b + 1 < rowCuts.length; b++) {
    const rw = rowPrefix[rowCuts[b + 1]!]! - rowPrefix[rowCuts[b]!]!;
    for (let c = 0; c + 1 < redCuts.length; c++) {
      const share = colTotal === 0 ? 0 : (colPrefix[redCuts[c + 1]!]! - colPrefix[redCuts[c]!]!) / colTotal;
      pairs.push(ranges ? Math.round(rw * share) : (rowCuts[b + 1]! - rowCuts[b]!) * (redCuts[c + 1]! - redCuts[c]!));
    }
  }
  return { rowCuts, redCuts, pairs };
}

/**
 * Choose I × J from the problem size and the number of live workers: about four tiles per worker
 * (so a slow or lost worker delays a quarter of its share), no tile under 10⁷ pairs (a tile's fixed
 * cost is a few ms), none over 2·10¹¹ (about a minute on one thread), and reduction chunks small
 * enough that a tile fetches at most 64 MiB of reduction-side data.
 */
export function autoTiles(rows: number, red: number, pairs: number, workers: number, redBytesPerIndex: number): [number, number] {
  const wanted = Math.max(Math.ceil(pairs / 2e11), Math.min(4 * Math.max(workers, 1), Math.floor(pairs / 1e7)), 1);
  const J = Math.min(Math.max(1, Math.ceil((red * redBytesPerIndex) / (64 << 20))), Math.max(red, 1));
  const I = Math.min(Math.max(1, Math.ceil(wanted / J)), Math.max(rows, 1));
  return [I, J];
}

/** The rows [a, b) of a row-major array of rows of `dim` values. */
export function sliceRows<T extends Float32Array | Float64Array>(data: T, dim: number, a: number, b: number): T {
  return data.subarray(a * dim, b * dim) as T;
}

/**
 * The ranges of a tile's sub-problem: the active triplet (ranges_i, slices_i, redranges_j for tag 0;
 * the j-side one for tag 1) with clusters cut to the row block and reduction intervals cut to the
 * chunk, both shifted to start at 0; the other triplet empty (a tile never uses it).
 */
export function subRanges(r: Ranges, tag: 0 | 1, rows: [number, number], red: [number, number]): Ranges {
  const tri = rangesFor(r, tag);
  const out: number[] = [];
  const slices: number[] = [];
  const reds: number[] = [];
  const [a, b] = rows;
  const [c, d] = red;
  for (let k = 0; k < tri.slices.length; k++) {
    const s = Math.max(tri.out[2 * k]!, a);
    const e = Math.min(tri.out[2 * k + 1]!, b);
    if (s >= e) continue;
    out.push(s - a, e - a);
    const from = k === 0 ? 0 : tri.slices[k - 1]!;
    for (let l = from; l < tri.slices[k]!; l++) {
      const p = Math.max(tri.red[2 * l]!, c);
      const q = Math.min(tri.red[2 * l + 1]!, d);
      if (p < q) reds.push(p - c, q - c);
    }
    slices.push(reds.length / 2);
  }
  const none = new Int32Array(0);
  const active = { out: Int32Array.from(out), slices: Int32Array.from(slices), red: Int32Array.from(reds) };
  return tag === 0
    ? { ranges_i: active.out, slices_i: active.slices, redranges_j: active.red, ranges_j: none, slices_j: none, redranges_i: none }
    : { ranges_j: active.out, slices_j: active.slices, redranges_i: active.red, ranges_i: none, slices_i: none, redranges_j: none };
}
