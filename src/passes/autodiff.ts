import { IntCst, numberLiteral, rewrite, topoOrder, Var, Zero } from '../ir/node.js';
import { OPS } from '../ir/ops/index.js';
import type { Kernel } from '../ir/kernel.js';
import type { GradBuilder, Node } from '../ir/types.js';
import { floatText } from '../ir/print.js';
import { smart } from './simplify.js';
import { PassError } from './error.js';

/**
 * Symbolic differentiation (keops-reference §1.9): expands Grad, Diff, Divergence, Laplacian,
 * GradMatrix, TraceOperator and AdjointOperator, innermost first, into ordinary formulas.
 *
 * Everything is built from one reverse-mode routine, {@link gradOf}, which walks the formula DAG from
 * the output back to the variable, applying each op's `grad` rule from the registry and summing the
 * contributions with the simplifying constructor (so results stay compact, as KeOps's):
 * - Grad(f, v, e) = (∂f/∂v)ᵀ e.
 * - Diff(f, v, u) = (∂f/∂v) u: the transpose of the linear map G ↦ Grad(f, v, G), taken by a second
 *   reverse pass with respect to a temporary variable G, which then vanishes from the result.
 * - Divergence(f, v) = Σ_k ∂f_k/∂v_k = Σ_k Elem(Diff(f, v, e_k), k), with e_k the unit vectors.
 * - Laplacian(f, v) = Divergence(Grad(f, v, 1), v).
 * - GradMatrix(f, v) = [Grad(f_0, v, 1), ..., Grad(f_{n-1}, v, 1)] (block k is ∇_v f_k).
 * - TraceOperator(f, v) = Divergence(f, v) (f linear in v); AdjointOperator(f, v, u) = Grad(f, v, u).
 */
export function autodiff(kernel: Kernel): Kernel {
  const memo = new Map<Node, Node>();
  const f = (n: Node): Node => {
    try {
      return expandOne(n);
    } catch (e) {
      if (e instanceof NotDifferentiable) throw new PassError(e.kind, e.message, kernel, e.op, e.hint);
      throw e;
    }
  };
  const out: Kernel = { ...kernel, formula: rewrite(kernel.formula, f, memo) };
  if (kernel.formula2) out.formula2 = rewrite(kernel.formula2, f, memo);
  return out;
}

class NotDifferentiable extends Error {
  constructor(
    readonly op: string,
    message: string,
    readonly hint?: string,
    readonly kind: 'NotDifferentiable' | 'NotImplemented' = 'NotDifferentiable',
  ) {
    super(message);
  }
}

/** Temporary variables (negative indices, never arguments) for Diff's second pass. */
let tempIndex = -1;
function temp(dim: number): Node {
  return Var(tempIndex--, dim, 0);
}

const cst = (v: number): Node => numberLiteral(floatText(v), v);

/** Expand one autodiff node whose arguments are already expanded. */
function expandOne(n: Node): Node {
  const [f, v, third] = n.args as [Node, Node, Node | undefined];
  switch (n.op) {
    case 'Grad':
    case 'AdjointOperator':
      return gradOf(f, v, third!);
    case 'Diff':
      return diff(f, v, third!);
    case 'Divergence':
    case 'TraceOperator':
      return divergence(f, v);
    case 'Laplacian':
      return divergence(gradOf(f, v, IntCst(1)), v);
    case 'GradMatrix': {
      const rows = Array.from({ length: f.dim }, (_, k) => gradOf(f.dim === 1 ? f : smart('Elem', [f], [k]), v, IntCst(1)));
      return rows.slice(1).reduce((acc, r) => smart('Concat', [acc, r]), rows[0]!);
    }
    default:
      return n;
  }
}

function diff(f: Node, v: Node, u: Node): Node {
  const G = temp(f.dim);
  const linear = smart('Scalprod', [gradOf(f, v, G), u]);
  const out = gradOf(linear, G, IntCst(1));
  if (topoOrder([out]).includes(G)) throw new Error('internal: Diff left its temporary variable in the result');
  return out.dim === f.dim ? out : smart('SumT', [out], [f.dim]);
}

/**
 * Divergence(f, v) = tr(∂f/∂v), as KeOps: the trace of the linear map G ↦ Grad(f, v, G), taken
 * symbolically on its formula (see {@link trace}), which keeps results compact (the Laplacian of a
 * Gaussian is (−2D + 4·|x−y|²)·exp(−|x−y|²), not a sum over components).
 */
function divergence(f: Node, v: Node): Node {
  const d = v.dim;
  if (f.dim !== d) throw new NotDifferentiable('Divergence', `Divergence needs a formula of the dimension of the variable (${d}), got ${f.dim}`);
  const G = temp(d);
  const out = trace(gradOf(f, v, G), G);
  if (topoOrder([out]).includes(G)) throw new Error('internal: Divergence left its temporary variable in the result');
  return out;
}

const has = (n: Node, G: Node): boolean => topoOrder([n]).includes(G);

/**
 * tr(L) for a formula L(G) linear in the variable G (both of dimension d): Σ_k ∂L_k/∂G_k.
 * Structural rules where L is a sum, a product by a G-free factor, a broadcast scalar or G itself;
 * anything else falls back to Σ_k Elem(Grad(Elem(L, k), G, 1), k).
 */
function trace(L: Node, G: Node): Node {
  return weightedTrace(undefined, L, G);
}

/** Σ_k w_k ∂L_k/∂G_k (w = 1 when undefined), for L linear in G. */
function weightedTrace(w: Node | undefined, L: Node, G: Node): Node {
  const d = G.dim;
  if (!has(L, G)) return Zero(1);
  const sumW = (): Node => (w ? (w.dim === 1 ? smart('Mult', [IntCst(d), w]) : smart('Sum', [w])) : IntCst(d));
  const scale = (c: Node): Node | undefined => (w ? (c.dim === 1 || w.dim === 1 || c.dim === w.dim ? smart('Mult', [w, c]) : undefined) : c);
  if (L === G) return sumW();
  switch (L.op) {
    case 'Add':
    case 'Subtract':
      return smart(L.op, [weightedTrace(w, L.args[0]!, G), weightedTrace(w, L.args[1]!, G)]);
    case 'Minus':
      return smart('Minus', [weightedTrace(w, L.args[0]!, G)]);
    case 'SumT': {
      // L_k = s(G) for every k: Σ_k w_k ∂s/∂G_k = w | ∇s
      const grad = gradOf(L.args[0]!, G, IntCst(1));
      return w ? smart('Scalprod', [w.dim === 1 ? smart('SumT', [w], [d]) : w, grad]) : smart('Sum', [grad]);
    }
    case 'Mult':
    case 'Divide': {
      const [a, b] = L.args as [Node, Node];
      const linear = has(a, G) ? a : b;
      const other = linear === a ? b : a;
      if (has(other, G)) break; // not linear in G: the rule does not apply
      const factor = L.op === 'Mult' ? other : linear === a ? smart('Inv', [b]) : undefined;
      if (!factor) break;
      if (linear.dim === d) {
        const nw = scale(factor);
        if (nw) return weightedTrace(nw, linear, G);
        break;
      }
      // a scalar s(G) broadcast against a G-free vector c: L_k = c_k s(G), so Σ_k w_k c_k ∂s/∂G_k
      const c = scale(factor);
      if (!c) break;
      return smart('Scalprod', [c.dim === d ? c : smart('SumT', [c], [d]), gradOf(linear, G, IntCst(1))]);
    }
  }
  // generic fallback: Σ_k w_k ∂L_k/∂G_k from one reverse pass per component
  const terms = Array.from({ length: d }, (_, k) => {
    const comp = d === 1 ? L : smart('Elem', [L], [k]);
    const dk = gradOf(comp, G, IntCst(1));
    const t = d === 1 ? dk : smart('Elem', [dk], [k]);
    return w ? smart('Mult', [w.dim === 1 ? w : smart('Elem', [w], [k]), t]) : t;
  });
  return terms.slice(1).reduce((acc, t) => smart('Add', [acc, t]), terms[0]!);
}

const builder: GradBuilder = {
  smart,
  sumTo: (c, d) => (c.dim === d ? c : d === 1 ? smart('Sum', [c]) : smart('SumT', [c], [d])),
  cst,
  gradOf: (f, v, e) => gradOf(f, v, e),
};

/**
 * Reverse-mode gradient (∂f/∂v)ᵀ e, with e of dimension f.dim; the result has dimension v.dim
 * (Zero when f does not depend on v). `v` must be a Var node.
 */
export function gradOf(f: Node, v: Node, e: Node): Node {
  if (v.op !== 'Var') throw new Error('internal: gradOf needs a variable');
  if (e.dim !== f.dim && e.dim !== 1) throw new Error(`internal: gradient input of dim ${e.dim} for a formula of dim ${f.dim}`);
  const order = topoOrder([f]);
  const depends = new Set<Node>();
  for (const n of order) if (n === v || n.args.some((a) => depends.has(a))) depends.add(n);
  if (!depends.has(f)) return Zero(v.dim);
  const cot = new Map<Node, Node>([[f, e.dim === f.dim ? e : builder.sumTo(e, f.dim)]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k]!;
    const G = cot.get(n);
    if (!G || n === v || n.op === 'Var' || !depends.has(n)) continue;
    const def = OPS[n.op]!;
    if (def.group === 'autodiff') throw new Error(`internal: ${n.op} should have been expanded before differentiating`);
    if (def.noGrad === 'zero') continue;
    if (def.noGrad === 'error' || !def.grad) {
      throw new NotDifferentiable(n.op, `${n.op} is not differentiable`, def.noGrad === 'error' ? 'KeOps cannot differentiate it either; keep it out of the differentiated part of the formula' : undefined, def.noGrad === 'error' ? 'NotDifferentiable' : 'NotImplemented');
    }
    const contribs = def.grad(n.args, n.params, n, G, builder);
    n.args.forEach((a, j) => {
      const c = contribs[j];
      if (!c || !depends.has(a)) return;
      const cc = builder.sumTo(c, a.dim);
      if (cc.dim !== a.dim) throw new Error(`internal: the ${n.op} rule gave a contribution of dim ${c.dim} for an argument of dim ${a.dim}`);
      const prev = cot.get(a);
      cot.set(a, prev ? smart('Add', [prev, cc]) : cc);
    });
  }
  return cot.get(v) ?? Zero(v.dim);
}

