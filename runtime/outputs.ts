import type { KernelPlan } from '../src/lower/plan.js';
import type { FloatArray, FloatDtype, KernelOutput } from '../src/api/types.js';

/** An output array as a backend fills it, before {@link toKernelOutputs}: targets that compute indices
 * as floats (js, ref) hold them in a Float64Array. */
export interface OutputBuffer {
  name: 'values' | 'indices';
  shape: number[];
  data: FloatArray | BigInt64Array;
}

/**
 * Allocate the outputs of a plan for `rows` output rows (per batch entry, `batch` the batch shape):
 * values of the dtype (the first one may be the caller's `out` array, already checked), indices int64,
 * or float64 with `floatIndices` (the js target's). Shared by every backend.
 */
export function allocateOutputs(plan: KernelPlan, rows: number, dtype: FloatDtype, out: FloatArray | undefined, floatIndices?: false, batch?: readonly number[]): KernelOutput[];
export function allocateOutputs(plan: KernelPlan, rows: number, dtype: FloatDtype, out: FloatArray | undefined, floatIndices: true, batch?: readonly number[]): (OutputBuffer & { data: FloatArray })[];
export function allocateOutputs(plan: KernelPlan, rows: number, dtype: FloatDtype, out: FloatArray | undefined, floatIndices = false, batch: readonly number[] = []): OutputBuffer[] {
  return plan.reduction.outputs.map((o, k) => {
    const shape = [...batch, rows, ...o.rowShape];
    const size = shape.reduce((a, b) => a * b, 1);
    const data = o.kind === 'index' ? (floatIndices ? new Float64Array(size) : new BigInt64Array(size)) : k === 0 && out ? out : dtype === 'float32' ? new Float32Array(size) : new Float64Array(size);
    return { name: o.name, shape, data };
  });
}

/** The outputs as a run returns them: indices int64, values of `dtype` (converted from float64 where a
 * backend computed them so; an array already of the dtype, such as the caller's `out`, is kept). */
export function toKernelOutputs(outs: readonly OutputBuffer[], dtype: FloatDtype): KernelOutput[] {
  return outs.map((o): KernelOutput => {
    if (o.name === 'indices') return { name: 'indices', shape: o.shape, data: o.data instanceof BigInt64Array ? o.data : toInt64(o.data) };
    if (o.data instanceof BigInt64Array) throw new Error(`internal: the values output holds int64 data`);
    return { name: 'values', shape: o.shape, data: dtype === 'float32' && !(o.data instanceof Float32Array) ? Float32Array.from(o.data) : o.data };
  });
}

function toInt64(a: FloatArray): BigInt64Array {
  const out = new BigInt64Array(a.length);
  for (let k = 0; k < a.length; k++) out[k] = BigInt(a[k]!);
  return out;
}
