import { registerBackend } from '../../src/api/backends.js';
import { cudaSource } from '../../src/targets/cuda.js';
import { cudaCodeOptions, cudaStatus, runCuda } from './index.js';

/**
 * Registers the `cuda` backend (CUDA C printed from the plan, compiled by NVRTC, cached on disk, run
 * through the driver API by the native addon). Loaded by the Node entry point only.
 */
registerBackend({
  name: 'cuda',
  async: false,
  batch: true,
  status() {
    const s = cudaStatus();
    return s.ok ? { ok: true } : { ok: false, reason: `${s.reason}; run \`keopsc doctor\` for details, or use backend 'cpu' or 'js'` };
  },
  check(inp, req) {
    cudaCodeOptions(inp.dtype, { sumScheme: req.code.sumScheme, accDtype: req.code.accDtype, storage: req.storage });
    return req;
  },
  run(plan, inp, req) {
    const opts = { sumScheme: req.code.sumScheme, accDtype: req.code.accDtype, fastMath: req.fastMath, out: req.out, storage: req.storage };
    return runCuda(plan, inp, opts, cudaSource(plan, cudaCodeOptions(inp.dtype, opts)));
  },
});
