/** Other operations (keops-reference §1.10): soft-DTW and B-spline bases. */
import type { OpDef } from '../types.js';
import { cFmin, intParam, paramError, pint, scalarDim } from './util.js';

const G = 'other';

export const OTHER_OPS: readonly OpDef[] = [
  {
    name: 'SoftDTW_SqDist',
    group: G,
    doc: 'SoftDTW_SqDist(x,y,gamma): soft-DTW of the sequences x and y, cost (xi-yj)^2, soft-min -gamma*log(sum exp(-a/gamma))',
    sig: ['f', 'f', 'f'],
    dim: (d) => (scalarDim('SoftDTW_SqDist', d, 2, 'gamma'), 1),
    // The textbook dynamic programme (= KeOps's CPU ranges path; its dense CPU path has a bug):
    // r(0,0) = c(0,0); first row and column are cumulative sums; otherwise
    // r(i,j) = c(i,j) + softmin(r(i-1,j-1), r(i-1,j), r(i,j-1)), stabilised by the (C fmin) minimum.
    eval: ([x, y, gamma], _p, out) => {
      const n = x!.length;
      const g = gamma![0]!;
      const col = new Float64Array(n); // r(., j-1), then r(., j)
      const cost = (i: number, j: number): number => (x![i]! - y![j]!) ** 2;
      col[0] = cost(0, 0);
      for (let i = 1; i < n; i++) col[i] = cost(i, 0) + col[i - 1]!;
      for (let j = 1; j < y!.length; j++) {
        let diag = col[0]!; // r(i-1, j-1)
        col[0] = cost(0, j) + col[0]!;
        for (let i = 1; i < n; i++) {
          const [a, b, c] = [diag, col[i]!, col[i - 1]!]; // r(i-1,j-1), r(i,j-1), r(i-1,j)
          const mn = cFmin(cFmin(a, b), c);
          diag = col[i]!;
          col[i] = cost(i, j) + mn - g * Math.log(Math.exp((mn - a) / g) + Math.exp((mn - b) / g) + Math.exp((mn - c) / g));
        }
      }
      out[0] = col[n - 1]!;
    },
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
    // keopscore's in-place scheme on a buffer of K-1 values, then the first K-order-1 are kept.
    // A zero-width interval gives the ratio 0.
    eval: ([t, xv], p, out) => {
      const order = pint(p, 0);
      const x = xv![0]!;
      const n = t!.length - 1;
      const b = new Float64Array(n);
      for (let j = 0; j < n; j++) b[j] = t![j]! <= x && x < t![j + 1]! ? 1 : 0;
      const ratio = (i: number, k: number): number => (t![i]! < t![i + k]! ? (x - t![i]!) / (t![i + k]! - t![i]!) : 0);
      for (let k = 1; k <= order; k++) {
        let r1 = ratio(0, k);
        for (let i = 0; i < n - k; i++) {
          const r2 = ratio(i + 1, k);
          b[i] = r1 * b[i]! + (1 - r2) * b[i + 1]!;
          r1 = r2;
        }
      }
      out.set(b.subarray(0, out.length));
    },
  },
];
