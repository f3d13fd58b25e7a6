/**
 * Complex numbers (keops-reference §1.8). A complex vector of length n is 2n interleaved reals
 * (re0, im0, re1, ...). Binary ops follow the complex broadcasting rule of §1.2 (a complex scalar of
 * dimension 2 applies to every entry). ComplexAbs, ComplexAngle and ComplexDivide are macros, as in
 * keopscore.
 */
import type { ExpandBuilder, Node, OpDef } from '../types.js';
import { type Alg, complexBroadcastDim, computed, dimError, evenDim, type GradFn, type GradOps, grad1, gradN, intParam, paramError, scalarDim, sum0, type V } from './util.js';

const G = 'complex';

/*
 * Derivative rules. A complex vector is a real vector of interleaved (re, im) pairs, and gradients are
 * the real gradients of those pairs: for a holomorphic h, the gradient of Re<G, h(z)> is G*conj(h'(z))
 * (so ComplexMult(a,b) gives G*conj(b) to a, ComplexExp gives G*conj(out)). A complex scalar (dim 2)
 * broadcast to a complex vector receives the ComplexSum of its contributions.
 */

/** A contribution reduced to a complex argument of dim d: itself, or its ComplexSum for a broadcast complex scalar. */
const csumTo = (o: GradOps, c: Node, d: number): Node => (c.dim === d ? c : o.op('ComplexSum', c));

/** The rule of an element-wise complex binary op from the contributions of the full-size case. */
const complexGrad = (fn: (o: GradOps, a: Node, b: Node, g: Node) => [Node, Node]): GradFn =>
  gradN((o, [a, b], _out, g) => fn(o, a!, b!, g).map((c, k) => csumTo(o, c, [a, b][k]!.dim)));

/** An element-wise complex op: out = fn(a, b) on each (re, im) pair, a complex scalar (dim 2) broadcast (§1.2). */
function complexBinary(name: string, doc: string, fn: <T>(A: Alg<T>, ar: T, ai: T, br: T, bi: T) => readonly [T, T], commutative: boolean): OpDef {
  return {
    name,
    group: G,
    doc,
    sig: ['f', 'f'],
    dim: (d) => complexBroadcastDim(name, d),
    ...computed(<T>(A: Alg<T>, [a, b]: readonly ArrayLike<T>[], _p: unknown, dim: number) => {
      const sa = a!.length === 2 ? 0 : 1;
      const sb = b!.length === 2 ? 0 : 1;
      const out: T[] = [];
      for (let k = 0; k < dim; k += 2) out.push(...fn(A, a![k * sa]!, a![k * sa + 1]!, b![k * sb]!, b![k * sb + 1]!));
      return out;
    }),
    ...(commutative ? { commutative } : {}),
  };
}

/** A one-argument complex op: each (re, im) pair gives `outPerPair` reals. */
function complexUnary(name: string, doc: string, outPerPair: 1 | 2, fn: <T>(A: Alg<T>, re: T, im: T) => readonly V<T>[]): OpDef {
  return {
    name,
    group: G,
    doc,
    sig: ['f'],
    dim: (d) => (evenDim(name, d) / 2) * outPerPair,
    ...computed(<T>(A: Alg<T>, [f]: readonly ArrayLike<T>[]) => {
      const out: V<T>[] = [];
      for (let k = 0; k < f!.length; k += 2) out.push(...fn(A, f![k]!, f![k + 1]!));
      return out;
    }),
  };
}

/** A real vector of dim n to a complex vector of dim 2n. */
function realToComplex(name: string, doc: string, fn: <T>(A: Alg<T>, x: T) => readonly [V<T>, V<T>]): OpDef {
  return {
    name,
    group: G,
    doc,
    sig: ['f'],
    dim: (d) => 2 * d[0]!,
    ...computed((A, [f]) => Array.from(f!).flatMap((x) => fn(A, x))),
  };
}

const sqAbs = (B: ExpandBuilder, f: Node): Node => B.mk('ComplexSquareAbs', [f]);

export const COMPLEX_OPS: readonly OpDef[] = [
  { ...complexUnary('ComplexReal', 'real parts of a complex vector', 1, (_A, re) => [re]), grad: grad1((o, _f, _out, g) => o.op('Real2Complex', g)) },
  { ...complexUnary('ComplexImag', 'imaginary parts of a complex vector', 1, (_A, _re, im) => [im]), grad: grad1((o, _f, _out, g) => o.op('Imag2Complex', g)) },
  { ...realToComplex('Real2Complex', 'f + 0i', (_A, x) => [x, 0]), grad: grad1((o, _f, _out, g) => o.op('ComplexReal', g)) },
  { ...realToComplex('Imag2Complex', '0 + f i', (_A, x) => [0, x]), grad: grad1((o, _f, _out, g) => o.op('ComplexImag', g)) },
  { ...complexUnary('Conj', 'complex conjugate', 2, (A, re, im) => [re, A.neg(im)]), grad: grad1((o, _f, _out, g) => o.op('Conj', g)) },
  {
    ...complexUnary('ComplexSquareAbs', '|z|^2 of each entry', 1, (A, re, im) => [A.add(A.mul(re, re), A.mul(im, im))]),
    // 2*G*z (G real)
    grad: grad1((o, f, _out, g) => o.mul(o.c(2), o.op('ComplexMult', o.op('Real2Complex', g), f))),
  },
  { name: 'ComplexAbs', group: G, doc: '|z| of each entry, = Sqrt(ComplexSquareAbs(f))', sig: ['f'], dim: (d) => evenDim('ComplexAbs', d) / 2, expand: ([f], _p, B) => B.mk('Sqrt', [sqAbs(B, f!)]) },
  {
    name: 'ComplexAngle',
    group: G,
    doc: 'argument of each entry, = Atan2(ComplexImag(f), ComplexReal(f))',
    sig: ['f'],
    dim: (d) => evenDim('ComplexAngle', d) / 2,
    expand: ([f], _p, B) => B.mk('Atan2', [B.mk('ComplexImag', [f!]), B.mk('ComplexReal', [f!])]),
  },
  {
    name: 'ComplexSum',
    group: G,
    doc: 'sum of the complex entries (dim 2)',
    sig: ['f'],
    dim: (d) => (evenDim('ComplexSum', d), 2),
    ...computed((A, [f]) => [0, 1].map((part) => sum0(A, Array.from({ length: f!.length / 2 }, (_, k) => f![2 * k + part]!)))),
    grad: grad1((o, f, _out, g) => (f.dim === 2 ? g : o.opp('ComplexSumT', [g], [f.dim]))),
  },
  {
    name: 'ComplexSumT',
    group: G,
    doc: 'ComplexSumT(f,d): the complex scalar f copied into a complex vector of dim d (adjoint of ComplexSum)',
    sig: ['f', 'i'],
    internal: true,
    dim: (d, p) => {
      if (d[0] !== 2) throw dimError(`ComplexSumT needs a complex scalar (dim 2), got dimension ${d[0]}`, 'a complex scalar has dimension 2: $0', 0);
      const n = intParam('ComplexSumT', p, 0, 1, 'dimension', 2);
      if (n % 2 !== 0) throw paramError(`ComplexSumT dimension must be even, got ${n}`, undefined, 1);
      return n;
    },
    ...computed((_A, [f], _p, dim) => Array.from({ length: dim }, (_, k) => f![k % 2]!)),
    grad: grad1((o, _f, _out, g) => o.op('ComplexSum', g)),
  },
  { ...complexBinary('ComplexAdd', 'complex f+g', (A, ar, ai, br, bi) => [A.add(ar, br), A.add(ai, bi)], true), grad: complexGrad((_o, _a, _b, g) => [g, g]) },
  { ...complexBinary('ComplexSubtract', 'complex f-g', (A, ar, ai, br, bi) => [A.sub(ar, br), A.sub(ai, bi)], false), grad: complexGrad((o, _a, _b, g) => [g, o.neg(g)]) },
  {
    ...complexBinary('ComplexMult', 'complex f*g', (A, ar, ai, br, bi) => [A.sub(A.mul(ar, br), A.mul(ai, bi)), A.add(A.mul(ar, bi), A.mul(ai, br))], true),
    grad: complexGrad((o, a, b, g) => [o.op('ComplexMult', g, o.op('Conj', b)), o.op('ComplexMult', g, o.op('Conj', a))]),
  },
  {
    name: 'ComplexDivide',
    group: G,
    doc: 'complex f/g = Real2Complex(Inv(ComplexSquareAbs(g))) * (f*Conj(g))',
    sig: ['f', 'f'],
    dim: (d) => complexBroadcastDim('ComplexDivide', d),
    expand: ([f, g], _p, B) => B.mk('ComplexMult', [B.mk('Real2Complex', [B.mk('Inv', [sqAbs(B, g!)])]), B.mk('ComplexMult', [f!, B.mk('Conj', [g!])])]),
  },
  {
    name: 'ComplexRealScal',
    group: G,
    doc: 'ComplexRealScal(s,z) or (z,s): the real scalar s times the complex vector z',
    sig: ['f', 'f'],
    dim: (d) => {
      const k = d[0] === 1 ? 0 : 1; // the real scalar
      scalarDim('ComplexRealScal', d, k, 'real factor');
      return evenDim('ComplexRealScal', d, 1 - k);
    },
    ...computed((A, [a, b], _p, dim) => {
      const [s, z] = a!.length === 1 ? [a![0]!, b!] : [b![0]!, a!];
      return Array.from({ length: dim }, (_, k) => A.mul(s, z[k]!));
    }),
    // s*z is s*z as real vectors: G|z for s, s*G for z
    grad: gradN((o, args, _out, g) => args.map((a, k) => (a.dim === 1 ? o.op('Scalprod', g, args[1 - k]!) : o.mul(args[1 - k]!, g)))),
  },
  {
    ...complexUnary('ComplexExp', 'complex exponential: e^re (cos im, sin im)', 2, (A, re, im) => {
      const r = A.exp(re);
      return [A.mul(r, A.cos(im)), A.mul(r, A.sin(im))];
    }),
    grad: grad1((o, _f, out, g) => o.op('ComplexMult', g, o.op('Conj', out))),
  },
  {
    ...realToComplex('ComplexExp1j', 'e^(i f) = (cos f, sin f) for real f', (A, x) => [A.cos(x), A.sin(x)]),
    // d out/df = i*out: Re(conj(i*out)*G) = Im(G*conj(out))
    grad: grad1((o, _f, out, g) => o.op('ComplexImag', o.op('ComplexMult', g, o.op('Conj', out)))),
  },
];
