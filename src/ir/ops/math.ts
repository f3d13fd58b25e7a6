/**
 * Element-wise math (keops-reference §1.4). Every op broadcasts a dimension-1 argument (§1.2) and
 * follows the C semantics of KeOps's CPU code (keopscore/utils/math_functions.py). Each op is one
 * scalar function (or a composition of them, over the algebra of util.ts): its eval and its lowering.
 */
import type { OpDef } from '../types.js';
import { binary, infix, intParam, pint, postfix, prefix, ternary, unary } from './util.js';

const G = 'math';

export const MATH_OPS: readonly OpDef[] = [
  unary(G, 'Minus', '-f', 'neg', { print: prefix('-', 2) }),
  binary(G, 'Add', 'f+g', 'add', { commutative: true, print: infix('+', 4) }),
  binary(G, 'Subtract', 'f-g', 'sub', { print: infix('-', 4) }),
  binary(G, 'Mult', 'f*g, element-wise or scalar times vector', 'mul', { commutative: true, print: infix('*', 3) }),
  binary(G, 'Divide', 'f/g, element-wise or with a broadcast scalar', 'div', { print: infix('/', 3) }),
  unary(G, 'Inv', '1/f (Inv(0) = inf)', (A, x) => A.div(1, x), { print: prefix('1/', 3) }),
  unary(G, 'Exp', 'exponential', 'exp'),
  unary(G, 'Log', 'natural logarithm', 'log'),
  unary(G, 'Sin', 'sine', 'sin'),
  unary(G, 'Cos', 'cosine', 'cos'),
  unary(G, 'Asin', 'arcsine', 'asin'),
  unary(G, 'Acos', 'arccosine', 'acos'),
  unary(G, 'Atan', 'arctangent', 'atan'),
  binary(G, 'Atan2', 'Atan2(y,x): angle of the point (x,y), as C atan2', 'atan2'),
  unary(G, 'Sqrt', 'square root', 'sqrt'),
  unary(G, 'Rsqrt', '1/sqrt(f), with Rsqrt(0) = 0', 'rsqrt'),
  unary(G, 'Square', 'f**2', (A, x) => A.mul(x, x), { print: postfix('**2', 1) }),
  unary(G, 'Pow', 'Pow(f,m): f to the integer power m (C pow)', (A, x, p) => A.pow(x, pint(p, 0)), {
    sig: ['f', 'i'],
    dim: (d, p) => (intParam('Pow', p, 0, 1, 'exponent'), d[0]!),
  }),
  binary(G, 'Powf', 'Powf(f,g): f to the real power g (C pow)', 'pow'),
  unary(G, 'Abs', 'absolute value', 'abs'),
  unary(G, 'Sign', '-1, 0 or +1 (0 at 0 and at NaN)', (A, x) => A.select(A.lt(0, x), 1, A.select(A.lt(x, 0), -1, 0))),
  unary(G, 'Step', '0 if f<0 else 1 (Step(0) = 1)', (A, x) => A.select(A.lt(x, 0), 0, 1)),
  unary(G, 'ReLU', 'max(f,0)', (A, x) => A.select(A.lt(x, 0), 0, x)),
  unary(G, 'Floor', 'largest integer <= f', 'floor'),
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
    { sig: ['f', 'i'], dim: (d, p) => (intParam('Round', p, 0, 1, 'number of decimals'), d[0]!) },
  ),
  unary(G, 'XLogX', 'f*log(f), 0 at f = 0', (A, x) => A.select(A.ne(x, 0), A.mul(x, A.log(x)), 0)),
  unary(G, 'SinXDivX', 'sin(f)/f, 1 at f = 0', (A, x) => A.select(A.ne(x, 0), A.div(A.sin(x), x), 1)),
  ternary(G, 'Mod', 'Mod(f,n,d) = f - n*floor((f-d)/n): floor-modulo with offset, result in [d, d+n)', (A, x, n, d) =>
    A.sub(x, A.mul(n, A.floor(A.div(A.sub(x, d), n)))),
  ),
];
