import { randomBytes, createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { InputError } from '../../src/diagnostics/index.js';
import { CompiledKernel, type RunOptions, type RunResult } from '../../src/api/compile.js';
import { prepareArgs, type ArgsInput } from '../../src/api/inputs.js';
import { toRanges, validateRanges, RANGES_KEYS } from '../ranges/index.js';
import { KEYS, PROTOCOL_VERSION, QUEUE_NAME, RUN_ID, jobId, runPrefix, serializeKernel, type ArrayRef, type TileJob } from './protocol.js';
import { MergeState, partialKernel } from './partial.js';
import { autoTiles, parseTiles, planGrid, tilesOf, type Tile } from './tiles.js';
import { bytesOf, contentHash, openStore } from './store.js';
import { connectRedis, redactUrl } from './connect.js';

/** Progress of a distributed run, reported about once a second and at the end. */
export interface DistributedProgress {
  runId: string;
  done: number;
  total: number;
  /** Kept pairs per second over the tiles finished so far (in this coordinator's lifetime). */
  pairsPerSecond: number;
  /** Seconds left at that rate (NaN before the first tile). */
  etaSeconds: number;
}

/** Options of a distributed run (`backend: 'distributed'`, {@link runDistributed}). */
export interface DistributedOptions {
  /** redis://HOST:PORT of the Redis the workers (`keopsc worker --redis URL`) listen on. */
  redis?: string;
  /** The grid: I row blocks × J reduction chunks (`'IxJ'`, `[I, J]`, or I). Default: from the problem
   * size and the number of live workers. */
  tiles?: string | number | readonly [number, number];
  /** Where the inputs go: `redis` (default) or `file:///shared/dir` (a directory every worker mounts). */
  store?: string;
  /** Continue a run whose coordinator stopped: its finished tiles are reused. */
  resume?: string;
  /** Attempts per tile before the run fails with the worker's message (default 3). */
  attempts?: number;
  /** Seconds without an answer from Redis after which the run fails (default 10). */
  redisTimeoutS?: number;
  /** Seconds the run's keys live if the coordinator dies (default 86400). */
  ttlS?: number;
  /** Called about once a second and at the end, with tiles, pairs/s and ETA (`onProgress(done, total)`,
   * the run option of every backend, is called at the same moments with tiles). */
  onTileProgress?: (p: DistributedProgress) => void;
  /** Called once with the run id, before any tile is queued (to print how to resume). */
  onStart?: (info: { runId: string; tiles: number; grid: [number, number]; workers: number }) => void;
}

/** What a distributed run returns besides the outputs. */
export interface DistributedStats {
  runId: string;
  grid: [number, number];
  tiles: number;
  /** Tiles reused from an earlier coordinator (--resume). */
  reused: number;
  /** Tile completions seen (a tile retried after its worker died may complete twice; it is merged once). */
  completions: number;
}

/** The result of a distributed run: what a local run returns, plus the run's statistics. */
export type DistributedResult = RunResult & { distributed: DistributedStats };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run a kernel on the workers listening on a Redis (`keopsc worker --redis URL`): split it into tiles,
 * store the inputs once (content-addressed), queue the tiles, merge the partial states in a fixed
 * order and finalise once. The result is what a local run returns, bit-identical whatever the number
 * of workers or the failures met. Throws InputError (one line) on bad input, when Redis cannot be
 * reached or is lost, and when a tile fails for good (with the worker's message).
 */
export async function runDistributed(kernel: CompiledKernel, args: ArgsInput, options: RunOptions & DistributedOptions = {}): Promise<DistributedResult> {
  const ir = kernel.ir;
  const prep = prepareArgs(ir, args);
  kernel.codeOptionsFor(options, prep.dtype); // checks sumScheme and dtypeAcc against the reduction
  const ranges = options.ranges === undefined ? undefined : toRanges(options.ranges);
  if (ranges) validateRanges(ranges, prep.M, prep.N);
  if (options.out !== undefined) throw new InputError(`out= is not supported with backend 'distributed'; use the returned arrays`);
  if (options.threads !== undefined) throw new InputError(`threads belong to the workers with backend 'distributed': start them with keopsc worker --threads N`);
  if (options.storage !== undefined) throw new InputError(`storage is not supported with backend 'distributed' (the workers' backend stores the inputs as they are)`);
  const url = options.redis;
  if (!url) throw new InputError(`backend 'distributed' needs redis: 'redis://HOST:PORT' (where the workers listen: keopsc worker --redis URL)`);
  const attempts = options.attempts ?? 3;
  if (!(Number.isInteger(attempts) && attempts >= 1)) throw new InputError(`attempts must be a positive integer, got ${String(options.attempts)}`);
  const timeoutMs = (options.redisTimeoutS ?? 10) * 1000;
  const ttl = Math.round(options.ttlS ?? 86400);
  if (options.resume !== undefined && !RUN_ID.test(options.resume)) throw new InputError(`--resume expects a run id (lower-case letters and digits, printed when the run started), got '${options.resume}'`);
  const tag = ir.tag;
  const rows = tag === 0 ? prep.M : prep.N;
  const red = tag === 0 ? prep.N : prep.M;
  const requested = options.tiles === undefined ? undefined : parseTiles(options.tiles);
  const store0 = options.store;
  if (rows === 0 || red === 0) {
    // nothing to distribute: every row (if any) gets the neutral value, as a local run gives it
    return { ...kernel.run(args, { ...options, backend: 'js' } as RunOptions & { backend: 'js' }), distributed: { runId: '', grid: [0, 0], tiles: 0, reused: 0, completions: 0 } };
  }

  const redis = await connectRedis(url, timeoutMs);
  const queue = new Queue<TileJob>(QUEUE_NAME, { connection: redis as never });
  queue.on('error', () => undefined);
  let runId = '';
  let finished = false;
  try {
    const store = openStore(store0, redis);
    const part = partialKernel(ir);
    const serialized = serializeKernel(part);
    const kernelHash = createHash('sha256').update(JSON.stringify(serialized)).digest('hex');
    // inputs: content-addressed, stored once
    const arrays: { ref: Omit<ArrayRef, 'key'>; bytes: Uint8Array; sha: string }[] = ir.args.map((a) => {
      const data = prep.arrays.get(a.index)!;
      const bytes = bytesOf(data);
      return { ref: { index: a.index, cat: a.cat, dim: a.dim, dtype: prep.dtype }, bytes, sha: contentHash(bytes, `${prep.dtype}:${a.cat}:${a.dim}:${data.length}`) };
    });
    let rangesBlob: { bytes: Uint8Array; sha: string; lengths: number[] } | undefined;
    if (ranges) {
      const parts = RANGES_KEYS.map((k) => ranges[k]);
      const all = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
      let at = 0;
      for (const p of parts) all.set(p, (at += p.length) - p.length);
      const bytes = bytesOf(all);
      rangesBlob = { bytes, sha: contentHash(bytes, 'ranges'), lengths: parts.map((p) => p.length) };
    }
    const tileOptions = { sumScheme: options.sumScheme ?? 'auto', dtypeAcc: options.dtypeAcc ?? 'auto', ...(options.fastMath === undefined ? {} : { fastMath: options.fastMath }), ...(options.gemm === undefined ? {} : { gemm: options.gemm }) };
    const identity = { protocol: PROTOCOL_VERSION, kernel: kernelHash, arrays: arrays.map((a) => a.sha), ranges: rangesBlob?.sha ?? null, options: tileOptions, store: store.url };
    let grid: [number, number];
    const reusedDone = new Set<number>();
    const live = await withTimeout(queue.getWorkersCount(), timeoutMs, 'Redis').catch(() => 0);
    if (options.resume !== undefined) {
      runId = options.resume;
      const metaText = await redis.get(KEYS.meta(runId));
      if (!metaText) throw new InputError(`no run '${runId}' in Redis at ${redactUrl(url)}: it finished (finished runs are cleaned up), failed, or expired`);
      const meta = JSON.parse(metaText) as typeof identity & { grid: [number, number] };
      if (JSON.stringify({ ...meta, grid: undefined }) !== JSON.stringify({ ...identity, grid: undefined })) throw new InputError(`run '${runId}' was started for another kernel, other inputs or other options; resume it with the same ones, or start a new run`);
      if (requested && (requested[0] !== meta.grid[0] || requested[1] !== meta.grid[1])) throw new InputError(`run '${runId}' has ${meta.grid[0]}x${meta.grid[1]} tiles; leave --tiles out or give the same grid to resume it`);
      grid = meta.grid;
      const done = await redis.lrange(KEYS.done(runId), 0, -1);
      for (const t of new Set(done.map(Number))) if (await redis.exists(KEYS.part(runId, t))) reusedDone.add(t);
    } else {
      runId = `${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
      const redBytes = arrays.filter((a) => a.ref.cat === (tag === 0 ? 1 : 0)).reduce((s, a) => s + a.ref.dim * (prep.dtype === 'float32' ? 4 : 8), 0);
      grid = requested ?? autoTiles(rows, red, rows * red, live, redBytes);
    }
    const plan = planGrid(rows, red, tag, ranges, grid[0], grid[1]);
    const tiles = tilesOf(plan);
    const J = plan.redCuts.length - 1;
    if (options.resume === undefined) {
      await redis.set(KEYS.meta(runId), JSON.stringify({ ...identity, grid }), 'EX', ttl);
    } else {
      await redis.expire(KEYS.meta(runId), ttl);
    }
    options.onStart?.({ runId, tiles: tiles.length, grid, workers: live });
    const refs: ArrayRef[] = [];
    for (const a of arrays) {
      const key = store.keyFor(runId, a.sha);
      await store.put(key, a.bytes, ttl);
      refs.push({ ...a.ref, key });
    }
    let rangesRef: TileJob['ranges'];
    if (rangesBlob) {
      const key = store.keyFor(runId, rangesBlob.sha);
      await store.put(key, rangesBlob.bytes, ttl);
      rangesRef = { key, lengths: rangesBlob.lengths };
    }
    const jobOf = (t: Tile): TileJob => ({
      protocol: PROTOCOL_VERSION,
      runId,
      tile: t.index,
      rows: t.rows,
      red: t.red,
      kernel: serialized,
      options: tileOptions,
      store: store.url,
      arrays: refs,
      ranges: rangesRef,
      pairs: t.pairs,
      ttl,
    });
    const todo = tiles.filter((t) => !reusedDone.has(t.index));
    for (let k = 0; k < todo.length; k += 500) {
      await queue.addBulk(
        todo.slice(k, k + 500).map((t) => ({
          name: 'tile',
          data: jobOf(t),
          opts: { jobId: jobId(runId, t.index), attempts, backoff: { type: 'fixed', delay: 100 }, removeOnComplete: true, removeOnFail: { age: ttl } },
        })),
      );
    }

    // merge row block b's chunks in order as they arrive
    const state = new MergeState(ir, rows);
    const nextChunk = new Array<number>(plan.rowCuts.length - 1).fill(0);
    const done = new Set<number>();
    let completions = 0;
    let seen = 0;
    let pairsDone = 0;
    let pairsHere = 0;
    const t0 = Date.now();
    let lastOk = Date.now();
    let lastReport = 0;
    const partFormat = (t: Tile) => {
      const n = t.rows[1] - t.rows[0];
      const size = prep.dtype === 'float32' ? 4 : 8;
      return { n, valuesBytes: n * state.width * size, hasIndices: state.indices !== undefined };
    };
    const mergeTile = async (t: Tile) => {
      const buf = await redis.getBuffer(KEYS.part(runId, t.index));
      if (!buf) throw new InputError(`the partial results of tile ${t.index} of run ${runId} vanished from Redis (evicted? set maxmemory-policy noeviction)`);
      const f = partFormat(t);
      const aligned = new Uint8Array(buf.length);
      aligned.set(buf);
      const vals = prep.dtype === 'float32' ? new Float32Array(aligned.buffer, 0, f.n * state.width) : new Float64Array(aligned.buffer, 0, f.n * state.width);
      const values = vals instanceof Float64Array ? vals : Float64Array.from(vals);
      const indices = f.hasIndices ? new Float64Array(aligned.buffer.slice(f.valuesBytes)) : undefined;
      if (buf.length !== f.valuesBytes + (f.hasIndices ? f.n * state.width * 8 : 0)) throw new InputError(`tile ${t.index} of run ${runId} returned ${buf.length} bytes of partial results, not the ${f.valuesBytes} expected (a worker of another keopsc version?)`);
      state.merge(t.rows[0], f.n, t.red[0], t.chunk === 0, { values, indices });
    };
    const report = (force: boolean) => {
      if (!options.onTileProgress && !options.onProgress) return;
      const now = Date.now();
      if (!force && now - lastReport < 1000) return;
      lastReport = now;
      const rate = pairsHere / Math.max((now - t0) / 1000, 1e-3);
      const left = tiles.reduce((s, t) => s + (done.has(t.index) ? 0 : t.pairs), 0);
      options.onTileProgress?.({ runId, done: done.size, total: tiles.length, pairsPerSecond: rate, etaSeconds: pairsHere > 0 ? left / rate : NaN });
      options.onProgress?.(done.size, tiles.length);
    };
    const markDone = (t: number, fresh: boolean) => {
      if (done.has(t)) return;
      done.add(t);
      pairsDone += tiles[t]!.pairs;
      if (fresh) pairsHere += tiles[t]!.pairs;
    };
    for (const t of reusedDone) markDone(t, false);
    let merged = 0;
    while (merged < tiles.length) {
      try {
        // merge what is ready, in order
        for (let b = 0; b < nextChunk.length; b++) {
          while (nextChunk[b]! < J && done.has(b * J + nextChunk[b]!)) {
            await withTimeout(mergeTile(tiles[b * J + nextChunk[b]!]!), timeoutMs, 'Redis');
            nextChunk[b]!++;
            merged++;
          }
        }
        if (merged === tiles.length) break;
        report(false);
        const [[e1, news], [e2, error]] = (await withTimeout(redis.multi().lrange(KEYS.done(runId), seen, -1).get(KEYS.error(runId)).exec() as Promise<[Error | null, unknown][]>, timeoutMs, 'Redis')) as [[Error | null, string[]], [Error | null, string | null]];
        if (e1 || e2) throw e1 ?? e2;
        lastOk = Date.now();
        if (error) throw new InputError(`distributed run ${runId} failed: ${error}`);
        seen += news.length;
        completions += news.length;
        for (const t of news) markDone(Number(t), true);
        if (news.length === 0) await sleep(50);
      } catch (e) {
        if (e instanceof InputError) throw e;
        if (Date.now() - lastOk > timeoutMs) {
          throw new InputError(`lost Redis at ${redactUrl(url)} during run ${runId} (no answer for ${Math.round(timeoutMs / 1000)} s: ${(e as Error).message}); when it is back, continue with --resume ${runId}`);
        }
        await sleep(100);
      }
    }
    report(true);
    const outputs = state.finalize(prep.dtype);
    const result: DistributedResult = { outputs, distributed: { runId, grid, tiles: tiles.length, reused: reusedDone.size, completions } };
    for (const o of outputs) {
      if (o.name === 'values') result.values = o;
      else result.indices = o;
    }
    finished = true;
    await cleanup(redis, queue, runId, store, false).catch(() => undefined);
    return result;
  } catch (e) {
    if (runId && !finished) {
      // a failed run: drop its queued tiles and keys; a lost Redis or a lost coordinator keeps them (--resume)
      const lost = e instanceof InputError && e.message.includes('lost Redis');
      if (!lost) await withTimeout(cleanup(redis, queue, runId, openStore(store0, redis), true), 5000, 'cleanup').catch(() => undefined);
    }
    throw e;
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

/** Delete a run's keys (and, for a failed run, its queued tiles). */
async function cleanup(redis: Redis, queue: Queue, runId: string, store: ReturnType<typeof openStore>, failed: boolean): Promise<void> {
  if (failed) {
    const waiting = await queue.getJobs(['waiting', 'delayed', 'prioritized', 'failed'], 0, -1);
    await Promise.all(waiting.filter((j) => j?.id?.startsWith(`${runId}-`)).map((j) => j.remove().catch(() => undefined)));
  }
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${runPrefix(runId)}*`, 'COUNT', 1000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  await store.cleanup(runId);
}
