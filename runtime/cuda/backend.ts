import { registerHostBackend } from '../../src/api/backends.js';
import type { KernelPlan } from '../../src/lower/plan.js';
import { printCuda, type CudaCodeOptions } from '../../src/targets/cuda.js';
import { cudaCodeOptions, cudaStatus, runCuda } from './index.js';

/**
 * Registers the `cuda` backend (CUDA C printed from the plan, compiled by NVRTC, cached on disk, run
 * through the driver API by the native addon). Loaded by the Node entry point only.
 */
const sources = new WeakMap<KernelPlan, Map<string, string>>();

/** The CUDA source of a plan for these options, printed once per (plan, options). */
function cudaFor(plan: KernelPlan, opts: CudaCodeOptions): string {
  let m = sources.get(plan);
  if (!m) sources.set(plan, (m = new Map()));
  const key = `${opts.dtype}|${opts.sumScheme}|${opts.accDtype}|${opts.storage ?? 'float32'}`;
  let src = m.get(key);
  if (!src) m.set(key, (src = printCuda(plan, opts).source));
  return src;
}

registerHostBackend('cuda', {
  status() {
    const s = cudaStatus();
    return s.ok ? { ok: true } : { ok: false, reason: `${s.reason}; run \`keopsc doctor\` for details, or use backend 'cpu' or 'js'` };
  },
  run(plan, inp, req) {
    const opts = { sumScheme: req.code.sumScheme, accDtype: req.code.accDtype, fastMath: req.fastMath, out: req.out, storage: req.storage };
    return runCuda(plan, inp, opts, cudaFor(plan, cudaCodeOptions(inp.dtype, opts)));
  },
});
