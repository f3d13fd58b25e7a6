/**
 * keopsc: a compiler and runtime for KeOps-style kernel formulas.
 *
 * ```ts
 * import { compile } from 'keopsc';
 * const k = compile(`x = Vi(0, 3); y = Vj(1, 3); b = Vj(2, 1)
 *                    gauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)`);
 * const { values } = k.run({ x, y, b });
 * ```
 * @packageDocumentation
 */
// Node entry point: installs the worker-thread pool of the JS backend, the cpu backend (native addon
// and system compiler), the WebGPU adapter provider (the `webgpu` package, Dawn) and the clustering
// library's native passes (the addon's), then exports the platform-independent core.
import '../runtime/js/pool.js';
import '../runtime/cpu/backend.js';
import '../runtime/cuda/backend.js';
import '../runtime/webgpu/node.js';
import '../runtime/dist/entry.js';
import '../runtime/cluster/node.js';
export * from './core.js';
export { loadNpy, saveNpy, loadNpz, saveNpz } from '../runtime/npy/files.js';
export { cpuStatus, cacheDir, cacheList, cacheClear, findCompiler } from '../runtime/cpu/index.js';
export { cudaStatus, resetCudaStatus, compileCuda, cudaCacheList } from '../runtime/cuda/index.js';
export { runDistributed, startWorker, type DistributedOptions, type DistributedProgress, type DistributedResult, type DistributedStats, type WorkerOptions, type RunningWorker } from '../runtime/dist/entry.js';
