import { topoOrder } from '../ir/node.js';
import { OPS } from '../ir/ops/index.js';
import type { Kernel } from '../ir/kernel.js';
import { PassError } from './error.js';

/**
 * Symbolic differentiation: expands Grad, Diff, Divergence, Laplacian and GradMatrix.
 * Their expansion (reverse-mode rules in the op registry) is not implemented in this version: a
 * kernel that uses them type-checks, but compiling it for execution reports KEO4001.
 */
export function autodiff(kernel: Kernel): Kernel {
  const roots = kernel.formula2 ? [kernel.formula, kernel.formula2] : [kernel.formula];
  const bad = topoOrder(roots).find((n) => OPS[n.op]?.group === 'autodiff');
  if (bad) {
    throw new PassError('NotImplemented', `${bad.op} type-checks, but symbolic differentiation is not available in this version of keopsc`, kernel, bad.op, 'differentiate by hand for now, or use `keopsc check` to validate the formula');
  }
  return kernel;
}
