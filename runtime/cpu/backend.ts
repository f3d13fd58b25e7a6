import { registerHostBackend } from '../../src/api/backends.js';
import { printCpp, CPP_FAST_FLAGS } from '../../src/targets/cpp.js';
import type { KernelPlan } from '../../src/lower/plan.js';
import { cpuStatus, runCpu } from './index.js';

/**
 * Registers the `cpu` backend (C++ printed from the plan, compiled by the system compiler, cached on
 * disk, run by the native addon). Loaded by the Node entry point only.
 */
const sources = new WeakMap<KernelPlan, Map<string, string>>();

/** The C++ source of a plan for these options, printed once per (plan, options). */
function cppFor(plan: KernelPlan, opts: Parameters<typeof printCpp>[1]): string {
  let m = sources.get(plan);
  if (!m) sources.set(plan, (m = new Map()));
  const key = `${opts.dtype}|${opts.sumScheme}|${opts.accDtype}|${opts.fastMath}`;
  let src = m.get(key);
  if (!src) m.set(key, (src = printCpp(plan, opts)));
  return src;
}

registerHostBackend('cpu', {
  status() {
    const s = cpuStatus();
    return s.ok ? { ok: true } : { ok: false, reason: `${s.reason}; install g++ (apt-get install g++) and rebuild the addon (npm run build:native), or use backend 'js'` };
  },
  run(plan, inp, req) {
    const fastMath = req.fastMath ?? inp.dtype === 'float32';
    const source = cppFor(plan, { ...req.code, fastMath });
    return runCpu(plan, inp, source, req.threads, req.out, { flags: [...CPP_FAST_FLAGS, '-std=c++17'] });
  },
});
