/**
 * The documented size limits of a formula (README "Limits", grammar/README.md), checked during
 * elaboration so that an oversized formula gets a diagnostic (KEO3008) instead of a stack overflow in a
 * printer, an allocation failure at run time or a library that the addon refuses to load.
 * @module
 */
import type { Node } from '../ir/types.js';

/** The limits. Every backend and target handles every formula within them. */
export const LIMITS = {
  /** The largest dimension of a variable and of any formula (declared or computed: Concat, TensorProd, ...). */
  dim: 4096,
  /** The largest variable index (Vi(index, dim), Var(index, dim, cat)). */
  index: 65535,
  /** The largest K of the KMin family. */
  K: 4096,
  /** The most values a reduction keeps per output row: K × dim for the KMin family. */
  rowValues: 4096,
  /** The deepest formula (a chain a + b + c + ... counts one level per operator; KEO1106). */
  depth: 1000,
  /** The longest source text, in characters (a `.keo` file or a formula string; KEO1107). */
  sourceChars: 1 << 20,
  /** The most scalar operations the formulas of a reduction may expand to, as {@link expandedSize}
   * estimates them (a vector op over D components counts D, a TensorDot its multiplications and additions): the
   * compiler builds one node per scalar operation before it recognises loops, about 1 KB each. */
  expandedSize: 1 << 20,
} as const;

/** Ops that only pick or place components: they cost their own dimension, not their arguments'. */
const SELECTIONS = new Set(['Var', 'Elem', 'ElemT', 'Extract', 'ExtractT', 'Concat', 'OneHot']);

/** The scalar operations of one node: its dimension, or what it reads when it combines more (Sum,
 * SqDist, MatVecMult, ...); a TensorDot's multiplications and additions (2 × output dimension ×
 * contracted size, which is 2 sqrt(dim f × dim g × dim out)). */
function nodeSize(n: Node): number {
  if (SELECTIONS.has(n.op)) return n.dim;
  const args = n.args.reduce((s, a) => s + a.dim, 0);
  if (n.op === 'TensorDot') return 2 * Math.ceil(Math.sqrt(n.args[0]!.dim * n.args[1]!.dim * n.dim));
  return Math.max(n.dim, args);
}

/**
 * An estimate of the scalar operations that lowering the formulas builds (each distinct node once, as
 * the hash-consed IR shares them), computed on the formula IR without expanding anything; it stops
 * counting once past `stopAbove`.
 */
export function expandedSize(formulas: readonly Node[], stopAbove = Infinity): number {
  const seen = new Set<Node>();
  const stack = [...formulas];
  let total = 0;
  while (stack.length && total <= stopAbove) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    total += nodeSize(n);
    stack.push(...n.args);
  }
  return total;
}

/** Check the expanded size of the formulas of a reduction (see {@link expandedSize}). */
export function checkExpandedSize(formulas: readonly Node[]): LimitBreach | undefined {
  const size = expandedSize(formulas, LIMITS.expandedSize);
  if (size <= LIMITS.expandedSize) return undefined;
  return {
    message: `the formula expands to over ${LIMITS.expandedSize} scalar operations (the limit), counting each vector operation over D components as D`,
    hint: 'use fewer or smaller vector operations (a chain of many 4096-dimensional products, a large TensorDot), or split the computation into several reductions',
  };
}

/** A limit broken: the message and a hint, for a KEO3008 diagnostic. */
export interface LimitBreach {
  message: string;
  hint: string;
}

/** Check a variable's index and dimension. */
export function checkVarLimits(index: number | undefined, dim: number): LimitBreach | undefined {
  if (index !== undefined && index > LIMITS.index)
    return { message: `variable index ${index} is over the limit of ${LIMITS.index}`, hint: `number the inputs from 0; at most ${LIMITS.index + 1} indices` };
  if (dim > LIMITS.dim)
    return { message: `dimension ${dim} is over the limit of ${LIMITS.dim}`, hint: `split the variable into several of at most ${LIMITS.dim} values (e.g. x1 = Vi(0, ${LIMITS.dim}), x2 = Vi(1, ...))` };
  return undefined;
}

/** Check every node of the formulas of a reduction, and its K. */
export function checkReductionLimits(formulas: readonly Node[], K: number | undefined): LimitBreach | undefined {
  if (K !== undefined && K > LIMITS.K) return { message: `K = ${K} is over the limit of ${LIMITS.K}`, hint: `keep at most ${LIMITS.K} values per row` };
  const seen = new Set<Node>();
  const stack = [...formulas];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n.dim > LIMITS.dim)
      return { message: `${n.op} has dimension ${n.dim}, over the limit of ${LIMITS.dim}`, hint: `keep every intermediate result to at most ${LIMITS.dim} values (e.g. split a TensorProd or Concat)` };
    stack.push(...n.args);
  }
  const width = K === undefined ? 0 : K * (formulas[0]?.dim ?? 1);
  if (width > LIMITS.rowValues)
    return { message: `K × dimension = ${K} × ${formulas[0]!.dim} = ${width} values per row is over the limit of ${LIMITS.rowValues}`, hint: 'use a smaller K or reduce a formula of lower dimension' };
  return checkExpandedSize(formulas);
}
