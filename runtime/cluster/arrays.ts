/**
 * Input normalisation shared by the clustering utilities: point clouds, labels, weights, interval
 * pairs and boolean masks, each checked with a one-line {@link InputError}.
 */
import { InputError } from '../../src/diagnostics/index.js';
import { clusterKernels } from './native.js';

/** A float typed array, as kernel arguments use. */
export type FloatArray = Float32Array | Float64Array;

/** Any typed array (the row data {@link sortClusters} and {@link permuteRows} can permute). */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A point cloud, in the form of kernel arguments: `{ data, shape }` with shape `[n, d]` (row-major)
 * or `[n]` (one coordinate per point), or a bare Float32Array/Float64Array, read as `[n]` (1-D points).
 */
export type PointsInput = FloatArray | { data: FloatArray; shape: readonly number[] };

/** A point cloud as returned by the clustering utilities. */
export interface Points<T extends FloatArray = FloatArray> {
  data: T;
  shape: number[];
}

/** Integer interval pairs [start, end), shape `[C, 2]` (as `clusterRanges` returns them). */
export interface IntPairs {
  data: Int32Array;
  shape: [number, 2];
}

/**
 * Cluster labels, one non-negative integer per point: an Int32Array (used as is, no copy), any other
 * typed array holding integers, or a plain array of numbers.
 */
export type LabelsInput = ArrayLike<number> | BigInt64Array | BigUint64Array;

/** Per-point weights: a Float64Array, Float32Array or any array of numbers. */
export type WeightsInput = ArrayLike<number>;

/** Interval pairs as input: `{ data, shape: [C, 2] }`, or the flat pairs `[s0, e0, s1, e1, ...]`. */
export type PairsInput = ArrayLike<number> | BigInt64Array | { data: ArrayLike<number> | BigInt64Array; shape: readonly number[] };

/**
 * A boolean (Mc, Nc) matrix: `{ data, shape: [Mc, Nc] }` with any typed array or array of
 * booleans/numbers (non-zero is true), or nested rows (`[[1, 0], [1, 1]]`).
 */
export type MaskInput =
  | { data: ArrayLike<number | boolean> | BigInt64Array; shape: readonly number[] }
  | readonly (ArrayLike<number | boolean>)[];

/** Rows of a typed array: `{ data, shape }` (rows = shape[0]) or a bare typed array (rows given by context). */
export type RowsInput = TypedArray | { data: TypedArray; shape: readonly number[] };

/** The type {@link permuteRows} and {@link sortClusters} return for an input of type T. */
export type Permuted<T> = T extends TypedArray ? T : T extends { data: infer A } ? { data: A; shape: number[] } : never;

/** A checked point cloud: n points of d coordinates, row-major. */
export interface NormPoints {
  data: FloatArray;
  n: number;
  d: number;
  /** The shape as given (`[n]` for bare arrays). */
  shape: number[];
}

const isFloat = (a: unknown): a is FloatArray => a instanceof Float64Array || a instanceof Float32Array;

/** A short description of a value's type, for error messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (Array.isArray(v)) return 'an Array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

function checkShape(what: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((s) => Number.isInteger(s) && s >= 0)) {
    throw new InputError(`${what}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return [...(shape as number[])];
}

const fmtShape = (s: readonly number[]): string => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/** Check a point cloud: float data, shape [n, d] or [n], and a matching length. */
export function toPoints(what: string, x: PointsInput): NormPoints {
  if (isFloat(x)) return { data: x, n: x.length, d: 1, shape: [x.length] };
  if (typeof x !== 'object' || x === null || !('data' in x)) {
    throw new InputError(`${what} must be a Float32Array or Float64Array, or { data, shape } with shape [n, d], got ${typeName(x)}`);
  }
  const { data } = x;
  if (!isFloat(data)) throw new InputError(`${what}.data must be a Float32Array or Float64Array, got ${typeName(data)}`);
  const shape = checkShape(what, x.shape);
  if (shape.length !== 1 && shape.length !== 2) throw new InputError(`${what} has shape ${fmtShape(shape)}; a point cloud is (n, d) or (n,)`);
  const n = shape[0]!;
  const d = shape.length === 2 ? shape[1]! : 1;
  if (n * d !== data.length) throw new InputError(`${what} has shape ${fmtShape(shape)} (${n * d} values) but its data holds ${data.length}`);
  return { data, n, d, shape };
}

/**
 * Check labels: one per point (when n is given), non-negative 32-bit integers, below nlab when given.
 * Returns an Int32Array (the input itself when it is one) and the number of classes (nlab, or max + 1).
 */
export function toLabels(what: string, labels: LabelsInput, n?: number, nlab?: number): { labels: Int32Array; count: number } {
  if (typeof labels !== 'object' || labels === null || typeof (labels as ArrayLike<unknown>).length !== 'number') {
    throw new InputError(`${what} must be an Int32Array (or an array of integers), got ${typeName(labels)}`);
  }
  if (nlab !== undefined && (!Number.isInteger(nlab) || nlab < 0 || nlab > 0x7fffffff)) throw new InputError(`${what}: the number of classes must be a non-negative integer, got ${String(nlab)}`);
  const len = labels.length;
  if (n !== undefined && len !== n) throw new InputError(`${what} has ${len} entries but there are ${n} points (one label per point)`);
  let out: Int32Array;
  if (labels instanceof Int32Array) {
    // the native scan, when it finds nothing wrong; else the loop below names the bad label
    const C = clusterKernels()?.labelCount(labels, nlab ?? -1) ?? -1;
    if (C >= 0) return { labels, count: C };
    out = labels;
  }
  else {
    out = new Int32Array(len);
    const src = labels as ArrayLike<number | bigint>;
    for (let k = 0; k < len; k++) {
      const v = Number(src[k]);
      if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new InputError(`${what}[${k}] = ${String(src[k])} is not a non-negative 32-bit integer label`);
      out[k] = v;
    }
  }
  let max = -1;
  for (let k = 0; k < len; k++) {
    const v = out[k]!;
    if (v < 0) throw new InputError(`${what}[${k}] = ${v} is negative; labels are 0, 1, ..., C - 1`);
    if (v > max) max = v;
  }
  if (nlab !== undefined && max >= nlab) {
    const k = out.indexOf(max);
    throw new InputError(`${what}[${k}] = ${max} is out of range for ${nlab} classes (labels must be in [0, ${nlab}))`);
  }
  return { labels: out, count: nlab ?? max + 1 };
}

/** Check weights: n finite-or-not numbers (KeOps does not check their values; neither do we). */
export function toWeights(what: string, w: WeightsInput, n: number): ArrayLike<number> {
  if (typeof w !== 'object' || w === null || typeof w.length !== 'number') throw new InputError(`${what} must be a Float64Array, Float32Array or array of numbers, got ${typeName(w)}`);
  if (w.length !== n) throw new InputError(`${what} has ${w.length} entries but there are ${n} points (one weight per point)`);
  for (let k = 0; k < n; k++) if (typeof w[k] !== 'number') throw new InputError(`${what}[${k}] is not a number (${typeName(w[k])})`);
  return w;
}

/** Check interval pairs [start, end) with 0 ≤ start ≤ end < 2³¹; returns the flat Int32Array pairs. */
export function toPairs(what: string, input: PairsInput): Int32Array {
  let data: ArrayLike<number | bigint>;
  if (typeof input === 'object' && input !== null && !ArrayBuffer.isView(input) && !Array.isArray(input) && 'data' in input) {
    const shape = checkShape(what, input.shape);
    if (shape.length !== 2 || shape[1] !== 2) throw new InputError(`${what} has shape ${fmtShape(shape)}, expected (C, 2) [start, end) pairs`);
    data = input.data as ArrayLike<number | bigint>;
    if (typeof data !== 'object' || data === null || typeof data.length !== 'number') throw new InputError(`${what}.data must be an array of integers, got ${typeName(data)}`);
    if (data.length !== shape[0]! * 2) throw new InputError(`${what} has shape ${fmtShape(shape)} but its data holds ${data.length} values`);
  } else {
    if (typeof input !== 'object' || input === null || typeof (input as ArrayLike<number>).length !== 'number') throw new InputError(`${what} must be { data, shape: [C, 2] } or flat [start, end) pairs, got ${typeName(input)}`);
    data = input as ArrayLike<number | bigint>;
    if (data.length % 2 !== 0) throw new InputError(`${what} has ${data.length} values; it must hold [start, end) pairs (shape (C, 2))`);
  }
  const out = new Int32Array(data.length);
  for (let k = 0; k < data.length; k++) {
    const v = Number(data[k]);
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new InputError(`${what}[${k >> 1}] holds ${String(data[k])}, not a non-negative 32-bit integer`);
    out[k] = v;
  }
  for (let k = 0; k < out.length; k += 2) {
    if (out[k]! > out[k + 1]!) throw new InputError(`${what}[${k >> 1}] = [${out[k]}, ${out[k + 1]}) has start > end`);
  }
  return out;
}

/** Check a boolean matrix against the expected shape (rows, cols); returns it as a 0/1 Uint8Array. */
export function toMask(what: string, input: MaskInput, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  if (Array.isArray(input)) {
    const nested = input as readonly ArrayLike<number | boolean>[];
    if (nested.length !== rows) throw new InputError(`${what} has ${nested.length} rows, expected ${rows} (its shape must be (${rows}, ${cols}), the cluster counts)`);
    nested.forEach((row, a) => {
      if (typeof row !== 'object' || row === null || typeof row.length !== 'number') throw new InputError(`${what}[${a}] must be a row of booleans or numbers, got ${typeName(row)}`);
      if (row.length !== cols) throw new InputError(`${what}[${a}] has ${row.length} entries, expected ${cols} (its shape must be (${rows}, ${cols}), the cluster counts)`);
      for (let b = 0; b < cols; b++) out[a * cols + b] = row[b] ? 1 : 0;
    });
    return out;
  }
  if (typeof input !== 'object' || input === null || !('data' in input)) throw new InputError(`${what} must be { data, shape: [${rows}, ${cols}] } or nested rows, got ${typeName(input)}`);
  const shape = checkShape(what, input.shape);
  if (shape.length !== 2 || shape[0] !== rows || shape[1] !== cols) {
    throw new InputError(`${what} has shape ${fmtShape(shape)} but the clusters need (${rows}, ${cols}) (rows: clusters of ranges_i, columns: clusters of ranges_j)`);
  }
  const data = input.data as ArrayLike<number | boolean | bigint>;
  if (typeof data !== 'object' || data === null || typeof data.length !== 'number') throw new InputError(`${what}.data must be an array of booleans or numbers, got ${typeName(data)}`);
  if (data.length !== rows * cols) throw new InputError(`${what} has shape ${fmtShape(shape)} but its data holds ${data.length} values`);
  for (let k = 0; k < data.length; k++) out[k] = data[k] ? 1 : 0;
  return out;
}

/** The rows of a typed-array input: data, row count and values per row. */
export function toRows(what: string, x: RowsInput, rows?: number): { data: TypedArray; n: number; width: number; shape?: number[] } {
  if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
    const data = x as TypedArray;
    if (rows === undefined) return { data, n: data.length, width: 1 };
    if (rows === 0 ? data.length !== 0 : data.length % rows !== 0) {
      throw new InputError(`${what} has ${data.length} values, which is not a whole number of rows for ${rows} points (pass { data, shape } to be explicit)`);
    }
    return { data, n: rows, width: rows === 0 ? 0 : data.length / rows };
  }
  if (typeof x !== 'object' || x === null || !('data' in x)) throw new InputError(`${what} must be a typed array or { data, shape }, got ${typeName(x)}`);
  const data = x.data;
  if (!ArrayBuffer.isView(data) || data instanceof DataView) throw new InputError(`${what}.data must be a typed array, got ${typeName(data)}`);
  const shape = checkShape(what, x.shape);
  if (shape.length < 1) throw new InputError(`${what} has shape (); it needs one row per point`);
  const width = shape.slice(1).reduce((p, s) => p * s, 1);
  if (shape[0]! * width !== data.length) throw new InputError(`${what} has shape ${fmtShape(shape)} (${shape[0]! * width} values) but its data holds ${data.length}`);
  if (rows !== undefined && shape[0] !== rows) throw new InputError(`${what} has ${shape[0]} rows but there are ${rows} labels (one per row)`);
  return { data, n: shape[0]!, width, shape };
}

type Indexable = { [k: number]: number | bigint; length: number };

/** out row k = x row perm[k] (a gather), in the input's form and array type. */
export function gatherRows(x: { data: TypedArray; width: number; shape?: number[] }, perm: Int32Array): { data: TypedArray; shape?: number[] } {
  const data = moveRows(x.data, x.width, perm, false);
  return x.shape ? { data, shape: [perm.length, ...x.shape.slice(1)] } : { data };
}

/** out row perm[k] = x row k (a scatter, the inverse of gatherRows for a permutation). */
export function scatterRows(x: { data: TypedArray; width: number; shape?: number[] }, perm: Int32Array): { data: TypedArray; shape?: number[] } {
  const data = moveRows(x.data, x.width, perm, true);
  return x.shape ? { data, shape: [...x.shape] } : { data };
}

/** The gather (or scatter) of perm.length rows of `width` elements into a new array of src's type. */
function moveRows(source: TypedArray, width: number, perm: Int32Array, scatter: boolean): TypedArray {
  const data = new (source.constructor as new (n: number) => TypedArray)(perm.length * width);
  const native = clusterKernels();
  if (native) {
    native.permuteRows(source, width, perm, data, scatter);
    return data;
  }
  const src = source as unknown as Indexable;
  const dst = data as unknown as Indexable;
  if (width === 1) {
    if (scatter) for (let k = 0; k < perm.length; k++) dst[perm[k]!] = src[k]!;
    else for (let k = 0; k < perm.length; k++) dst[k] = src[perm[k]!]!;
  } else
    for (let k = 0; k < perm.length; k++) {
      const p = perm[k]! * width;
      const q = k * width;
      if (scatter) for (let c = 0; c < width; c++) dst[p + c] = src[q + c]!;
      else for (let c = 0; c < width; c++) dst[q + c] = src[p + c]!;
    }
  return data;
}
