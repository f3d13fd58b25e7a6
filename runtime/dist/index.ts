/**
 * Distribution: reductions sharded over `keopsc worker` processes on Redis + BullMQ. A layer above
 * the backends: a tile is an ordinary local run of a partial kernel (partial.ts) on a row block and a
 * reduction chunk (tiles.ts); the coordinator merges the partial states in a fixed order and
 * finalises once (coordinator.ts); workers (worker.ts) run tiles in child processes (tile.ts).
 * @module
 */
export { runDistributed, type DistributedOptions, type DistributedProgress, type DistributedResult, type DistributedStats } from './coordinator.js';
export { startWorker, type WorkerOptions, type RunningWorker } from './worker.js';
export { PROTOCOL_VERSION, QUEUE_NAME } from './protocol.js';
export { partialKernel, MergeState } from './partial.js';
export { planGrid, autoTiles, parseTiles, type TileGrid } from './tiles.js';
