// The sandboxed BullMQ processor of `keopsc worker` (a child process per concurrent tile). It loads the
// Node entry point (the cpu, cuda and webgpu backends) and runs tiles; it exits with its worker.
import '../../src/index.js';
import { processTile } from './tile.js';

process.on('disconnect', () => process.exit(0));
export default processTile;
