/**
 * The IR verifier: the invariants every kernel holds between two stages of the pipeline. Each node is
 * the hash-consed node of its key, names a registered op whose dimension rule accepts its arguments and
 * parameters, and has the dimension that rule gives and the dependencies of its variables; the
 * kernel's reduction gets the formulas, K and dimensions it takes; its argument list describes every
 * variable it uses. Stages add their own promises: after `autodiff` no autodiff op is left, after the
 * last pass every op can be lowered.
 *
 * `optimize` runs it after every stage when KEOPSC_VERIFY=1 (the test suite sets it); a failure is a
 * compiler bug, reported as an internal error naming the stage.
 */
import type { Kernel } from './kernel.js';
import { isInterned, topoOrder } from './node.js';
import { OPS } from './ops/index.js';
import { takesK, takesWeight } from './reductions.js';
import { DEP_I, DEP_J, DEP_P, DimError, type Node } from './types.js';

/** What a stage promises beyond the common invariants. */
export interface VerifyStage {
  /** No op of the autodiff group is left (after the autodiff pass). */
  noAutodiff?: boolean;
  /** Every op has a lowering (after the last pass). */
  lowerable?: boolean;
}

/** Every invariant `kernel` breaks, as messages (empty when it is well formed). */
export function verifyKernel(kernel: Kernel, stage: VerifyStage = {}): string[] {
  const problems: string[] = [];
  const roots = kernel.formula2 ? [kernel.formula, kernel.formula2] : [kernel.formula];
  const vars = new Map<number, Node>();
  for (const n of topoOrder(roots)) {
    const at = `${n.op}#${n.id}`;
    if (!isInterned(n)) problems.push(`${at} is not the hash-consed node of its key (made without mk)`);
    const def = OPS[n.op];
    if (!def) {
      problems.push(`${at}: unknown op`);
      continue;
    }
    try {
      const dim = def.dim(n.args.map((a) => a.dim), n.params);
      if (dim !== n.dim) problems.push(`${at} has dimension ${n.dim}, its rule gives ${dim}`);
    } catch (e) {
      if (!(e instanceof DimError)) throw e;
      problems.push(`${at} breaks its dimension rule: ${e.message}`);
    }
    let deps = 0;
    if (n.op === 'Var') {
      const [index, , cat] = n.params as [number, number, number];
      deps = cat === 0 ? DEP_I : cat === 1 ? DEP_J : DEP_P;
      vars.set(index, n);
    }
    for (const a of n.args) deps |= a.deps;
    if (deps !== n.deps) problems.push(`${at} has dependencies ${n.deps}, its variables give ${deps}`);
    if (stage.noAutodiff && def.group === 'autodiff') problems.push(`${at}: an autodiff op is left after differentiation`);
    if (stage.lowerable && n.op !== 'Var' && !def.lower) problems.push(`${at} has no lowering`);
  }
  const red = kernel.reduction;
  if (kernel.tag !== 0 && kernel.tag !== 1) problems.push(`tag ${String(kernel.tag)} is not 0 or 1`);
  if (takesWeight(red) !== (kernel.formula2 !== undefined)) problems.push(`${red.name} ${takesWeight(red) ? 'needs' : 'takes no'} weight formula`);
  if (takesK(red) !== (kernel.K !== undefined)) problems.push(`${red.name} ${takesK(red) ? 'needs' : 'takes no'} K`);
  try {
    red.check?.(kernel.formula.dim, kernel.formula2?.dim, kernel.K);
  } catch (e) {
    if (!(e instanceof DimError)) throw e;
    problems.push(`${red.name}: ${e.message}`);
  }
  const args = new Map(kernel.args.map((a) => [a.index, a]));
  if (args.size !== kernel.args.length) problems.push('two kernel arguments share an index');
  if (kernel.args.some((a, k) => k > 0 && a.index <= kernel.args[k - 1]!.index)) problems.push('the kernel arguments are not sorted by index');
  for (const [index, v] of vars) {
    const a = args.get(index);
    const [, dim, cat] = v.params as [number, number, number];
    if (index < 0) {
      // compiler temporaries (bound inside autodiff's rules) are not arguments, and vanish with autodiff
      if (stage.noAutodiff) problems.push(`the temporary variable ${index} is left after differentiation`);
      continue;
    }
    if (!a) problems.push(`variable ${index} is used but is not a kernel argument`);
    else if (a.dim !== dim || a.cat !== cat) problems.push(`variable ${index} is (dim ${dim}, cat ${cat}) but its argument ${a.name} is (dim ${a.dim}, cat ${a.cat})`);
  }
  return problems;
}
