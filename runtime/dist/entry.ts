// What the Node entry point loads of runtime/dist: `backend: 'distributed'` and the public functions,
// each importing BullMQ and ioredis only when first called (they take most of a second to load).
import { registerDistributedRunner, type CompiledKernel } from '../../src/api/compile.js';
import type { ArgsInput } from '../../src/api/inputs.js';
import type { DistributedOptions, DistributedResult } from './coordinator.js';
import type { RunOptions } from '../../src/api/compile.js';
import type { RunningWorker, WorkerOptions } from './worker.js';

export type { DistributedOptions, DistributedProgress, DistributedResult, DistributedStats } from './coordinator.js';
export type { WorkerOptions, RunningWorker } from './worker.js';

/**
 * Run a kernel on the `keopsc worker` processes listening on a Redis: the same as
 * `kernel.run(args, { backend: 'distributed', redis, tiles })`. See runtime/dist/coordinator.ts and
 * the README section "Beyond one machine".
 */
export async function runDistributed(kernel: CompiledKernel, args: ArgsInput, options: Omit<RunOptions, 'backend'> & DistributedOptions & { backend?: 'distributed' }): Promise<DistributedResult> {
  const { runDistributed: run } = await import('./coordinator.js');
  const { backend: _backend, ...rest } = options;
  return run(kernel, args, rest);
}

/** Start a `keopsc worker` in this process (see runtime/dist/worker.ts). */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { startWorker: start } = await import('./worker.js');
  return start(options);
}

registerDistributedRunner((kernel, args, options) => runDistributed(kernel, args, options as DistributedOptions));
