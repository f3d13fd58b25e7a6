import { EXPAND, rewrite } from '../ir/node.js';
import { OPS } from '../ir/ops/index.js';
import type { Kernel } from '../ir/kernel.js';
import type { Node } from '../ir/types.js';

/** Macro expansion: rewrite every op that has an `expand` rule (SqDist, Norm2, WeightedSqNorm, ...)
 * into core ops, until none is left. */
export function expandMacros(kernel: Kernel): Kernel {
  const memo = new Map<Node, Node>();
  const f = (n: Node): Node => {
    const def = OPS[n.op];
    return def?.expand ? rewrite(def.expand(n.args, n.params, EXPAND), f, memo) : n;
  };
  const out: Kernel = { ...kernel, formula: rewrite(kernel.formula, f, memo) };
  if (kernel.formula2) out.formula2 = rewrite(kernel.formula2, f, memo);
  return out;
}
