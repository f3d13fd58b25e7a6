import type { KernelPlan } from '../../src/lower/plan.js';
import type { LaunchInputs } from '../../src/api/types.js';
import { registerBackend } from '../../src/api/backends.js';
import { toKernelOutputs } from '../outputs.js';
import { evaluateRef, type RefOutput } from './index.js';
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
    const outs = toKernelOutputs(inp.batch ? evaluateBatched(plan, inp) : evaluateRef(plan.kernel, { arrays: inp.arrays, M: inp.M, N: inp.N, ranges: inp.ranges }), inp.dtype);
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
function evaluateBatched(plan: KernelPlan, inp: LaunchInputs): RefOutput[] {
  const batch = inp.batch!;
  const B = batchCount(batch);
  const rows = plan.tag === 0 ? inp.M : inp.N;
  const outs: RefOutput[] = plan.reduction.outputs.map((o) => {
    const shape = [...batch.shape, rows, ...o.rowShape];
    return { name: o.name, kind: o.kind, shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) };
  });
  for (let t = 0; t < B; t++) {
    const one = evaluateRef(plan.kernel, { arrays: batchViews(inp.arrays, batch, t), M: inp.M, N: inp.N });
    one.forEach((o, k) => outs[k]!.data.set(o.data, t * o.data.length));
  }
  return outs;
}
