/**
 * The conformance cases of keops-reference.md §7.3 that need neither autodiff nor batch dimensions,
 * as data: a `.keo` source, the arguments (float64; each backend test also runs them in float32),
 * optional ranges, and the expected outputs (goldens measured on KeOps, or a dense loop in float64).
 * Every backend's test file runs this list.
 */
import { expect } from 'chai';
import type { RunResult } from '../../src/api/compile.js';
import { expectClose, normal, uniform } from './data.js';

export interface ConformanceCase {
  /** "§7.3 case N: what" */
  name: string;
  source: string;
  args: Record<string, { data: Float64Array; shape: number[] }>;
  ranges?: Record<string, { data: Int32Array; shape: number[] }>;
  /** Expected output arrays by name, row-major, with their shapes. */
  expected: { values?: { data: ArrayLike<number>; shape: number[] }; indices?: { data: ArrayLike<number>; shape: number[] } };
  /** Skip in float32 (values that only make sense in float64, e.g. tie-free KNN). */
  float64Only?: boolean;
  /** Relative tolerance in float32 (default 1e-5). */
  rtol32?: number;
}

const arr = (data: ArrayLike<number>, ...shape: number[]) => ({ data: Float64Array.from(data), shape });
const iarr = (data: number[], ...shape: number[]) => ({ data: Int32Array.from(data), shape });
const range = (n: number, f: (k: number) => number = (k) => k) => Array.from({ length: n }, (_, k) => f(k));

const sq = (v: number) => v * v;
/** Dense double loop: out[r, :] = reduce over s of F(r, s). */
function dense(rows: number, cols: number, dim: number, F: (r: number, s: number) => number[]): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let s = 0; s < cols; s++) F(r, s).forEach((v, k) => (out[r * dim + k]! += v));
  return out;
}
const row = (a: ArrayLike<number>, r: number, d: number) => Array.from({ length: d }, (_, k) => a[r * d + k]!);
const dist2 = (a: number[], b: number[]) => a.reduce((s, v, k) => s + sq(v - b[k]!), 0);

function gauss(): ConformanceCase[] {
  const M = 50, N = 70;
  const x = normal(M * 3, 1), y = normal(N * 3, 2), b = normal(N, 3), bi = normal(M, 4);
  const decl = 'x = Vi(0, 3)\ny = Vj(1, 3)\n';
  return [
    {
      name: '§7.3 case 1: Gaussian convolution, tag 0',
      source: `${decl}b = Vj(2, 1)\nk = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)`,
      args: { x: arr(x, M, 3), y: arr(y, N, 3), b: arr(b, N, 1) },
      expected: { values: { data: dense(M, N, 1, (i, j) => [Math.exp(-dist2(row(x, i, 3), row(y, j, 3))) * b[j]!]), shape: [M, 1] } },
    },
    {
      name: '§7.3 case 2: Gaussian convolution, tag 1 (reduce over i)',
      source: `${decl}b = Vi(2, 1)\nk = Sum_Reduction(Exp(-SqDist(x, y)) * b, 1)`,
      args: { x: arr(x, M, 3), y: arr(y, N, 3), b: arr(bi, M, 1) },
      expected: { values: { data: dense(N, M, 1, (j, i) => [Math.exp(-dist2(row(x, i, 3), row(y, j, 3))) * bi[i]!]), shape: [N, 1] } },
    },
  ];
}

function generic(): ConformanceCase[] {
  const M = 10, N = 6;
  const p = [0.7], a = uniform(N, 5), x = uniform(M * 3, 6), y = uniform(N * 3, 7);
  const decl = 'p = Pm(0, 1)\na = Vj(1, 1)\nx = Vi(2, 3)\ny = Vj(3, 3)\n';
  const args = { p: arr(p, 1), a: arr(a, N, 1), x: arr(x, M, 3), y: arr(y, N, 3) };
  const f6 = (i: number, j: number) => sq(p[0]! - a[j]!) * Math.exp(-dist2(row(x, i, 3), row(y, j, 3)));
  const lse = Float64Array.from(range(M, (i) => {
    const fs = range(N, (j) => f6(i, j));
    const m = Math.max(...fs);
    return m + Math.log(fs.reduce((s, f) => s + Math.exp(f - m), 0));
  }));
  return [
    {
      name: '§7.3 case 3: generic syntax Square(p-a)*Exp(x+y)',
      source: `${decl}k = Sum_Reduction(Square(p - a) * Exp(x + y), 0)`,
      args,
      expected: { values: { data: dense(M, N, 3, (i, j) => row(x, i, 3).map((xi, k) => sq(p[0]! - a[j]!) * Math.exp(xi + y[j * 3 + k]!))), shape: [M, 3] } },
    },
    {
      name: '§7.3 case 6: LogSumExp',
      source: `${decl}k = LogSumExp_Reduction(Square(p - a) * Exp(-SqNorm2(x - y)), 0)`,
      args,
      expected: { values: { data: lse, shape: [M, 1] } },
    },
  ];
}

function install(): ConformanceCase {
  return {
    name: '§7.3 case 4: test_install SqNorm2(x-y), tag 1 → [63, 90]',
    source: 'x = Vi(0, 3)\ny = Vj(1, 3)\nk = Sum_Reduction(SqNorm2(x - y), 1)',
    args: { x: arr([1, 2, 3, 4, 5, 6, 7, 8, 9], 3, 3), y: arr([3, 4, 5, 6, 7, 8], 2, 3) },
    expected: { values: { data: [63, 90], shape: [2, 1] } },
  };
}

function elemScalprod(): ConformanceCase {
  const M = 8, N = 9;
  const P = [0.5, -1.5], X = uniform(M * 3, 8), Y = uniform(N * 3, 9);
  return {
    name: '§7.3 case 5: Elem and Scalprod',
    source: 'P = Pm(0, 2)\nX = Vi(1, 3)\nY = Vj(2, 3)\nk = Sum_Reduction(Pow((X|Y), 2) * ((Elem(P, 0) * X) + (Elem(P, 1) * Y)), 0)',
    args: { P: arr(P, 2), X: arr(X, M, 3), Y: arr(Y, N, 3) },
    expected: {
      values: {
        data: dense(M, N, 3, (i, j) => {
          const xi = row(X, i, 3), yj = row(Y, j, 3);
          const d = sq(xi.reduce((s, v, k) => s + v * yj[k]!, 0));
          return xi.map((v, k) => d * (P[0]! * v + P[1]! * yj[k]!));
        }),
        shape: [M, 3],
      },
    },
  };
}

function weighted(): ConformanceCase[] {
  const M = 7, N = 11;
  const x = uniform(M * 3, 10), y = uniform(N * 3, 11), w = uniform(N * 2, 12, 0.1, 2), b = uniform(N * 3, 13);
  const f = (i: number, j: number) => -dist2(row(x, i, 3), row(y, j, 3));
  const lsew = new Float64Array(M * 2);
  const smw = new Float64Array(M * 3);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < 2; k++) lsew[i * 2 + k] = Math.log(range(N, (j) => Math.exp(f(i, j)) * w[j * 2 + k]!).reduce((s, v) => s + v, 0));
    const g = range(N, (j) => -f(i, j)); // SqDist
    const m = Math.max(...g);
    const e = g.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    for (let k = 0; k < 3; k++) smw[i * 3 + k] = e.reduce((a, v, j) => a + v * b[j * 3 + k]!, 0) / s;
  }
  const decl = 'x = Vi(0, 3)\ny = Vj(1, 3)\n';
  return [
    {
      name: '§7.3 case 7: LogSumExp with a vector weight',
      source: `${decl}w = Vj(2, 2)\nk = LogSumExpWeight_Reduction(-SqDist(x, y), 0, w)`,
      args: { x: arr(x, M, 3), y: arr(y, N, 3), w: arr(w, N, 2) },
      expected: { values: { data: lsew, shape: [M, 2] } },
    },
    {
      name: '§7.3 case 8: SumSoftMaxWeight',
      source: `${decl}b = Vj(2, 3)\nk = SumSoftMaxWeight_Reduction(SqDist(x, y), 0, b)`,
      args: { x: arr(x, M, 3), y: arr(y, N, 3), b: arr(b, N, 3) },
      expected: { values: { data: smw, shape: [M, 3] } },
    },
  ];
}

function ties(): ConformanceCase[] {
  const args = { x: arr([0, 0], 2, 1), y: arr([3, 1, 2, 1, 5], 5, 1) };
  const decl = 'x = Vi(0, 1)\ny = Vj(1, 1)\nf = y + 0 * x\n';
  const two = (v: number[]) => [...v, ...v];
  const c = (name: string, red: string, expected: ConformanceCase['expected']): ConformanceCase => ({ name, source: `${decl}k = ${red}`, args, expected });
  return [
    c('§7.3 case 9: Min with ties', 'Min_Reduction(f, 0)', { values: { data: [1, 1], shape: [2, 1] } }),
    c('§7.3 case 9: ArgMin with ties → first index', 'ArgMin_Reduction(f, 0)', { indices: { data: [1, 1], shape: [2, 1] } }),
    c('§7.3 case 9: Min_ArgMin', 'Min_ArgMin_Reduction(f, 0)', { values: { data: [1, 1], shape: [2, 1] }, indices: { data: [1, 1], shape: [2, 1] } }),
    c('§7.3 case 9: Max_ArgMax', 'Max_ArgMax_Reduction(f, 0)', { values: { data: [5, 5], shape: [2, 1] }, indices: { data: [4, 4], shape: [2, 1] } }),
    c('§7.3 case 9: Max', 'Max_Reduction(f, 0)', { values: { data: [5, 5], shape: [2, 1] } }),
    c('§7.3 case 9: ArgMax', 'ArgMax_Reduction(f, 0)', { indices: { data: [4, 4], shape: [2, 1] } }),
    c('§7.3 case 10: KMin K=3', 'KMin_Reduction(f, 3, 0)', { values: { data: two([1, 1, 2]), shape: [2, 3] } }),
    c('§7.3 case 10: ArgKMin K=3 (stable)', 'ArgKMin_Reduction(f, 3, 0)', { indices: { data: two([1, 3, 2]), shape: [2, 3] } }),
    c('§7.3 case 10: KMin_ArgKMin K=3', 'KMin_ArgKMin_Reduction(f, 3, 0)', { values: { data: two([1, 1, 2]), shape: [2, 3] }, indices: { data: two([1, 3, 2]), shape: [2, 3] } }),
    c('§7.3 case 11: KMin K=7 > N', 'KMin_Reduction(f, 7, 0)', { values: { data: two([1, 1, 2, 3, 5, Infinity, Infinity]), shape: [2, 7] } }),
    c('§7.3 case 11: ArgKMin K=7 > N', 'ArgKMin_Reduction(f, 7, 0)', { indices: { data: two([1, 3, 2, 0, 4, 0, 0]), shape: [2, 7] } }),
  ];
}

function knn(): ConformanceCase {
  const M = 200, N = 1000, K = 5;
  const x = uniform(M * 3, 14), y = uniform(N * 3, 15);
  const idx: number[] = [];
  for (let i = 0; i < M; i++) {
    const d = range(N, (j) => dist2(row(x, i, 3), row(y, j, 3)));
    idx.push(...range(N).sort((a, b) => d[a]! - d[b]! || a - b).slice(0, K));
  }
  return {
    name: '§7.3 case 12: KNN, ArgKMin K=5 (float64)',
    source: 'x = Vi(0, 3)\ny = Vj(1, 3)\nknn = ArgKMin_Reduction(SqDist(x, y), 5, 0)',
    args: { x: arr(x, M, 3), y: arr(y, N, 3) },
    expected: { indices: { data: idx, shape: [M, K] } },
    float64Only: true,
  };
}

function vectorKMin(): ConformanceCase {
  return {
    name: '§7.3 case 13: vector-valued KMin_ArgKMin, shape (M, K, D)',
    source: 'x = Vi(0, 1)\ny = Vj(1, 2)\nk = KMin_ArgKMin_Reduction(y + 0 * x, 2, 0)',
    args: { x: arr([0], 1, 1), y: arr([3, 0, 1, 9, 2, -1], 3, 2) },
    expected: { values: { data: [1, -1, 2, 0], shape: [1, 2, 2] }, indices: { data: [1, 2, 2, 0], shape: [1, 2, 2] } },
  };
}

/** One formula of a scalar i-variable with N = 1 (no j-variable): the Sum is the identity. */
function scalarOps(): ConformanceCase[] {
  const xs = [0, -1, 2.5, -2.5, 0.49, 0.5, 1.5];
  const table: [string, number[]][] = [
    ['Rsqrt(x)', [0, NaN, 0.63246, NaN, 1.42857, 1.41421, 0.8165]],
    ['SinXDivX(x)', [1, 0.84147, 0.23939, 0.23939, 0.96046, 0.95885, 0.665]],
    ['XLogX(x)', [0, NaN, 2.29073, NaN, -0.34954, -0.34657, 0.6082]],
    ['Sign(x)', [0, -1, 1, -1, 1, 1, 1]],
    ['Step(x)', [1, 0, 1, 0, 1, 1, 1]],
    ['Round(x, 0)', [0, -1, 3, -3, 0, 1, 2]],
    ['Mod(x, IntCst(2), IntCst(0))', [0, 1, 0.5, 1.5, 0.49, 0.5, 1.5]],
    ['Clamp(x, IntCst(-1), IntCst(1))', [0, -1, 1, -1, 0.49, 0.5, 1]],
    ['IfElse(x, x + 1, x - 1)', [1, -2, 3.5, -3.5, 1.49, 1.5, 2.5]],
    ['Inv(x)', [Infinity, -1, 0.4, -0.4, 2.04082, 2, 0.66667]],
  ];
  return table.map(([f, v]) => ({
    name: `§7.3 case 14: ${f} edge values`,
    source: `x = Vi(0, 1)\nk = Sum_Reduction(${f}, 0)`,
    args: { x: arr(xs, 7, 1) },
    expected: { values: { data: v, shape: [7, 1] } },
    rtol32: 2e-5,
  }));
}

/** Parameter-only formulas (M = N = 1). */
function paramOps(): ConformanceCase[] {
  const c = (name: string, decl: string, f: string, args: ConformanceCase['args'], v: number[]): ConformanceCase => ({
    name,
    source: `${decl}\nk = Sum_Reduction(${f}, 0)`,
    args,
    expected: { values: { data: v, shape: [1, v.length] } },
  });
  const A = arr(range(6), 6);
  const w = arr([3, 7, 7, -1], 4);
  const z = (re: number, im: number) => arr([re, im], 2);
  const cases: ConformanceCase[] = [
    c('§7.3 case 16: MatVecMult row-major', 'A = Pm(0, 6)\nv = Pm(1, 2)', 'MatVecMult(A, v)', { A, v: arr([1, 10], 2) }, [10, 32, 54]),
    c('§7.3 case 16: VecMatMult row-major', 'v = Pm(0, 3)\nA = Pm(1, 6)', 'VecMatMult(v, A)', { v: arr([1, 10, 100], 3), A }, [420, 531]),
    c('§7.3 case 16: TensorProd', 'a = Pm(0, 2)\nb = Pm(1, 3)', 'TensorProd(a, b)', { a: arr([1, 2], 2), b: arr([1, 10, 100], 3) }, [1, 10, 100, 2, 20, 200]),
    c('§7.3 case 17: WeightedSqNorm iso', 's = Pm(0, 1)\nx = Pm(1, 2)', 'WeightedSqNorm(s, x)', { s: arr([3], 1), x: arr([1, 2], 2) }, [15]),
    c('§7.3 case 17: WeightedSqNorm diag', 's = Pm(0, 2)\nx = Pm(1, 2)', 'WeightedSqNorm(s, x)', { s: arr([3, 5], 2), x: arr([1, 2], 2) }, [23]),
    c('§7.3 case 17: WeightedSqNorm full', 's = Pm(0, 4)\nx = Pm(1, 2)', 'WeightedSqNorm(s, x)', { s: arr([1, 2, 2, 7], 4), x: arr([1, 2], 2) }, [37]),
    c('§7.3 case 18: TensorDot as a matrix-vector product', 'A = Pm(0, 6)\nv = Pm(1, 3)', 'TensorDot(A, v, [2, 3], [3], [1], [0])', { A, v: arr([1, 10, 100], 3) }, [210, 543]),
    c('§7.3 case 18: Kron', 'a = Pm(0, 4)\nb = Pm(1, 2)', 'Kron(a, b, [2, 2], [2, 1])', { a: arr([1, 2, 3, 4], 4), b: arr([10, 100], 2) }, [10, 20, 100, 200, 30, 40, 300, 400]),
    c('§7.3 case 19: ComplexMult', 'a = Pm(0, 2)\nb = Pm(1, 2)', 'ComplexMult(a, b)', { a: z(1, 2), b: z(3, -1) }, [5, 5]),
    c('§7.3 case 19: ComplexDivide', 'a = Pm(0, 2)\nb = Pm(1, 2)', 'ComplexDivide(a, b)', { a: z(1, 2), b: z(3, -1) }, [0.1, 0.7]),
    c('§7.3 case 19: ComplexExp1j', 't = Pm(0, 1)', 'ComplexExp1j(t)', { t: arr([Math.PI / 2], 1) }, [0, 1]),
    c('§7.3 case 19: ComplexAbs', 'a = Pm(0, 2)', 'ComplexAbs(a)', { a: z(1, 2) }, [2.236068]),
    c('§7.3 case 19: ComplexAngle', 'a = Pm(0, 2)', 'ComplexAngle(a)', { a: z(1, 2) }, [1.107149]),
    c('§7.3 case 20: Max of a vector', 'w = Pm(0, 4)', 'Max(w)', { w }, [7]),
    c('§7.3 case 20: ArgMax of a vector', 'w = Pm(0, 4)', 'ArgMax(w)', { w }, [1]),
    c('§7.3 case 20: Min of a vector', 'w = Pm(0, 4)', 'Min(w)', { w }, [-1]),
    c('§7.3 case 20: ArgMin of a vector', 'w = Pm(0, 4)', 'ArgMin(w)', { w }, [3]),
    c('§7.3 case 20: ElemT(Elem)', 'w = Pm(0, 4)', 'ElemT(Elem(w, 1), 5, 2)', { w }, [0, 0, 7, 0, 0]),
    c('§7.3 case 20: ExtractT(Extract)', 'w = Pm(0, 4)', 'ExtractT(Extract(w, 1, 2), 3, 6)', { w }, [0, 0, 0, 7, 7, 0]),
    c('§7.3 case 22: SoftDTW_SqDist', 'x = Pm(0, 3)\ny = Pm(1, 2)\ng = Pm(2, 1)', 'SoftDTW_SqDist(x, y, g)', { x: arr([0, 1, 2], 3), y: arr([0, 2], 2), g: arr([1], 1) }, [0.12265356]),
  ];
  return cases;
}

function oneHotAndBSpline(): ConformanceCase[] {
  const I = (k: number) => range(4, (l) => (l === k ? 1 : 0));
  const ts = [0.5, 1.5, 2.25, 3.9, 4.0];
  const knots = arr([0, 1, 2, 3, 4], 5);
  const bs = (order: number, v: number[][]): ConformanceCase => ({
    name: `§7.3 case 21: BSpline order ${order}`,
    source: `knots = Pm(0, 5)\nt = Vi(1, 1)\nk = Sum_Reduction(BSpline(knots, t, ${order}), 0)`,
    args: { knots, t: arr(ts.slice(0, v.length), v.length, 1) },
    expected: { values: { data: v.flat(), shape: [v.length, 4 - order] } },
  });
  return [
    {
      name: '§7.3 case 15: OneHot(x, 4) rounds half up',
      source: 'x = Vi(0, 1)\nk = Sum_Reduction(OneHot(x, 4), 0)',
      args: { x: arr([0, 1.49, 1.5, 2.6, 3], 5, 1) },
      expected: { values: { data: [0, 1, 2, 3, 3].flatMap(I), shape: [5, 4] } },
    },
    bs(0, [I(0), I(1), I(2), I(3), [0, 0, 0, 0]]),
    bs(1, [[0.5, 0, 0], [0.5, 0.5, 0], [0, 0.75, 0.25], [0, 0, 0.1], [0, 0, 0]]),
    bs(2, [[0.125, 0], [0.75, 0.125], [0.28125, 0.6875], [0, 0.005]]),
  ];
}

/** The §3.2 worked example: x_i = i (M = 6), y_j = 10 j (N = 5), keep = [[1,0],[1,1]]. */
function rangesCases(): ConformanceCase[] {
  const args = { x: arr(range(6), 6, 1), y: arr(range(5, (j) => 10 * j), 5, 1) };
  const R = {
    ranges_i: iarr([0, 2, 2, 4], 2, 2),
    slices_i: iarr([1, 3], 2),
    redranges_j: iarr([0, 2, 0, 2, 2, 5], 3, 2),
    ranges_j: iarr([0, 2, 2, 5], 2, 2),
    slices_j: iarr([2, 3], 2),
    redranges_i: iarr([0, 2, 2, 4, 2, 4], 3, 2),
  };
  const decl = 'x = Vi(0, 1)\ny = Vj(1, 1)\n';
  const c = (name: string, red: string, expected: ConformanceCase['expected'], ranges = R): ConformanceCase => ({ name, source: `${decl}k = ${red}`, args, ranges, expected });
  const inf = Infinity;
  const empty = {
    ranges_i: iarr([0, 2, 2, 4], 2, 2), slices_i: iarr([1, 1], 2), redranges_j: iarr([0, 2], 1, 2),
    ranges_j: iarr([0, 2, 2, 4], 2, 2), slices_j: iarr([1, 1], 2), redranges_i: iarr([0, 2], 1, 2),
  };
  const dup = {
    ranges_i: iarr([0, 6], 1, 2), slices_i: iarr([2], 1), redranges_j: iarr([0, 2, 0, 2], 2, 2),
    ranges_j: iarr([0, 5], 1, 2), slices_j: iarr([1], 1), redranges_i: iarr([0, 6], 1, 2),
  };
  return [
    c('§7.3 case 30: ranges, Sum tag 0 (uncovered rows are 0)', 'Sum_Reduction(x + y, 0)', { values: { data: [10, 12, 110, 115, 0, 0], shape: [6, 1] } }),
    c('§7.3 case 30: ranges, Sum tag 1 (second triplet)', 'Sum_Reduction(x + y, 1)', { values: { data: [6, 46, 45, 65, 85], shape: [5, 1] } }),
    c('§7.3 case 31: ranges, Min', 'Min_Reduction(x + y, 0)', { values: { data: [0, 1, 2, 3, inf, inf], shape: [6, 1] } }),
    c('§7.3 case 31: ranges, Max', 'Max_Reduction(x + y, 0)', { values: { data: [10, 11, 42, 43, -inf, -inf], shape: [6, 1] } }),
    c('§7.3 case 31: ranges, ArgMin', 'ArgMin_Reduction(x + y, 0)', { indices: { data: [0, 0, 0, 0, 0, 0], shape: [6, 1] } }),
    c('§7.3 case 31: ranges, LogSumExp (−inf on uncovered rows)', 'LogSumExp_Reduction(x + y, 0)', { values: { data: [10.000045, 11.000045, 42.000045, 43.000045, -inf, -inf], shape: [6, 1] } }),
    c('§7.3 case 31: ranges, KMin K=2', 'KMin_Reduction(x + y, 2, 0)', { values: { data: [0, 10, 1, 11, 2, 12, 3, 13, inf, inf, inf, inf], shape: [6, 2] } }),
    c('§7.3 case 32: empty cluster, Sum', 'Sum_Reduction(x + y, 0)', { values: { data: [10, 12, 0, 0, 0, 0], shape: [6, 1] } }, empty),
    c('§7.3 case 32: empty cluster, ArgKMin K=2', 'ArgKMin_Reduction(x + y, 2, 0)', { indices: { data: [0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0], shape: [6, 2] } }, empty),
    c('§7.3 case 32: empty cluster, LogSumExp is −inf (our choice; KeOps gives NaN)', 'LogSumExp_Reduction(x + y, 0)', { values: { data: [10.000045, 11.000045, -inf, -inf, -inf, -inf], shape: [6, 1] } }, empty),
    c('§7.3 case 33: duplicate redranges are counted twice', 'Sum_Reduction(x + y, 0)', { values: { data: [20, 24, 28, 32, 36, 40], shape: [6, 1] } }, dup),
  ];
}

function transpose(): ConformanceCase {
  const M = 60, N = 90;
  const x = uniform(M * 3, 16), y = uniform(N * 3, 17), w = uniform(M, 18);
  return {
    name: '§7.3 case 39: transpose, Kᵀw equals the dense transpose product',
    source: 'x = Vi(0, 3)\ny = Vj(1, 3)\nw = Vi(2, 1)\nk = Sum_Reduction(Exp(-SqDist(x, y)) * w, 1)',
    args: { x: arr(x, M, 3), y: arr(y, N, 3), w: arr(w, M, 1) },
    expected: { values: { data: dense(N, M, 1, (j, i) => [Math.exp(-dist2(row(x, i, 3), row(y, j, 3))) * w[i]!]), shape: [N, 1] } },
  };
}

/** Every case, in §7.3 order. */
export const CONFORMANCE_CASES: ConformanceCase[] = [
  ...gauss(),
  ...generic(),
  install(),
  elemScalprod(),
  ...weighted(),
  ...ties(),
  knn(),
  vectorKMin(),
  ...scalarOps(),
  ...oneHotAndBSpline(),
  ...paramOps(),
  ...rangesCases(),
  transpose(),
];

/** The arguments of case `c` in `dtype` (float32: the float64 data rounded). */
export function caseArgs(c: ConformanceCase, dtype: 'float64' | 'float32'): Record<string, { data: Float32Array | Float64Array; shape: number[] }> {
  const cast = (a: Float64Array) => (dtype === 'float32' ? Float32Array.from(a) : a);
  return Object.fromEntries(Object.entries(c.args).map(([n, a]) => [n, { data: cast(a.data), shape: a.shape }]));
}

/**
 * Check one backend's result `r` of case `c` run in `dtype`: its outputs' shapes and array types, its
 * values against the expected ones, and (when given) every output against `ref`, the reference
 * evaluator's result on the same inputs.
 */
export function checkCase(c: ConformanceCase, dtype: 'float64' | 'float32', r: RunResult, ref?: RunResult): void {
  // goldens are given to 5-6 significant digits; dense references are exact in float64
  const golden = c.expected.values && c.expected.values.data.length < 20 && !(c.expected.values.data instanceof Float64Array);
  const rtol = dtype === 'float32' ? (c.rtol32 ?? 1e-5) : golden ? 1e-5 : 1e-12;
  const atol = dtype === 'float32' ? 1e-6 : golden ? 1e-6 : 1e-12;
  for (const key of ['values', 'indices'] as const) {
    const want = c.expected[key];
    if (!want) continue;
    const got = r[key];
    expect(got, `${key} output`).to.not.equal(undefined);
    expect(got!.shape).to.deep.equal(want.shape);
    if (key === 'indices') expect(got!.data).to.be.instanceOf(BigInt64Array);
    else expect(got!.data).to.be.instanceOf(dtype === 'float32' ? Float32Array : Float64Array);
    expectClose(got!.data, want.data, key === 'indices' ? 0 : rtol, key === 'indices' ? 0 : atol, key);
  }
  if (!ref) return;
  const f32 = dtype === 'float32';
  for (const o of ref.outputs) expectClose(r[o.name]!.data, Array.from(o.data as ArrayLike<number | bigint>, Number), f32 ? 1e-5 : 1e-12, f32 ? 1e-6 : 1e-12, `${o.name} vs ref`);
}
