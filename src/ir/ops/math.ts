/**
 * Element-wise math (keops-reference §1.4). Every op broadcasts a dimension-1 argument (§1.2) and
 * follows the C semantics of KeOps's CPU code (keopscore/utils/math_functions.py).
 */
import type { OpDef } from '../types.js';
import { binary, cPow, cRound, infix, intParam, pint, postfix, prefix, ternary, unary } from './util.js';

const G = 'math';

export const MATH_OPS: readonly OpDef[] = [
  unary(G, 'Minus', '-f', (x) => -x, { print: prefix('-', 2) }),
  binary(G, 'Add', 'f+g', (x, y) => x + y, { commutative: true, print: infix('+', 4) }),
  binary(G, 'Subtract', 'f-g', (x, y) => x - y, { print: infix('-', 4) }),
  binary(G, 'Mult', 'f*g, element-wise or scalar times vector', (x, y) => x * y, { commutative: true, print: infix('*', 3) }),
  binary(G, 'Divide', 'f/g, element-wise or with a broadcast scalar', (x, y) => x / y, { print: infix('/', 3) }),
  unary(G, 'Inv', '1/f (Inv(0) = inf)', (x) => 1 / x, { print: prefix('1/', 3) }),
  unary(G, 'Exp', 'exponential', Math.exp),
  unary(G, 'Log', 'natural logarithm', Math.log),
  unary(G, 'Sin', 'sine', Math.sin),
  unary(G, 'Cos', 'cosine', Math.cos),
  unary(G, 'Asin', 'arcsine', Math.asin),
  unary(G, 'Acos', 'arccosine', Math.acos),
  unary(G, 'Atan', 'arctangent', Math.atan),
  binary(G, 'Atan2', 'Atan2(y,x): angle of the point (x,y), as C atan2', Math.atan2),
  unary(G, 'Sqrt', 'square root', Math.sqrt),
  unary(G, 'Rsqrt', '1/sqrt(f), with Rsqrt(0) = 0', (x) => (x === 0 ? 0 : 1 / Math.sqrt(x))),
  unary(G, 'Square', 'f**2', (x) => x * x, { print: postfix('**2', 1) }),
  unary(G, 'Pow', 'Pow(f,m): f to the integer power m (C pow)', (x, p) => cPow(x, pint(p, 0)), {
    sig: ['f', 'i'],
    dim: (d, p) => (intParam('Pow', p, 0, 1, 'exponent'), d[0]!),
  }),
  binary(G, 'Powf', 'Powf(f,g): f to the real power g (C pow)', cPow),
  unary(G, 'Abs', 'absolute value', Math.abs),
  unary(G, 'Sign', '-1, 0 or +1 (0 at 0 and at NaN)', (x) => (x > 0 ? 1 : x < 0 ? -1 : 0)),
  unary(G, 'Step', '0 if f<0 else 1 (Step(0) = 1)', (x) => (x < 0 ? 0 : 1)),
  unary(G, 'ReLU', 'max(f,0)', (x) => (x < 0 ? 0 : x)),
  unary(G, 'Floor', 'largest integer <= f', Math.floor),
  unary(
    G,
    'Round',
    'Round(f,d): C round (halves away from zero) to d decimals: round(f*10^d)/10^d',
    (x, p) => {
      const d = pint(p, 0);
      if (d === 0) return cRound(x);
      const s = Number(`1e${d}`); // the literal KeOps prints (10**d in Python)
      return cRound(x * s) / s;
    },
    { sig: ['f', 'i'], dim: (d, p) => (intParam('Round', p, 0, 1, 'number of decimals'), d[0]!) },
  ),
  unary(G, 'XLogX', 'f*log(f), 0 at f = 0', (x) => (x !== 0 ? x * Math.log(x) : 0)),
  unary(G, 'SinXDivX', 'sin(f)/f, 1 at f = 0', (x) => (x !== 0 ? Math.sin(x) / x : 1)),
  ternary(G, 'Mod', 'Mod(f,n,d) = f - n*floor((f-d)/n): floor-modulo with offset, result in [d, d+n)', (x, n, d) => x - n * Math.floor((x - d) / n)),
];
