/** Comparisons and conditionals (keops-reference §1.5), with scalar broadcasting (§1.2). */
import type { OpDef } from '../types.js';
import { binary, infix, intParam, pint, ternary, unary } from './util.js';

const G = 'compare';

const clampInt = (name: string): OpDef['dim'] => (d, p) => {
  intParam(name, p, 0, 1, 'lower bound');
  intParam(name, p, 1, 2, 'upper bound');
  return d[0]!;
};

export const COMPARE_OPS: readonly OpDef[] = [
  binary(G, 'Equal', '1.0 where f == g, else 0.0', (x, y) => (x === y ? 1 : 0), { commutative: true, print: infix('==', 6) }),
  binary(G, 'NotEqual', '1.0 where f != g, else 0.0', (x, y) => (x !== y ? 1 : 0), { commutative: true, print: infix('!=', 6) }),
  binary(G, 'LessThan', '1.0 where f < g, else 0.0', (x, y) => (x < y ? 1 : 0), { print: infix('<', 6) }),
  binary(G, 'LessOrEqual', '1.0 where f <= g, else 0.0', (x, y) => (x <= y ? 1 : 0), { print: infix('<=', 6) }),
  ternary(G, 'IfElse', 'IfElse(c,a,b): a where c >= 0, else b (NaN c gives b)', (c, a, b) => (c >= 0 ? a : b)),
  ternary(G, 'Clamp', 'Clamp(f,a,b): a if f<a, b if f>b, else f', (x, a, b) => (x < a ? a : x > b ? b : x)),
  unary(G, 'ClampInt', 'ClampInt(f,a,b): Clamp with integer bounds a and b', (x, p) => {
    const a = pint(p, 0);
    const b = pint(p, 1);
    return x < a ? a : x > b ? b : x;
  }, { sig: ['f', 'i', 'i'], dim: clampInt('ClampInt') }),
  unary(G, 'DiffClampInt', 'DiffClampInt(f,a,b): 0 if f<a or f>b, else 1 (derivative of ClampInt; NaN gives 1 as in KeOps)', (x, p) => (x < pint(p, 0) ? 0 : x > pint(p, 1) ? 0 : 1), {
    sig: ['f', 'i', 'i'],
    dim: clampInt('DiffClampInt'),
    internal: true,
  }),
];
