import { InputError } from '../../src/diagnostics/index.js';

/**
 * Block-sparse ranges in KeOps's 6-array format (keops-reference.md §3). Interval arrays are (n, 2)
 * row-major pairs [start, end); slices are end offsets into the matching redranges array.
 *
 * - `ranges_i`, `slices_i`, `redranges_j`: used when the reduction runs over j (tag 0).
 * - `ranges_j`, `slices_j`, `redranges_i`: used when the reduction runs over i (tag 1).
 */
export interface Ranges {
  ranges_i: Int32Array;
  slices_i: Int32Array;
  redranges_j: Int32Array;
  ranges_j: Int32Array;
  slices_j: Int32Array;
  redranges_i: Int32Array;
}

/** The six array names, in KeOps's tuple order. */
export const RANGES_KEYS = ['ranges_i', 'slices_i', 'redranges_j', 'ranges_j', 'slices_j', 'redranges_i'] as const;
export type RangesKey = (typeof RANGES_KEYS)[number];

/** Anything that holds integers: a typed array (int32, int64, float with integer values) or a list. */
export type IntArrayLike = Int32Array | BigInt64Array | Uint32Array | Float64Array | Float32Array | ArrayLike<number> | ArrayLike<bigint>;
/** One ranges array as given by a user: plain integers, or `{ data, shape }`. */
export type RangesArrayInput = IntArrayLike | { data: IntArrayLike; shape: readonly number[] };
/** Ranges as given by a user: the 6-tuple in KeOps's order, or an object keyed by name. */
export type RangesInput = readonly RangesArrayInput[] | Partial<Record<RangesKey, RangesArrayInput>>;

function toInt32(name: string, input: RangesArrayInput, pairs: boolean): Int32Array {
  const arr = 'data' in (input as object) && !ArrayBuffer.isView(input) && !Array.isArray(input) ? (input as { data: IntArrayLike; shape: readonly number[] }) : undefined;
  const data = (arr ? arr.data : input) as ArrayLike<number | bigint>;
  if (arr) {
    const want = pairs ? 'two columns (n, 2)' : 'one dimension (n,)';
    const ok = pairs ? arr.shape.length === 2 && arr.shape[1] === 2 : arr.shape.length === 1;
    if (!ok) throw new InputError(`ranges array ${name} has shape (${arr.shape.join(', ')}), expected ${want}`);
  }
  if (pairs && data.length % 2 !== 0) throw new InputError(`ranges array ${name} has ${data.length} values; it must hold [start, end) pairs (shape (n, 2))`);
  if (data instanceof Int32Array) {
    // the common case (fromMatrix, blockSparseRanges): integers already, only the sign to check
    for (let k = 0; k < data.length; k++) if (data[k]! < 0) throw new InputError(`ranges array ${name}[${k}] = ${data[k]} is not a non-negative 32-bit integer`);
    return data.slice();
  }
  const out = new Int32Array(data.length);
  for (let k = 0; k < data.length; k++) {
    const v = Number(data[k]);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new InputError(`ranges array ${name}[${k}] = ${String(data[k])} is not a non-negative 32-bit integer`);
    out[k] = v;
  }
  return out;
}

/** The six arrays of user ranges, in KeOps's order (an error names a missing one). */
function rangesArrays(input: RangesInput): RangesArrayInput[] {
  if (Array.isArray(input) && input.length !== 6) throw new InputError(`ranges must have 6 arrays (${RANGES_KEYS.join(', ')}), got ${input.length}`);
  return RANGES_KEYS.map((k, pos) => {
    const v = Array.isArray(input) ? (input as readonly RangesArrayInput[])[pos] : (input as Partial<Record<RangesKey, RangesArrayInput>>)[k];
    if (v === undefined) throw new InputError(`ranges: missing array ${k} (ranges need the six arrays ${RANGES_KEYS.join(', ')})`);
    return v;
  });
}

/** Normalise user ranges to Int32Array form and check their shapes (not yet their bounds). */
export function toRanges(input: RangesInput): Ranges {
  const arrays = rangesArrays(input);
  return Object.fromEntries(RANGES_KEYS.map((k, pos) => [k, toInt32(k, arrays[pos]!, !k.startsWith('slices'))])) as unknown as Ranges;
}

/** What {@link checkedRanges} remembers of a ranges object: its six arrays, their copies, the sizes checked. */
interface CheckedEntry {
  sources: readonly Int32Array[];
  ranges: Ranges;
  M: number;
  N: number;
}
const checked = new WeakMap<object, CheckedEntry>();
/** The coarsened triplets of the copies {@link checkedRanges} keeps, by tag (see {@link coarsenedFor}). */
const coarsenedCache = new WeakMap<Ranges, (RangesTriplet | undefined)[]>();

function sameValues(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * {@link toRanges} then {@link validateRanges} for a run of an M×N problem, remembered per ranges
 * object: when a run gets the same object again, holding the same six Int32Arrays with the same values
 * (compared with the copies taken at the first call, so arrays changed in place are seen), it reuses
 * the checked copies instead of copying and checking again. The result is a private copy: runs may
 * keep what they derive from it (see {@link coarsenedFor}).
 */
export function checkedRanges(input: RangesInput, M: number, N: number): Ranges {
  const known = typeof input === 'object' && input !== null ? checked.get(input) : undefined;
  if (known) {
    const arrays = rangesArrays(input);
    const same = arrays.every((a, k) => a === known.sources[k] && sameValues(known.sources[k], known.ranges[RANGES_KEYS[k]!]));
    if (same) {
      if (known.M !== M || known.N !== N) {
        validateRanges(known.ranges, M, N);
        known.M = M;
        known.N = N;
      }
      return known.ranges;
    }
  }
  const ranges = toRanges(input);
  validateRanges(ranges, M, N);
  const arrays = typeof input === 'object' && input !== null ? rangesArrays(input) : [];
  if (arrays.length === 6 && arrays.every((a) => a instanceof Int32Array)) {
    checked.set(input, { sources: arrays as Int32Array[], ranges, M, N });
    coarsenedCache.set(ranges, []);
  }
  return ranges;
}

/**
 * Check ranges against the problem size before any work: every interval inside [0, M] (i side) or
 * [0, N] (j side) with start ≤ end, slices non-decreasing, within their redranges array, and one slice
 * per cluster. Throws InputError naming the first bad entry.
 */
export function validateRanges(r: Ranges, M: number, N: number): void {
  const intervals = (name: RangesKey, a: Int32Array, max: number, what: string): void => {
    for (let k = 0; k < a.length; k += 2) {
      const s = a[k]!;
      const e = a[k + 1]!;
      if (s > e) throw new InputError(`ranges: ${name}[${k / 2}] = [${s}, ${e}) has start > end`);
      if (e > max) throw new InputError(`ranges: ${name}[${k / 2}] = [${s}, ${e}) is out of bounds for ${what} = ${max}`);
    }
  };
  const slices = (name: RangesKey, s: Int32Array, clusters: number, red: Int32Array, redName: string): void => {
    if (s.length !== clusters) throw new InputError(`ranges: ${name} has ${s.length} entries but there are ${clusters} clusters (one end offset per cluster)`);
    let prev = 0;
    for (let k = 0; k < s.length; k++) {
      if (s[k]! < prev) throw new InputError(`ranges: ${name} must be non-decreasing, but ${name}[${k}] = ${s[k]} < ${prev}`);
      if (s[k]! > red.length / 2) throw new InputError(`ranges: ${name}[${k}] = ${s[k]} is past the end of ${redName} (${red.length / 2} intervals)`);
      prev = s[k]!;
    }
  };
  intervals('ranges_i', r.ranges_i, M, 'M');
  intervals('redranges_j', r.redranges_j, N, 'N');
  intervals('ranges_j', r.ranges_j, N, 'N');
  intervals('redranges_i', r.redranges_i, M, 'M');
  slices('slices_i', r.slices_i, r.ranges_i.length / 2, r.redranges_j, 'redranges_j');
  slices('slices_j', r.slices_j, r.ranges_j.length / 2, r.redranges_i, 'redranges_i');
}

/** The triplet a reduction with this tag uses: (output ranges, slices, reduction ranges). */
export function rangesFor(r: Ranges, tag: 0 | 1): { out: Int32Array; slices: Int32Array; red: Int32Array } {
  return tag === 0 ? { out: r.ranges_i, slices: r.slices_i, red: r.redranges_j } : { out: r.ranges_j, slices: r.slices_j, red: r.redranges_i };
}

/** Swap the two triplets (the ranges of the transposed problem), as KeOps's `swap_axes`. */
export function swapAxes(r: Ranges): Ranges {
  return { ranges_i: r.ranges_j, slices_i: r.slices_j, redranges_j: r.redranges_i, ranges_j: r.ranges_i, slices_j: r.slices_i, redranges_i: r.redranges_j };
}

/**
 * For each output row, the cluster that covers it (−1 if none). When clusters overlap the later one
 * wins, as on KeOps's CPU backend.
 */
export function rowClusters(r: Ranges, tag: 0 | 1, rows: number): Int32Array {
  const { out } = rangesFor(r, tag);
  const cluster = new Int32Array(rows).fill(-1);
  for (let k = 0; k < out.length / 2; k++) for (let i = out[2 * k]!; i < out[2 * k + 1]!; i++) cluster[i] = k;
  return cluster;
}

/** A ranges triplet: output intervals, slices (end offsets into red) and reduction intervals. */
export interface RangesTriplet {
  out: Int32Array;
  slices: Int32Array;
  red: Int32Array;
}

/**
 * The same triplet with adjacent reduction intervals of each cluster merged ([a, b) then [b, c) becomes
 * [a, c)) and empty ones dropped, as KeOps's GPU code does. The clusters stay as they are (same count,
 * same `out`), so cluster indices of the input still apply; the indices visited, and their order, are
 * unchanged, so every reduction gives the same result with fewer, longer inner loops (sorted clusters
 * make most kept neighbours adjacent).
 */
export function coalesce(t: RangesTriplet): RangesTriplet {
  return compact(t, false);
}

/**
 * {@link coalesce}, and then consecutive clusters whose output intervals touch ([s, e) then [e, f))
 * and whose coalesced reduction lists are equal become one cluster [s, f): small clusters with the same
 * neighbours (common when the cutoff spans several grid cells) share the loads of their reduction
 * tiles. Exactly the same pairs in the same order; the order of the clusters is kept, so overlapping
 * clusters still resolve as before (the later wins). Cluster indices change: for backends that read
 * the clusters only through the returned triplet.
 */
export function coarsen(t: RangesTriplet): RangesTriplet {
  return compact(t, true);
}

function compact(t: RangesTriplet, mergeClusters: boolean): RangesTriplet {
  const nc = t.slices.length;
  const red = new Int32Array(t.red.length);
  const out = new Int32Array(2 * nc);
  const slices = new Int32Array(nc);
  let n = 0; // intervals written
  let m = 0; // clusters written
  let prev = 0; // first interval of the last cluster written
  let from = 0;
  for (let c = 0; c < nc; c++) {
    const start = n;
    for (let l = from; l < t.slices[c]!; l++) {
      const a = t.red[2 * l]!;
      const b = t.red[2 * l + 1]!;
      if (a === b) continue;
      if (n > start && red[2 * n - 1] === a) red[2 * n - 1] = b;
      else {
        red[2 * n] = a;
        red[2 * n + 1] = b;
        n++;
      }
    }
    from = t.slices[c]!;
    const s = t.out[2 * c]!;
    const e = t.out[2 * c + 1]!;
    if (mergeClusters && m > 0 && s < e && out[2 * m - 2]! < out[2 * m - 1]! && out[2 * m - 1] === s && n - start === start - prev) {
      let same = true;
      for (let q = 0; q < 2 * (n - start) && same; q++) same = red[2 * prev + q] === red[2 * start + q];
      if (same) {
        out[2 * m - 1] = e;
        n = start;
        continue;
      }
    }
    out[2 * m] = s;
    out[2 * m + 1] = e;
    slices[m] = n;
    prev = start;
    m++;
  }
  return { out: out.slice(0, 2 * m), slices: slices.slice(0, m), red: red.slice(0, 2 * n) };
}

/**
 * {@link coarsen} of the triplet of `tag`; computed once for the private copies that
 * {@link checkedRanges} hands out run after run (nothing changes those), each time for other ranges.
 */
export function coarsenedFor(r: Ranges, tag: 0 | 1): RangesTriplet {
  const byTag = coarsenedCache.get(r);
  if (!byTag) return coarsen(rangesFor(r, tag));
  return (byTag[tag] ??= coarsen(rangesFor(r, tag)));
}

/**
 * Whether a coarsened triplet keeps every pair of a rows × redLen problem in the dense order: one
 * cluster [0, rows) reducing over [0, redLen) (what {@link coarsen} makes of ranges that keep every
 * pair, in any number of clusters). A backend may then run its dense kernel: the same pairs, each row
 * visiting the reduction indices in the same order.
 */
export function keepsEveryPair(t: RangesTriplet, rows: number, redLen: number): boolean {
  return t.slices.length === 1 && t.out[0] === 0 && t.out[1] === rows && t.red.length === 2 && t.red[0] === 0 && t.red[1] === redLen;
}

/**
 * The block table of a ranges launch on a GPU (cuda, webgpu): int32 triples (cluster, first row, end
 * row), one block (workgroup) each, over runs of at most `blockRows` consecutive output rows owned by
 * one cluster. A row belongs to the last cluster of `out` (pairs [start, end) of output rows) that covers
 * it, as on the CPU backends. Rows no cluster covers are left out (`uncovered: 'skip'`, for a backend
 * that fills them with a separate kernel) or get blocks of cluster −1 (`'neutral'`: the block writes the
 * reduction's neutral value). Without overlaps this is KeOps's table: each cluster cut into chunks.
 */
export function blockTable(out: Int32Array, rows: number, blockRows: number, uncovered: 'skip' | 'neutral' = 'skip'): Int32Array {
  if (!Number.isInteger(blockRows) || blockRows < 1) throw new RangeError(`blockTable: blockRows must be a positive integer, got ${blockRows}`);
  const clusters = out.length >> 1;
  const table: number[] = [];
  const chunk = (c: number, s: number, e: number): void => {
    if (c < 0 && uncovered === 'skip') return;
    for (let r = s; r < e; r += blockRows) table.push(c, r, Math.min(e, r + blockRows));
  };
  let disjoint = true;
  for (let c = 1; c < clusters && disjoint; c++) disjoint = out[2 * c]! >= out[2 * c - 1]!;
  if (disjoint) {
    // sorted, non-overlapping clusters (what the clustering library makes): no per-row pass
    let next = 0;
    for (let c = 0; c < clusters; c++) {
      const s = out[2 * c]!;
      const e = out[2 * c + 1]!;
      if (s === e) continue;
      chunk(-1, next, s);
      chunk(c, s, e);
      next = e;
    }
    chunk(-1, next, rows);
    return Int32Array.from(table);
  }
  const owner = new Int32Array(rows).fill(-1);
  for (let c = 0; c < clusters; c++) owner.fill(c, out[2 * c]!, out[2 * c + 1]!);
  for (let r = 0; r < rows; ) {
    const c = owner[r]!;
    let e = r + 1;
    while (e < rows && owner[e] === c) e++;
    chunk(c, r, e);
    r = e;
  }
  return Int32Array.from(table);
}
