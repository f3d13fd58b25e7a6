/**
 * Runs in blocks of output rows, for progress reports (`onProgress(done, total)`, in rows) and, in the
 * asynchronous form, an event loop that turns between blocks (so that Ctrl-C, timers and a progress
 * line stay live while a long run goes on). Every backend takes the same blocks: a block is an
 * ordinary run on a row slice of the row-indexed inputs (no copy) and of the ranges, so its results
 * are exactly the rows of the whole run. Blocks aim at `CHUNKING.targetMs` each, sized from the
 * time the previous ones took.
 */
import { InputError } from '../diagnostics/index.js';
import type { ArgInfo } from '../ir/kernel.js';
import { rangesFor, toRanges, type Ranges, type RangesInput } from '../../runtime/ranges/index.js';
import { prepareArgs, type ArgsInput } from './inputs.js';

/** Block sizing: how long one block should take, the pairs of the first block, the most rows of one. */
export const CHUNKING = { targetMs: 250, firstPairs: 4e6, maxRows: Infinity };

/** A progress callback: `done` of `total` output rows are computed. */
export type ProgressCallback = (done: number, total: number) => void;

type Output = { name: 'values' | 'indices'; shape: number[]; data: Float32Array | Float64Array | BigInt64Array };
type Result = { outputs: Output[]; values?: Output; indices?: Output };
type Options = { ranges?: RangesInput; out?: Float32Array | Float64Array; onProgress?: ProgressCallback };

/** What the chunked runner needs of a compiled kernel. */
export interface ChunkableKernel<R extends Result> {
  readonly name: string;
  readonly args: readonly ArgInfo[];
  readonly tag: 0 | 1;
  run(args: ArgsInput, options: Options): R | Promise<R>;
}

/** The row block [r0, r1): its arguments and options. */
interface Block<O> {
  r0: number;
  r1: number;
  args: Record<string, { data: Float32Array | Float64Array; shape: number[] }>;
  options: O;
}

/** The block plan of one run, and the assembly of the block results. */
class Chunker<O extends Options, R extends Result> {
  readonly rows: number;
  private readonly ranges: Ranges | undefined;
  private readonly pairsPerRow: number;
  private next = 0;
  private size: number;
  private result: R | undefined;
  private blockStart = 0;

  constructor(
    private readonly kernel: ChunkableKernel<R>,
    private readonly prep: ReturnType<typeof prepareArgs>,
    private readonly options: O,
  ) {
    this.rows = kernel.tag === 0 ? prep.M : prep.N;
    this.ranges = options.ranges === undefined ? undefined : toRanges(options.ranges);
    this.pairsPerRow = this.rows ? Math.max(1, runPairs(this.ranges, kernel.tag, this.rows, kernel.tag === 0 ? prep.N : prep.M) / this.rows) : 1;
    // one block when the rows cannot be sliced: no row-indexed argument gives the row count
    // (batch dims: one block, the whole batch in one launch)
    const sliceable = kernel.args.some((a) => a.cat === kernel.tag) && !prep.batch;
    this.size = sliceable ? Math.max(1, Math.min(this.rows, Math.ceil(CHUNKING.firstPairs / this.pairsPerRow), CHUNKING.maxRows)) : this.rows;
  }

  /** The next block, or undefined when every row is done. */
  block(): Block<O> | undefined {
    if (this.next >= this.rows && this.result) return undefined;
    const r0 = this.next;
    const r1 = Math.min(this.rows, r0 + this.size);
    const whole = r0 === 0 && r1 === this.rows;
    const args: Block<O>['args'] = {};
    for (const a of this.kernel.args) {
      const data = this.prep.arrays.get(a.index)!;
      const batch = this.prep.batch;
      // a batched argument keeps its own batch dims (size 1 where its stride is 0: broadcast)
      const own = batch ? batch.shape.map((n, d) => (batch.strides.get(a.index)![d] === 0 ? 1 : n)) : [];
      const rowsOf = a.cat === 0 ? this.prep.M : this.prep.N;
      if (a.cat === this.kernel.tag && !whole) args[a.name] = { data: data.subarray(r0 * a.dim, r1 * a.dim), shape: [r1 - r0, a.dim] };
      else args[a.name] = { data, shape: a.cat === 2 ? [...own, a.dim] : batch ? [...own, rowsOf, a.dim] : [data.length / a.dim, a.dim] };
    }
    const { onProgress: _p, out: _o, ...rest } = this.options;
    const options = { ...rest } as O;
    if (this.ranges && !whole) options.ranges = blockRanges(this.ranges, this.kernel.tag, r0, r1);
    this.blockStart = Date.now();
    return { r0, r1, args, options };
  }

  /** Take the results of block `b` and report progress. */
  accept(b: Block<O>, r: R): void {
    const n = b.r1 - b.r0;
    if (!this.result) {
      if (b.r0 === 0 && b.r1 === this.rows) this.result = r;
      else {
        const outputs = r.outputs.map((o) => {
          const C = o.data.constructor as new (n: number) => Output['data'];
          return { name: o.name, shape: [this.rows, ...o.shape.slice(1)], data: new C(n ? (o.data.length / n) * this.rows : 0) };
        });
        this.result = { ...r, outputs, values: outputs.find((o) => o.name === 'values'), indices: outputs.find((o) => o.name === 'indices') } as R;
      }
    }
    if (this.result !== r)
      this.result.outputs.forEach((o, k) => {
        const src = r.outputs[k]!.data;
        (o.data as Float64Array).set(src as Float64Array, n ? (src.length / n) * b.r0 : 0);
      });
    this.next = b.r1;
    // size the next block for CHUNKING.targetMs, growing at most 4x at a time
    const ms = Math.max(1, Date.now() - this.blockStart);
    this.size = Math.max(1, Math.min(4 * n, CHUNKING.maxRows, Math.round((n * CHUNKING.targetMs) / ms)));
    this.options.onProgress?.(this.next, this.rows);
  }

  /** The assembled result (with `out` filled when given). */
  finish(): R {
    const r = this.result!;
    const out = this.options.out;
    if (out) {
      const values = r.outputs[0]!;
      if (values.data.constructor !== out.constructor || values.data.length !== out.length)
        throw new InputError(`out must be a ${values.data.constructor.name} of ${values.data.length} values`);
      out.set(values.data as Float64Array);
      values.data = out;
    }
    return r;
  }
}

/** The (row, index) pairs a run visits: rows × redLen, or what the ranges of its tag keep. */
export function runPairs(ranges: Ranges | undefined, tag: 0 | 1, rows: number, redLen: number): number {
  if (!ranges) return rows * redLen;
  const t = rangesFor(ranges, tag);
  let pairs = 0;
  for (let c = 0; c < t.out.length / 2; c++) {
    let red = 0;
    for (let s = c ? t.slices[c - 1]! : 0; s < t.slices[c]!; s++) red += t.red[2 * s + 1]! - t.red[2 * s]!;
    pairs += (t.out[2 * c + 1]! - t.out[2 * c]!) * red;
  }
  return pairs;
}

/**
 * The ranges of row block [r0, r1) of a run with this tag: each cluster of the output side clipped
 * to the block and shifted to start at 0 (in order, so that overlaps resolve as in the whole run),
 * with its reduction intervals; the other triplet is empty (a reduction with this tag does not read it).
 */
export function blockRanges(r: Ranges, tag: 0 | 1, r0: number, r1: number): Record<string, { data: Int32Array; shape: number[] }> {
  const t = rangesFor(r, tag);
  const out: number[] = [];
  const slices: number[] = [];
  const red: number[] = [];
  for (let c = 0; c < t.out.length / 2; c++) {
    const s = Math.max(r0, t.out[2 * c]!);
    const e = Math.min(r1, t.out[2 * c + 1]!);
    if (s >= e) continue;
    out.push(s - r0, e - r0);
    for (let k = c ? t.slices[c - 1]! : 0; k < t.slices[c]!; k++) red.push(t.red[2 * k]!, t.red[2 * k + 1]!);
    slices.push(red.length / 2);
  }
  const pairs = (a: number[]) => ({ data: Int32Array.from(a), shape: [a.length / 2, 2] });
  const mine = { out: pairs(out), slices: { data: Int32Array.from(slices), shape: [slices.length] }, red: pairs(red) };
  const none = { out: pairs([]), slices: { data: new Int32Array(0), shape: [0] }, red: pairs([]) };
  const [i, j] = tag === 0 ? [mine, none] : [none, mine];
  return { ranges_i: i.out, slices_i: i.slices, redranges_j: i.red, ranges_j: j.out, slices_j: j.slices, redranges_i: j.red };
}

/**
 * Run `kernel` block by block on the calling thread, calling `options.onProgress(done, total)` after
 * each block. For synchronous backends (cpu, js, cuda, ref).
 */
export function runChunkedSync<O extends Options, R extends Result>(kernel: ChunkableKernel<R>, args: ArgsInput, options: O): R {
  const c = new Chunker(kernel, prepareArgs({ name: kernel.name, args: [...kernel.args] }, args), options);
  options.onProgress?.(0, c.rows);
  for (let b = c.block(); b; b = c.block()) {
    const r = kernel.run(b.args, b.options);
    if (r instanceof Promise) throw new Error('internal: runChunkedSync on an asynchronous backend');
    c.accept(b, r);
  }
  return c.finish();
}

/**
 * Run `kernel` block by block, letting the event loop turn between blocks (every backend, webgpu
 * included), calling `options.onProgress(done, total)` after each block.
 */
export async function runChunked<O extends Options, R extends Result>(kernel: ChunkableKernel<R>, args: ArgsInput, options: O): Promise<R> {
  const c = new Chunker(kernel, prepareArgs({ name: kernel.name, args: [...kernel.args] }, args), options);
  options.onProgress?.(0, c.rows);
  for (let b = c.block(); b; b = c.block()) {
    c.accept(b, await kernel.run(b.args, b.options));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return c.finish();
}
