import { OPS } from './ops/index.js';
import { topoOrder } from './node.js';
import type { Kernel } from './kernel.js';
import { kernelOutputs } from './kernel.js';
import type { Node, Param } from './types.js';

const CAT = ['Vi', 'Vj', 'Pm'];

/** Print a formula in KeOps's syntax (re-parseable), naming variables with `names` (index → name). */
export function printNode(n: Node, names: ReadonlyMap<number, string> = new Map(), lets: ReadonlyMap<Node, string> = new Map()): string {
  return print(n, names, lets, true);
}

function print(n: Node, names: ReadonlyMap<number, string>, lets: ReadonlyMap<Node, string>, top: boolean): string {
  const bound = lets.get(n);
  if (bound && !top) return bound;
  const p = (c: Node, parentLevel?: number): string => {
    const s = print(c, names, lets, false);
    const level = lets.has(c) ? 0 : levelOf(c);
    return parentLevel !== undefined && level >= parentLevel ? `(${s})` : s;
  };
  switch (n.op) {
    case 'Var': {
      const [i, d, c] = n.params as number[];
      return names.get(i!) ?? `Var(${i},${d},${c})`;
    }
    case 'IntCst':
      return String(n.params[0]);
    case 'RatCst':
      return `${n.params[0]}/${n.params[1]}`;
    case 'Cst':
      return floatText(n.params[0] as number);
    case 'Zero':
      return `Zero(${n.params[0]})`;
  }
  const spec = OPS[n.op]?.print;
  if (spec && spec.style === 'infix' && n.args.length === 2) return `${p(n.args[0]!, spec.level)}${spec.symbol}${p(n.args[1]!, spec.level)}`;
  if (spec && spec.style === 'prefix' && n.args.length === 1) return `${spec.symbol}${p(n.args[0]!, spec.level)}`;
  if (spec && spec.style === 'postfix' && n.args.length === 1) return `${p(n.args[0]!, spec.level)}${spec.symbol}`;
  const sig = OPS[n.op]?.sig ?? [];
  const parts: string[] = [];
  let a = 0;
  let q = 0;
  for (const s of sig) {
    if (s.startsWith('f')) {
      if (a < n.args.length) parts.push(p(n.args[a++]!));
    } else if (q < n.params.length) parts.push(paramText(n.params[q++]!));
  }
  while (a < n.args.length) parts.push(p(n.args[a++]!));
  return `${n.op}(${parts.join(',')})`;
}

function levelOf(n: Node): number {
  if (n.op === 'IntCst' || n.op === 'Cst') return (n.params[0] as number) < 0 ? 2 : 0;
  if (n.op === 'RatCst') return 3;
  const spec = OPS[n.op]?.print;
  return spec ? spec.level : 0;
}

function paramText(p: Param): string {
  return typeof p === 'number' ? String(p) : `[${p.join(',')}]`;
}

/** A float constant as a literal that parses back to the same float64. */
export function floatText(v: number): string {
  const s = String(v);
  return /[.e]/.test(s) || !Number.isFinite(v) ? s : `${s}.0`;
}

/** Print a whole kernel: header, arguments, shared subexpressions as `let`, and the reduction. */
export function printKernel(k: Kernel): string {
  const names = new Map(k.args.map((a) => [a.index, a.name]));
  const roots = k.formula2 ? [k.formula, k.formula2] : [k.formula];
  const uses = new Map<Node, number>();
  const order = topoOrder(roots);
  for (const n of order) for (const c of n.args) uses.set(c, (uses.get(c) ?? 0) + 1);
  const lets = new Map<Node, string>();
  const lines: string[] = [];
  const axis = k.tag === 0 ? 'output indexed by i, reduced over j' : 'output indexed by j, reduced over i';
  const outs = kernelOutputs(k)
    .map((o) => `${o.name}${o.kind === 'index' ? ' (int64)' : ''} (${[k.tag === 0 ? 'M' : 'N', ...o.rowShape].join(', ')})`)
    .join(', ');
  lines.push(`kernel ${k.name}: ${k.reduction.name}_Reduction, ${axis}; returns ${outs}`);
  for (const a of k.args) lines.push(`  ${a.name} = ${CAT[a.cat]}(${a.index}, ${a.dim})`);
  let t = 0;
  for (const n of order) {
    if ((uses.get(n) ?? 0) > 1 && n.args.length > 0) {
      const name = `t${t++}`;
      lines.push(`  let ${name} = ${printNode(n, names, lets)}    # dim ${n.dim}`);
      lets.set(n, name);
    }
  }
  const extra = [k.K !== undefined ? String(k.K) : undefined].filter(Boolean);
  const body = [printNode(k.formula, names, lets), ...extra, String(k.tag), ...(k.formula2 ? [printNode(k.formula2, names, lets)] : [])];
  lines.push(`  ${k.name} = ${k.reduction.name}_Reduction(${body.join(', ')})`);
  return lines.join('\n');
}
