import type { KernelPlan } from '../src/lower/plan.js';

/** One output array of a backend run (values in the dtype; indices as Float64Array or int64). */
export interface BackendOutput<I> {
  name: 'values' | 'indices';
  kind: 'float' | 'index';
  shape: number[];
  data: Float32Array | Float64Array | I;
}

/**
 * Allocate the outputs of a plan for `rows` output rows: values of the dtype (the first one may be the
 * caller's `out` array, already checked), indices made by `index(size)`. Shared by every backend.
 */
export function allocateOutputs<I>(plan: KernelPlan, rows: number, dtype: 'float32' | 'float64', out: Float32Array | Float64Array | undefined, index: (size: number) => I): BackendOutput<I>[] {
  return plan.reduction.outputs.map((o, k) => {
    const shape = [rows, ...o.rowShape];
    const size = shape.reduce((a, b) => a * b, 1);
    const data = o.kind === 'index' ? index(size) : k === 0 && out ? out : dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
    return { name: o.name, kind: o.kind, shape, data };
  });
}
