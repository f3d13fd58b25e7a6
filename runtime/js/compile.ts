import type { KernelPlan } from '../../src/lower/plan.js';
import { printJs } from '../../src/targets/js.js';
import type { CodeOptions } from '../../src/targets/common.js';

/** A compiled JS kernel: computes output rows [r0, r1) (see src/targets/js.ts for the contract). */
export type JsKernelFn = (
  A: ReadonlyArray<Float32Array | Float64Array | undefined>,
  O: ReadonlyArray<Float32Array | Float64Array | undefined>,
  M: number,
  N: number,
  r0: number,
  r1: number,
  R: { out: Int32Array; slices: Int32Array; red: Int32Array } | null,
) => void;

/** Compiled functions by source (the source spells out the formula, the dtype and every option). */
const bySource = new Map<string, JsKernelFn>();
/** Per plan, by option key: skips printing on repeated calls (call overhead matters for small runs). */
const byPlan = new WeakMap<KernelPlan, Map<string, { source: string; fn: JsKernelFn }>>();

/** The generated source and its compiled function, cached per (plan, dtype, options). */
export function compileJs(plan: KernelPlan, opts: CodeOptions): { source: string; fn: JsKernelFn } {
  const key = `${opts.dtype}|${opts.sumScheme}|${opts.accDtype}`;
  let perPlan = byPlan.get(plan);
  if (!perPlan) byPlan.set(plan, (perPlan = new Map()));
  const hit = perPlan.get(key);
  if (hit) return hit;
  const source = printJs(plan, opts);
  let fn = bySource.get(source);
  if (!fn) {
    fn = new Function(source)() as JsKernelFn;
    bySource.set(source, fn);
  }
  const entry = { source, fn };
  perPlan.set(key, entry);
  return entry;
}
