/** Other operations (keops-reference §1.10): soft-DTW, B-spline bases, Factorize and AutoFactorize. */
import type { OpDef } from '../types.js';
import { type Alg, computed, fmin, intParam, paramError, pint, scalarDim, type V } from './util.js';

const G = 'other';

/**
 * Soft-DTW with the squared-difference cost. The textbook dynamic programme (= KeOps's CPU ranges
 * path; its dense CPU path has a bug): r(0,0) = c(0,0); the first row and column are cumulative sums;
 * otherwise r(i,j) = c(i,j) + softmin(r(i-1,j-1), r(i-1,j), r(i,j-1)), stabilised by the (C fmin)
 * minimum. Lowered, the n x m cells unroll into straight-line code.
 */
function softDtw<T>(A: Alg<T>, x: ArrayLike<T>, y: ArrayLike<T>, g: T): T {
  return softDtwTable(A, x, y, g)[y.length - 1]![x.length - 1]!;
}

/** The cost (x_i - y_j)². */
function sqDiff<T>(A: Alg<T>, x: ArrayLike<T>, y: ArrayLike<T>, i: number, j: number): T {
  const d = A.sub(x[i]!, y[j]!);
  return A.mul(d, d);
}

/** Every cell of the soft-DTW programme: r[j][i] = r(i, j). */
function softDtwTable<T>(A: Alg<T>, x: ArrayLike<T>, y: ArrayLike<T>, g: T): T[][] {
  const n = x.length;
  const cost = (i: number, j: number): T => sqDiff(A, x, y, i, j);
  const first = new Array<T>(n);
  first[0] = cost(0, 0);
  for (let i = 1; i < n; i++) first[i] = A.add(cost(i, 0), first[i - 1]!);
  const r = [first];
  for (let j = 1; j < y.length; j++) {
    const prev = r[j - 1]!;
    const col = new Array<T>(n);
    col[0] = A.add(cost(0, j), prev[0]!);
    for (let i = 1; i < n; i++) {
      const [a, b, c] = [prev[i - 1]!, prev[i]!, col[i - 1]!]; // r(i-1,j-1), r(i,j-1), r(i-1,j)
      const mn = fmin(A, fmin(A, a, b), c);
      const e = (v: T): T => A.exp(A.div(A.sub(mn, v), g));
      col[i] = A.sub(A.add(cost(i, j), mn), A.mul(g, A.log(A.add(A.add(e(a), e(b)), e(c)))));
    }
    r.push(col);
  }
  return r;
}

/**
 * The gradient of soft-DTW with respect to x and y, concatenated (KeOps's GradSoftDTW_SqDist): the
 * forward table r, then the backward pass of Cuturi & Blondel (2017). e(i,j) = ∂r(n-1,m-1)/∂r(i,j)
 * sums, over the successors s of (i,j), e(s) times the weight of r(i,j) in r(s), which is
 * exp((r(s) - r(i,j) - cost(s))/γ) (the soft-min weight; 1 on the first row and column, where r is
 * a plain cumulative sum). Then ∂/∂x_i = Σ_j 2(x_i - y_j) e(i,j) and ∂/∂y_j = -Σ_i 2(x_i - y_j) e(i,j).
 */
function softDtwGrad<T>(A: Alg<T>, x: ArrayLike<T>, y: ArrayLike<T>, g: T): V<T>[] {
  const [n, m] = [x.length, y.length];
  const r = softDtwTable(A, x, y, g);
  const weight = (i: number, j: number, si: number, sj: number): T => A.exp(A.div(A.sub(A.sub(r[sj]![si]!, r[j]![i]!), sqDiff(A, x, y, si, sj)), g));
  const e = Array.from({ length: m }, () => new Array<V<T>>(n));
  const gx = new Array<V<T>>(n).fill(0);
  const gy = new Array<V<T>>(m).fill(0);
  for (let j = m - 1; j >= 0; j--)
    for (let i = n - 1; i >= 0; i--) {
      const terms: T[] = [];
      if (i + 1 < n) terms.push(A.mul(weight(i, j, i + 1, j), e[j]![i + 1]!));
      if (j + 1 < m) terms.push(A.mul(weight(i, j, i, j + 1), e[j + 1]![i]!));
      if (i + 1 < n && j + 1 < m) terms.push(A.mul(weight(i, j, i + 1, j + 1), e[j + 1]![i + 1]!));
      const eij: V<T> = terms.length ? terms.reduce((s, t) => A.add(s, t)) : 1;
      e[j]![i] = eij;
      const t = A.mul(A.mul(2, A.sub(x[i]!, y[j]!)), eij);
      gx[i] = A.add(gx[i]!, t);
      gy[j] = A.sub(gy[j]!, t);
    }
  return [...gx, ...gy];
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

/**
 * KeOps's GradSoftDTW_SqDist(x,y,gamma): the gradient of SoftDTW_SqDist(x,y,gamma) with respect to x
 * and y, concatenated (dim x + dim y).
 */
const GRAD_SOFTDTW_OP: OpDef = {
  name: 'GradSoftDTW_SqDist',
  group: G,
  doc: 'GradSoftDTW_SqDist(x,y,gamma): gradient of SoftDTW_SqDist(x,y,gamma) with respect to x and y, concatenated (internal)',
  sig: ['f', 'f', 'f'],
  internal: true,
  dim: (d) => (scalarDim('GradSoftDTW_SqDist', d, 2, 'gamma'), d[0]! + d[1]!),
  ...computed((A, [x, y, gamma]) => softDtwGrad(A, x!, y!, gamma![0]!)),
  noGrad: 'error', // as KeOps
};

export const OTHER_OPS: readonly OpDef[] = [
  {
    name: 'SoftDTW_SqDist',
    group: G,
    doc: 'SoftDTW_SqDist(x,y,gamma): soft-DTW of the sequences x and y, cost (xi-yj)^2, soft-min -gamma*log(sum exp(-a/gamma))',
    sig: ['f', 'f', 'f'],
    dim: (d) => (scalarDim('SoftDTW_SqDist', d, 2, 'gamma'), 1),
    ...computed((A, [x, y, gamma]) => [softDtw(A, x!, y!, gamma![0]!)]),
    // Not differentiable yet: KeOps differentiates x and y through a dedicated op (GradSoftDTW_SqDist
    // below, a forward-backward pass, not a compact formula of the other ops), and raises for gamma.
    // The rule would be Extract(GradSoftDTW_SqDist(x,y,gamma)*G, ...) for x and y; it waits for a way to
    // reject a gamma that depends on the variable (a rule does not see the variable).
    noGrad: 'error',
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
    noGrad: 'error', // KeOps: not differentiable
  },
  GRAD_SOFTDTW_OP,
  // KeOps's explicit common-subexpression elimination. keopsc's IR is hash-consed and its cse pass
  // computes every repeated subformula once, so both are the formula itself (expanded away).
  {
    name: 'Factorize',
    group: G,
    doc: 'Factorize(f,g): f, with its subformula g computed once (KeOps; keopsc\'s CSE already does this for every repeated subformula)',
    sig: ['f', 'f'],
    dim: (d) => d[0]!,
    expand: ([f]) => f!,
  },
  {
    name: 'AutoFactorize',
    group: G,
    doc: 'AutoFactorize(f): f, with every repeated subformula computed once (KeOps; keopsc\'s CSE always does this)',
    sig: ['f'],
    dim: (d) => d[0]!,
    expand: ([f]) => f!,
  },
];
