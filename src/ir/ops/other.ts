/** Other operations (keops-reference §1.10): soft-DTW and B-spline bases. */
import type { OpDef } from '../types.js';
import { type Alg, computed, fmin, intParam, paramError, pint, scalarDim } from './util.js';

const G = 'other';

/**
 * Soft-DTW with the squared-difference cost. The textbook dynamic programme (= KeOps's CPU ranges
 * path; its dense CPU path has a bug): r(0,0) = c(0,0); the first row and column are cumulative sums;
 * otherwise r(i,j) = c(i,j) + softmin(r(i-1,j-1), r(i-1,j), r(i,j-1)), stabilised by the (C fmin)
 * minimum. Lowered, the n x m cells unroll into straight-line code.
 */
function softDtw<T>(A: Alg<T>, x: ArrayLike<T>, y: ArrayLike<T>, g: T): T {
  const n = x.length;
  const col = new Array<T>(n); // r(., j-1), then r(., j)
  const cost = (i: number, j: number): T => {
    const d = A.sub(x[i]!, y[j]!);
    return A.mul(d, d);
  };
  col[0] = cost(0, 0);
  for (let i = 1; i < n; i++) col[i] = A.add(cost(i, 0), col[i - 1]!);
  for (let j = 1; j < y.length; j++) {
    let diag = col[0]!; // r(i-1, j-1)
    col[0] = A.add(cost(0, j), col[0]!);
    for (let i = 1; i < n; i++) {
      const [a, b, c] = [diag, col[i]!, col[i - 1]!]; // r(i-1,j-1), r(i,j-1), r(i-1,j)
      const mn = fmin(A, fmin(A, a, b), c);
      const e = (r: T): T => A.exp(A.div(A.sub(mn, r), g));
      diag = col[i]!;
      col[i] = A.sub(A.add(cost(i, j), mn), A.mul(g, A.log(A.add(A.add(e(a), e(b)), e(c)))));
    }
  }
  return col[n - 1]!;
}

/**
 * keopscore's in-place Cox-de Boor scheme on a buffer of K-1 values (K knots t, scalar x), of which
 * the first K-order-1 are kept. A zero-width interval gives the ratio 0.
 */
function bspline<T>(A: Alg<T>, t: ArrayLike<T>, x: T, order: number, dim: number): T[] {
  const n = t.length - 1;
  const b = Array.from({ length: n }, (_, j) => A.select(A.le(t[j]!, x), A.lt(x, t[j + 1]!), 0));
  const ratio = (i: number, k: number): T => A.select(A.lt(t[i]!, t[i + k]!), A.div(A.sub(x, t[i]!), A.sub(t[i + k]!, t[i]!)), 0);
  for (let k = 1; k <= order; k++) {
    let r1 = ratio(0, k);
    for (let i = 0; i < n - k; i++) {
      const r2 = ratio(i + 1, k);
      b[i] = A.add(A.mul(r1, b[i]!), A.mul(A.sub(1, r2), b[i + 1]!));
      r1 = r2;
    }
  }
  return b.slice(0, dim);
}

export const OTHER_OPS: readonly OpDef[] = [
  {
    name: 'SoftDTW_SqDist',
    group: G,
    doc: 'SoftDTW_SqDist(x,y,gamma): soft-DTW of the sequences x and y, cost (xi-yj)^2, soft-min -gamma*log(sum exp(-a/gamma))',
    sig: ['f', 'f', 'f'],
    dim: (d) => (scalarDim('SoftDTW_SqDist', d, 2, 'gamma'), 1),
    ...computed((A, [x, y, gamma]) => [softDtw(A, x!, y!, gamma![0]!)]),
  },
  {
    name: 'BSpline',
    group: G,
    doc: 'BSpline(knots,x,order): the K-order-1 B-spline basis functions of the given order at the scalar x (Cox-de Boor; order 0 uses [t_j, t_j+1))',
    sig: ['f', 'f', 'i'],
    dim: (d, p) => {
      scalarDim('BSpline', d, 1, 'sampling point x');
      const order = intParam('BSpline', p, 0, 2, 'order', 0);
      if (d[0]! < order + 2) throw paramError(`BSpline of order ${order} needs at least ${order + 2} knots, got ${d[0]}`, 'BSpline of order k needs at least k + 2 knots: $0', 2);
      return d[0]! - order - 1;
    },
    ...computed((A, [t, x], p, dim) => bspline(A, t!, x![0]!, pint(p, 0), dim)),
  },
];
