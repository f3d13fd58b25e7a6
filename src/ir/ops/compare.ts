/** Comparisons and conditionals (keops-reference §1.5), with scalar broadcasting (§1.2). */
import type { OpDef } from '../types.js';
import { binary, clamp, grad1, gradN, infix, intParam, pint, ternary, unary } from './util.js';

const G = 'compare';

const clampInt = (name: string): OpDef['dim'] => (d, p) => {
  intParam(name, p, 0, 1, 'lower bound');
  intParam(name, p, 1, 2, 'upper bound');
  return d[0]!;
};

export const COMPARE_OPS: readonly OpDef[] = [
  binary(G, 'Equal', '1.0 where f == g, else 0.0', 'eq', { commutative: true, print: infix('==', 6), noGrad: 'zero' }),
  binary(G, 'NotEqual', '1.0 where f != g, else 0.0', 'ne', { commutative: true, print: infix('!=', 6), noGrad: 'zero' }),
  binary(G, 'LessThan', '1.0 where f < g, else 0.0', 'lt', { print: infix('<', 6), noGrad: 'zero' }),
  binary(G, 'LessOrEqual', '1.0 where f <= g, else 0.0', 'le', { print: infix('<=', 6), noGrad: 'zero' }),
  ternary(G, 'IfElse', 'IfElse(c,a,b): a where c >= 0, else b (NaN c gives b)', (A, c, a, b) => A.select(A.le(0, c), a, b), {
    // flows into a and b only
    grad: gradN((o, [c], _out, g) => [undefined, o.op('IfElse', c!, g, o.c(0)), o.op('IfElse', c!, o.c(0), g)]),
  }),
  ternary(G, 'Clamp', 'Clamp(f,a,b): a if f<a, b if f>b, else f', clamp, {
    // G goes to whichever of f, a, b the value comes from (as KeOps's rewrite
    // ClampInt((f-a)/(b-a),0,1)*(b-a)+a, away from the kinks), with the same tests as eval: f<a, then b<f
    grad: gradN((o, [f, a, b], _out, g) => {
      const fa = o.sub(f!, a!); // >= 0 iff f >= a
      const bf = o.sub(b!, f!); // >= 0 iff f <= b
      const z = o.c(0);
      return [o.op('IfElse', fa, o.op('IfElse', bf, g, z), z), o.op('IfElse', fa, z, g), o.op('IfElse', fa, o.op('IfElse', bf, z, g), z)];
    }),
  }),
  unary(G, 'ClampInt', 'ClampInt(f,a,b): Clamp with integer bounds a and b', (A, x, p) => clamp(A, x, pint(p, 0), pint(p, 1)), {
    sig: ['f', 'i', 'i'],
    dim: clampInt('ClampInt'),
    grad: grad1((o, f, _out, g, p) => o.mul(o.opp('DiffClampInt', [f], p), g)),
  }),
  unary(
    G,
    'DiffClampInt',
    'DiffClampInt(f,a,b): 0 if f<a or f>b, else 1 (derivative of ClampInt; NaN gives 1 as in KeOps)',
    (A, x, p) => A.select(A.lt(x, pint(p, 0)), 0, A.select(A.lt(pint(p, 1), x), 0, 1)),
    { sig: ['f', 'i', 'i'], dim: clampInt('DiffClampInt'), internal: true, noGrad: 'zero' },
  ),
];
