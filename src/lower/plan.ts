import { topoOrder } from '../ir/node.js';
import { OPS } from '../ir/ops/index.js';
import { kernelOutputs, type Kernel } from '../ir/kernel.js';
import { REDUCTIONS, type OutputSpec, type ReductionDef } from '../ir/reductions.js';
import { DEP_I, DEP_J, type Cat, type Node } from '../ir/types.js';
import { LOOP_MIN_TERMS, ScalarBuilder, scalarOrder, type SExpr } from './scalar.js';

/** The reduction part of a plan: which reduction, with its sizes. Each target prints its init /
 * fold (with the reduction index) / merge / finalise from this. */
export interface ReductionPlan {
  /** Registry name: Sum, Max, ..., KMin, LogSumExp, SumSoftMaxWeight, ... */
  name: string;
  /** Dimension of f. */
  D: number;
  /** K of the KMin family. */
  K: number;
  /** Dimension of the weight g (0 without one). */
  E: number;
  sumLike: boolean;
  outputs: OutputSpec[];
  /** See ReductionDef.family: how backends implement it. */
  family: ReductionDef['family'];
  /** extremum: the Max forms. */
  max: boolean;
  /** extremum and kmin: which results are written (from `outputs`). */
  writesValues: boolean;
  writesIndices: boolean;
  /** logsumexp: the weights of the sums (ReductionDef.lseWeights). */
  lseWeights: NonNullable<ReductionDef['lseWeights']>;
}

/** The weights the log-sum-exp sums use, given the names of g's components: 1, g, or 1 then g. */
export function lseWeightTerms(red: ReductionPlan, g: readonly string[], one = '1'): string[] {
  return red.lseWeights === 'one' ? [one] : red.lseWeights === 'one+g' ? [one, ...g] : [...g];
}

/** What one output column of a log-sum-exp-family reduction holds, from the running maximum `m` and the
 * sums `s_k` of the online update (weighted by lseWeightTerms): `m`, `s_k`, `m + log(s_k)` or `s_k / s_0`. */
export type LseSlot = { kind: 'max' } | { kind: 'sum'; k: number } | { kind: 'logsum'; k: number } | { kind: 'ratio'; k: number };

/** The output columns of a log-sum-exp-family reduction, in order (the row width is their number). */
export function lseOutputSlots(red: ReductionPlan): LseSlot[] {
  const W = lseWeightTerms(red, Array.from({ length: red.E }, () => '')).length;
  const ks = Array.from({ length: W }, (_, k) => k);
  // what the family returns comes from the registry (ReductionDef.lseResult), not from the name
  switch (REDUCTIONS[red.name]?.lseResult) {
    case 'raw':
      return [{ kind: 'max' }, ...ks.map((k) => ({ kind: 'sum', k }) as const)];
    case 'log':
      return ks.map((k) => ({ kind: 'logsum', k }) as const);
    case 'ratio':
      return ks.slice(1).map((k) => ({ kind: 'ratio', k }) as const);
    case undefined:
      throw new Error(`internal: ${red.name} is not of the log-sum-exp family`);
  }
}

/** One LseSlot as an expression, given the target's names for m, s_k and log. */
export function lseSlotValue(slot: LseSlot, names: { m: string; s: (k: number) => string; log: (x: string) => string }): string {
  switch (slot.kind) {
    case 'max': return names.m;
    case 'sum': return names.s(slot.k);
    case 'logsum': return `${names.m} + ${names.log(names.s(slot.k))}`;
    case 'ratio': return `${names.s(slot.k)} / ${names.s(0)}`;
  }
}

/**
 * A vector result computed by one loop over its components: component k (k in [0, n)) is `body` at
 * loop index k, whose `lane` leaves read component `comp + k` of their input (see
 * ScalarBuilder.shifted). `args` are the nodes the body reads that do not depend on k: statements (or
 * loads) of the plan, computed before the loop. Printers print the body with their loop syntax
 * (src/targets/common.ts bodyLines) and fold component k into element k of array accumulators.
 */
export interface ComponentLoop {
  n: number;
  body: SExpr;
  args: SExpr[];
}

/** What the printers (and the distributed merge) need of a kernel's reduction, from the registry. */
export function reductionPlan(kernel: Kernel): ReductionPlan {
  const red = kernel.reduction;
  const outputs = kernelOutputs(kernel);
  return {
    name: red.name,
    D: kernel.formula.dim,
    K: kernel.K ?? 0,
    E: kernel.formula2?.dim ?? 0,
    sumLike: red.sumLike,
    outputs,
    family: red.family,
    max: red.max ?? false,
    writesValues: outputs.some((o) => o.name === 'values'),
    writesIndices: outputs.some((o) => o.name === 'indices'),
    lseWeights: red.lseWeights ?? 'one',
  };
}

/** Where a scalar statement runs: once per call, once per output row, or once per (row, index) pair. */
export type Stage = 'param' | 'outer' | 'inner';

/**
 * A kernel lowered for code generation, shared by every target: the reduction, and flat lists of
 * scalar statements per stage (in dependency order) with the input components each stage loads.
 * "row" is the output index (i for tag 0, j for tag 1); "red" is the reduction index.
 */
export interface KernelPlan {
  kernel: Kernel;
  tag: 0 | 1;
  reduction: ReductionPlan;
  /** The scalar components of f (and g). With `fLoop` (`gLoop`) they are not statements of the plan:
   * they are what the loop computes, kept for the printers of unrolled plans and for checks. */
  f: SExpr[];
  g: SExpr[];
  /** f (g) as one loop over its components, when it has LOOP_MIN_TERMS or more components that are one
   * shifted expression (e.g. `K * b` with b = Vj(2, 768)); the statements then compute its args. */
  fLoop?: ComponentLoop;
  gLoop?: ComponentLoop;
  /** Non-leaf statements by stage. */
  stmts: Record<Stage, SExpr[]>;
  /** Input components by stage. */
  loads: Record<Stage, SExpr[]>;
  /** The category of the output rows (0 = i for tag 0, 1 = j for tag 1). */
  rowCat: Cat;
  /** True when a Sum reduces a formula that is identically zero: no work is needed. */
  zero: boolean;
}

/**
 * Lower an optimised kernel to its plan. Throws an internal error for an op with no lowering. With
 * `loops` (the default), long sums over vector components (Sum, SqDist, Norm2, scalar products, ...
 * over LOOP_MIN_TERMS or more dimensions) become `loop` statements; without, everything is unrolled.
 * With `componentLoops` (the default when `loops`), a long vector f or g that is one shifted expression
 * becomes a {@link ComponentLoop} (`fLoop`, `gLoop`).
 */
export function lowerKernel(kernel: Kernel, loops = true, componentLoops = loops): KernelPlan {
  const S = new ScalarBuilder(loops);
  const roots = kernel.formula2 ? [kernel.formula, kernel.formula2] : [kernel.formula];
  const vals = new Map<Node, SExpr[]>();
  for (const n of topoOrder(roots)) {
    if (n.op === 'Var') {
      const [index, dim, cat] = n.params as [number, number, Cat];
      vals.set(n, Array.from({ length: dim }, (_, c) => S.input(index, c, cat)));
      continue;
    }
    const def = OPS[n.op];
    if (!def?.lower) throw new Error(`internal: ${n.op} has no lowering (it should have been expanded by the passes)`);
    const out = def.lower(
      n.args.map((a) => vals.get(a)!),
      n.params,
      S,
      n.dim,
    );
    if (out.length !== n.dim) throw new Error(`internal: the lowering of ${n.op} gave ${out.length} components for dimension ${n.dim}`);
    vals.set(n, out);
  }
  const f = vals.get(kernel.formula)!;
  const g = kernel.formula2 ? vals.get(kernel.formula2)! : [];
  const componentLoop = (xs: SExpr[]): ComponentLoop | undefined => {
    if (!componentLoops || xs.length < LOOP_MIN_TERMS) return undefined;
    const sh = S.shifted(xs);
    return sh && { n: xs.length, body: sh.body, args: sh.args };
  };
  // the extremum, KMin and Sum families fold f component by component, the log-sum-exp family g
  const fLoop = kernel.reduction.family === 'logsumexp' ? undefined : componentLoop(f);
  const gLoop = kernel.reduction.family === 'logsumexp' ? componentLoop(g) : undefined;
  const tag = kernel.tag;
  const redDep = tag === 0 ? DEP_J : DEP_I;
  const rowDep = tag === 0 ? DEP_I : DEP_J;
  const stageOf = (n: SExpr): Stage => (n.deps & redDep ? 'inner' : n.deps & rowDep ? 'outer' : 'param');
  const stmts: Record<Stage, SExpr[]> = { param: [], outer: [], inner: [] };
  const loads: Record<Stage, SExpr[]> = { param: [], outer: [], inner: [] };
  for (const n of scalarOrder([...(fLoop ? fLoop.args : f), ...(gLoop ? gLoop.args : g)])) {
    if (n.fn === 'const') continue;
    (n.fn === 'input' ? loads : stmts)[stageOf(n)].push(n);
  }
  const red = kernel.reduction;
  const reduction = reductionPlan(kernel);
  const zero = red.name === 'Sum' && f.every((x) => x.fn === 'const' && x.value === 0);
  return { kernel, tag, reduction, f, g, ...(fLoop && { fLoop }), ...(gLoop && { gLoop }), stmts, loads, rowCat: tag === 0 ? 0 : 1, zero };
}

/** Whether a plan has loops: `loop` statements (`sums`) or component loops (`components`). */
export function planLoops(plan: KernelPlan): { sums: boolean; components: boolean; longest: number } {
  let longest = 0;
  for (const ss of Object.values(plan.stmts)) for (const n of ss) if (n.fn === 'loop') longest = Math.max(longest, n.loop!.n);
  const sums = longest > 0;
  for (const c of [plan.fLoop, plan.gLoop]) if (c) longest = Math.max(longest, c.n);
  return { sums, components: !!(plan.fLoop || plan.gLoop), longest };
}

const UNROLLED = new WeakMap<KernelPlan, KernelPlan>();
const NO_COMPONENT_LOOPS = new WeakMap<KernelPlan, KernelPlan>();

/** The plan itself when it has no loop, else the kernel lowered again fully unrolled (the JS target
 * unrolls short loops with it). */
export function unrolledPlan(plan: KernelPlan): KernelPlan {
  const l = planLoops(plan);
  if (!l.sums && !l.components) return plan;
  let u = UNROLLED.get(plan);
  if (!u) UNROLLED.set(plan, (u = lowerKernel(plan.kernel, false)));
  return u;
}

/** The plan itself when it has no component loop, else the kernel lowered again with its `loop`
 * statements but its vector results unrolled: every printer prints component loops, so this serves to
 * check that a loop form has the launch layout of the unrolled one (test/cuda-target.test.ts). */
export function withoutComponentLoops(plan: KernelPlan): KernelPlan {
  if (!plan.fLoop && !plan.gLoop) return plan;
  let u = NO_COMPONENT_LOOPS.get(plan);
  if (!u) NO_COMPONENT_LOOPS.set(plan, (u = lowerKernel(plan.kernel, true, false)));
  return u;
}

const PRINTED = new WeakMap<KernelPlan, Map<string, unknown>>();

/**
 * What a target prints of a plan, made once per (plan, key): `key` names the target and every option
 * the code depends on. Shared by the backends and `CompiledKernel`'s source accessors, so a source is
 * printed once however it is asked for, and dropped with its plan.
 */
export function printedOnce<T>(plan: KernelPlan, key: string, print: () => T): T {
  let m = PRINTED.get(plan);
  if (!m) PRINTED.set(plan, (m = new Map()));
  if (!m.has(key)) m.set(key, print());
  return m.get(key) as T;
}
