import { registerBackend } from '../../src/api/backends.js';
import { CPP_FAST_FLAGS, cppSource } from '../../src/targets/cpp.js';
import { cpuStatus, runCpu } from './index.js';

/**
 * Registers the `cpu` backend (C++ printed from the plan, compiled by the system compiler, cached on
 * disk, run by the native addon). Loaded by the Node entry point only.
 */
registerBackend({
  name: 'cpu',
  async: false,
  batch: true,
  status() {
    const s = cpuStatus();
    return s.ok ? { ok: true } : { ok: false, reason: `${s.reason}; install g++ (apt-get install g++) and rebuild the addon (npm run build:native), or use backend 'js'` };
  },
  run(plan, inp, req) {
    const fastMath = req.fastMath ?? inp.dtype === 'float32';
    const source = cppSource(plan, { ...req.code, fastMath, gemm: req.gemm ?? true });
    return runCpu(plan, inp, source, req.threads, req.out, { flags: [...CPP_FAST_FLAGS, '-std=c++17'] });
  },
});
