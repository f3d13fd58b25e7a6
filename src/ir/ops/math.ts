/**
 * Element-wise math (keops-reference §1.4). Every op broadcasts a dimension-1 argument (§1.2) and
 * follows the C semantics of KeOps's CPU code (keopscore/utils/math_functions.py). Each op is one
 * scalar function (or a composition of them, over the algebra of util.ts): its eval and its lowering.
 */
import type { OpDef } from '../types.js';
import { binary, grad1, gradN, infix, intParam, pint, postfix, prefix, ternary, unary } from './util.js';

const G = 'math';

/**
 * Derivative rules (OpDef.grad) follow KeOps's (keops-reference §1.4): each returns (∂out/∂arg)ᵀ·G
 * built with the simplifying constructors. A broadcast scalar argument may receive a contribution of
 * the output's dimension: the autodiff walk Sums it (and Sum(G*v) simplifies to G|v).
 */

export const MATH_OPS: readonly OpDef[] = [
  unary(G, 'Minus', '-f', 'neg', { print: prefix('-', 2), grad: grad1((o, _f, _out, g) => o.neg(g)) }),
  binary(G, 'Add', 'f+g', 'add', { commutative: true, print: infix('+', 4), grad: gradN((_o, _a, _out, g) => [g, g]) }),
  binary(G, 'Subtract', 'f-g', 'sub', { print: infix('-', 4), grad: gradN((o, _a, _out, g) => [g, o.neg(g)]) }),
  binary(G, 'Mult', 'f*g, element-wise or scalar times vector', 'mul', {
    commutative: true,
    print: infix('*', 3),
    // product rule; a broadcast scalar s in s*v gets Sum(G*v) = G|v
    grad: gradN((o, [a, b], _out, g) => [o.mul(g, b!), o.mul(g, a!)]),
  }),
  binary(G, 'Divide', 'f/g, element-wise or with a broadcast scalar', 'div', {
    print: infix('/', 3),
    // quotient rule: d/df = G/g, d/dg = -G*f/g² = -(G*out)/g
    grad: gradN((o, [, b], out, g) => [o.div(g, b!), o.neg(o.div(o.mul(g, out), b!))]),
  }),
  unary(G, 'Inv', '1/f (Inv(0) = inf)', (A, x) => A.div(1, x), { print: prefix('1/', 3), grad: grad1((o, _f, out, g) => o.neg(o.mul(g, o.op('Square', out)))) }),
  unary(G, 'Exp', 'exponential', 'exp', { grad: grad1((o, _f, out, g) => o.mul(g, out)) }),
  unary(G, 'Log', 'natural logarithm', 'log', { grad: grad1((o, f, _out, g) => o.div(g, f)) }),
  unary(G, 'Sin', 'sine', 'sin', { grad: grad1((o, f, _out, g) => o.mul(g, o.op('Cos', f))) }),
  unary(G, 'Cos', 'cosine', 'cos', { grad: grad1((o, f, _out, g) => o.neg(o.mul(g, o.op('Sin', f)))) }),
  // ±Rsqrt(1-f²), 1/(1+f²)
  unary(G, 'Asin', 'arcsine', 'asin', { grad: grad1((o, f, _out, g) => o.mul(g, o.op('Rsqrt', o.sub(o.c(1), o.op('Square', f))))) }),
  unary(G, 'Acos', 'arccosine', 'acos', { grad: grad1((o, f, _out, g) => o.neg(o.mul(g, o.op('Rsqrt', o.sub(o.c(1), o.op('Square', f)))))) }),
  unary(G, 'Atan', 'arctangent', 'atan', { grad: grad1((o, f, _out, g) => o.div(g, o.add(o.c(1), o.op('Square', f)))) }),
  binary(G, 'Atan2', 'Atan2(y,x): angle of the point (x,y), as C atan2', 'atan2', {
    // (x/r², -y/r²) with r² = y²+x²
    grad: gradN((o, [y, x], _out, g) => {
      const r2 = o.add(o.op('Square', y!), o.op('Square', x!));
      return [o.div(o.mul(g, x!), r2), o.neg(o.div(o.mul(g, y!), r2))];
    }),
  }),
  // KeOps: (1/2)*Rsqrt(f), so the gradient of Sqrt at 0 is 0 (Rsqrt(0) = 0), not inf or NaN
  unary(G, 'Sqrt', 'square root', 'sqrt', { grad: grad1((o, f, _out, g) => o.mul(o.c(0.5), o.mul(g, o.op('Rsqrt', f)))) }),
  // -(1/2)*Rsqrt(f)**3
  unary(G, 'Rsqrt', '1/sqrt(f), with Rsqrt(0) = 0', 'rsqrt', { grad: grad1((o, _f, out, g) => o.mul(o.c(-0.5), o.mul(g, o.opp('Pow', [out], [3])))) }),
  unary(G, 'Square', 'f**2', (A, x) => A.mul(x, x), { print: postfix('**2', 1), grad: grad1((o, f, _out, g) => o.mul(o.c(2), o.mul(f, g))) }),
  unary(G, 'Pow', 'Pow(f,m): f to the integer power m (C pow)', (A, x, p) => A.pow(x, pint(p, 0)), {
    sig: ['f', 'i'],
    dim: (d, p) => (intParam('Pow', p, 0, 1, 'exponent'), d[0]!),
    // m*Pow(f,m-1) (zero for m = 0)
    grad: grad1((o, f, _out, g, p) => {
      const m = pint(p, 0);
      return o.mul(o.c(m), o.mul(o.opp('Pow', [f], [m - 1]), g));
    }),
  }),
  binary(G, 'Powf', 'Powf(f,g): f to the real power g (C pow)', 'pow', {
    // (g*f^(g-1), log(f)*f^g)
    grad: gradN((o, [f, e], out, g) => [o.mul(g, o.mul(e!, o.op('Powf', f!, o.sub(e!, o.c(1))))), o.mul(g, o.mul(o.op('Log', f!), out))]),
  }),
  unary(G, 'Abs', 'absolute value', 'abs', { grad: grad1((o, f, _out, g) => o.mul(o.op('Sign', f), g)) }),
  unary(G, 'Sign', '-1, 0 or +1 (0 at 0 and at NaN)', (A, x) => A.select(A.lt(0, x), 1, A.select(A.lt(x, 0), -1, 0)), { noGrad: 'zero' }),
  unary(G, 'Step', '0 if f<0 else 1 (Step(0) = 1)', (A, x) => A.select(A.lt(x, 0), 0, 1), { noGrad: 'zero' }),
  unary(G, 'ReLU', 'max(f,0)', (A, x) => A.select(A.lt(x, 0), 0, x), { grad: grad1((o, f, _out, g) => o.mul(o.op('Step', f), g)) }),
  unary(G, 'Floor', 'largest integer <= f', 'floor', { noGrad: 'zero' }),
  unary(
    G,
    'Round',
    'Round(f,d): C round (halves away from zero) to d decimals: round(f*10^d)/10^d',
    (A, x, p) => {
      const d = pint(p, 0);
      if (d === 0) return A.round(x);
      const s = Number(`1e${d}`); // the literal KeOps prints (10**d in Python)
      return A.div(A.round(A.mul(x, s)), s);
    },
    { sig: ['f', 'i'], dim: (d, p) => (intParam('Round', p, 0, 1, 'number of decimals'), d[0]!), noGrad: 'zero' },
  ),
  unary(G, 'XLogX', 'f*log(f), 0 at f = 0', (A, x) => A.select(A.ne(x, 0), A.mul(x, A.log(x)), 0), {
    grad: grad1((o, f, _out, g) => o.mul(o.add(o.op('Log', f), o.c(1)), g)),
  }),
  unary(G, 'SinXDivX', 'sin(f)/f, 1 at f = 0', (A, x) => A.select(A.ne(x, 0), A.div(A.sin(x), x), 1), {
    // cos f/f - sin f/f² = (Cos(f) - out)/f (NaN at 0, as KeOps's rule)
    grad: grad1((o, f, out, g) => o.mul(o.div(o.sub(o.op('Cos', f), out), f), g)),
  }),
  ternary(
    G,
    'Mod',
    'Mod(f,n,d) = f - n*floor((f-d)/n): floor-modulo with offset, result in [d, d+n)',
    (A, x, n, d) => A.sub(x, A.mul(n, A.floor(A.div(A.sub(x, d), n)))),
    {
      // through the rewrite f - n*Floor((f-d)/n), Floor having a zero derivative: (G, -Floor((f-d)/n)*G, 0)
      grad: gradN((o, [f, n, d], _out, g) => [g, o.neg(o.mul(o.op('Floor', o.div(o.sub(f!, d!), n!)), g)), undefined]),
    },
  ),
];
