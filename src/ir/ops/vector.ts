/** Vector operations (keops-reference §1.6). Macros (SqNorm2, SqDist, ...) expand into core ops. */
import type { ExpandBuilder, Node, OpDef } from '../types.js';
import { type Alg, broadcastDim, computed, dimError, grad1, gradN, intParam, paramError, pint, scalarDim, sum0, trunc } from './util.js';

const G = 'vector';

// core-op builders used by the expansions (no simplification here: the simplifier is separate)
const Sum = (B: ExpandBuilder, f: Node): Node => B.mk('Sum', [f]);
const Square = (B: ExpandBuilder, f: Node): Node => B.mk('Square', [f]);
const Mult = (B: ExpandBuilder, f: Node, g: Node): Node => B.mk('Mult', [f, g]);
const Subtract = (B: ExpandBuilder, f: Node, g: Node): Node => B.mk('Subtract', [f, g]);
const sqNorm2 = (B: ExpandBuilder, f: Node): Node => Sum(B, Square(B, f));

/** Dispatch of WeightedSqNorm on the dimension of the weight s, for a vector of dimension D. */
function weightedKind(op: string, ds: number, D: number): 'iso' | 'diag' | 'sym' {
  if (ds === 1) return 'iso';
  if (ds === D) return 'diag';
  if (ds === D * D) return 'sym';
  throw dimError(
    `${op} needs a weight of dimension 1, ${D} or ${D * D} for vectors of dimension ${D}, got ${ds}`,
    `the weight is a scalar, a diagonal or a ${D}x${D} matrix: $0`,
    0,
  );
}

function weightedSqNorm(B: ExpandBuilder, s: Node, f: Node): Node {
  switch (weightedKind('WeightedSqNorm', s.dim, f.dim)) {
    case 'iso':
      return Mult(B, s, sqNorm2(B, f));
    case 'diag':
      return Sum(B, Mult(B, s, Square(B, f)));
    case 'sym':
      return Sum(B, Mult(B, s, B.mk('TensorProd', [f, f])));
  }
}

/**
 * Max / Min / ArgMax / ArgMin: a chain of strict comparisons from component 0, so ties keep the first
 * index (as KeOps) and a NaN component is never better (a NaN first component stays the result).
 */
function extremum(name: string, doc: string, better: <T>(A: Alg<T>, x: T, best: T) => T, arg: boolean, argOp: 'ArgMax' | 'ArgMin'): OpDef {
  return {
    name,
    group: G,
    doc,
    sig: ['f'],
    dim: () => 1,
    // Max(f): G flows to the selected component, OneHot(ArgMax(f), dim f)*G; ArgMax: gradient zero
    ...(arg ? { noGrad: 'zero' as const } : { grad: grad1((o, f, _out, g) => (f.dim === 1 ? g : o.mul(o.opp('OneHot', [o.op(argOp, f)], [f.dim]), g))) }),
    ...computed(<T>(A: Alg<T>, [f]: readonly ArrayLike<T>[]) => {
      let best: T = f![0]!;
      let at = A.c(0);
      for (let k = 1; k < f!.length; k++) {
        const b = better(A, f![k]!, best);
        best = A.select(b, f![k]!, best);
        at = A.select(b, k, at);
      }
      return [arg ? at : best];
    }),
  };
}

export const VECTOR_OPS: readonly OpDef[] = [
  {
    name: 'Sum',
    group: G,
    doc: 'Sum(f): sum of the components of f',
    sig: ['f'],
    dim: () => 1,
    ...computed((A, [f]) => [sum0(A, f!)]),
    grad: grad1((o, f, _out, g) => (f.dim === 1 ? g : o.opp('SumT', [g], [f.dim]))),
  },
  {
    name: 'SumT',
    group: G,
    doc: 'SumT(f,d): the scalar f copied into d components (adjoint of Sum)',
    sig: ['f', 'i'],
    internal: true,
    dim: (d, p) => {
      scalarDim('SumT', d, 0);
      return intParam('SumT', p, 0, 1, 'dimension', 1);
    },
    ...computed((_A, [f], _p, dim) => Array.from({ length: dim }, () => f![0]!)),
    grad: grad1((o, _f, _out, g) => o.op('Sum', g)),
  },
  extremum('Max', 'Max(f): largest component of f', (A, x, b) => A.lt(b, x), false, 'ArgMax'),
  extremum('Min', 'Min(f): smallest component of f', (A, x, b) => A.lt(x, b), false, 'ArgMin'),
  extremum('ArgMax', 'ArgMax(f): index of the largest component, as a float (first index on ties)', (A, x, b) => A.lt(b, x), true, 'ArgMax'),
  extremum('ArgMin', 'ArgMin(f): index of the smallest component, as a float (first index on ties)', (A, x, b) => A.lt(x, b), true, 'ArgMin'),
  {
    name: 'Scalprod',
    group: G,
    doc: 'Scalprod(f,g) = f|g: dot product of vectors of equal dimension (a scalar argument s gives s*Sum(other), as KeOps)',
    sig: ['f', 'f'],
    commutative: true,
    print: { symbol: '|', style: 'infix', level: 5 },
    dim: (d) => {
      if (d[0] !== d[1] && d[0] !== 1 && d[1] !== 1)
        throw dimError(`Scalprod needs equal dimensions, got ${d[0]} and ${d[1]}`, 'Scalprod needs equal dims: $0, $1', 1);
      return 1;
    },
    ...computed((A, [a, b]) => {
      if (a!.length !== b!.length) return [a!.length === 1 ? A.mul(a![0]!, sum0(A, b!)) : A.mul(sum0(A, a!), b![0]!)];
      return [sum0(A, Array.from({ length: a!.length }, (_, k) => A.mul(a![k]!, b![k]!)))];
    }),
    // G*g for f (G a scalar); with a scalar argument s (s|v = s*Sum(v)): G*Sum(v) for s, SumT(G*s) for v
    grad: gradN((o, args, _out, g) =>
      args.map((a, k) => {
        const other = args[1 - k]!;
        if (a.dim === other.dim) return o.mul(g, other);
        if (a.dim === 1) return o.mul(g, o.op('Sum', other));
        return o.opp('SumT', [o.mul(g, other)], [a.dim]);
      }),
    ),
  },
  { name: 'SqNorm2', group: G, doc: 'SqNorm2(f) = Sum(f**2)', sig: ['f'], dim: () => 1, expand: ([f], _p, B) => sqNorm2(B, f!) },
  { name: 'Norm2', group: G, doc: 'Norm2(f) = Sqrt(f|f)', sig: ['f'], dim: () => 1, expand: ([f], _p, B) => B.mk('Sqrt', [B.mk('Scalprod', [f!, f!])]) },
  {
    name: 'Normalize',
    group: G,
    doc: 'Normalize(f) = Rsqrt(SqNorm2(f))*f (the zero vector maps to 0)',
    sig: ['f'],
    dim: (d) => d[0]!,
    expand: ([f], _p, B) => Mult(B, B.mk('Rsqrt', [sqNorm2(B, f!)]), f!),
  },
  {
    name: 'SqDist',
    group: G,
    doc: 'SqDist(f,g) = SqNorm2(f-g) (equal dimensions, or a scalar broadcast as in f-g)',
    sig: ['f', 'f'],
    dim: (d) => {
      if (d[0] !== d[1] && d[0] !== 1 && d[1] !== 1)
        throw dimError(`SqDist needs equal dimensions, got ${d[0]} and ${d[1]}`, 'SqDist needs equal dims: $0, $1', 1);
      return 1;
    },
    expand: ([f, g], _p, B) => sqNorm2(B, Subtract(B, f!, g!)),
  },
  {
    name: 'SqNormIso',
    group: G,
    doc: 'SqNormIso(s,f) = s*SqNorm2(f), s a scalar',
    sig: ['f', 'f'],
    dim: (d) => (scalarDim('SqNormIso', d, 0, 'weight'), 1),
    expand: ([s, f], _p, B) => Mult(B, s!, sqNorm2(B, f!)),
  },
  {
    name: 'SqNormDiag',
    group: G,
    doc: 'SqNormDiag(s,f) = Sum(s*f**2), dim s = dim f',
    sig: ['f', 'f'],
    dim: (d) => (broadcastDim('SqNormDiag', d), 1),
    expand: ([s, f], _p, B) => Sum(B, Mult(B, s!, Square(B, f!))),
  },
  {
    name: 'SymSqNorm',
    group: G,
    doc: 'SymSqNorm(A,f) = Sum(A*TensorProd(f,f)) = sum_kl A[k*D+l] f_k f_l, A a row-major DxD matrix',
    sig: ['f', 'f'],
    dim: (d) => {
      const D = d[1]!;
      if (d[0] !== D * D)
        throw dimError(`SymSqNorm needs a matrix of dimension ${D * D} for a vector of dimension ${D}, got ${d[0]}`, `dim A must be the square of dim f: $0, $1`, 0);
      return 1;
    },
    expand: ([A, f], _p, B) => Sum(B, Mult(B, A!, B.mk('TensorProd', [f!, f!]))),
  },
  {
    name: 'WeightedSqNorm',
    group: G,
    doc: 'WeightedSqNorm(s,f): SqNormIso, SqNormDiag or SymSqNorm according to dim s = 1, D or D*D',
    sig: ['f', 'f'],
    dim: (d) => (weightedKind('WeightedSqNorm', d[0]!, d[1]!), 1),
    expand: ([s, f], _p, B) => weightedSqNorm(B, s!, f!),
  },
  {
    name: 'WeightedSqDist',
    group: G,
    doc: 'WeightedSqDist(s,f,g) = WeightedSqNorm(s,f-g)',
    sig: ['f', 'f', 'f'],
    dim: (d) => {
      const D = broadcastDim('WeightedSqDist', [d[1]!, d[2]!]);
      weightedKind('WeightedSqDist', d[0]!, D);
      return 1;
    },
    expand: ([s, f, g], _p, B) => weightedSqNorm(B, s!, Subtract(B, f!, g!)),
  },
  {
    name: 'Elem',
    group: G,
    doc: 'Elem(f,m): component m of f (0-based)',
    sig: ['f', 'i'],
    dim: (d, p) => {
      const m = intParam('Elem', p, 0, 1, 'index');
      if (m < 0 || m >= d[0]!) throw paramError(`Elem index ${m} is out of range for a vector of dim ${d[0]}`, 'the index must be in 0..dim-1: $0', 1);
      return 1;
    },
    ...computed((_A, [f], p) => [f![pint(p, 0)]!]),
    grad: grad1((o, f, _out, g, p) => (f.dim === 1 ? g : o.opp('ElemT', [g], [f.dim, pint(p, 0)]))),
  },
  {
    name: 'ElemT',
    group: G,
    doc: 'ElemT(f,n,m): vector of dimension n, zero except f at index m (adjoint of Elem)',
    sig: ['f', 'i', 'i'],
    dim: (d, p) => {
      scalarDim('ElemT', d, 0);
      const n = intParam('ElemT', p, 0, 1, 'dimension', 1);
      const m = intParam('ElemT', p, 1, 2, 'index');
      if (m < 0 || m >= n) throw paramError(`ElemT index ${m} is out of range for a vector of dim ${n}`, undefined, 2);
      return n;
    },
    ...computed((_A, [f], p, dim) => Array.from({ length: dim }, (_, k) => (k === pint(p, 1) ? f![0]! : 0))),
    grad: grad1((o, _f, out, g, p) => (out.dim === 1 ? g : o.opp('Elem', [g], [pint(p, 1)]))),
  },
  {
    name: 'Extract',
    group: G,
    doc: 'Extract(f,start,d): the components start..start+d-1 of f',
    sig: ['f', 'i', 'i'],
    dim: (d, p) => {
      const start = intParam('Extract', p, 0, 1, 'start', 0);
      const len = intParam('Extract', p, 1, 2, 'dimension', 1);
      if (start + len > d[0]!)
        throw paramError(`Extract(start=${start}, dim=${len}) is out of bounds for a vector of dim ${d[0]}`, 'start + dim must not exceed the dimension of the vector: $0', 2);
      return len;
    },
    ...computed((_A, [f], p, dim) => Array.from({ length: dim }, (_, k) => f![pint(p, 0) + k]!)),
    grad: grad1((o, f, out, g, p) => (out.dim === f.dim ? g : o.opp('ExtractT', [g], [pint(p, 0), f.dim]))),
  },
  {
    name: 'ExtractT',
    group: G,
    doc: 'ExtractT(f,start,D): vector of dimension D, zero except f at start..start+dim f-1 (adjoint of Extract)',
    sig: ['f', 'i', 'i'],
    dim: (d, p) => {
      const start = intParam('ExtractT', p, 0, 1, 'start', 0);
      const D = intParam('ExtractT', p, 1, 2, 'dimension', 1);
      if (start + d[0]! > D)
        throw paramError(`ExtractT(start=${start}) of a vector of dim ${d[0]} does not fit in dim ${D}`, 'start + the dimension of the inserted vector must not exceed D: $0', 2);
      return D;
    },
    ...computed((_A, [f], p, dim) => {
      const start = pint(p, 0);
      return Array.from({ length: dim }, (_, k) => (k >= start && k < start + f!.length ? f![k - start]! : 0));
    }),
    grad: grad1((o, f, out, g, p) => (out.dim === f.dim ? g : o.opp('Extract', [g], [pint(p, 0), f.dim]))),
  },
  {
    name: 'Concat',
    group: G,
    doc: 'Concat(f,g): the vector [f, g]',
    sig: ['f', 'f'],
    dim: (d) => d[0]! + d[1]!,
    ...computed((_A, [f, g]) => [...Array.from(f!), ...Array.from(g!)]),
    grad: gradN((o, [f, h], _out, g) => [o.opp('Extract', [g], [0, f!.dim]), o.opp('Extract', [g], [f!.dim, h!.dim])]),
  },
  {
    name: 'OneHot',
    group: G,
    doc: 'OneHot(f,D): 1 at index (int)(f+0.5) (C truncation), 0 elsewhere; an out-of-range index gives the zero vector (KeOps does not check)',
    sig: ['f', 'i'],
    dim: (d, p) => {
      scalarDim('OneHot', d, 0);
      return intParam('OneHot', p, 0, 1, 'dimension', 1);
    },
    // component k is ((int)(f+0.5) == k): 1 at most once, and nowhere for NaN or an out-of-range index
    ...computed((A, [f], _p, dim) => {
      const t = trunc(A, A.add(f![0]!, 0.5));
      return Array.from({ length: dim }, (_, k) => A.eq(t, k));
    }),
    noGrad: 'zero',
  },
];
