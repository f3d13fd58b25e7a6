import { DimError } from './types.js';

/**
 * The reduction registry: every `<Name>_Reduction(...)` the language accepts, with its argument
 * signature, its dimension rules and the shape of what it returns.
 *
 * `sig` lists the arguments in source order: `f` the formula, `K` an integer (KMin family),
 * `tag` 0 (output indexed by i, reduce over j) or 1 (output indexed by j, reduce over i), `g` a second
 * formula (the weight of LogSumExpWeight and SumSoftMaxWeight), `D` an output dimension (Zero: the
 * formula is then `Zero(D)`).
 *
 * Each reduction also states its fold semantics in `ref` terms (see runtime/ref): what the output is
 * for a row, given the terms f(i, j) (and g(i, j)) over the reduction set in increasing index order.
 */
export interface ReductionDef {
  name: string;
  doc: string;
  sig: readonly ('f' | 'K' | 'tag' | 'g' | 'D')[];
  /** Checks the dims of f (and g, K); throws DimError. */
  check?(fdim: number, gdim: number | undefined, K: number | undefined): void;
  /** The outputs, in order. Each has a per-row shape (after the row axis). */
  outputs(fdim: number, gdim: number | undefined, K: number | undefined): OutputSpec[];
  /** Sum-like reductions accept the sum schemes (block, kahan, float64 accumulator). */
  sumLike: boolean;
  /**
   * Whether keopsc derives its gradient (`CompiledKernel.grad`, src/api/grad.ts): Sum, LogSumExp and
   * SumSoftMaxWeight, as KeOps (the Min/Max/KMin types have none).
   */
  differentiable: boolean;
  /**
   * The names pykeops's `Genred` accepts for it, canonical name first (`SoftMax` is SumSoftMaxWeight);
   * empty for the raw accumulators Genred does not expose.
   */
  genredNames: readonly string[];
  /** The reduction this one becomes when given a weight formula g (LogSumExp → LogSumExpWeight). */
  withWeight?: string;
  /**
   * How every backend implements it: `sum`; `extremum` (Max/Min and their Arg forms: strict compare,
   * first index on ties); `kmin` (stable insertion of the K best); `logsumexp` (the online update of
   * (max, Σ exp(f − max)·w) for the weights `lseWeights`: 1, g, or 1 then g).
   */
  family: 'sum' | 'extremum' | 'kmin' | 'logsumexp';
  /** extremum: true for the Max forms. */
  max?: boolean;
  /** logsumexp: what the sums weight exp(f − max) by. */
  lseWeights?: 'one' | 'g' | 'one+g';
  /**
   * logsumexp: what a row's output holds, from the running maximum m and the sums s_k: `raw` is m then
   * every s_k (the accumulator itself), `log` is m + log(s_k) per sum, `ratio` is s_k / s_0 for k ≥ 1.
   */
  lseResult?: 'raw' | 'log' | 'ratio';
}

/** Whether the reduction takes an integer K (the KMin family). */
export const takesK = (r: ReductionDef): boolean => r.sig.includes('K');
/** Whether the reduction takes a weight formula g. */
export const takesWeight = (r: ReductionDef): boolean => r.sig.includes('g');

/** One output array of a reduction: per-row shape and element kind. */
export interface OutputSpec {
  name: 'values' | 'indices';
  /** The shape of one row's output (the full array is (rows, ...rowShape)). */
  rowShape: number[];
  kind: 'float' | 'index';
}

const values = (rowShape: number[]): OutputSpec => ({ name: 'values', rowShape, kind: 'float' });
const indices = (rowShape: number[]): OutputSpec => ({ name: 'indices', rowShape, kind: 'index' });
const kShape = (K: number, D: number): number[] => (D === 1 ? [K] : [K, D]);
const scalarF = (name: string) => (fdim: number) => {
  if (fdim !== 1) throw new DimError(`${name} needs a scalar formula, got dimension ${fdim}`, `${name} reduces a scalar f; use Sum, Max, ... for vector formulas`);
};

const list: ReductionDef[] = [
  { name: 'Sum', doc: 'Σ f over the reduction index.', sig: ['f', 'tag'], outputs: (d) => [values([d])], sumLike: true, differentiable: true, genredNames: ['Sum'], family: 'sum' },
  { name: 'Max', doc: 'Component-wise maximum (−inf for an empty set).', sig: ['f', 'tag'], outputs: (d) => [values([d])], sumLike: false, differentiable: false, genredNames: ['Max'], family: 'extremum', max: true },
  { name: 'Min', doc: 'Component-wise minimum (+inf for an empty set).', sig: ['f', 'tag'], outputs: (d) => [values([d])], sumLike: false, differentiable: false, genredNames: ['Min'], family: 'extremum', max: false },
  { name: 'ArgMax', doc: 'Index of the maximum per component (smallest index on ties, 0 for an empty set).', sig: ['f', 'tag'], outputs: (d) => [indices([d])], sumLike: false, differentiable: false, genredNames: ['ArgMax'], family: 'extremum', max: true },
  { name: 'ArgMin', doc: 'Index of the minimum per component (smallest index on ties, 0 for an empty set).', sig: ['f', 'tag'], outputs: (d) => [indices([d])], sumLike: false, differentiable: false, genredNames: ['ArgMin'], family: 'extremum', max: false },
  { name: 'Max_ArgMax', doc: 'Maximum and its index.', sig: ['f', 'tag'], outputs: (d) => [values([d]), indices([d])], sumLike: false, differentiable: false, genredNames: ['Max_ArgMax', 'MaxArgMax'], family: 'extremum', max: true },
  { name: 'Min_ArgMin', doc: 'Minimum and its index.', sig: ['f', 'tag'], outputs: (d) => [values([d]), indices([d])], sumLike: false, differentiable: false, genredNames: ['Min_ArgMin', 'MinArgMin'], family: 'extremum', max: false },
  { name: 'KMin', doc: 'The K smallest values per component, ascending (+inf when K exceeds the set).', sig: ['f', 'K', 'tag'], outputs: (d, _g, K) => [values(kShape(K!, d))], sumLike: false, differentiable: false, genredNames: ['KMin'], family: 'kmin' },
  { name: 'ArgKMin', doc: 'Indices of the K smallest values per component (stable; 0 when K exceeds the set).', sig: ['f', 'K', 'tag'], outputs: (d, _g, K) => [indices(kShape(K!, d))], sumLike: false, differentiable: false, genredNames: ['ArgKMin'], family: 'kmin' },
  { name: 'KMin_ArgKMin', doc: 'The K smallest values and their indices.', sig: ['f', 'K', 'tag'], outputs: (d, _g, K) => [values(kShape(K!, d)), indices(kShape(K!, d))], sumLike: false, differentiable: false, genredNames: ['KMin_ArgKMin'], family: 'kmin' },
  { name: 'Max_SumShiftExp', doc: 'Raw log-sum-exp accumulator (m, s) = (max f, Σ exp(f − m)); f scalar.', sig: ['f', 'tag'], check: scalarF('Max_SumShiftExp'), outputs: () => [values([2])], sumLike: true, differentiable: false, genredNames: [], withWeight: 'Max_SumShiftExpWeight', family: 'logsumexp', lseWeights: 'one', lseResult: 'raw' },
  { name: 'Max_SumShiftExpWeight', doc: 'Raw weighted accumulator (m, Σ exp(f − m)·g); f scalar.', sig: ['f', 'tag', 'g'], check: scalarF('Max_SumShiftExpWeight'), outputs: (_d, g) => [values([1 + g!])], sumLike: true, differentiable: false, genredNames: [], family: 'logsumexp', lseWeights: 'g', lseResult: 'raw' },
  { name: 'LogSumExp', doc: 'log Σ exp(f), stabilised (−inf for an empty set); f scalar.', sig: ['f', 'tag'], check: scalarF('LogSumExp'), outputs: () => [values([1])], sumLike: true, differentiable: true, genredNames: ['LogSumExp'], withWeight: 'LogSumExpWeight', family: 'logsumexp', lseWeights: 'one', lseResult: 'log' },
  { name: 'LogSumExpWeight', doc: 'log Σ exp(f)·g per component of g, stabilised; f scalar, g positive.', sig: ['f', 'tag', 'g'], check: scalarF('LogSumExpWeight'), outputs: (_d, g) => [values([g!])], sumLike: true, differentiable: false, genredNames: ['LogSumExpWeight'], family: 'logsumexp', lseWeights: 'g', lseResult: 'log' },
  { name: 'Zero', doc: 'Zeros of dimension D (KeOps\'s Zero_Reduction(D, tag), the gradient of a reduction that does not depend on a variable); it compiles to Sum_Reduction(Zero(D), tag).', sig: ['D', 'tag'], outputs: (d) => [values([d])], sumLike: true, differentiable: true, genredNames: [], family: 'sum' },
  { name: 'SumSoftMaxWeight', doc: 'Σ exp(f)·g / Σ exp(f), stabilised (NaN = 0/0 for an empty set); f scalar.', sig: ['f', 'tag', 'g'], check: scalarF('SumSoftMaxWeight'), outputs: (_d, g) => [values([g!])], sumLike: true, differentiable: true, genredNames: ['SumSoftMaxWeight', 'SoftMax'], family: 'logsumexp', lseWeights: 'one+g', lseResult: 'ratio' },
];

/** Every reduction by name (without the `_Reduction` suffix). */
export const REDUCTIONS: Readonly<Record<string, ReductionDef>> = Object.fromEntries(list.map((r) => [r.name, r]));
/** The reductions in a stable order. */
export const REDUCTION_LIST: readonly ReductionDef[] = list;

/** The reduction named by a callee such as `Sum_Reduction`, or undefined. */
export function reductionOf(callee: string): ReductionDef | undefined {
  const m = /^(\w+)_Reduction$/.exec(callee);
  return m ? REDUCTIONS[m[1]!] : undefined;
}
