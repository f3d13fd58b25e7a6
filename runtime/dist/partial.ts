import { IntCst, mk } from '../../src/ir/node.js';
import { REDUCTIONS } from '../../src/ir/reductions.js';
import { kernelOutputs, type Kernel } from '../../src/ir/kernel.js';
import type { KernelOutput } from '../../src/api/types.js';

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
  private readonly D: number;
  private readonly K: number;
  private readonly max: boolean;

  constructor(
    readonly kernel: Kernel,
    readonly rows: number,
  ) {
    const part = partialKernel(kernel);
    this.family = part.reduction.family;
    this.max = part.reduction.max ?? false;
    this.D = kernel.formula.dim;
    this.K = kernel.K ?? 0;
    const outs = kernelOutputs(part);
    this.width = outs[0]!.rowShape.reduce((a, b) => a * b, 1);
    this.values = new Float64Array(rows * this.width);
    if (outs.some((o) => o.name === 'indices')) this.indices = new Float64Array(rows * this.width);
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
    switch (this.family) {
      case 'sum':
        for (let q = 0; q < n * w; q++) V[row0 * w + q] = V[row0 * w + q]! + pv[q]!;
        return;
      case 'extremum':
        for (let q = 0; q < n * w; q++) {
          const at = row0 * w + q;
          const v = pv[q]!;
          if (this.max ? v > V[at]! : v < V[at]!) {
            V[at] = v;
            if (I && pi) I[at] = pi[q]! + offset;
          }
        }
        return;
      case 'kmin':
        for (let r = 0; r < n; r++) this.mergeKmin(row0 + r, pv.subarray(r * w, (r + 1) * w), pi?.subarray(r * w, (r + 1) * w), offset);
        return;
      case 'logsumexp':
        for (let r = 0; r < n; r++) {
          const base = (row0 + r) * w;
          const m2 = pv[r * w]!;
          const m = V[base]!;
          if (m2 > m) {
            const q = Math.exp(m - m2);
            for (let k = 1; k < w; k++) V[base + k] = V[base + k]! * q + pv[r * w + k]!;
            V[base] = m2;
          } else if (m2 !== -Infinity) {
            const q = Math.exp(m2 - m);
            for (let k = 1; k < w; k++) V[base + k] = V[base + k]! + pv[r * w + k]! * q;
          } else {
            // an empty state (sums +0) changes nothing; one that saw only NaN terms (sums NaN) poisons
            // the sums, as those terms do in a local run (lseUpdate's merge in src/targets/common.ts)
            for (let k = 1; k < w; k++) V[base + k] = V[base + k]! + pv[r * w + k]!;
          }
        }
        return;
    }
  }

  /** Insert a chunk's K best (sorted, stable) after the current ones: each goes after the values it
   * does not beat, and only if it beats the K-th (as the local stable insertion of each term). */
  private mergeKmin(row: number, pv: Float64Array, pi: Float64Array | undefined, offset: number): void {
    const { D, K } = this;
    const V = this.values;
    const I = this.indices;
    const base = row * K * D;
    for (let c = 0; c < D; c++) {
      for (let l = 0; l < K; l++) {
        const v = pv[l * D + c]!;
        if (!(v < V[base + (K - 1) * D + c]!)) break; // sorted: the rest cannot enter either
        let at = K - 1;
        while (at > 0 && v < V[base + (at - 1) * D + c]!) {
          V[base + at * D + c] = V[base + (at - 1) * D + c]!;
          if (I) I[base + at * D + c] = I[base + (at - 1) * D + c]!;
          at--;
        }
        V[base + at * D + c] = v;
        if (I && pi) I[base + at * D + c] = pi[l * D + c]! + offset;
      }
    }
  }

  /**
   * The outputs of the original reduction, as the local backends finalise them: values in `dtype`,
   * indices as int64, with the shapes of a local run.
   */
  finalize(dtype: 'float32' | 'float64'): KernelOutput[] {
    const k = this.kernel;
    const outs = kernelOutputs(k);
    const F = dtype === 'float32' ? Float32Array : Float64Array;
    const name = k.reduction.name;
    const w = this.width;
    return outs.map((o): KernelOutput => {
      const shape = [this.rows, ...o.rowShape];
      if (o.kind === 'index') return { name: 'indices', shape, data: BigInt64Array.from(this.indices!, (x) => BigInt(x)) };
      if (this.family !== 'logsumexp' || name.startsWith('Max_SumShiftExp')) return { name: 'values', shape, data: F.from(this.values) };
      const ow = o.rowShape.reduce((a, b) => a * b, 1);
      const data = new F(this.rows * ow);
      const V = this.values;
      for (let r = 0; r < this.rows; r++) {
        const m = V[r * w]!;
        for (let c = 0; c < ow; c++) {
          // LogSumExp(Weight): m + log(s_c); SumSoftMaxWeight: s_{c+1} / s_0 (the state is (m, s_0, s_1, …))
          data[r * ow + c] = name === 'SumSoftMaxWeight' ? V[r * w + 2 + c]! / V[r * w + 1]! : m + Math.log(V[r * w + 1 + c]!);
        }
      }
      return { name: 'values', shape, data };
    });
  }
}
