import { compile } from '../../src/api/compile.js';
import type { KernelPlan } from '../../src/lower/plan.js';

/** The dimensions the GPU printers are checked at (issue 19): unrolled (1, 3), loops over whole staged
 * vectors (64, 65), chunks of components (300, 768, 4096). */
export const GPU_DIMS = [1, 3, 64, 65, 300, 768, 4096];

/** High-dimensional kernels for the CUDA compile checks: a Gaussian sum, ArgKMin, a tag-1 sum with
 * scalar products and a parameter, a loop with a reduction-side invariant factor, and the gradient of
 * a Gaussian (up to D = `gradUpTo`), at each of GPU_DIMS. */
export function highDimPlans(gradUpTo = 768): { name: string; plan: KernelPlan }[] {
  const F: Record<string, (D: number) => string> = {
    gauss: (D) => `Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * b, 0)`,
    argkmin: () => 'ArgKMin_Reduction(SqDist(x, y), 10, 0)',
    scalprod: (D) => `Sum_Reduction(Exp(-Abs((x | y) - (p | y)) / ${D}) * Norm2(x - p), 1)`,
    weighted: (D) => `Max_Reduction(Sum(Square(x - y) * Exp(-Abs(x) * b)) / ${D} + Sum(y * p), 0)`,
    grad: (D) => `Sum_Reduction(Grad(Exp(-SqDist(x, y) / ${D}) * b, x, e), 0)`,
  };
  return GPU_DIMS.flatMap((D) =>
    Object.entries(F)
      .filter(([n]) => n !== 'grad' || D <= gradUpTo)
      .map(([n, f]) => ({ name: `${n}_${D}`, plan: compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\np = Pm(3, ${D})\ne = Vi(4, 1)\nk = ${f(D)}`).plan })),
  );
}

/** The dimensions vector-valued results are checked at: unrolled (1, 3), loops over the components of
 * the result (64 and up), with the reduction side staged whole (64, 65), in chunks (300, 768) or not. */
export const VECTOR_DIMS = [1, 3, 64, 65, 300, 768];

/** Vector-valued results (a D-dim f, or a D-dim log-sum-exp weight g) over the variables of
 * {@link vectorDecls}, by name: their plans have a component loop (plan.fLoop / plan.gLoop) from
 * LOOP_MIN_TERMS components on. test/dims.test.ts runs them on every backend. */
export const VECTOR_RESULTS: Record<string, (D: number) => string> = {
  vecsum: () => 'Sum_Reduction(Exp(-SqDist(u, v)) * y, 0)',
  vecgauss: (D) => `Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * (x - y + p), 0)`,
  vecmax: () => 'Max_ArgMax_Reduction(x - y + p, 0)',
  vecargmin: () => 'ArgMin_Reduction(x * y, 1)',
  veckmin: () => 'KMin_ArgKMin_Reduction(x - y, 3, 0)',
  veclse: () => 'LogSumExpWeight_Reduction(-SqDist(u, v), 0, Abs(y) + 1)',
  vecsoftmax: () => 'SumSoftMaxWeight_Reduction(-SqDist(u, v), 0, y)',
};

/** VECTOR_RESULTS, a tag-1 SumSoftMaxWeight, and the gradient of a D-dim Gaussian with respect to x. */
export const VECTOR_FORMULAS: Record<string, (D: number) => string> = {
  ...VECTOR_RESULTS,
  vecsoftmax1: () => 'SumSoftMaxWeight_Reduction(-SqDist(u, v), 1, x)',
  grad: (D) => `Sum_Reduction(Grad(Exp(-SqDist(x, y) / ${D}) * b, x, e), 0)`,
};

/** The declarations of {@link VECTOR_FORMULAS}' variables at dimension D. */
export function vectorDecls(D: number): string {
  return `x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\ne = Vi(3, 1)\nu = Vi(4, 3)\nv = Vj(5, 3)\np = Pm(6, ${D})\n`;
}

/** Every formula of VECTOR_FORMULAS at each of `dims`, compiled: `<name>_<D>`. */
export function vectorPlans(dims = VECTOR_DIMS): { name: string; D: number; plan: KernelPlan }[] {
  return dims.flatMap((D) => Object.entries(VECTOR_FORMULAS).map(([n, f]) => ({ name: `${n}_${D}`, D, plan: compile(`${vectorDecls(D)}k = ${f(D)}`).plan })));
}
