import { diag } from '../diagnostics/index.js';
import type { Kernel } from '../ir/kernel.js';
import { DimError } from '../ir/types.js';
import { fail } from './frontend.js';
import { expandMacros } from './expand.js';
import { autodiff } from './autodiff.js';
import { simplify } from './simplify.js';
import { cse } from './cse.js';
import { PassError } from './error.js';
import { checkExpandedSize } from './limits.js';
import { verifyKernel, type VerifyStage } from '../ir/verify.js';
import { lowerKernel, type KernelPlan } from '../lower/plan.js';
import { verifyPlan } from '../lower/verify.js';

// The front end (parse and type-check) is ./frontend.ts, on its own so that `keopsc check` and the
// language server load no pass, lowering or target.
export { checkSource, fail, frontend } from './frontend.js';

/** One optimisation pass over a kernel. */
export interface Pass {
  name: string;
  doc: string;
  /** Transform a kernel (returns a new one; IR nodes are immutable). */
  run(kernel: Kernel): Kernel;
}

/**
 * THE pass pipeline, in order. Elaboration from the AST (src/passes/elaborate.ts, the stage `typecheck`
 * of IR dumps) comes first and produces the kernels these passes transform; lowering to the kernel plan
 * (`lower` below) comes last. `keopsc compile --emit ir` prints the IR after each stage, `--emit plan`
 * the plan; with KEOPSC_VERIFY=1 the IR verifier runs after each of them.
 */
export const PASSES: readonly Pass[] = [
  { name: 'expand', doc: 'macro expansion: SqDist, Norm2, WeightedSqNorm, ... into core ops', run: expandMacros },
  { name: 'autodiff', doc: 'symbolic differentiation: Grad, Diff, Divergence, Laplacian, GradMatrix', run: autodiff },
  { name: 'simplify', doc: 'algebraic rewrite rules with exact rational constants', run: simplify },
  { name: 'cse', doc: 'common-subexpression elimination (hash-consing plus commutative twins)', run: cse },
];

/** Called after each stage with its name and the kernel, for IR dumps. */
export type PassHook = (stage: string, kernel: Kernel) => void;

/** What each stage promises beyond the common invariants (checked by the IR verifier). */
const STAGE_PROMISES: Readonly<Record<string, VerifyStage>> = {
  autodiff: { noAutodiff: true },
  simplify: { noAutodiff: true },
  cse: { noAutodiff: true, lowerable: true },
};

/**
 * Whether `optimize` and `lower` run the IR verifier (src/ir/verify.ts) after every stage: when
 * KEOPSC_VERIFY=1 in the environment (the test suite sets it), or once set here.
 */
export const verifyOptions = {
  enabled: (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.KEOPSC_VERIFY === '1',
};

/** Verify the kernel after `stage`; a broken invariant is a compiler bug (an internal error). */
export function verifyStage(stage: string, kernel: Kernel): void {
  const problems = verifyKernel(kernel, STAGE_PROMISES[stage]);
  if (problems.length) throw new Error(`internal: the IR of kernel ${kernel.name} is invalid after ${stage}:\n  ${problems.join('\n  ')}`);
}


/** Run the pass pipeline on one kernel. Throws KeopsError for user errors found by a pass. */
export function optimize(kernel: Kernel, hook?: PassHook): Kernel {
  if (verifyOptions.enabled) verifyStage('typecheck', kernel);
  hook?.('typecheck', kernel);
  let k = kernel;
  for (const pass of PASSES) {
    try {
      k = pass.run(k);
    } catch (e) {
      if (e instanceof PassError) throw fail([diag(e.kind, e.message, e.span, e.hint)], kernel.source);
      if (e instanceof DimError) {
        const kind = e.kind === 'BadConstant' ? 'DivisionByZero' : e.kind;
        const at = new PassError(kind, e.message, kernel, kind === 'DivisionByZero' ? 'Divide' : undefined, e.hint);
        throw fail([diag(kind, e.message, at.span, e.hint)], kernel.source);
      }
      throw e;
    }
    // a pass may expand the formula (macros, derivatives): bound what lowering will build
    const tooLarge = checkExpandedSize(k.formula2 ? [k.formula, k.formula2] : [k.formula]);
    if (tooLarge) throw fail([diag('TooLarge', `after ${pass.name}, ${tooLarge.message}`, kernel.span, tooLarge.hint)], kernel.source);
    if (verifyOptions.enabled) verifyStage(pass.name, k);
    hook?.(pass.name, k);
  }
  return k;
}

/** Called with the kernel plan after lowering, for plan dumps (`keopsc compile --emit plan`). */
export type PlanHook = (stage: 'lower', plan: KernelPlan) => void;

/**
 * The last stage: lower an optimised kernel to its plan (src/lower/plan.ts), the input of every
 * printer. The plan is verified like the IR (src/lower/verify.ts) when verification is on.
 */
export function lower(kernel: Kernel, hook?: PlanHook): KernelPlan {
  const plan = lowerKernel(kernel);
  if (verifyOptions.enabled) {
    const problems = verifyPlan(plan);
    if (problems.length) throw new Error(`internal: the plan of kernel ${kernel.name} is invalid:\n  ${problems.join('\n  ')}`);
  }
  hook?.('lower', plan);
  return plan;
}
