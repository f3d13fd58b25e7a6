import { mk, rewrite, topoOrder } from '../ir/node.js';
import { OPS } from '../ir/ops/index.js';
import type { Kernel } from '../ir/kernel.js';
import type { Node } from '../ir/types.js';

/**
 * Common-subexpression elimination. Hash-consing already makes structurally equal subtrees one node;
 * this pass also merges commutative twins (`a*b` and `b*a`): the later one is replaced by the one
 * already in the DAG. Shared nodes are then computed once by every backend (and shown as `let`
 * bindings by `--emit ir`).
 */
export function cse(kernel: Kernel): Kernel {
  const roots = kernel.formula2 ? [kernel.formula, kernel.formula2] : [kernel.formula];
  const present = new Set(topoOrder(roots));
  const memo = new Map<Node, Node>();
  const f = (n: Node): Node => {
    if (!OPS[n.op]?.commutative || n.args.length !== 2) return n;
    const twin = mk(n.op, [n.args[1]!, n.args[0]!], n.params);
    return present.has(twin) && twin.id < n.id ? twin : n;
  };
  const out: Kernel = { ...kernel, formula: rewrite(kernel.formula, f, memo) };
  if (kernel.formula2) out.formula2 = rewrite(kernel.formula2, f, memo);
  return out;
}
