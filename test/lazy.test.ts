import { expect } from 'chai';
import { KeopsError, InputError } from '../src/diagnostics/index.js';
import { Vi, Vj, Pm, LazyTensor, lazyCacheInfo, clearLazyCache } from '../src/api/lazy.js';
import { uniform, expectClose } from './helpers/data.js';

const M = 7;
const N = 5;
const D = 3;
const xs = uniform(M * D, 11);
const ys = uniform(N * D, 12);
const bs = uniform(N, 13);
const cs = uniform(M, 14);

const row = (a: Float64Array, k: number, d: number): number[] => Array.from(a.subarray(k * d, k * d + d));
const gauss = (i: number, j: number): number => Math.exp(-row(xs, i, D).reduce((s, v, k) => s + (v - ys[j * D + k]!) ** 2, 0));
const num = (a: ArrayLike<number | bigint>): number[] => Array.from(a, Number);

/** Σ_j f(i, j) (axis 1) as a flat (M·E) array. */
function sumOverJ(f: (i: number, j: number) => number[], E: number, m = M, n = N): number[] {
  const out = new Array<number>(m * E).fill(0);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      const v = f(i, j);
      for (let e = 0; e < E; e++) out[i * E + e]! += v[e]!;
    }
  return out;
}

const gaussLazy = (): LazyTensor => Vi(xs, D).sub(Vj(ys, D)).square().sum(-1).neg().exp();

describe('LazyTensor', () => {
  describe('Gaussian kernel', () => {
    it('K.matvec(b) and (K * b_j).sum(1) agree with a double loop', () => {
      const K = gaussLazy();
      expect(K.dim).to.equal(1);
      expect(K.shape).to.deep.equal([M, N]);
      expect(K._shape).to.deep.equal([M, N, 1]);
      const want = sumOverJ((i, j) => [gauss(i, j) * bs[j]!], 1);
      const mv = K.matvec(bs);
      expect(mv.shape).to.deep.equal([M]);
      expectClose(mv.data, want);
      const s = K.mul(Vj(bs, 1)).sum(1);
      expect(s.shape).to.deep.equal([M, 1]);
      expectClose(s.data, want);
      expect(mv.data).to.be.instanceOf(Float64Array);
    });

    it('matvec with a 2-D b (N, E) gives (M, E)', () => {
      const b2 = uniform(N * 2, 15);
      const r = gaussLazy().matvec({ data: b2, shape: [N, 2] });
      expect(r.shape).to.deep.equal([M, 2]);
      expectClose(r.data, sumOverJ((i, j) => [gauss(i, j) * b2[2 * j]!, gauss(i, j) * b2[2 * j + 1]!], 2));
    });

    it('t().matvec(c) and rmatvec(c) compute Σ_i K_ij c_i', () => {
      const K = gaussLazy();
      const want = new Array<number>(N).fill(0);
      for (let j = 0; j < N; j++) for (let i = 0; i < M; i++) want[j]! += gauss(i, j) * cs[i]!;
      expect(K.t().shape).to.deep.equal([N, M]);
      expectClose(K.t().matvec(cs).data, want);
      expectClose(K.rmatvec(cs).data, want);
      expectClose(K.T.matvec(cs).data, want);
    });

    it('sum over axis 0 reduces over i', () => {
      const r = gaussLazy().mul(Vi(cs, 1)).sum(0);
      expect(r.shape).to.deep.equal([N, 1]);
      const want = new Array<number>(N).fill(0);
      for (let j = 0; j < N; j++) for (let i = 0; i < M; i++) want[j]! += gauss(i, j) * cs[i]!;
      expectClose(r.data, want);
    });

    it('float32 inputs give float32 outputs', () => {
      const K = Vi(Float32Array.from(xs), D).sqdist(Vj(Float32Array.from(ys), D));
      const r = K.sum(1);
      expect(r.data).to.be.instanceOf(Float32Array);
    });
  });

  describe('log-sum-exp and softmax', () => {
    const f = (i: number, j: number): number => -0.5 * row(xs, i, D).reduce((s, v, k) => s + (v - ys[j * D + k]!) ** 2, 0);
    const F = (): LazyTensor => Vi(xs, D).sqdist(Vj(ys, D)).mul(-0.5);
    const w = uniform(N * 2, 21, 0.5, 2);

    it('logsumexp(1) without a weight', () => {
      const r = F().logsumexp(1);
      expect(r.shape).to.deep.equal([M, 1]);
      const want = Array.from({ length: M }, (_, i) => Math.log(Array.from({ length: N }, (_, j) => Math.exp(f(i, j))).reduce((a, b) => a + b)));
      expectClose(r.data, want);
    });

    it('logsumexp(1, weight) is LogSumExpWeight', () => {
      const wj = Vj({ data: w, shape: [N, 2] });
      const want = sumOverJ((i, j) => [Math.exp(f(i, j)) * w[2 * j]!, Math.exp(f(i, j)) * w[2 * j + 1]!], 2).map(Math.log);
      const r = F().logsumexp(1, wj);
      expect(r.shape).to.deep.equal([M, 2]);
      expectClose(r.data, want);
      expectClose(F().logsumexp(1, { weight: wj }).data, want);
    });

    it('logsumexp(0) reduces over i', () => {
      const r = F().logsumexp(0);
      expect(r.shape).to.deep.equal([N, 1]);
      const want = Array.from({ length: N }, (_, j) => Math.log(Array.from({ length: M }, (_, i) => Math.exp(f(i, j))).reduce((a, b) => a + b)));
      expectClose(r.data, want);
    });

    it('sumsoftmaxweight(weight, 1)', () => {
      const r = F().sumsoftmaxweight(Vj({ data: w, shape: [N, 2] }), 1);
      const num2 = sumOverJ((i, j) => [Math.exp(f(i, j)) * w[2 * j]!, Math.exp(f(i, j)) * w[2 * j + 1]!], 2);
      const den = sumOverJ((i, j) => [Math.exp(f(i, j))], 1);
      expect(r.shape).to.deep.equal([M, 2]);
      expectClose(
        r.data,
        num2.map((v, k) => v / den[Math.floor(k / 2)]!),
      );
    });
  });

  describe('min, argmin, Kmin, argKmin', () => {
    // f_j = |x_0 - y_j| = [3, 1, 2, 1, 5]
    const x = Vi(new Float64Array([0]), 1);
    const y = Vj(new Float64Array([3, 1, 2, 1, 5]), 1);
    const f = x.sub(y).abs();

    it('min / max and their indices (ties go to the smallest index)', () => {
      expect(num(f.min(1).data)).to.deep.equal([1]);
      expect(num(f.max(1).data)).to.deep.equal([5]);
      const am = f.argmin(1);
      expect(am.data).to.be.instanceOf(BigInt64Array);
      expect(num(am.data)).to.deep.equal([1]);
      expect(num(f.argmax(1).data)).to.deep.equal([4]);
      const ma = f.minArgmin(1);
      expect(num(ma.values.data)).to.deep.equal([1]);
      expect(num(ma.indices.data)).to.deep.equal([1]);
      const xa = f.maxArgmax(1);
      expect(num(xa.values.data)).to.deep.equal([5]);
      expect(num(xa.indices.data)).to.deep.equal([4]);
    });

    it('Kmin / argKmin / KminArgKmin, including K > N', () => {
      const k3 = f.Kmin(3, 1);
      expect(k3.shape).to.deep.equal([1, 3]);
      expect(num(k3.data)).to.deep.equal([1, 1, 2]);
      expect(num(f.argKmin(3, 1).data)).to.deep.equal([1, 3, 2]);
      const both = f.KminArgKmin(7, 1);
      expect(num(both.values.data)).to.deep.equal([1, 1, 2, 3, 5, Infinity, Infinity]);
      expect(num(both.indices.data)).to.deep.equal([1, 3, 2, 0, 4, 0, 0]);
    });

    it('axis 0 on the transpose gives the same values', () => {
      expect(num(f.t().min(0).data)).to.deep.equal([1]);
      expect(num(f.t().argKmin(3, 0).data)).to.deep.equal([1, 3, 2]);
    });

    it('axis -1 (or 2) gives the vector ops', () => {
      const v = Vi(new Float64Array([3, 1, 2, 0, 5, 4]), 3);
      expect(v.min(-1).formula).to.equal('Min(v0)');
      expect(v.max(2).formula).to.equal('Max(v0)');
      expect(v.argmin().formula).to.equal('ArgMin(v0)');
      expect(v.argmax(-1).formula).to.equal('ArgMax(v0)');
      expect(v.sum().formula).to.equal('Sum(v0)');
      expect(num(v.min(-1).sum(1).data)).to.deep.equal([1, 0]);
      expect(num(v.argmax(-1).sum(1).data)).to.deep.equal([0, 1]);
    });
  });

  describe('literals, parameters and arguments', () => {
    it('JS numbers are float literals, not arguments', () => {
      const x = Vi(xs, D);
      const h = x.mul(0.5);
      expect(h.nargs).to.equal(1);
      expect(h.formula).to.equal('(v0 * 0.5)');
      expectClose(h.sum(1).data, Array.from(xs, (v) => v * 0.5));
      const third = x.mul(1 / 3).add(-2.5);
      expect(third.formula).to.equal('((v0 * 0.3333333333333333) + (-2.5))');
      expectClose(third.sum(1).data, Array.from(xs, (v) => v * (1 / 3) - 2.5));
      expect(Pm(2).mul(x).nargs).to.equal(1);
      expect(Pm(2).formula).to.equal('2.0');
    });

    it('Pm arrays are parameters', () => {
      const p = new Float64Array([0.25, -1, 2]);
      const r = Vi(xs, D).sub(Pm(p)).sqnorm2().sum(1);
      const want = Array.from({ length: M }, (_, i) => row(xs, i, D).reduce((s, v, k) => s + (v - p[k]!) ** 2, 0));
      expectClose(r.data, want);
      expect(Pm({ data: p, shape: [3] }).aliases).to.deep.equal(['v0 = Pm(3)']);
    });

    it('the same array in the same role is one argument; Vi and Vj of one array are two', () => {
      expect(Vi(xs, D).mul(Vi(xs, D)).nargs).to.equal(1);
      expect(Vi(xs, D).sub(Vj(xs, D)).aliases).to.deep.equal(['v0 = Vi(3)', 'v1 = Vj(3)']);
      const r = Vi(xs, D).sqdist(Vj(xs, D)).sum(1);
      expect(r.shape).to.deep.equal([M, 1]);
    });

    it('compiled kernels are cached per formula text and reduction', () => {
      clearLazyCache();
      Vi(xs, D).sqdist(Vj(ys, D)).sum(1);
      Vi(uniform(M * D, 99), D).sqdist(Vj(ys, D)).sum(1);
      Vi(xs, D).sqdist(Vj(ys, D)).sum(0);
      expect(lazyCacheInfo()).to.deep.equal({ size: 2, hits: 1, misses: 2 });
    });
  });

  describe('element-wise and vector methods', () => {
    const m = 4;
    const n = 3;
    const xa = uniform(m * 3, 31, 0.1, 0.9);
    const ya = uniform(n * 3, 32, 0.1, 0.9);
    const X = (): LazyTensor => Vi(xa, 3);
    const Y = (): LazyTensor => Vj(ya, 3);
    const xv = (i: number): number[] => row(xa, i, 3);
    const yv = (j: number): number[] => row(ya, j, 3);
    const ew = (f: (a: number, b: number) => number) => (i: number, j: number) => xv(i).map((a, k) => f(a, yv(j)[k]!));
    const sinxdivx = (t: number): number => (t === 0 ? 1 : Math.sin(t) / t);
    // a formula without j-variables has N = 1 (as in KeOps): those cases are marked iOnly
    const cases: [string, () => LazyTensor, (i: number, j: number) => number[], number, ('iOnly' | undefined)?][] = [
      ['add', () => X().add(Y()), ew((a, b) => a + b), 3],
      ['sub', () => X().sub(Y()), ew((a, b) => a - b), 3],
      ['mul', () => X().mul(Y()), ew((a, b) => a * b), 3],
      ['div', () => X().div(Y()), ew((a, b) => a / b), 3],
      ['neg', () => X().neg().add(Y()), ew((a, b) => -a + b), 3],
      ['abs', () => X().sub(Y()).abs(), ew((a, b) => Math.abs(a - b)), 3],
      ['exp', () => X().sub(Y()).exp(), ew((a, b) => Math.exp(a - b)), 3],
      ['log', () => X().add(Y()).log(), ew((a, b) => Math.log(a + b)), 3],
      ['xlogx', () => X().mul(Y()).xlogx(), ew((a, b) => a * b * Math.log(a * b)), 3],
      ['cos/sin', () => X().cos().mul(Y().sin()), ew((a, b) => Math.cos(a) * Math.sin(b)), 3],
      ['sinxdivx', () => X().sub(Y()).sinxdivx(), ew((a, b) => sinxdivx(a - b)), 3],
      ['sinc', () => X().sub(Y()).sinc(), ew((a, b) => sinxdivx(Math.PI * (a - b))), 3],
      ['asin/acos/atan', () => X().asin().add(Y().acos()).add(X().mul(Y()).atan()), ew((a, b) => Math.asin(a) + Math.acos(b) + Math.atan(a * b)), 3],
      ['atan2', () => X().sub(0.5).atan2(Y().sub(0.5)), ew((a, b) => Math.atan2(a - 0.5, b - 0.5)), 3],
      ['sqrt/rsqrt', () => X().sqrt().add(Y().rsqrt()), ew((a, b) => Math.sqrt(a) + 1 / Math.sqrt(b)), 3],
      ['power 2', () => X().sub(Y()).power(2), ew((a, b) => (a - b) ** 2), 3],
      ['power 0.5', () => X().add(Y()).power(0.5), ew((a, b) => Math.sqrt(a + b)), 3],
      ['power -0.5', () => X().add(Y()).power(-0.5), ew((a, b) => 1 / Math.sqrt(a + b)), 3],
      ['power 3', () => X().sub(Y()).power(3), ew((a, b) => (a - b) ** 3), 3],
      ['power 1.5', () => X().add(Y()).power(1.5), ew((a, b) => (a + b) ** 1.5), 3],
      ['power lazy', () => X().power(Y()), ew((a, b) => a ** b), 3],
      ['square', () => X().sub(Y()).square(), ew((a, b) => (a - b) ** 2), 3],
      ['sign/step/relu', () => X().sub(Y()).sign().add(X().sub(Y()).step()).add(Y().sub(X()).relu()), ew((a, b) => Math.sign(a - b) + (a - b >= 0 ? 1 : 0) + Math.max(b - a, 0)), 3],
      ['clamp', () => X().sub(Y()).clamp(-0.2, 0.3), ew((a, b) => Math.min(Math.max(a - b, -0.2), 0.3)), 3],
      ['clamp lazy', () => X().clamp(Y().sub(0.3), Y()), ew((a, b) => Math.min(Math.max(a, b - 0.3), b)), 3],
      ['clamp int', () => X().sub(Y()).mul(4).clamp(-1, 1), ew((a, b) => Math.min(Math.max(4 * (a - b), -1), 1)), 3],
      ['ifelse', () => X().sub(Y()).ifelse(X(), Y().mul(2)), ew((a, b) => (a - b >= 0 ? a : 2 * b)), 3],
      ['mod', () => X().mul(10).mod(0.7, 0.1), ew((a) => 10 * a - 0.7 * Math.floor((10 * a - 0.1) / 0.7)), 3, 'iOnly'],
      ['comparisons', () => X().lt(Y()).add(X().gt(Y()).mul(2)).add(X().le(Y()).mul(4)).add(X().ge(Y()).mul(8)).add(X().eq(X()).mul(16)).add(X().ne(Y()).mul(32)), ew((a, b) => +(a < b) + 2 * +(a > b) + 4 * +(a <= b) + 8 * +(a >= b) + 16 + 32 * +(a !== b)), 3],
      ['sqnorm2', () => X().sub(Y()).sqnorm2(), (i, j) => [xv(i).reduce((s, a, k) => s + (a - yv(j)[k]!) ** 2, 0)], 1],
      ['norm2', () => X().sub(Y()).norm2(), (i, j) => [Math.sqrt(xv(i).reduce((s, a, k) => s + (a - yv(j)[k]!) ** 2, 0))], 1],
      ['normalize', () => X().normalize(), (i) => { const nn = Math.hypot(...xv(i)); return xv(i).map((a) => a / nn); }, 3, 'iOnly'],
      ['sqdist', () => X().sqdist(Y()), (i, j) => [xv(i).reduce((s, a, k) => s + (a - yv(j)[k]!) ** 2, 0)], 1],
      ['weightedsqnorm scalar', () => X().weightedsqnorm(Y().elem(0)), (i, j) => [yv(j)[0]! * xv(i).reduce((s, a) => s + a * a, 0)], 1],
      ['weightedsqnorm diag', () => X().weightedsqnorm(Y()), (i, j) => [xv(i).reduce((s, a, k) => s + yv(j)[k]! * a * a, 0)], 1],
      ['weightedsqdist', () => X().weightedsqdist(Y(), Pm(new Float64Array([1, 2, 3]))), (i, j) => [xv(i).reduce((s, a, k) => s + (k + 1) * (a - yv(j)[k]!) ** 2, 0)], 1],
      ['elem/extract', () => X().elem(2).mul(Y().extract(1, 2)), (i, j) => [xv(i)[2]! * yv(j)[1]!, xv(i)[2]! * yv(j)[2]!], 2],
      ['concat', () => X().concat(Y().elem(0)), (i, j) => [...xv(i), yv(j)[0]!], 4],
      ['oneHot', () => X().elem(0).mul(2).oneHot(3), (i) => { const h = [0, 0, 0]; h[Math.round(2 * xv(i)[0]!)] = 1; return h; }, 3, 'iOnly'],
      ['tensorprod', () => X().tensorprod(Y()), (i, j) => xv(i).flatMap((a) => yv(j).map((b) => a * b)), 9],
      ['keopsKron', () => X().keopsKron(Y(), [3], [3]), (i, j) => xv(i).flatMap((a) => yv(j).map((b) => a * b)), 9],
      ['keopsTensordot', () => X().keopsTensordot(Y(), [3], [3], [0], [0]), (i, j) => [xv(i).reduce((s, a, k) => s + a * yv(j)[k]!, 0)], 1],
      ['round', () => X().mul(10).round(1), ew((a) => Math.round(a * 10 * 10) / 10), 3, 'iOnly'],
    ];
    for (const [name, build, f, E, iOnly] of cases) {
      it(name, () => {
        const r = build().sum(1);
        expect(r.shape).to.deep.equal([m, E]);
        expectClose(r.data, sumOverJ(f, E, m, iOnly ? 1 : n), 1e-12, 1e-12, name);
      });
    }

    it('maps methods to the KeOps ops', () => {
      const x = X();
      const y = Y();
      expect(x.power(2).formula).to.equal('Square(v0)');
      expect(x.power(0.5).formula).to.equal('Sqrt(v0)');
      expect(x.power(-0.5).formula).to.equal('Rsqrt(v0)');
      expect(x.power(-3).formula).to.equal('Pow(v0, -3)');
      expect(x.power(1.5).formula).to.equal('Powf(v0, 1.5)');
      expect(x.clamp(0, 1).formula).to.equal('ClampInt(v0, 0, 1)');
      expect(x.clamp(0.5, 1).formula).to.equal('Clamp(v0, 0.5, 1.0)');
      // variables are numbered in order of first appearance: here y is v0
      expect(x.gt(y).formula).to.equal('LessThan(v0, v1)');
      expect(x.gt(y).aliases).to.deep.equal(['v0 = Vj(3)', 'v1 = Vi(3)']);
      expect(x.ge(y).formula).to.equal('LessOrEqual(v0, v1)');
      expect(x.lt(y).aliases).to.deep.equal(['v0 = Vi(3)', 'v1 = Vj(3)']);
      expect(x.mod(2).formula).to.equal('Mod(v0, 2.0, 0.0)');
      expect(x.weightedsqnorm(y).formula).to.equal('WeightedSqNorm(v0, v1)');
      expect(x.weightedsqnorm(y).aliases).to.deep.equal(['v0 = Vj(3)', 'v1 = Vi(3)']);
      expect(x.matvecmult(y).formula).to.equal('MatVecMult(v0, v1)');
      expect(x.vecmatmult(y).formula).to.equal('VecMatMult(v0, v1)');
      expect(x.keopsTensordot(y, [3], [3], [0], [0], [0]).formula).to.equal('TensorDot(v0, v1, [3], [3], [0], [0], [0])');
      expect(x.neg().formula).to.equal('(-v0)');
    });
  });

  describe('ranges (keops-reference §3.2)', () => {
    const x = Vi(Float64Array.from([0, 1, 2, 3, 4, 5]), 1);
    const y = Vj(Float64Array.from([0, 10, 20, 30, 40]), 1);
    const R = [
      [[0, 2], [2, 4]].flat(),
      [1, 3],
      [[0, 2], [0, 2], [2, 5]].flat(),
      [[0, 2], [2, 5]].flat(),
      [2, 3],
      [[0, 2], [2, 4], [2, 4]].flat(),
    ];

    it('K.ranges is carried to the reductions, and through further operations', () => {
      const K = x.add(y);
      K.ranges = R;
      expect(num(K.sum(1).data)).to.deep.equal([10, 12, 110, 115, 0, 0]);
      expect(num(K.sum(0).data)).to.deep.equal([6, 46, 45, 65, 85]);
      expect(num(K.min(1).data)).to.deep.equal([0, 1, 2, 3, Infinity, Infinity]);
      expect(num(K.mul(1).sum(1).data)).to.deep.equal([10, 12, 110, 115, 0, 0]);
      expect(num(K.Kmin(2, 1).data)).to.deep.equal([0, 10, 1, 11, 2, 12, 3, 13, Infinity, Infinity, Infinity, Infinity]);
    });

    it('t() swaps the two triplets', () => {
      const K = x.add(y);
      K.ranges = R;
      expect(num(K.t().sum(1).data)).to.deep.equal([6, 46, 45, 65, 85]);
      expect(num(K.t().sum(0).data)).to.deep.equal([10, 12, 110, 115, 0, 0]);
      expect(num(K.t().t().sum(1).data)).to.deep.equal([10, 12, 110, 115, 0, 0]);
    });

    it('ranges given to the reduction override K.ranges; without ranges the reduction is dense', () => {
      const K = x.add(y);
      expect(num(K.sum(1, { ranges: R }).data)).to.deep.equal([10, 12, 110, 115, 0, 0]);
      expect(num(K.sum(1).data)).to.deep.equal(Array.from({ length: 6 }, (_, i) => 5 * i + 100));
    });
  });

  describe('run options', () => {
    it('are passed through to the kernel (backend, sumScheme, threads, ...)', () => {
      const K = gaussLazy();
      const want = K.matvec(bs, { backend: 'ref' }).data;
      expectClose(K.matvec(bs, { backend: 'js', sumScheme: 'kahan', threads: 1 }).data, num(want));
      expect(() => K.sum(1, { sumScheme: 'bogus' as 'kahan' })).to.throw(InputError, /sumScheme/);
      expect(() => K.min(1, { backend: 'nope' as 'ref' })).to.throw(InputError, /backend/);
    });
    it('K.backend is the default backend of its reductions and of what is built from it', () => {
      const K = gaussLazy();
      K.backend = 'nope' as 'ref';
      expect(() => K.sum(1)).to.throw(InputError, /unknown backend 'nope'/);
      expect(() => K.mul(2).t().sum(1)).to.throw(InputError, /unknown backend 'nope'/);
      expect(K.sum(1, { backend: 'ref' }).shape).to.deep.equal([M, 1]);
    });
  });

  describe('errors', () => {
    it('mixing dtypes is an InputError', () => {
      expect(() => Vi(xs, D).sub(Vj(Float32Array.from(ys), D))).to.throw(InputError, /dtypes/);
    });
    it('disagreeing sizes are an InputError', () => {
      expect(() => Vi(xs, D).sub(Vi(ys, D))).to.throw(InputError, /M/);
    });
    it('bad arrays are InputErrors', () => {
      expect(() => Vi(xs)).to.throw(InputError, /dimension/);
      expect(() => Vi(xs, 4)).to.throw(InputError, /multiple/);
      expect(() => Vi({ data: xs, shape: [M, 2] })).to.throw(InputError, /shape/);
      expect(() => Vi([1, 2, 3] as unknown as Float64Array, 1)).to.throw(InputError);
      expect(() => Pm({ data: xs, shape: [M, D] })).to.throw(InputError, /1-D/);
      expect(() => Vi(xs, D).add(NaN)).to.throw(InputError, /literal/);
      expect(() => Vi(xs, D).add(xs as unknown as LazyTensor)).to.throw(InputError, /Vi, Vj or Pm/);
    });
    // issue 16 item 3 and issue 17: Vi(index, dim) is a symbolic variable (pykeops's form, as in a formula),
    // Vi(data, dim) wraps data; a number without a dimension says which is which
    it('Vi(0, 3) is a symbolic variable; Vi(0) without a dimension is an InputError that points to both forms', () => {
      expect(Vi(0, 3).formula).to.equal('v0');
      expect(Vj(1, 3).sub(Vi(0, 3)).sqnorm2().sum_reduction(1).nargs).to.equal(2);
      expect(() => Vi(0 as unknown as Float64Array)).to.throw(InputError, /Vi\(0\): a symbolic variable needs its dimension, Vi\(index, dim\) .*; to wrap data, pass the array: Vi\(data, dim\)/);
      expect(() => Vj(1 as unknown as Float64Array)).to.throw(InputError, /Vj\(1\): a symbolic variable needs its dimension/);
    });
    it('type errors in formulas are KeopsErrors', () => {
      const bad = Vi(xs, D).add(Vj(new Float64Array(N * 2), 2));
      expect(() => bad.sum(1)).to.throw(KeopsError, /KEO3001/);
      expect(() => bad.dim).to.throw(KeopsError);
      try {
        bad.sum(1);
      } catch (e) {
        expect(e).not.to.be.instanceOf(InputError);
      }
    });
    it('bad axes, missing weights and non-scalar matvec are InputErrors', () => {
      const K = Vi(xs, D).sub(Vj(ys, D));
      expect(() => K.sum(3)).to.throw(InputError, /axis/);
      expect(() => K.Kmin(2, 2 as 0)).to.throw(InputError, /axis/);
      expect(() => K.Kmin(0, 1)).to.throw(InputError, /positive integer/);
      expect(() => K.matvec(bs)).to.throw(InputError, /scalar/);
      expect(() => K.sum(-1, {})).to.throw(InputError, /vector operation/);
      expect(() => K.elem(1.5)).to.throw(InputError, /integer/);
    });
  });
});
