import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { CHUNK_SOURCE, chunkCount, runChunk, setParallelRunner, type ParallelJob } from './index.js';

/**
 * A persistent pool of worker threads for JS kernels. A run shares its inputs and outputs through
 * SharedArrayBuffers; the workers and the calling thread take chunks of output rows from a shared
 * counter (so uneven rows, e.g. under ranges, balance themselves), and the calling thread blocks on
 * Atomics.wait until every worker is done, so `run` stays synchronous. Workers are started once, on
 * the first parallel run, and do not keep the process alive.
 */

/** The worker's code: compiles kernel sources (cached) and runs row chunks. Self-contained. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
${CHUNK_SOURCE}
const cache = new Map();
parentPort.on('message', (job) => {
  const ctl = new Int32Array(job.ctl);
  try {
    let fn = cache.get(job.source);
    if (!fn) { fn = new Function(job.source)(); cache.set(job.source, fn); }
    for (;;) {
      const c = Atomics.add(ctl, 0, 1);
      if (c >= job.chunks) break;
      runChunk(fn, job, job.chunk, c);
    }
  } catch (e) {
    if (Atomics.compareExchange(ctl, 2, 0, 1) === 0) {
      const msg = new TextEncoder().encode(String(e && e.stack || e)).slice(0, 4000);
      new Uint8Array(job.err).set(msg);
      Atomics.store(ctl, 3, msg.length);
    }
  }
  Atomics.add(ctl, 1, 1);
  Atomics.notify(ctl, 1);
});
`;

let workers: Worker[] = [];

/** The default thread count: the machine's cores. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

function ensureWorkers(n: number): Worker[] {
  while (workers.length < n) {
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.unref();
    w.on('error', () => {
      workers = workers.filter((x) => x !== w);
    });
    workers.push(w);
  }
  return workers.slice(0, n);
}

/** Copy a typed array into shared memory (once per run; O(M + N), small next to the O(MN) work). */
export function shared<T extends Float32Array | Float64Array | Int32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/** Run `source` over `rows` output rows on `threads` threads (the calling thread included). */
export function runParallel(
  source: string,
  fn: (A: unknown, O: unknown, M: number, N: number, r0: number, r1: number, R: unknown) => void,
  job: ParallelJob,
  threads: number,
): void {
  const helpers = ensureWorkers(threads - 1);
  const ctl = new Int32Array(new SharedArrayBuffer(16)); // [next chunk, workers done, error flag, error length]
  const err = new SharedArrayBuffer(4000);
  // chunks small enough to balance, large enough to amortise the counter (over every batch entry)
  const B = job.batch?.B ?? 1;
  const chunk = Math.max(1, Math.min(256, Math.ceil((job.rows * B) / (threads * 8)), job.rows));
  const chunks = chunkCount(job, chunk);
  const msg = { ...job, source, ctl: ctl.buffer, err, chunk, chunks };
  for (const w of helpers) w.postMessage(msg);
  let failure: unknown;
  try {
    for (;;) {
      const c = Atomics.add(ctl, 0, 1);
      if (c >= chunks) break;
      runChunk(fn as never, job, chunk, c);
    }
  } catch (e) {
    failure = e;
    Atomics.store(ctl, 0, chunks); // stop handing out chunks
  }
  for (;;) {
    const done = Atomics.load(ctl, 1);
    if (done >= helpers.length) break;
    Atomics.wait(ctl, 1, done, 60000);
  }
  if (failure) throw failure;
  if (Atomics.load(ctl, 2)) {
    const text = new TextDecoder().decode(new Uint8Array(err).slice(0, Atomics.load(ctl, 3)));
    throw new Error(`internal: a worker thread failed: ${text}`);
  }
}

setParallelRunner({ threads: defaultThreads, shared, run: (source, fn, job, threads) => runParallel(source, fn as never, job, threads) });
