import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { InputError } from '../../src/diagnostics/index.js';
import { QUEUE_NAME, type TileJob } from './protocol.js';
import { connectRedis } from './connect.js';
import type { TileEnv, TileResult } from './tile.js';

/** Options of {@link startWorker} (`keopsc worker`). */
export interface WorkerOptions {
  /** redis://HOST:PORT of the run's Redis. */
  redis: string;
  /** The local backend tiles run on (default `auto`: cpu, else js). */
  backend?: TileEnv['backend'];
  /** Threads per tile (default: the machine's cores divided by the concurrency). */
  threads?: number;
  /** Tiles run at once, each in its own child process (default 1). */
  concurrency?: number;
  /** Log one line per tile (tile, pairs, ms). Failures are always logged. */
  verbose?: boolean;
  /** How long a tile's lock lives without renewal: a killed worker's tile is taken up again after
   * about 1.5 × this (default 10000 ms). */
  lockMs?: number;
  /** Where log lines go (default stderr). */
  log?: (line: string) => void;
  /** Seconds to wait for Redis at start before giving up (default 10). */
  connectTimeoutS?: number;
}

export interface RunningWorker {
  /** Finish the tiles in progress, then stop (what SIGTERM does). */
  close(): Promise<void>;
  /** Settles when the worker has stopped. */
  closed: Promise<void>;
}

const BACKENDS = ['auto', 'cpu', 'js', 'cuda', 'webgpu'];

/**
 * The module BullMQ forks for each tile process: beside this one (the sources, or the tsc output in
 * dist/runtime/dist), or, from the CLI bundle in dist/cli, the tsc output it was built with.
 */
function processorFile(): string {
  const here = fileURLToPath(import.meta.url);
  const file = /worker\.(ts|js)$/.test(here) ? here.replace(/worker\.(ts|js)$/, 'processor.$1') : fileURLToPath(new URL('../runtime/dist/processor.js', import.meta.url));
  if (!existsSync(file)) throw new InputError(`the tile processor ${file} is missing; rebuild keopsc (npm run build)`);
  return file;
}

/**
 * Start a `keopsc worker`: take tiles from the queue at `redis`, run each in a child process on the
 * local backend, store the partial states. BullMQ renews each tile's lock while it runs; a worker that
 * dies loses its lock and the tile is taken up again by another (stalled-job detection).
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const backend = opts.backend ?? 'auto';
  if (!BACKENDS.includes(backend)) throw new InputError(`unknown worker backend '${String(backend)}'; use one of ${BACKENDS.join(', ')}`);
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InputError(`concurrency must be a positive integer, got ${String(opts.concurrency)}`);
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) throw new InputError(`threads must be a positive integer, got ${String(opts.threads)}`);
  const lockMs = opts.lockMs ?? 10000;
  if (!(Number.isInteger(lockMs) && lockMs >= 500)) throw new InputError(`the lock duration must be an integer of at least 500 ms, got ${String(opts.lockMs)}`);
  // a connection of our own, to fail clearly when Redis is not there
  const probe = await connectRedis(opts.redis, (opts.connectTimeoutS ?? 10) * 1000);
  probe.disconnect();
  // the tile processes read their settings from their environment
  const env: NodeJS.ProcessEnv = { ...process.env, KEOPSC_DIST_REDIS: opts.redis, KEOPSC_DIST_BACKEND: backend };
  if (opts.threads) env.KEOPSC_DIST_THREADS = String(opts.threads);
  else delete env.KEOPSC_DIST_THREADS;
  const processor = processorFile();
  const connection = new Redis(opts.redis, { maxRetriesPerRequest: null });
  const worker = new Worker<TileJob, TileResult>(QUEUE_NAME, processor, {
    connection,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: Math.max(250, Math.round(lockMs / 2)),
    maxStalledCount: 10,
    useWorkerThreads: false,
    workerForkOptions: { env },
  });
  worker.on('completed', (job, r) => {
    if (!opts.verbose) return;
    const d = job.data;
    log(r.skipped ? `keopsc worker: tile ${d.tile} of run ${d.runId}: skipped (${r.skipped})` : `keopsc worker: tile ${d.tile} of run ${d.runId}: ${r.pairs} pairs, ${r.ms} ms`);
  });
  worker.on('failed', (job, e) => log(`keopsc worker: ${job ? `tile ${job.data.tile} of run ${job.data.runId}` : 'a tile'} failed (attempt ${job?.attemptsMade ?? '?'}): ${e.message}`));
  let lastError = '';
  worker.on('error', (e) => {
    if (e.message !== lastError) log(`keopsc worker: ${e.message}`);
    lastError = e.message;
  });
  await worker.waitUntilReady();
  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  log(`keopsc worker: listening on ${opts.redis} (backend ${backend}, concurrency ${concurrency}${opts.threads ? `, ${opts.threads} threads` : ''})`);
  return {
    close() {
      closing ??= worker
        .close()
        .then(() => connection.quit())
        .then(resolveClosed, resolveClosed);
      return closing;
    },
    closed,
  };
}
