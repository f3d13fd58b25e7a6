/**
 * Batch dimensions (KeOps's leading batch dims, keops-reference §3.4): every argument carries the same
 * number of leading batch dims, each broadcast where an argument has size 1. A launch computes one
 * reduction per entry of the broadcast batch shape; an argument is read at a base offset computed from
 * its per-dim element strides (0 on a broadcast dim, so nothing is copied). Browser-safe; shared by
 * every backend (the offset tables the cpu, js, webgpu and cuda launches read, the views of the ref).
 * @module
 */

/** The batch of a launch: the broadcast batch shape and, per argument (by variable index), the element
 * stride of each batch dim in its array (0 where the argument has size 1: broadcast). */
export interface BatchLayout {
  shape: readonly number[];
  strides: ReadonlyMap<number, readonly number[]>;
}

/** The number of batch entries (the product of the shape; 0 when a dim is 0). */
export function batchCount(b: BatchLayout): number {
  return b.shape.reduce((a, s) => a * s, 1);
}

/** The base offset (in elements) of argument `index` in batch entry `t` (row-major over the shape). */
export function batchOffset(b: BatchLayout, index: number, t: number): number {
  const strides = b.strides.get(index);
  if (!strides) return 0;
  let off = 0;
  for (let d = b.shape.length - 1; d >= 0; d--) {
    const s = b.shape[d]!;
    off += (t % s) * strides[d]!;
    t = Math.floor(t / s);
  }
  return off;
}

/**
 * The offset table of a launch: entry `t * indices.length + k` is the base offset of argument
 * `indices[k]` in batch entry `t` (what the kernels read per batch; B × arguments entries).
 */
export function batchOffsetTable(b: BatchLayout, indices: readonly number[]): Float64Array {
  const B = batchCount(b);
  const table = new Float64Array(B * indices.length);
  for (let t = 0; t < B; t++) indices.forEach((index, k) => (table[t * indices.length + k] = batchOffset(b, index, t)));
  return table;
}

/**
 * The element strides of each batch dim of an array of batch shape `own` (row-major, `inner` elements
 * per batch entry) read under the broadcast shape: 0 where `own` has size 1.
 */
export function broadcastStrides(own: readonly number[], inner: number): number[] {
  const strides = new Array<number>(own.length);
  let s = inner;
  for (let d = own.length - 1; d >= 0; d--) {
    strides[d] = own[d] === 1 ? 0 : s;
    s *= own[d]!;
  }
  return strides;
}

/** `(2, 3)`: a shape as messages print it. */
export function shapeText(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

/** The arrays of batch entry `t`: views (no copies) starting at each argument's base offset. */
export function batchViews<T extends ArrayLike<number> & { subarray(begin: number): T }>(arrays: ReadonlyMap<number, T>, b: BatchLayout, t: number): Map<number, T> {
  const out = new Map<number, T>();
  for (const [index, a] of arrays) out.set(index, a.subarray(batchOffset(b, index, t)));
  return out;
}

/**
 * Sum a row-major array of shape `from` down to `to` (same rank; each dim of `to` equals that of `from`
 * or is 1, where it is summed over): how the gradient of a broadcast argument folds back to its shape.
 * The sums are in float64.
 */
export function sumToShape(data: ArrayLike<number>, from: readonly number[], to: readonly number[]): Float64Array {
  if (from.length !== to.length || from.some((s, d) => to[d] !== s && to[d] !== 1)) throw new Error(`internal: cannot sum shape ${shapeText(from)} to ${shapeText(to)}`);
  const out = new Float64Array(to.reduce((a, s) => a * s, 1));
  const idx = new Array<number>(from.length).fill(0);
  for (let k = 0; k < data.length; k++) {
    let o = 0;
    for (let d = 0; d < from.length; d++) o = o * to[d]! + (to[d] === 1 ? 0 : idx[d]!);
    out[o]! += data[k]!;
    for (let d = from.length - 1; d >= 0; d--) {
      if (++idx[d]! < from[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** The batch of a launch as the addons take it (native/ABI.md): the shape, and the strides of each of
 * `max(1, slots)` input slots by variable index (row-major (slot, dim)). */
export function batchArgs(batch: BatchLayout, slots: number): { batchShape: Float64Array; batchStrides: Float64Array } {
  const n = Math.max(1, slots);
  const batchStrides = new Float64Array(n * batch.shape.length);
  for (const [index, strides] of batch.strides) if (index < n) batchStrides.set(strides, index * batch.shape.length);
  return { batchShape: Float64Array.from(batch.shape), batchStrides };
}
