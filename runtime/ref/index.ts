import { topoOrder } from '../../src/ir/node.js';
import { OPS } from '../../src/ir/ops/index.js';
import { kernelOutputs, type Kernel } from '../../src/ir/kernel.js';
import type { ReductionDef } from '../../src/ir/reductions.js';
import { DEP_I, DEP_J, type Node } from '../../src/ir/types.js';
import { rangesFor, rowClusters, type Ranges } from '../ranges/index.js';
import { toKernelOutputs, type OutputBuffer } from '../outputs.js';
import type { KernelOutput } from '../../src/api/types.js';

/** The float64 buffers the evaluator fills (indices held as floats until {@link toKernelOutputs}). */
export type RefBuffer = OutputBuffer & { data: Float64Array };

/** The inputs of a reference run: one float64 array per kernel argument index, and the sizes. */
export interface RefInputs {
  /** Row-major data by variable index: (M, dim), (N, dim) or (dim,). */
  arrays: ReadonlyMap<number, ArrayLike<number>>;
  M: number;
  N: number;
  ranges?: Ranges;
}

/**
 * A straightforward float64 evaluator of a whole kernel: for each output row, walk the reduction
 * set in order (all of [0, N) or [0, M), or the row's cluster's intervals when ranges are given),
 * evaluate the formula per pair by walking the IR, and apply the reduction's definition directly
 * (two passes for the log-sum-exp family). It is the oracle for every backend: simple over fast.
 *
 * Edge cases follow KeOps's CPU backend: rows no range covers get the reduction's neutral value
 * (Sum 0, Min +inf, Max −inf, indices 0, LogSumExp −inf, SumSoftMaxWeight NaN); ties go to the first
 * index met; K larger than the set leaves +inf with index 0.
 *
 * The outputs are those of every backend ({@link KernelOutput}): values in float64, indices int64.
 */
export function evaluateRef(kernel: Kernel, inputs: RefInputs): KernelOutput[] {
  return toKernelOutputs(evaluateRefBuffers(kernel, inputs), 'float64');
}

/** {@link evaluateRef} before the indices are converted to int64: the float64 buffers it fills. */
export function evaluateRefBuffers(kernel: Kernel, inputs: RefInputs): RefBuffer[] {
  const { M, N, ranges } = inputs;
  const tag = kernel.tag;
  const rows = tag === 0 ? M : N;
  const roots = kernel.formula2 ? [kernel.formula, kernel.formula2] : [kernel.formula];
  const order = topoOrder(roots);
  for (const n of order) {
    if (n.op !== 'Var' && !OPS[n.op]?.eval) throw new Error(`internal: no reference semantics for ${n.op} (it should have been expanded by the passes)`);
  }
  const buf = new Map<Node, Float64Array>(order.map((n) => [n, new Float64Array(n.dim)]));
  // nodes that do not depend on the reduction index are evaluated once per output row
  const redDep = tag === 0 ? DEP_J : DEP_I;
  const outer = order.filter((n) => !(n.deps & redDep));
  const inner = order.filter((n) => n.deps & redDep);
  const evalNodes = (nodes: Node[], i: number, j: number): void => {
    for (const n of nodes) {
      const out = buf.get(n)!;
      if (n.op === 'Var') {
        const [index, dim, cat] = n.params as [number, number, number];
        const src = inputs.arrays.get(index);
        if (!src) throw new Error(`internal: no data for variable ${index}`);
        const row = cat === 0 ? i : cat === 1 ? j : 0;
        for (let k = 0; k < dim; k++) out[k] = src[row * dim + k]!;
      } else {
        const def = OPS[n.op]!;
        def.eval!(n.args.map((a) => buf.get(a)!), n.params, out);
      }
    }
  };

  const specs = kernelOutputs(kernel);
  const outputs: RefBuffer[] = specs.map((s) => {
    const shape = [rows, ...s.rowShape];
    return { name: s.name, shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) };
  });
  const width = specs.map((s) => s.rowShape.reduce((a, b) => a * b, 1));
  const cluster = ranges ? rowClusters(ranges, tag, rows) : undefined;
  const tri = ranges ? rangesFor(ranges, tag) : undefined;
  const fdim = kernel.formula.dim;
  const gdim = kernel.formula2?.dim ?? 0;

  for (let r = 0; r < rows; r++) {
    // the reduction set, in walk order (duplicates in ranges are visited twice, as KeOps)
    const set: number[] = [];
    if (!tri) for (let s = 0; s < (tag === 0 ? N : M); s++) set.push(s);
    else if (cluster![r]! >= 0) {
      const k = cluster![r]!;
      const from = k === 0 ? 0 : tri.slices[k - 1]!;
      for (let l = from; l < tri.slices[k]!; l++) for (let s = tri.red[2 * l]!; s < tri.red[2 * l + 1]!; s++) set.push(s);
    }
    const fs: Float64Array[] = [];
    const gs: Float64Array[] = [];
    const i0 = tag === 0 ? r : 0;
    const j0 = tag === 0 ? 0 : r;
    evalNodes(outer, i0, j0);
    for (const s of set) {
      evalNodes(inner, tag === 0 ? r : s, tag === 0 ? s : r);
      fs.push(buf.get(kernel.formula)!.slice());
      if (kernel.formula2) gs.push(buf.get(kernel.formula2)!.slice());
    }
    const rowOut = outputs.map((o, k) => o.data.subarray(r * width[k]!, (r + 1) * width[k]!));
    reduceRow(kernel, fs, gs, set, fdim, gdim, rowOut);
  }
  return outputs;
}

/** Apply the reduction's definition to one row's terms (by its registry family; the arithmetic is the oracle's own). */
function reduceRow(kernel: Kernel, fs: Float64Array[], gs: Float64Array[], idx: number[], D: number, E: number, out: Float64Array[]): void {
  const red = kernel.reduction;
  const n = fs.length;
  // where the values and the indices go (extremum and kmin), from the registry's outputs
  const specs = red.outputs(D, E, kernel.K);
  const vals = out[specs.findIndex((o) => o.name === 'values')];
  const inds = out[specs.findIndex((o) => o.name === 'indices')];
  switch (red.family) {
    case 'sum':
      for (let k = 0; k < D; k++) {
        let s = 0;
        for (let t = 0; t < n; t++) s += fs[t]![k]!;
        out[0]![k] = s;
      }
      return;
    case 'extremum': {
      const isMax = red.max === true;
      for (let k = 0; k < D; k++) {
        let v = isMax ? -Infinity : Infinity;
        let at = 0;
        for (let t = 0; t < n; t++) {
          const x = fs[t]![k]!;
          if (isMax ? x > v : x < v) [v, at] = [x, idx[t]!];
        }
        if (vals) vals[k] = v;
        if (inds) inds[k] = at;
      }
      return;
    }
    case 'kmin': {
      const K = kernel.K!;
      for (let k = 0; k < D; k++) {
        // stable: sort the (value, position) pairs by value, ties by walk order
        // only values < +inf are ever inserted (NaN and +inf never compare smaller), as KeOps
        const order = Array.from({ length: n }, (_, t) => t)
          .filter((t) => fs[t]![k]! < Infinity)
          .sort((a, b) => fs[a]![k]! - fs[b]![k]! || a - b);
        for (let l = 0; l < K; l++) {
          const has = l < order.length;
          if (vals) vals[l * D + k] = has ? fs[order[l]!]![k]! : Infinity;
          if (inds) inds[l * D + k] = has ? idx[order[l]!]! : 0;
        }
      }
      return;
    }
    case 'logsumexp':
      return reduceLse(red, fs, gs, E, out[0]!);
  }
}

/** The log-sum-exp family (f scalar): the sums of exp(f − max) weighted by 1, g or both, then the result. */
function reduceLse(red: ReductionDef, fs: Float64Array[], gs: Float64Array[], E: number, out: Float64Array): void {
  const n = fs.length;
  // the max of the terms, NaN terms skipped (a strict comparison, as KeOps and every backend); a NaN
  // term still makes the sum NaN below
  let m = -Infinity;
  for (let t = 0; t < n; t++) if (fs[t]![0]! > m) m = fs[t]![0]!;
  // a term -inf weighs 0 (also when m = -inf: exp(-inf + inf) would be NaN); a NaN term weighs NaN, also
  // when every other term is -inf (the online update of the backends: exp(NaN - m) is NaN)
  const w = fs.map((f) => (f[0]! === -Infinity ? 0 : Math.exp(f[0]! - m)));
  const s = w.reduce((a, b) => a + b, 0);
  const sg = new Float64Array(E);
  for (let t = 0; t < n; t++) for (let k = 0; k < E; k++) sg[k]! += w[t]! * gs[t]![k]!;
  // the sums, in the order of lseWeights: 1, g, or 1 then g
  const sums = red.lseWeights === 'g' ? [...sg] : red.lseWeights === 'one+g' ? [s, ...sg] : [s];
  switch (red.lseResult) {
    case 'raw':
      out[0] = m;
      out.set(sums, 1);
      return;
    case 'log':
      sums.forEach((x, k) => (out[k] = n === 0 ? -Infinity : m + Math.log(x)));
      return;
    case 'ratio':
      for (let k = 1; k < sums.length; k++) out[k - 1] = sums[k]! / sums[0]!;
      return;
    case undefined:
      throw new Error(`internal: reduction ${red.name} has no log-sum-exp result`);
  }
}
