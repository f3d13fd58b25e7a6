import { IntCst, mk } from '../../src/ir/node.js';
import { REDUCTIONS } from '../../src/ir/reductions.js';
import { kernelOutputs, type Kernel } from '../../src/ir/kernel.js';
import type { KernelOutput } from '../../src/api/types.js';
import { lseOutputSlots, lseSlotValue, reductionPlan, type ReductionPlan } from '../../src/lower/plan.js';
import { extremumUpdate, kminInsert, lseUpdate, printUpdate, type CSyntax } from '../../src/targets/common.js';

/**
 * Partial reduction states: what a tile returns instead of a finalised result, their merge and the
 * final step. A tile runs an ordinary local run of a *partial kernel*, the same formula with a
 * reduction whose output is the unfinalised state:
 *
 * | reduction | partial kernel | state per row |
 * |---|---|---|
 * | Sum | Sum | the sum |
 * | Max, Min, Max_ArgMax, Min_ArgMin | themselves | value (and index) |
 * | ArgMax, ArgMin | Max_ArgMax, Min_ArgMin | value and index |
 * | KMin, KMin_ArgKMin | themselves | the K best values (and indices) |
 * | ArgKMin | KMin_ArgKMin | the K best values and indices |
 * | LogSumExp, Max_SumShiftExp | Max_SumShiftExp | (m, Σ exp(f − m)) |
 * | LogSumExpWeight, Max_SumShiftExpWeight | Max_SumShiftExpWeight | (m, Σ exp(f − m)·g) |
 * | SumSoftMaxWeight | Max_SumShiftExpWeight of Concat(1, g) | (m, Σ exp(f − m), Σ exp(f − m)·g) |
 *
 * States merge in float64, in the order of the reduction chunks (chunk 0, 1, …), with the rules of
 * the local backends: strict comparisons (so ties keep the smaller index, which sits in an earlier
 * chunk), stable insertion for the K best, the online (max, sums) update (an empty state changes
 * nothing, one of only NaN terms makes the sums NaN: the merge of src/targets/common.ts's lseUpdate).
 * The result therefore never depends on which worker ran a tile or how often it was retried.
 */

/** The kernel whose outputs are the partial states of `k`'s reduction. */
export function partialKernel(k: Kernel): Kernel {
  const with_ = (name: string, extra: Partial<Kernel> = {}): Kernel => ({ ...k, name: `${k.name}_partial`, reduction: REDUCTIONS[name]!, ...extra });
  switch (k.reduction.name) {
    case 'ArgMax':
      return with_('Max_ArgMax');
    case 'ArgMin':
      return with_('Min_ArgMin');
    case 'ArgKMin':
      return with_('KMin_ArgKMin');
    case 'LogSumExp':
      return with_('Max_SumShiftExp');
    case 'LogSumExpWeight':
      return with_('Max_SumShiftExpWeight');
    case 'SumSoftMaxWeight':
      return with_('Max_SumShiftExpWeight', { formula2: mk('Concat', [IntCst(1), k.formula2!]) });
    default:
      return with_(k.reduction.name);
  }
}

/** One output of a partial run, as float64 numbers (indices too: they are exact below 2^53). */
export interface PartialOutputs {
  values?: Float64Array;
  indices?: Float64Array;
}

/**
 * The running state of every output row of a run, merged from tiles. `merge` must be called for the
 * chunks of a row block in increasing chunk order (the first chunk initialises the rows).
 */
export class MergeState {
  readonly family: 'sum' | 'extremum' | 'kmin' | 'logsumexp';
  /** Width of a row of the partial values (and indices). */
  readonly width: number;
  readonly values: Float64Array;
  readonly indices?: Float64Array;
  /** The merge of a chunk's states into rows [row0, row0 + n), printed from the accumulators' shared
   * updates (src/targets/common.ts) in JS, so that the distributed merge follows the local rules. */
  private readonly mergeRows: RowMerge;

  constructor(
    readonly kernel: Kernel,
    readonly rows: number,
  ) {
    const part = partialKernel(kernel);
    this.family = part.reduction.family;
    const outs = kernelOutputs(part);
    this.width = outs[0]!.rowShape.reduce((a, b) => a * b, 1);
    this.values = new Float64Array(rows * this.width);
    const indices = outs.some((o) => o.name === 'indices');
    if (indices) this.indices = new Float64Array(rows * this.width);
    this.mergeRows = rowMerge(reductionPlan(part), this.width, indices);
  }

  /** Fold the partial states of rows [row0, row0 + n) over a chunk starting at reduction index `offset`. */
  merge(row0: number, n: number, offset: number, first: boolean, p: PartialOutputs): void {
    const w = this.width;
    const V = this.values;
    const I = this.indices;
    const pv = p.values!;
    const pi = p.indices;
    if (first) {
      V.set(pv.subarray(0, n * w), row0 * w);
      if (I && pi) for (let q = 0; q < n * w; q++) I[row0 * w + q] = pi[q]! + offset;
      return;
    }
    // a merge printed without indices never reads them
    this.mergeRows(V, I ?? NO_INDICES, row0, n, pv, pi ?? NO_INDICES, offset);
  }

  /**
   * The outputs of the original reduction, as the local backends finalise them: values in `dtype`,
   * indices as int64, with the shapes of a local run.
   */
  finalize(dtype: 'float32' | 'float64'): KernelOutput[] {
    const k = this.kernel;
    const outs = kernelOutputs(k);
    const F = dtype === 'float32' ? Float32Array : Float64Array;
    return outs.map((o): KernelOutput => {
      const shape = [this.rows, ...o.rowShape];
      if (o.kind === 'index') return { name: 'indices', shape, data: BigInt64Array.from(this.indices!, (x) => BigInt(x)) };
      if (this.family !== 'logsumexp') return { name: 'values', shape, data: F.from(this.values) };
      // the state is (m, s_0, s_1, ...): each output column is lseSlotValue of its slot, as the printers write it
      const slots = lseOutputSlots(reductionPlan(k));
      const data = new F(this.rows * slots.length);
      const row = new Function('V', 'b', `return [${slots.map((slot) => lseSlotValue(slot, { m: 'V[b]', s: (q) => `V[b + ${q + 1}]`, log: (x) => `Math.log(${x})` })).join(', ')}];`) as (V: Float64Array, b: number) => number[];
      for (let r = 0; r < this.rows; r++) data.set(row(this.values, r * this.width), r * slots.length);
      return { name: 'values', shape, data };
    });
  }
}

/** What stands for the indices of states that have none. */
const NO_INDICES = new Float64Array(0);

/** `(V, I, row0, n, pv, pi, offset)`: merge a chunk's states `pv`/`pi` (indices relative to the chunk
 * start `offset`) into rows [row0, row0 + n) of the states `V`/`I`. */
type RowMerge = (V: Float64Array, I: Float64Array, row0: number, n: number, pv: Float64Array, pi: Float64Array, offset: number) => void;

/** The JS spelling the printed merges use (float64, no rounding). */
const JS: Pick<CSyntax, 'inf' | 'one' | 'ne' | 'eq' | 'exp' | 'acc' | 'constant' | 'int' | 'counter' | 'decrement'> = {
  inf: 'Infinity',
  one: '1',
  ne: '!==',
  eq: '===',
  exp: (x) => `Math.exp(${x})`,
  acc: (e) => e,
  constant: (n, e) => `const ${n} = ${e};`,
  int: (n) => `${n}`,
  counter: (n, init) => `let ${n} = ${init};`,
  decrement: (n) => `${n}--;`,
};

/**
 * The merge of a reduction's partial states of width `W` a row, printed in JS from the shared updates
 * of the local accumulators: a sum adds; the extremum family takes the chunk's value when strictly
 * better (ties keep the earlier chunk's, whose index is smaller); the KMin family inserts the chunk's
 * K best in order with the stable insertion; the log-sum-exp family merges (m, sums) states.
 */
function rowMerge(red: ReductionPlan, W: number, indices: boolean): RowMerge {
  const body = (() => {
    switch (red.family) {
      case 'sum':
        return ['for (let q = 0; q < n * W; q++) V[row0 * W + q] = V[row0 * W + q] + pv[q];'];
      case 'extremum':
        return [
          'for (let q = 0; q < n * W; q++) {',
          '  const at = row0 * W + q; const v = pv[q];',
          indices ? '  const j = pi[q] + offset;' : '',
          ...printUpdate(JS, extremumUpdate(red, JS, 'V[at]', indices ? 'I[at]' : null, 'v', 'j')),
          '}',
        ];
      case 'kmin': {
        // the row's K best go to scratch arrays (kminInsert addresses them from 0), then back
        const { K, D } = red;
        return [
          'const kv = new Float64Array(W), ki = new Float64Array(W);',
          'for (let r = 0; r < n; r++) {',
          '  const b = (row0 + r) * W;',
          `  for (let q = 0; q < W; q++) { kv[q] = V[b + q]; ki[q] = ${indices ? 'I[b + q]' : '0'}; }`,
          ...Array.from({ length: D }, (_, c) => `  for (let t = 0; t < ${K}; t++) { const v = pv[r * W + t * ${D} + ${c}]; const j = ${indices ? `pi[r * W + t * ${D} + ${c}] + offset` : '0'}; ${kminInsert(JS, K, D, 'v', 'j', 'kv', 'ki', c)} }`),
          `  for (let q = 0; q < W; q++) { V[b + q] = kv[q];${indices ? ' I[b + q] = ki[q];' : ''} }`,
          '}',
        ];
      }
      case 'logsumexp': {
        const s = Array.from({ length: W - 1 }, (_, k) => `V[b + ${k + 1}]`);
        const w = Array.from({ length: W - 1 }, (_, k) => `pv[r * W + ${k + 1}]`);
        return ['for (let r = 0; r < n; r++) {', '  const b = (row0 + r) * W; const m2 = pv[r * W];', ...printUpdate(JS, lseUpdate(JS, 'V[b]', s, 'm2', w, true)), '}'];
      }
    }
  })();
  return new Function('V', 'I', 'row0', 'n', 'pv', 'pi', 'offset', `const W = ${W};\n${body.join('\n')}`) as RowMerge;
}
