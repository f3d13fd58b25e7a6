/** Comparisons and conditionals (keops-reference §1.5), with scalar broadcasting (§1.2). */
import type { OpDef } from '../types.js';
import { binary, clamp, infix, intParam, pint, ternary, unary } from './util.js';

const G = 'compare';

const clampInt = (name: string): OpDef['dim'] => (d, p) => {
  intParam(name, p, 0, 1, 'lower bound');
  intParam(name, p, 1, 2, 'upper bound');
  return d[0]!;
};

export const COMPARE_OPS: readonly OpDef[] = [
  binary(G, 'Equal', '1.0 where f == g, else 0.0', 'eq', { commutative: true, print: infix('==', 6) }),
  binary(G, 'NotEqual', '1.0 where f != g, else 0.0', 'ne', { commutative: true, print: infix('!=', 6) }),
  binary(G, 'LessThan', '1.0 where f < g, else 0.0', 'lt', { print: infix('<', 6) }),
  binary(G, 'LessOrEqual', '1.0 where f <= g, else 0.0', 'le', { print: infix('<=', 6) }),
  ternary(G, 'IfElse', 'IfElse(c,a,b): a where c >= 0, else b (NaN c gives b)', (A, c, a, b) => A.select(A.le(0, c), a, b)),
  ternary(G, 'Clamp', 'Clamp(f,a,b): a if f<a, b if f>b, else f', clamp),
  unary(G, 'ClampInt', 'ClampInt(f,a,b): Clamp with integer bounds a and b', (A, x, p) => clamp(A, x, pint(p, 0), pint(p, 1)), {
    sig: ['f', 'i', 'i'],
    dim: clampInt('ClampInt'),
  }),
  unary(
    G,
    'DiffClampInt',
    'DiffClampInt(f,a,b): 0 if f<a or f>b, else 1 (derivative of ClampInt; NaN gives 1 as in KeOps)',
    (A, x, p) => A.select(A.lt(x, pint(p, 0)), 0, A.select(A.lt(pint(p, 1), x), 0, 1)),
    { sig: ['f', 'i', 'i'], dim: clampInt('DiffClampInt'), internal: true },
  ),
];
