import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { UnrecoverableError } from 'bullmq';
import { CompiledKernel, type RunOptions } from '../../src/api/compile.js';
import type { ArrayInput } from '../../src/api/inputs.js';
import { KEYS, PROTOCOL_VERSION, deserializeKernel, type TileJob } from './protocol.js';
import { openStore } from './store.js';
import { subRanges } from './tiles.js';
import { RANGES_KEYS, type Ranges } from '../ranges/index.js';

/**
 * One tile: fetch the slices of the inputs it needs (cached by content address and byte range), run
 * the partial kernel on them with the worker's local backend, store the partial states and mark the
 * tile done. Idempotent: a retried tile writes the same bytes, and the coordinator merges each tile
 * once. Runs in a child process of `keopsc worker` (BullMQ's sandboxed processors), so a long tile
 * never blocks the worker's lock renewal.
 */

/** What the worker process tells its tile processes (through their environment). */
export interface TileEnv {
  redis: string;
  backend: 'auto' | 'cpu' | 'js' | 'cuda' | 'webgpu';
  threads?: number;
  /** The protocol version this worker speaks (tests of a version mismatch override it). */
  protocol: number;
}

export function tileEnv(): TileEnv {
  const e = process.env;
  return {
    redis: e.KEOPSC_DIST_REDIS ?? 'redis://127.0.0.1:6379',
    backend: (e.KEOPSC_DIST_BACKEND as TileEnv['backend'] | undefined) ?? 'auto',
    threads: e.KEOPSC_DIST_THREADS ? Number(e.KEOPSC_DIST_THREADS) : undefined,
    protocol: e.KEOPSC_DIST_PROTOCOL ? Number(e.KEOPSC_DIST_PROTOCOL) : PROTOCOL_VERSION,
  };
}

let redis: Redis | undefined;
const kernels = new Map<string, CompiledKernel>();
/** Input slices by (key, byte range), least recently used first; bounded in bytes. */
const slices = new Map<string, Uint8Array>();
let sliceBytes = 0;
const SLICE_CACHE_BYTES = 1 << 30;

async function fetchSlice(store: ReturnType<typeof openStore>, key: string, start: number, end: number): Promise<Uint8Array> {
  const id = `${key}@${start}:${end}`;
  const hit = slices.get(id);
  if (hit) {
    slices.delete(id);
    slices.set(id, hit);
    return hit;
  }
  const bytes = await store.read(key, start, end);
  // copy into an aligned buffer of its own (typed-array views need aligned offsets)
  const own = new Uint8Array(bytes.byteLength);
  own.set(bytes);
  slices.set(id, own);
  sliceBytes += own.byteLength;
  for (const [k, v] of slices) {
    if (sliceBytes <= SLICE_CACHE_BYTES || k === id) break;
    slices.delete(k);
    sliceBytes -= v.byteLength;
  }
  return own;
}

/** Partial states as bytes: values in the data dtype, then indices as float64. */
function encodeParts(outputs: { data: Float32Array | Float64Array | BigInt64Array }[]): Buffer {
  const chunks = outputs.map((o) => (o.data instanceof BigInt64Array ? Float64Array.from(o.data, (x) => Number(x)) : o.data));
  return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer as ArrayBuffer, c.byteOffset, c.byteLength)));
}

export interface TileResult {
  pairs: number;
  ms: number;
  skipped?: string;
}

/** The BullMQ processor: the job's data is a TileJob. */
export async function processTile(job: { data: TileJob; attemptsMade: number; opts: { attempts?: number } }): Promise<TileResult> {
  const env = tileEnv();
  const d = job.data;
  redis ??= new Redis(env.redis, { maxRetriesPerRequest: 3 });
  const where = `tile ${d.tile} of run ${d.runId} (rows ${d.rows?.[0]}..${d.rows?.[1]}, reduction ${d.red?.[0]}..${d.red?.[1]}) on worker ${hostname()}:${process.ppid}`;
  try {
    if (d.protocol !== env.protocol) {
      throw new UnrecoverableError(`this worker speaks keopsc distributed protocol ${env.protocol} but the run uses protocol ${d.protocol}; run the same keopsc version on the coordinator and every worker`);
    }
    if (!(await redis.exists(KEYS.meta(d.runId)))) return { pairs: 0, ms: 0, skipped: 'the run is gone (finished, failed or expired)' };
    const t0 = performance.now();
    const store = openStore(d.store, redis);
    const tag = d.kernel.tag;
    const rowCat = tag === 0 ? 0 : 1;
    const args: ArrayInput[] = [];
    const named: Record<string, ArrayInput> = {};
    for (const a of d.arrays) {
      const size = a.dtype === 'float32' ? 4 : 8;
      const [r0, r1] = a.cat === 2 ? [0, 1] : a.cat === rowCat ? d.rows : d.red;
      const rowBytes = a.dim * size;
      const bytes = await fetchSlice(store, a.key, r0 * rowBytes, r1 * rowBytes);
      const F = a.dtype === 'float32' ? Float32Array : Float64Array;
      const data = new F(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
      const info = d.kernel.args.find((x) => x.index === a.index);
      if (!info) throw new Error(`malformed job: array ${a.index} is not an argument of the kernel`);
      named[info.name] = a.cat === 2 ? data : { data, shape: [r1 - r0, a.dim] };
      args.push(named[info.name]!);
    }
    let ranges: Ranges | undefined;
    if (d.ranges) {
      const total = d.ranges.lengths.reduce((x, y) => x + y, 0);
      const bytes = await fetchSlice(store, d.ranges.key, 0, total * 4);
      const all = new Int32Array(bytes.buffer, bytes.byteOffset, total);
      let at = 0;
      const full = Object.fromEntries(RANGES_KEYS.map((k, p) => [k, all.subarray(at, (at += d.ranges!.lengths[p]!))])) as unknown as Ranges;
      ranges = subRanges(full, tag, d.rows, d.red);
    }
    const ktext = JSON.stringify(d.kernel);
    let kernel = kernels.get(ktext);
    if (!kernel) {
      kernel = new CompiledKernel(deserializeKernel(d.kernel));
      if (kernels.size > 64) kernels.clear();
      kernels.set(ktext, kernel);
    }
    const opts: RunOptions = { ...d.options, backend: env.backend, ranges, ...(env.threads ? { threads: env.threads } : {}) };
    const result = await kernel.runAsync(named, opts);
    const part = encodeParts(result.outputs);
    const ttl = d.ttl;
    await redis.multi().set(KEYS.part(d.runId, d.tile), part, 'EX', ttl).rpush(KEYS.done(d.runId), String(d.tile)).expire(KEYS.done(d.runId), ttl).exec();
    return { pairs: d.pairs, ms: Math.round(performance.now() - t0) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const final = e instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (final && d?.runId) await redis.set(KEYS.error(d.runId), `${where} failed${e instanceof UnrecoverableError ? '' : ` after ${job.opts.attempts ?? 1} attempt(s)`}: ${message}`, 'EX', d.ttl || 3600).catch(() => undefined);
    throw e instanceof UnrecoverableError ? e : new Error(`${where}: ${message}`);
  }
}
