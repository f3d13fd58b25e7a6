import { registerBackend } from '../../src/api/backends.js';
import { toKernelOutputs } from '../outputs.js';
import { evaluateRef } from './index.js';

/**
 * Registers the `ref` backend: the float64 reference evaluator on the plan's kernel IR, its results
 * rounded to the inputs' dtype (the oracle of the tests; slow and exact). Browser-safe.
 */
registerBackend({
  name: 'ref',
  async: false,
  status: () => ({ ok: true }),
  run(plan, inp, req) {
    const outs = toKernelOutputs(evaluateRef(plan.kernel, { arrays: inp.arrays, M: inp.M, N: inp.N, ranges: inp.ranges }), inp.dtype);
    const first = outs[0]!;
    if (req.out && first.name === 'values') {
      req.out.set(first.data);
      first.data = req.out;
    }
    return outs;
  },
});
