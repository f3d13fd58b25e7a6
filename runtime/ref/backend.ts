import type { KernelPlan } from '../../src/lower/plan.js';
import type { LaunchInputs } from '../../src/api/types.js';
import { registerBackend } from '../../src/api/backends.js';
import { allocateOutputs, toKernelOutputs, type OutputBuffer } from '../outputs.js';
import { evaluateRefBuffers } from './index.js';
import { batchCount, batchViews } from '../batch/index.js';

/**
 * Registers the `ref` backend: the float64 reference evaluator on the plan's kernel IR, its results
 * rounded to the inputs' dtype (the oracle of the tests; slow and exact). Browser-safe.
 */
registerBackend({
  name: 'ref',
  async: false,
  batch: true,
  status: () => ({ ok: true }),
  run(plan, inp, req) {
    const outs = toKernelOutputs(inp.batch ? evaluateBatched(plan, inp) : evaluateRefBuffers(plan.kernel, { arrays: inp.arrays, M: inp.M, N: inp.N, ranges: inp.ranges }), inp.dtype);
    const first = outs[0]!;
    if (req.out && first.name === 'values') {
      req.out.set(first.data);
      first.data = req.out;
    }
    return outs;
  },
});

/** The reference over batch dims: a loop over the batch entries (it is the oracle), each on views of
 * its arguments, the results laid out (B…, rows, …). */
function evaluateBatched(plan: KernelPlan, inp: LaunchInputs): OutputBuffer[] {
  const batch = inp.batch!;
  const B = batchCount(batch);
  const rows = plan.tag === 0 ? inp.M : inp.N;
  const outs = allocateOutputs(plan, rows, 'float64', undefined, true, batch.shape);
  for (let t = 0; t < B; t++) {
    const one = evaluateRefBuffers(plan.kernel, { arrays: batchViews(inp.arrays, batch, t), M: inp.M, N: inp.N });
    one.forEach((o, k) => outs[k]!.data.set(o.data, t * o.data.length));
  }
  return outs;
}
