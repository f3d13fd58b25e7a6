import { compile } from '../src/index.js';
import { cpuOrSkip } from './helpers/native.js';
import { webgpuOrSkip } from './helpers/webgpu.js';
import { cudaStatus } from '../runtime/cuda/index.js';
import { CONFORMANCE_CASES, caseArgs, checkCase } from './helpers/conformance.js';

/**
 * keops-reference.md §7.3 on every backend, in float64 and float32: against the stated values, and
 * (for the generated backends) against the reference evaluator on the same inputs.
 */
for (const backend of ['ref', 'js', 'cpu', 'webgpu', 'cuda'] as const)
describe(`conformance (§7.3) on the ${backend} backend`, function () {
  this.timeout(120000);
  if (backend === 'cpu' && !cpuOrSkip()) return;
  if (backend === 'cuda') {
    const s = cudaStatus();
    if (!s.ok) {
      it(`is skipped: the cuda backend is unavailable: ${s.reason}`, function () {
        this.skip();
      });
      return;
    }
  }
  if (backend === 'webgpu') webgpuOrSkip({ rangesScheme: 'blocks' }); // the GPU code path (KeOps's), also on CPU adapters
  // WGSL has no float64
  for (const dtype of backend === 'webgpu' ? (['float32'] as const) : (['float64', 'float32'] as const)) {
    describe(dtype, () => {
      for (const c of CONFORMANCE_CASES) {
        if (dtype === 'float32' && c.float64Only) continue;
        it(c.name, async () => {
          const k = compile(c.source, { file: 'case.keo' });
          const args = caseArgs(c, dtype);
          const r = await k.run(args, { backend, ranges: c.ranges, threads: 1 });
          checkCase(c, dtype, r, backend === 'ref' ? undefined : k.run(args, { backend: 'ref', ranges: c.ranges }));
        });
      }
    });
  }
});
