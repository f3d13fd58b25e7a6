import { InputError } from '../../src/diagnostics/index.js';
import { registerBackend } from '../../src/api/backends.js';
import { runWebGpu } from './index.js';

/**
 * Registers the `webgpu` backend: WGSL printed from the plan, run on the WebGPU adapter (the browser's,
 * or Dawn's in Node). Asynchronous: its `run` returns a Promise, which rejects, with the reason, where
 * no adapter is available (finding out needs the adapter, so `status` cannot say so at once).
 * Float32 only. Browser-safe.
 */
registerBackend({
  name: 'webgpu',
  async: true,
  batch: true,
  status: () => ({ ok: true }),
  check(inp, req) {
    // with no input arrays there is no dtype to follow: webgpu computes in float32
    if (inp.arrays.size > 0 && inp.dtype !== 'float32') throw new InputError(`backend 'webgpu' runs float32 only (WGSL has no float64); pass Float32Array inputs, or use backend 'cpu' or 'js' for float64`);
    // a float64 accumulator asked for (float32 data, or no inputs: then the resolved one cannot tell)
    if (req.dtypeAcc === 'float64' || (req.code.accDtype === 'float64' && req.code.dtype === 'float32')) throw new InputError(`backend 'webgpu' has no float64 accumulator (WGSL has no float64); leave dtypeAcc out or use sumScheme 'kahan'`);
    if (req.out && !(req.out instanceof Float32Array)) throw new InputError(`backend 'webgpu' computes in float32 (WGSL has no float64) and cannot fill a ${req.out.constructor.name} out (a run with no inputs has dtype float64); leave out= out, or use backend 'cpu' or 'js'`);
    return { ...req, code: { ...req.code, dtype: 'float32', accDtype: 'float32' } };
  },
  run: (plan, inp, req) => runWebGpu(plan, inp, { code: req.code, out: req.out as Float32Array | undefined }, { storage: req.storage }),
});
