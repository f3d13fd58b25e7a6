import { bodyStatements, type SExpr } from '../ir/scalar.js';
import type { KernelPlan, Stage } from './plan.js';

const STAGE_DOC: Record<Stage, string> = {
  param: 'once per call',
  outer: 'once per output row',
  inner: 'once per (row, reduction index) pair',
};

/** A number as the plan prints it: -0, NaN and the infinities spelled out. */
function num(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/**
 * The kernel plan as text (`keopsc compile --emit plan`): the reduction with its sizes, then per stage
 * the input components it loads and its scalar statements in order, then the components of f (and g).
 * Inputs print as `name[comp]` with the kernel's argument names; statements are numbered `t1, t2, ...`
 * in print order; constants print inline.
 */
export function printPlan(plan: KernelPlan): string {
  const k = plan.kernel;
  const red = plan.reduction;
  const argName = new Map(k.args.map((a) => [a.index, a.name]));
  const names = new Map<SExpr, string>();
  let next = 1;
  const ref = (n: SExpr): string => {
    if (n.fn === 'const') return num(n.value);
    const name = names.get(n);
    if (name !== undefined) return name;
    if (n.fn === 'input') return `${argName.get(n.input!.index) ?? `Var${n.input!.index}`}[${n.input!.comp}]`;
    if (n.fn === 'lane') return `${argName.get(n.input!.index) ?? `Var${n.input!.index}`}[${n.input!.comp ? `${n.input!.comp} + ` : ''}k]`;
    return `?#${n.id}`;
  };
  const lines: string[] = [];
  const body = (root: SExpr, indent: string) => {
    let b = 1;
    for (const x of bodyStatements(root)) {
      if (x.fn === 'lane') continue;
      names.set(x, `b${b++}`);
      lines.push(`${indent}${names.get(x)} = ${x.fn}(${x.args.map(ref).join(', ')})`);
    }
  };
  const row = plan.tag === 0 ? 'i' : 'j';
  const over = plan.tag === 0 ? 'j' : 'i';
  lines.push(`# plan of ${k.name}: ${red.name}_Reduction over ${over}, one output row per ${row}`);
  const sizes = [`D=${red.D}`, ...(red.K ? [`K=${red.K}`] : []), ...(red.E ? [`E=${red.E}`] : [])];
  const facts = [`family ${red.family}`, ...(red.family === 'extremum' ? [red.max ? 'max' : 'min'] : []), ...(red.family === 'logsumexp' ? [`weights ${red.lseWeights}`] : []), ...(red.sumLike ? ['sum-like'] : [])];
  lines.push(`reduction ${red.name} (${sizes.join(', ')}; ${facts.join(', ')})`);
  lines.push(`outputs ${red.outputs.map((o) => `${o.name}[${o.rowShape.join('x')}] ${o.kind}`).join(', ')}`);
  if (plan.zero) lines.push('zero: the formula is identically 0 (no work)');
  for (const stage of ['param', 'outer', 'inner'] as const) {
    const loads = plan.loads[stage];
    const stmts = plan.stmts[stage];
    lines.push(`${stage} (${STAGE_DOC[stage]}): ${loads.length} load${loads.length === 1 ? '' : 's'}, ${stmts.length} statement${stmts.length === 1 ? '' : 's'}`);
    if (loads.length) lines.push(`  load ${loads.map(ref).join(', ')}`);
    for (const n of stmts) {
      const name = `t${next++}`;
      if (n.fn === 'loop') {
        // a loop: its body's statements, named b1, b2, ... inside it
        lines.push(`  ${name} = sum over k in [0, ${n.loop!.n}) of:`);
        body(n.loop!.body, '    ');
      } else lines.push(`  ${name} = ${n.fn}(${n.args.map(ref).join(', ')})`);
      names.set(n, name);
    }
  }
  for (const [what, xs, loop] of [['f', plan.f, plan.fLoop], ['g', plan.g, plan.gLoop]] as const) {
    if (loop) {
      lines.push(`${what}[k] for k in [0, ${loop.n}):`);
      body(loop.body, '  ');
      lines.push(`  = ${ref(loop.body)}`);
    } else if (what === 'f' || xs.length) lines.push(`${what} = [${xs.map(ref).join(', ')}]`);
  }
  return lines.join('\n');
}
