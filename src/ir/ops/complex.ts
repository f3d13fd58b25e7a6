/**
 * Complex numbers (keops-reference §1.8). A complex vector of length n is 2n interleaved reals
 * (re0, im0, re1, ...). Binary ops follow the complex broadcasting rule of §1.2 (a complex scalar of
 * dimension 2 applies to every entry). ComplexAbs, ComplexAngle and ComplexDivide are macros, as in
 * keopscore.
 */
import type { Node, OpDef } from '../types.js';
import { mk } from '../node.js';
import { complexBroadcastDim, dimError, evenDim, type EvalFn, intParam, paramError, scalarDim } from './util.js';

const G = 'complex';

/** An element-wise complex op: out = fn(a, b) on each (re, im) pair, complex scalars broadcast. */
function complexMap(fn: (ar: number, ai: number, br: number, bi: number) => [number, number]): EvalFn {
  return ([a, b], _p, out) => {
    const sa = a!.length === 2 ? 0 : 1;
    const sb = b!.length === 2 ? 0 : 1;
    for (let k = 0; k < out.length; k += 2) {
      const [re, im] = fn(a![k * sa]!, a![k * sa + 1]!, b![k * sb]!, b![k * sb + 1]!);
      out[k] = re;
      out[k + 1] = im;
    }
  };
}

function complexBinary(name: string, doc: string, fn: Parameters<typeof complexMap>[0], commutative: boolean): OpDef {
  return { name, group: G, doc, sig: ['f', 'f'], dim: (d) => complexBroadcastDim(name, d), eval: complexMap(fn), ...(commutative ? { commutative } : {}) };
}

/** A one-argument complex op: each (re, im) pair gives `outPerPair` reals. */
function complexUnary(name: string, doc: string, outPerPair: 1 | 2, fn: (re: number, im: number, out: Float64Array, at: number) => void): OpDef {
  return {
    name,
    group: G,
    doc,
    sig: ['f'],
    dim: (d) => (evenDim(name, d) / 2) * outPerPair,
    eval: ([f], _p, out) => {
      for (let k = 0; k < f!.length; k += 2) fn(f![k]!, f![k + 1]!, out, (k / 2) * outPerPair);
    },
  };
}

/** A real vector of dim n to a complex vector of dim 2n. */
function realToComplex(name: string, doc: string, fn: (x: number) => [number, number]): OpDef {
  return {
    name,
    group: G,
    doc,
    sig: ['f'],
    dim: (d) => 2 * d[0]!,
    eval: ([f], _p, out) => {
      for (let k = 0; k < f!.length; k++) [out[2 * k], out[2 * k + 1]] = fn(f![k]!);
    },
  };
}

const sqAbs = (f: Node): Node => mk('ComplexSquareAbs', [f]);

export const COMPLEX_OPS: readonly OpDef[] = [
  complexUnary('ComplexReal', 'real parts of a complex vector', 1, (re, _im, out, at) => (out[at] = re)),
  complexUnary('ComplexImag', 'imaginary parts of a complex vector', 1, (_re, im, out, at) => (out[at] = im)),
  realToComplex('Real2Complex', 'f + 0i', (x) => [x, 0]),
  realToComplex('Imag2Complex', '0 + f i', (x) => [0, x]),
  complexUnary('Conj', 'complex conjugate', 2, (re, im, out, at) => {
    out[at] = re;
    out[at + 1] = -im;
  }),
  complexUnary('ComplexSquareAbs', '|z|^2 of each entry', 1, (re, im, out, at) => (out[at] = re * re + im * im)),
  { name: 'ComplexAbs', group: G, doc: '|z| of each entry, = Sqrt(ComplexSquareAbs(f))', sig: ['f'], dim: (d) => evenDim('ComplexAbs', d) / 2, expand: ([f]) => mk('Sqrt', [sqAbs(f!)]) },
  {
    name: 'ComplexAngle',
    group: G,
    doc: 'argument of each entry, = Atan2(ComplexImag(f), ComplexReal(f))',
    sig: ['f'],
    dim: (d) => evenDim('ComplexAngle', d) / 2,
    expand: ([f]) => mk('Atan2', [mk('ComplexImag', [f!]), mk('ComplexReal', [f!])]),
  },
  {
    name: 'ComplexSum',
    group: G,
    doc: 'sum of the complex entries (dim 2)',
    sig: ['f'],
    dim: (d) => (evenDim('ComplexSum', d), 2),
    eval: ([f], _p, out) => {
      let [re, im] = [0, 0];
      for (let k = 0; k < f!.length; k += 2) {
        re += f![k]!;
        im += f![k + 1]!;
      }
      out[0] = re;
      out[1] = im;
    },
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
    eval: ([f], _p, out) => {
      for (let k = 0; k < out.length; k += 2) {
        out[k] = f![0]!;
        out[k + 1] = f![1]!;
      }
    },
  },
  complexBinary('ComplexAdd', 'complex f+g', (ar, ai, br, bi) => [ar + br, ai + bi], true),
  complexBinary('ComplexSubtract', 'complex f-g', (ar, ai, br, bi) => [ar - br, ai - bi], false),
  complexBinary('ComplexMult', 'complex f*g', (ar, ai, br, bi) => [ar * br - ai * bi, ar * bi + ai * br], true),
  {
    name: 'ComplexDivide',
    group: G,
    doc: 'complex f/g = Real2Complex(Inv(ComplexSquareAbs(g))) * (f*Conj(g))',
    sig: ['f', 'f'],
    dim: (d) => complexBroadcastDim('ComplexDivide', d),
    expand: ([f, g]) => mk('ComplexMult', [mk('Real2Complex', [mk('Inv', [sqAbs(g!)])]), mk('ComplexMult', [f!, mk('Conj', [g!])])]),
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
    eval: ([a, b], _p, out) => {
      const [s, z] = a!.length === 1 ? [a![0]!, b!] : [b![0]!, a!];
      for (let k = 0; k < out.length; k++) out[k] = s * z[k]!;
    },
  },
  complexUnary('ComplexExp', 'complex exponential: e^re (cos im, sin im)', 2, (re, im, out, at) => {
    const r = Math.exp(re);
    out[at] = r * Math.cos(im);
    out[at + 1] = r * Math.sin(im);
  }),
  realToComplex('ComplexExp1j', 'e^(i f) = (cos f, sin f) for real f', (x) => [Math.cos(x), Math.sin(x)]),
];
