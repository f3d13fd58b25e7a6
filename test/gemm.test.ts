import { expect } from 'chai';
import { compile } from '../src/index.js';
import { GEMM_CANCEL, GEMM_MIN_DIM, gemmProducts } from '../src/lower/gemm.js';
import type { CppCodeOptions } from '../src/targets/cpp.js';
import { cpuOrSkip } from './helpers/native.js';
import { expectClose, rng } from './helpers/data.js';

/**
 * GEMM-class products on the cpu backend (issue 19): scalar products and square distances of an i- and
 * a j-vector of GEMM_MIN_DIM or more components are computed as register-blocked matrix products, the
 * square distance as ‖x‖² + ‖y‖² − 2⟨x, y⟩. The tolerances follow from the error analysis of the
 * README's "Matrix products": each of ‖x‖², ‖y‖² and ⟨x, y⟩ is a sum of D terms (fused multiply-adds),
 * off by at most γ_D times the sum of the terms' magnitudes (γ_n = n·u / (1 − n·u), u the unit
 * roundoff), and two more roundings combine them, so |computed − exact| ≤ 2·γ_{D+2}·(‖x‖² + ‖y‖²);
 * pairs closer than (‖x‖² + ‖y‖²) / GEMM_CANCEL are recomputed in the direct form (error ≤ γ_D·d),
 * so the error is also at most 2·GEMM_CANCEL·γ_{D+2}·d.
 */
const DIMS = [64, 65, 300, 768];
const UNIT = { float32: 2 ** -24, float64: 2 ** -53 } as const;
type Dtype = keyof typeof UNIT;
const gamma = (n: number, u: number) => (n * u) / (1 - n * u);

const CODE: CppCodeOptions = { dtype: 'float32', sumScheme: 'block', accDtype: 'float32', fastMath: true };

/** M = 37 rows: blocks of 8 rows and single rows; N = 203: whole column blocks, a partial vector and a
 * skipped one at the end of the last tile. */
const M = 37;
const N = 203;

function kernel(D: number, reduction: string, tag = 0) {
  const k = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\nk = ${reduction.replaceAll('TAG', String(tag))}`);
  // the arrays of the arguments it has (b is one only where the formula uses it)
  const pick = (a: Data) => Object.fromEntries(Object.entries(a).filter(([n]) => k.args.some((x) => x.name === n)));
  return Object.assign(k, { pick });
}

/** Uniform data in [-1, 1) (or `offset` + scale·[-1, 1)), rounded to the dtype. */
function data(D: number, dtype: Dtype, seed: number, offset = 0, scale = 1) {
  const r = rng(seed);
  const make = (n: number) => {
    const a = Float64Array.from({ length: n }, () => offset + scale * (2 * r() - 1));
    return dtype === 'float32' ? Float32Array.from(a) : a;
  };
  return { x: { data: make(M * D), shape: [M, D] }, y: { data: make(N * D), shape: [N, D] }, b: { data: make(N), shape: [N, 1] } };
}

type Data = ReturnType<typeof data>;

/** Exact-enough (float64) square distances, norms and the error bound of the expanded form. */
function geometry(a: Data, D: number, dtype: Dtype) {
  const u = UNIT[dtype];
  const x = a.x.data, y = a.y.data;
  const nx = Array.from({ length: M }, (_, i) => { let s = 0; for (let k = 0; k < D; k++) s += x[i * D + k]! ** 2; return s; });
  const ny = Array.from({ length: N }, (_, j) => { let s = 0; for (let k = 0; k < D; k++) s += y[j * D + k]! ** 2; return s; });
  const d = (i: number, j: number) => { let s = 0; for (let k = 0; k < D; k++) s += (x[i * D + k]! - y[j * D + k]!) ** 2; return s; };
  // the expanded form's bound, plus the float64 reference's own error and the rounding of the output
  const bound = (i: number, j: number, dij: number) => 2 * gamma(D + 2, u) * Math.min(nx[i]! + ny[j]!, GEMM_CANCEL * dij) + gamma(D, 2 ** -53) * dij + u * dij;
  return { nx, ny, d, bound };
}

describe('GEMM-class products on the cpu backend (issue 19)', function () {
  this.timeout(600000);

  it('recognises square distances and scalar products of an i- and a j-vector of GEMM_MIN_DIM components or more', () => {
    const kinds = (f: string, D = 300, tag = 0) => gemmProducts(kernel(D, `Sum_Reduction(${f}, TAG)`, tag).plan).map((g) => `${g.kind} ${g.row.index}/${g.red.index} ${g.n}`);
    for (const f of ['SqDist(x, y)', 'SqDist(y, x)', 'Sum((x - y)**2)', 'Sum(Square(x - y))', '(x - y) | (x - y)', 'Norm2(x - y)', 'WeightedSqDist(b, x, y)']) expect(kinds(f), f).to.deep.equal(['sqdist 0/1 300']);
    for (const f of ['x | y', 'y | x', 'Sum(x * y)']) expect(kinds(f), f).to.deep.equal(['dot 0/1 300']);
    // over i (tag 1) the row side is y
    expect(kinds('SqDist(x, y)', 300, 1)).to.deep.equal(['sqdist 1/0 300']);
    // both, sharing one scalar product in the printed code
    expect(kinds('(x | y) - SqDist(y, x)')).to.deep.equal(['dot 0/1 300', 'sqdist 0/1 300']);
    // not products of an i- and a j-vector, or too short
    for (const f of ['SqDist(x, x * 2)', 'Sum(x * x) * b', 'SqDist(x * 2, y)', 'Sum(Square(x - y) * Exp(-Abs(x)))']) expect(kinds(f), f).to.deep.equal([]);
    expect(kinds('SqDist(x, y)', GEMM_MIN_DIM - 1)).to.deep.equal([]);
    expect(kinds('SqDist(x, y)', GEMM_MIN_DIM)).to.deep.equal([`sqdist 0/1 ${GEMM_MIN_DIM}`]);
  });

  it('prints matrix products unless `gemm: false`, and keys the printed source by the option', () => {
    const k = kernel(768, 'ArgKMin_Reduction(SqDist(x, y), 10, 0)');
    const on = k.cppSource(CODE);
    expect(on).to.contain('gemm_rows(').and.to.contain('k_fma(');
    expect(k.cppSource({ ...CODE, gemm: true })).to.equal(on);
    const off = k.cppSource({ ...CODE, gemm: false });
    expect(off).not.to.contain('gemm_rows(').and.not.to.contain('k_fma(');
    expect(kernel(GEMM_MIN_DIM - 1, 'ArgKMin_Reduction(SqDist(x, y), 10, 0)').cppSource(CODE)).not.to.contain('k_fma(');
  });

  describe('cpu backend', function () {
    if (!cpuOrSkip()) return;

    for (const dtype of ['float32', 'float64'] as const) {
      it(`${dtype}: Min of SqDist, ArgKMin (K = 10) and a Gaussian sum agree with the reference within the expanded form's bound at D = ${DIMS.join(', ')}`, () => {
        for (const D of DIMS) {
          const a = data(D, dtype, D);
          const g = geometry(a, D, dtype);
          const what = `${dtype} D=${D}`;
          // Min: each row's minimum within the bound of the pairs that can reach it
          const mk = kernel(D, 'Min_Reduction(SqDist(x, y), 0)');
          const min = mk.run(mk.pick(a), { backend: 'cpu' }).values!.data;
          for (let i = 0; i < M; i++) {
            let best = Infinity, tol = 0;
            for (let j = 0; j < N; j++) {
              const dij = g.d(i, j);
              best = Math.min(best, dij);
              tol = Math.max(tol, g.bound(i, j, dij));
            }
            expect(Math.abs(min[i]! - best), `${what} min row ${i}`).to.be.at.most(tol);
          }
          // ArgKMin: the reference's indices on every row whose 11 nearest are separated by more than
          // twice the bound (random data: most rows); at least half the rows must qualify
          const kk = kernel(D, 'ArgKMin_Reduction(SqDist(x, y), 10, 0)');
          const got = kk.run(kk.pick(a), { backend: 'cpu' }).indices!.data;
          const want = kk.run(kk.pick(a), { backend: 'ref' }).indices!.data;
          let separated = 0;
          for (let i = 0; i < M; i++) {
            const ds = Array.from({ length: N }, (_, j) => ({ j, d: g.d(i, j) })).sort((p, q) => p.d - q.d).slice(0, 11);
            const tol = Math.max(...ds.map((p) => g.bound(i, p.j, p.d)));
            if (ds.some((p, r) => r > 0 && p.d - ds[r - 1]!.d <= 2 * tol)) continue;
            separated++;
            expect(Array.from(got.slice(i * 10, i * 10 + 10), Number), `${what} argkmin row ${i}`).to.deep.equal(Array.from(want.slice(i * 10, i * 10 + 10), Number));
          }
          expect(separated, `${what}: rows with separated neighbours`).to.be.at.least(M / 2);
          // Gaussian: each term e^(-d/D) is off by its relative error |Δd|/D, plus the exp's and the
          // sum's roundings
          const gs = kernel(D, `Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * b, 0)`);
          const gv = gs.run(a, { backend: 'cpu' }).values!.data;
          const gw = gs.run(a, { backend: 'ref' }).values!.data;
          const u = UNIT[dtype];
          for (let i = 0; i < M; i++) {
            let tol = 0;
            for (let j = 0; j < N; j++) {
              const dij = g.d(i, j);
              tol += Math.abs(a.b.data[j]!) * Math.exp(-dij / D) * (g.bound(i, j, dij) / D + (N + 8) * u);
            }
            expect(Math.abs(gv[i]! - gw[i]!), `${what} gaussian row ${i}`).to.be.at.most(1.1 * tol);
          }
        }
      });
    }

    it('over i (tag 1), and scalar products: Max of x | y, SqDist ArgMin, within their bounds', () => {
      for (const dtype of ['float32', 'float64'] as const) {
        const D = 300;
        const a = data(D, dtype, 7);
        const g = geometry(a, D, dtype);
        const u = UNIT[dtype];
        // Max over i of ⟨x_i, y_j⟩: a sum of D products, within γ_D Σ|x_k y_k| ≤ γ_D (‖x‖² + ‖y‖²) / 2
        const k = kernel(D, 'Max_Reduction(x | y, 1)');
        const got = k.run(k.pick(a), { backend: 'cpu' }).values!.data;
        const want = k.run(k.pick(a), { backend: 'ref' }).values!.data;
        for (let j = 0; j < N; j++) {
          const tol = Math.max(...g.nx.map((nx) => gamma(D + 1, u) * (nx + g.ny[j]!))) + u * Math.abs(want[j]!);
          expect(Math.abs(got[j]! - want[j]!), `${dtype} x|y column ${j}`).to.be.at.most(tol);
        }
        // ArgMin over i: the row it picks is within twice the bound of the nearest one
        const am = kernel(D, 'ArgMin_Reduction(SqDist(x, y), 1)');
        const ig = am.run(am.pick(a), { backend: 'cpu' }).indices!.data;
        for (let j = 0; j < N; j++) {
          const ds = g.nx.map((_, i) => g.d(i, j));
          const best = Math.min(...ds);
          const tol = Math.max(...ds.map((d, i) => g.bound(i, j, d)));
          expect(ds[Number(ig[j])]! - best, `${dtype} argmin over i, column ${j}`).to.be.at.most(2 * tol);
        }
      }
    });

    it('block-sparse ranges: the tiles gather several intervals, the rows come by cluster', () => {
      const D = 65;
      const a = data(D, 'float64', 13);
      // rows [0, 20) against j in [0, 50) and [120, 203), rows [20, 37) against [30, 150)
      const ranges = [[0, 20, 20, 37], [2, 3], [0, 50, 120, 203, 30, 150], [0, N], [1], [0, M]];
      for (const f of ['ArgKMin_Reduction(SqDist(x, y), 10, 0)', `Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * b, 0)`]) {
        const k = kernel(D, f);
        const want = k.run(k.pick(a), { backend: 'ref', ranges });
        const got = k.run(k.pick(a), { backend: 'cpu', ranges });
        for (const o of want.outputs) expectClose(got[o.name]!.data, Array.from(o.data as ArrayLike<number | bigint>, Number), 1e-12, 1e-12, `${f} ${o.name}`);
      }
    });

    it('`gemm: false` keeps the direct loop; the default recomputes cancelling pairs with that loop', () => {
      const D = 300;
      const k = kernel(D, 'Min_Reduction(SqDist(x, y), 0)');
      const run = (a: Data, gemm?: boolean) => Array.from(k.run(k.pick(a), { backend: 'cpu', ...(gemm === undefined ? {} : { gemm }) }).values!.data);
      // within the direct form's bound γ_D·d (and the output's rounding) of the exact minimum
      const expectDirect = (a: Data, got: number[], what: string) => {
        const g = geometry(a, D, 'float32');
        for (let i = 0; i < M; i++) {
          let best = Infinity;
          for (let j = 0; j < N; j++) best = Math.min(best, g.d(i, j));
          expect(Math.abs(got[i]! - best), `${what} row ${i}`).to.be.at.most((gamma(D, UNIT.float32) + UNIT.float32) * best);
        }
      };
      // random data: nothing cancels; the default is the expanded form, which rounds otherwise
      const a = data(D, 'float32', 11);
      const direct = run(a, false);
      expectDirect(a, direct, 'gemm: false');
      expect(run(a).filter((v, i) => v !== direct[i]).length, 'rows where the expanded form rounds otherwise').to.be.above(0);
      // x, y = 100 + 0.01·[-1, 1): distances about 0.02 against norms of 3e6, where the expanded form
      // would lose every digit; every pair is below (‖x‖² + ‖y‖²) / GEMM_CANCEL and recomputed with the
      // direct loop: the same values as gemm: false, bit for bit
      const far = data(D, 'float32', 3, 100, 0.01);
      const farDirect = run(far, false);
      expectDirect(far, farDirect, 'far, gemm: false');
      expect(run(far)).to.deep.equal(farDirect);
      // and it is checked like every run option
      expect(() => k.run(k.pick(a), { backend: 'cpu', gemm: 'no' as never })).to.throw(/gemm/);
    });

    it('the gradient of a 768-dim Gaussian agrees with the reference (float64 and float32)', () => {
      const D = 768;
      const k = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\ne = Vi(3, 1)\ng = Sum_Reduction(Grad(Exp(-SqDist(x, y) / ${D}) * b, x, e), 0)`);
      expect(gemmProducts(k.plan).map((p) => p.kind)).to.deep.equal(['sqdist']);
      for (const dtype of ['float64', 'float32'] as const) {
        const r = rng(5);
        const make = (n: number) => {
          const v = Float64Array.from({ length: n }, () => 2 * r() - 1);
          return dtype === 'float32' ? Float32Array.from(v) : v;
        };
        const a = { x: { data: make(5 * D), shape: [5, D] }, y: { data: make(21 * D), shape: [21, D] }, b: { data: make(21), shape: [21, 1] }, e: { data: make(5), shape: [5, 1] } };
        const want = Array.from(k.run(a, { backend: 'ref' }).values!.data);
        const scale = Math.max(...want.map(Math.abs));
        expectClose(k.run(a, { backend: 'cpu' }).values!.data, want, 0, dtype === 'float64' ? 1e-12 * scale : 1e-5 * scale, `grad ${dtype}`);
      }
    });
  });
});
