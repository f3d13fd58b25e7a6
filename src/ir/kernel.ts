import type { Span, SourceFile } from '../diagnostics/index.js';
import type { OutputSpec, ReductionDef } from './reductions.js';
import type { Cat, Node } from './types.js';

/** One input of a kernel: a declared (or inline) variable. */
export interface ArgInfo {
  /** The declared name, or `Var<index>` for an inline variable without a name. */
  name: string;
  /** Position of the array in positional calls (KeOps's variable index). */
  index: number;
  dim: number;
  /** 0 = indexed by i (rows M), 1 = indexed by j (rows N), 2 = parameter. */
  cat: Cat;
}

/**
 * A kernel at formula level: a reduction over the formula IR. This is what the passes transform
 * (each pass returns a new Kernel) and what the reference evaluator and the lowering consume.
 */
export interface Kernel {
  name: string;
  reduction: ReductionDef;
  /** 0: output indexed by i, reduce over j. 1: output indexed by j, reduce over i. */
  tag: 0 | 1;
  /** K of the KMin family. */
  K?: number;
  /** The reduced formula f. */
  formula: Node;
  /** The weight formula g of the weighted reductions. */
  formula2?: Node;
  /** The arrays the kernel takes, sorted by index (indices need not be contiguous). */
  args: ArgInfo[];
  /** Where each user-written node came from (first occurrence), for diagnostics in later passes. */
  spans: ReadonlyMap<Node, Span>;
  /** The span of the whole kernel statement. */
  span: Span;
  source: SourceFile;
}

/** The outputs a kernel returns, with their per-row shapes (after the row axis). */
export function kernelOutputs(k: Kernel): OutputSpec[] {
  return k.reduction.outputs(k.formula.dim, k.formula2?.dim, k.K);
}
