import { compile } from '../../src/api/compile.js';
import type { KernelPlan } from '../../src/lower/plan.js';

/** The dimensions the GPU printers are checked at (issue 19): unrolled (1, 3), loops over whole staged
 * vectors (64, 65), chunks of components (300, 768, 4096). */
export const GPU_DIMS = [1, 3, 64, 65, 300, 768, 4096];

/** High-dimensional kernels for the CUDA compile checks: a Gaussian sum, ArgKMin, a tag-1 sum with
 * scalar products and a parameter, a loop with a reduction-side invariant factor, and the gradient of
 * a Gaussian (up to D = `gradUpTo`: its 768 outputs are still unrolled), at each of GPU_DIMS. */
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
