import type { SExpr } from '../ir/scalar.js';
import type { KernelPlan, Stage } from './plan.js';

const STAGES: readonly Stage[] = ['param', 'outer', 'inner'];

/**
 * The plan verifier: every invariant a printer relies on, as messages (empty when the plan is well
 * formed). f and g have the reduction's dimensions; each stage's statements come after everything
 * they use, which is a constant, a load of the same or an earlier stage, or a statement of the same
 * (earlier in the list) or an earlier stage; loads are input nodes and statements are not.
 */
export function verifyPlan(plan: KernelPlan): string[] {
  const problems: string[] = [];
  const red = plan.reduction;
  if (plan.f.length !== red.D) problems.push(`f has ${plan.f.length} components, the reduction says D = ${red.D}`);
  if (plan.g.length !== red.E) problems.push(`g has ${plan.g.length} components, the reduction says E = ${red.E}`);
  if (plan.rowCat !== plan.tag) problems.push(`rows of category ${plan.rowCat} for tag ${plan.tag}`);
  const ready = new Set<SExpr>();
  for (const stage of STAGES) {
    for (const n of plan.loads[stage]) {
      if (n.fn !== 'input') problems.push(`${stage} load #${n.id} is a ${n.fn}, not an input`);
      ready.add(n);
    }
    for (const n of plan.stmts[stage]) {
      if (n.fn === 'input' || n.fn === 'const') problems.push(`${stage} statement #${n.id} is a ${n.fn}`);
      for (const a of n.args) if (a.fn !== 'const' && !ready.has(a)) problems.push(`${stage} statement #${n.id} (${n.fn}) uses #${a.id} before it is computed`);
      ready.add(n);
    }
  }
  for (const [what, xs, loop] of [['f', plan.f, plan.fLoop], ['g', plan.g, plan.gLoop]] as const) {
    if (loop) {
      // a component loop: its args are computed, and it has one component per element
      if (loop.n !== xs.length) problems.push(`the loop over ${what} has ${loop.n} components, ${what} has ${xs.length}`);
      for (const a of loop.args) if (a.fn !== 'const' && !ready.has(a)) problems.push(`the loop over ${what} reads #${a.id} (${a.fn}), which is never computed`);
      continue;
    }
    xs.forEach((x, k) => {
      if (x.fn !== 'const' && !ready.has(x)) problems.push(`${what}[${k}] (#${x.id}) is never computed`);
    });
  }
  return problems;
}
