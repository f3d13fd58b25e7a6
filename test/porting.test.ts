import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { BACKENDS, cat, compile, concatenate, cudaStatus, Genred, InputError, KernelSolve, LazyTensor, Pm, Vi, Vj, webgpuStatus, type KernelOutput } from '../src/index.js';
import { BACKEND_NAMES, SUM_SCHEME_NAMES } from '../src/api/options.js';
import { SUM_SCHEMES } from '../src/api/compile.js';

/**
 * Issue 17: a pykeops program ports line for line. Strict options with KeOps's spellings, KernelSolve's
 * pykeops convention, LazyTensors from shaped arrays, symbolic LazyTensors, the method surface, the
 * Factorize/AutoFactorize/Zero_Reduction ops, gradients of gradient kernels, and the two ported
 * tutorials. Values are checked against the float64 reference evaluator or plain loops.
 */

const num = (a: ArrayLike<number | bigint>): number[] => Array.from(a, Number);
function expectClose(got: ArrayLike<number | bigint>, want: ArrayLike<number | bigint>, tol = 1e-12): void {
  expect(got.length, 'length').to.equal(want.length);
  for (let k = 0; k < got.length; k++) {
    const g = Number(got[k]), w = Number(want[k]);
    if (Number.isNaN(w)) expect(Number.isNaN(g), `[${k}] NaN`).to.equal(true);
    else expect(Math.abs(g - w), `[${k}]: ${g} vs ${w}`).to.be.at.most(tol * Math.max(1, Math.abs(w)));
  }
}
/** A one-line InputError matching `re`. */
function expectInputError(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(InputError);
    expect((e as Error).message).to.match(re);
    expect((e as Error).message.split('\n')).to.have.length(1);
    return;
  }
  expect.fail(`should throw ${re}`);
}

/** Deterministic data in [-1, 1). */
const data = (n: number, s: number): Float64Array => Float64Array.from({ length: n }, (_, k) => Math.sin(12.9898 * (k + 1) * s) * 0.9);
const data32 = (n: number, s: number): Float32Array => Float32Array.from(data(n, s));
const M = 5, N = 7;
const xs = data(3 * M, 1), ys = data(3 * N, 2), bs = data(N, 3);
const cuda = cudaStatus().ok;

describe('strict options (one validation path, KeOps spellings)', () => {
  const g = Genred('Exp(-SqDist(x, y)) * b', ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)'], { axis: 1 });
  const x32 = data32(3 * M, 1), y32 = data32(3 * 400, 2), b32 = data32(400, 3);

  it("knows the kernel's backends and sum schemes (the lists agree)", () => {
    expect([...BACKEND_NAMES]).to.deep.equal([...BACKENDS]);
    expect([...SUM_SCHEME_NAMES]).to.deep.equal([...SUM_SCHEMES]);
  });

  it('an unknown key names the nearest known one, at every entry point', () => {
    expectInputError(() => g(xs, ys, bs, { sumSchme: 'kahan' } as never), /Genred call: unknown option 'sumSchme'; did you mean 'sumScheme'\?/);
    expectInputError(() => Genred('x', ['x = Vi(1)'], { redution: 'Min' } as never), /Genred: unknown option 'redution'; did you mean 'reduction'\?/);
    expectInputError(() => Vi(xs, 3).sum(1, { bakend: 'js' } as never), /LazyTensor Sum reduction: unknown option 'bakend'; did you mean 'backend'\?/);
    expectInputError(() => Vi(xs, 3).sqdist(Vj(ys, 3)).neg().exp().solve(bs, { alpah: 1 } as never), /unknown option 'alpah'; did you mean 'alpha'\?/);
    expectInputError(() => KernelSolve('x', ['x = Vi(1)'], 'x', { axsi: 1 } as never), /KernelSolve: unknown option 'axsi'; did you mean 'axis'\?/);
    const k = compile('Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)', ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)']);
    expectInputError(() => k.grad('x').run({ x: xs, y: ys, b: bs, e: data(M, 4) }, { thread: 2 } as never), /gradient kernel run: unknown option 'thread'; did you mean 'threads'\?/);
    expectInputError(() => k.solve('b', { x: xs, y: xs }, data(M, 4), { maxiter: 3 } as never), /solve: unknown option 'maxiter'; did you mean 'maxIter'\?/);
  });

  it("KeOps's dtype_acc, use_double_acc and sum_scheme have KeOps's meaning", () => {
    const run = (o: object) => num(g(x32, y32, b32, { backend: 'js', ...o } as never).data as Float32Array);
    expect(run({ dtype_acc: 'float64' })).to.deep.equal(run({ dtypeAcc: 'float64' }));
    expect(run({ use_double_acc: true })).to.deep.equal(run({ dtypeAcc: 'float64' }));
    expect(run({ use_double_acc: false })).to.deep.equal(run({}));
    expect(run({ sum_scheme: 'kahan_scheme' })).to.deep.equal(run({ sumScheme: 'kahan' }));
    expect(run({ sum_scheme: 'direct_sum' })).to.deep.equal(run({ sumScheme: 'direct' }));
    expect(run({ sum_scheme: 'block_sum' })).to.deep.equal(run({ sumScheme: 'block' }));
    // the float64 accumulator is closer to the float64 reference than plain float32 sums
    const ref = num(g(Float64Array.from(x32), Float64Array.from(y32), Float64Array.from(b32), { backend: 'ref' }).data as Float64Array);
    const err = (v: number[]) => Math.max(...v.map((a, k) => Math.abs(a - ref[k]!)));
    expect(err(run({ use_double_acc: true }))).to.be.at.most(err(run({ sum_scheme: 'direct_sum' })));
    expectInputError(() => run({ dtype_acc: 'float64', use_double_acc: true }), /dtype_acc and use_double_acc set the same option \(dtypeAcc\)/);
    expectInputError(() => run({ sum_scheme: 'kahan' }), /sum_scheme must be one of 'auto', 'block_sum', 'kahan_scheme', 'direct_sum'/);
    expectInputError(() => run({ use_fast_math: 'yes' }), /use_fast_math must be true or false, got the string "yes"/);
    expect(run({ use_fast_math: false })).to.deep.equal(run({ fastMath: false }));
  });

  it("KeOps's backends: 'CPU' is cpu, the GPU forms are cuda (a clear error without one)", () => {
    expect(num(g(xs, ys, bs, { backend: 'CPU' } as never).data)).to.deep.equal(num(g(xs, ys, bs, { backend: 'cpu' }).data));
    if (cuda) {
      for (const b of ['GPU', 'GPU_1D', 'GPU_2D', 'GPU_2D_host']) expectClose(g(xs, ys, bs, { backend: b } as never).data, g(xs, ys, bs, { backend: 'ref' }).data, 1e-10);
      expectClose(g(xs, ys, bs, { backend: 'GPU', device_id: -1 } as never).data, g(xs, ys, bs, { backend: 'ref' }).data, 1e-10);
    } else {
      for (const b of ['GPU', 'GPU_1D', 'GPU_2D', 'GPU_1D_host']) expectInputError(() => g(xs, ys, bs, { backend: b } as never), new RegExp(`backend '${b}' \\(KeOps\\) is keopsc's 'cuda' backend, which is unavailable here: .*use 'CPU'`));
    }
    expectInputError(() => g(xs, ys, bs, { backend: 'GPU_2D_device' } as never), /'GPU_2D_device' means arrays already on the GPU/);
    expectInputError(() => g(xs, ys, bs, { backend: 'TPU' } as never), /unknown backend 'TPU'; use one of 'ref', 'js', 'cpu', 'cuda', 'webgpu', 'auto'/);
  });

  it("a LazyTensor's backend attribute takes KeOps's names too, checked like an option", () => {
    const K = Vi(xs, 3).sqdist(Vj(ys, 3));
    const want = num(K.sum(1, { backend: 'cpu' }).data);
    K.backend = 'CPU';
    expect(num(K.sum(1).data)).to.deep.equal(want);
    K.backend = 'GPU_1D_device' as never;
    expectInputError(() => K.sum(1), /LazyTensor Sum reduction \(the LazyTensor's ranges and backend\): backend 'GPU_1D_device' means arrays already on the GPU/);
  });

  it('options with no equivalent are refused with the reason, never dropped', () => {
    expectInputError(() => g(xs, ys, bs, { enable_chunks: true } as never), /option enable_chunks is not supported: KeOps's chunked GPU mode/);
    expectInputError(() => g(xs, ys, bs, { optional_flags: ['-O2'] } as never), /option optional_flags is not supported: it passes raw compiler flags/);
    expectInputError(() => Genred('x', ['x = Vi(1)'], { dtype: 'float32' } as never), /option dtype is not supported: the dtype follows the input arrays/);
    if (!cuda) expectInputError(() => g(xs, ys, bs, { device_id: 0 } as never), /option device_id is not supported: device_id selects a CUDA device, and the cuda backend is unavailable here/);
  });

  it('null, wrong types and out-of-range values give one-line errors', () => {
    expectInputError(() => g(xs, ys, bs, { ranges: null } as never), /ranges is null; leave the option out for its default/);
    expectInputError(() => g(xs, ys, bs, { threads: 1e9 }), /threads must be a positive integer \(at most 1024\), got number 1000000000/);
    expectInputError(() => g(xs, ys, bs, { threads: 1.5 }), /threads must be a positive integer \(at most 1024\)/);
    expectInputError(() => Vi(xs, 3).sum(1, 'js' as never), /run options must be an object such as \{ backend: 'cpu' \}, got the string "js"; write \{ backend: 'js' \}/);
    expectInputError(() => Vi(xs, 3).sum(1, null as never), /run options must be an object .*got null/);
    expectInputError(() => g(xs, ys, bs, { out: [1, 2] } as never), /out must be a Float32Array or Float64Array, got an array/);
  });
});

describe('KernelSolve: pykeops default axis 0 and call convention', () => {
  const pts = data(2 * 6, 5);
  const dense = (alpha: number, b: Float64Array) => {
    // (alpha I + K) a = b with K_ij = exp(-|p_i - p_j|^2) (symmetric, so both axes give the same system)
    const n = b.length;
    const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.exp(-((pts[2 * i]! - pts[2 * j]!) ** 2 + (pts[2 * i + 1]! - pts[2 * j + 1]!) ** 2)) + (i === j ? alpha : 0)));
    const x = Array.from(b);
    // Gaussian elimination
    for (let c = 0; c < n; c++) {
      for (let r = c + 1; r < n; r++) {
        const f = A[r]![c]! / A[c]![c]!;
        for (let k = c; k < n; k++) A[r]![k]! -= f * A[c]![k]!;
        x[r]! -= f * x[c]!;
      }
    }
    for (let r = n - 1; r >= 0; r--) {
      let s = x[r]!;
      for (let k = r + 1; k < n; k++) s -= A[r]![k]! * x[k]!;
      x[r] = s / A[r]![r]!;
    }
    return x;
  };
  const b = data(6, 6);

  it("defaults to axis 0 (reduce over i) and takes b in the variable's slot", () => {
    // axis 0: the output is indexed by j, so the unknown a is a j-variable ... of the transposed system
    const Kinv = KernelSolve('Exp(-SqDist(x, y)) * a', ['x = Vi(2)', 'y = Vj(2)', 'a = Vi(1)'], 'a');
    const r = Kinv(pts, pts, b, { alpha: 0.5, eps: 1e-12 });
    expectClose(r.data, dense(0.5, b), 1e-8);
    // with M != N the system is not square: a clear error
    expectInputError(() => KernelSolve('Exp(-SqDist(x, y)) * a', ['x = Vi(2)', 'y = Vj(2)', 'a = Vi(1)'], 'a')(pts, data(2 * 3, 1), b, { alpha: 0.5 }), /system must be square/);
  });

  it("pykeops's documented example (axis 1), in both call forms, agrees with a dense solve", () => {
    const Kinv = KernelSolve('Exp(-SqDist(x, y)) * a', ['x = Vi(2)', 'y = Vj(2)', 'a = Vj(1)'], 'a', { axis: 1 });
    const r1 = Kinv(pts, pts, b, { alpha: 0.5, eps: 1e-12 });
    const r2 = Kinv([pts, pts], b, { alpha: 0.5, eps: 1e-12 });
    expectClose(r1.data, dense(0.5, b), 1e-8);
    expect(num(r2.data)).to.deep.equal(num(r1.data));
    expectInputError(() => Kinv(pts, b, { alpha: 0.5 }), /KernelSolve: takes 3 arrays \(x = Vi\(2\), y = Vj\(2\), a = Vj\(1\); b in the slot of a\), got 2/);
    expectInputError(() => Kinv(pts, pts, b, { alpha: -1 }), /alpha must be a finite number >= 0/);
    expectInputError(() => Kinv(pts, pts, b, { varinvalias: 'a' } as never), /unknown option 'varinvalias'/);
  });
});

describe('LazyTensor from shaped arrays (pykeops rule)', () => {
  it('(M, 1, D) is Vi, (1, N, D) is Vj, (1, 1, D) and (D,) are Pm', () => {
    const p = Float64Array.of(0.5, -0.25, 2);
    const x = new LazyTensor({ data: xs, shape: [M, 1, 3] });
    const y = new LazyTensor({ data: ys, shape: [1, N, 3] });
    const q = new LazyTensor({ data: p, shape: [1, 1, 3] });
    const want = Vi(xs, 3).sub(Vj(ys, 3)).mul(Pm(p)).sqnorm2().neg().exp().matvec(bs, { backend: 'ref' });
    const got = x.sub(y).mul(q).sqnorm2().neg().exp().matvec(bs, { backend: 'js' });
    expectClose(got.data, want.data);
    expect(x.shape).to.deep.equal([M, 1, 3]);
    expect(y._shape).to.deep.equal([1, N, 3]);
    expect(new LazyTensor(p).shape).to.deep.equal([1, 1, 3]);
    expect(new LazyTensor({ data: ys, shape: [N, 3] }, 1).N).to.equal(N);
    expect(new LazyTensor(2.5).formula).to.equal('2.5');
  });
  it('places batched arrays by their last three sizes: (B, M, 1, D), (B, 1, N, D), (B, 1, 1, D)', () => {
    const B = 2;
    const xb = new Float64Array(B * M * 3).map((_, i) => Math.sin(i) / 2);
    const yb = new Float64Array(B * N * 3).map((_, i) => Math.cos(i) / 2);
    const pb = new Float64Array([0.5, 1, 2, 1.5, 0.25, 1]);
    const x = new LazyTensor({ data: xb, shape: [B, M, 1, 3] });
    const y = new LazyTensor({ data: yb, shape: [B, 1, N, 3] });
    const q = new LazyTensor({ data: pb, shape: [B, 1, 1, 3] });
    const K = x.sub(y).mul(q).sqnorm2().neg().exp();
    expect([K.nbatchdims, ...K._shape]).to.deep.equal([1, B, M, N, 1]);
    const got = K.sum(1, { backend: 'js' });
    expect(got.shape).to.deep.equal([B, M, 1]);
    for (let b = 0; b < B; b++) {
      const want = Vi(xb.subarray(b * M * 3, (b + 1) * M * 3), 3).sub(Vj(yb.subarray(b * N * 3, (b + 1) * N * 3), 3))
        .mul(Pm(pb.subarray(b * 3, b * 3 + 3))).sqnorm2().neg().exp().sum(1, { backend: 'ref' });
      expectClose(got.data.subarray(b * M, (b + 1) * M), want.data);
    }
  });
  it('refuses the shapes that place nothing', () => {
    expectInputError(() => new LazyTensor({ data: new Float64Array(12), shape: [2, 2, 3] }), /shape \(2, 2, 3\) is neither \(M, 1, D\).*\(1, 1, D\)/);
    expectInputError(() => new LazyTensor({ data: new Float64Array(24), shape: [2, 2, 2, 3] }), /neither \(M, 1, D\)/);
    expectInputError(() => new LazyTensor({ data: ys, shape: [N, 3] }), /a 2-D array of shape \(7, 3\) needs axis 0 \(an i-variable\) or 1/);
    expectInputError(() => new LazyTensor({ data: xs, shape: [M, 1, 3] }, 0), /places itself \(pykeops's rule\); leave axis out/);
  });
});

describe('symbolic LazyTensors: Vi(0, 3), Vj(1, 3), Pm(2, 1), called later', function () {
  this.timeout(120000);
  const x = Vi(0, 3), y = Vj(1, 3), b = Vj(2, 1);
  const gamma = x.sub(y).sqnorm2().neg().exp().mul(b).sum_reduction(1);

  it('a reduction of them is callable with arrays in index order (pykeops K(x, y, b))', () => {
    expect(gamma.nargs).to.equal(3);
    expect(gamma.args).to.deep.equal(['Vi(0, 3)', 'Vj(1, 3)', 'Vj(2, 1)']);
    const want = Genred('Exp(-SqNorm2(x - y)) * b', ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)'], { axis: 1, backend: 'ref' })(xs, ys, bs) as KernelOutput;
    expectClose(gamma({ data: xs, shape: [M, 3] }, { data: ys, shape: [N, 3] }, bs, { backend: 'js' }).data, want.data);
    expectClose(gamma(xs, ys, bs).data, want.data, 1e-12);
  });
  it('mixes with array leaves and parameters, and every reduction is callable', () => {
    const s = Pm(1, 1);
    const K = x.sub(Vj(ys, 3)).sqnorm2().mul(s);
    const f = K.min_argmin_reduction(1);
    const [vals, inds] = ((r) => [r.values, r.indices])(f(xs, Float64Array.of(2)));
    const ref = compile('Min_ArgMin_Reduction(SqNorm2(x - y) * s, 0)', ['x = Vi(3)', 'y = Vj(3)', 's = Pm(1)']).run([xs, ys, Float64Array.of(2)], { backend: 'ref' });
    expectClose(vals.data, ref.values!.data);
    expect(num(inds.data)).to.deep.equal(num(ref.indices!.data));
    expect(x.sub(y).sqnorm2().argKmin_reduction(2, 0)(xs, ys).shape).to.deep.equal([N, 2]);
  });
  it('says what is wrong with a call or a numbering', () => {
    expectInputError(() => gamma(xs, ys), /takes 3 arrays \(Vi\(0, 3\), Vj\(1, 3\), Vj\(2, 1\), in index order\), got 2/);
    expectInputError(() => gamma(xs, ys, bs, { bogus: 1 } as never), /unknown option 'bogus'/);
    expectInputError(() => Vi(0, 3).sub(Vj(2, 3)).sqnorm2().sum(1), /symbolic variables use indices 0, 2, so index 1 has no variable/);
    expectInputError(() => Vi(0, 3).sub(Vj(0, 3)).sqnorm2().sum(1), /symbolic variable 0 is used as both Vi\(0, 3\) and Vj\(0, 3\)/);
    expectInputError(() => Vi(-1, 3), /index must be a non-negative integer/);
  });
  it('returns a Promise on webgpu', async function () {
    const st = await webgpuStatus();
    if (!st.ok) this.skip();
    const f32 = (a: Float64Array) => Float32Array.from(a);
    const r = gamma(f32(xs), f32(ys), f32(bs), { backend: 'webgpu' });
    expect(r).to.be.instanceOf(Promise);
    const want = gamma(xs, ys, bs, { backend: 'ref' });
    expectClose((await r).data, want.data, 1e-5);
  });
});

describe('LazyTensor methods and aliases against the reference evaluator', function () {
  this.timeout(120000); // one kernel compiled per method
  const x = Vi(xs, 3), y = Vj(ys, 3);
  /** A LazyTensor reduction (js backend) against a formula string run by the reference evaluator. */
  const same = (lt: LazyTensor, formula: string, aliases = ['x = Vi(3)', 'y = Vj(3)'], arrays: Float64Array[] = [xs, ys]) => {
    const got = lt.sum(1, { backend: 'js' });
    const want = compile(`Sum_Reduction(${formula}, 0)`, aliases).run(arrays, { backend: 'ref' });
    expectClose(got.data, want.values!.data, 1e-12);
  };
  it('norm, concatenate/cat, the *_reduction aliases, ndim/nbatchdims/shape', () => {
    same(x.sub(y).norm(-1), 'Norm2(x - y)');
    same(concatenate([x, y, x]), 'Concat(Concat(x, y), x)');
    same(cat([x, y], -1), 'Concat(x, y)');
    same(x.concatenate(y), 'Concat(x, y)');
    expectInputError(() => x.norm(0), /norms over the last dimension only/);
    expectInputError(() => concatenate([x, y], 0), /last dimension only/);
    const K = x.sub(y).sqnorm2();
    for (const [alias, method] of [['min_reduction', 'min'], ['max_reduction', 'max'], ['argmin_reduction', 'argmin'], ['argmax_reduction', 'argmax'], ['sum_reduction', 'sum']] as const) {
      expect(num(K[alias](0, { backend: 'js' }).data), alias).to.deep.equal(num(K[method](0, { backend: 'js' }).data));
    }
    expect(num(K.Kmin_reduction(3, 1).data)).to.deep.equal(num(K.Kmin(3, 1).data));
    expect(num(K.Kmin_argKmin(3, 1).indices.data)).to.deep.equal(num(K.argKmin_reduction(3, 1).data));
    expect(num(K.max_argmax_reduction(1).values.data)).to.deep.equal(num(K.max_reduction(1).data));
    expect(num(K.neg().logsumexp_reduction(1).data)).to.deep.equal(num(K.neg().logsumexp(1).data));
    expectInputError(() => K.sum_reduction(-1 as never), /sum_reduction: axis must be 0 .* use sum\(-1\)/);
    expect([x.ndim, x.sub(y).sqnorm2().ndim, x.nbatchdims]).to.deep.equal([3, 1, 0]);
    expect(K.shape).to.deep.equal([M, N]);
    expect(x.sub(y).shape).to.deep.equal([M, N, 3]);
  });
  it('softdtw_sqdist, bspline, trace_operator, factorize, auto_factorize', () => {
    const g = Float64Array.of(0.7);
    same(x.softdtw_sqdist(y, Pm(g)), 'SoftDTW_SqDist(x, y, g)', ['x = Vi(3)', 'y = Vj(3)', 'g = Pm(1)'], [xs, ys, g]);
    const knots = Float64Array.of(-1, -0.5, 0, 0.25, 0.5, 1), t = data(M, 7);
    const got = Pm(knots).bspline(Vi(t, 1), 2).sum(1, { backend: 'js' });
    const want = compile('Sum_Reduction(BSpline(k, t, 2), 0)', ['k = Pm(6)', 't = Vi(1)']).run([knots, t], { backend: 'ref' });
    expectClose(got.data, want.values!.data);
    same(x.mul(y).trace_operator(x), 'TraceOperator(x * y, x)');
    same(x.sub(y).sqnorm2().neg().exp().mul(x.sub(y).sqnorm2()).factorize(x.sub(y).sqnorm2()), 'Exp(-SqNorm2(x - y)) * SqNorm2(x - y)');
    same(x.sub(y).sqnorm2().neg().exp().auto_factorize(), 'Exp(-SqNorm2(x - y))');
  });
  it('complex methods: real, imag, angle, conj, exp1j, real2complex, imag2complex', () => {
    const z = x.elem(0).add(y.elem(1)).exp1j(); // e^{i (x0 + y1)}, a complex scalar (dimension 2)
    const Z = 'ComplexExp1j(Elem(x, 0) + Elem(y, 1))';
    same(z, Z);
    same(z.real, `ComplexReal(${Z})`);
    same(z.imag, `ComplexImag(${Z})`);
    same(z.angle(), `ComplexAngle(${Z})`);
    same(z.conj(), `Conj(${Z})`);
    same(y.imag2complex().add(x.real2complex()), 'Imag2Complex(y) + Real2Complex(x)');
    // e^{i t}: real part cos t, imaginary part sin t, checked by hand for row 0
    const r = z.sum(1, { backend: 'js' });
    const t = [0, 1, 2, 3, 4, 5, 6].map((j) => xs[0]! + ys[3 * j + 1]!);
    expectClose([r.data[0]!, r.data[1]!], [t.reduce((a, v) => a + Math.cos(v), 0), t.reduce((a, v) => a + Math.sin(v), 0)], 1e-12);
  });
});

describe('Factorize, AutoFactorize and Zero_Reduction (KeOps ops)', () => {
  const aliases = ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)'];
  it('Factorize(f, g) and AutoFactorize(f) compute f on every backend', () => {
    const plain = compile('Sum_Reduction(Exp(-SqDist(x, y)) * SqDist(x, y) * b, 0)', aliases).run([xs, ys, bs], { backend: 'ref' });
    for (const text of ['Sum_Reduction(Factorize(Exp(-SqDist(x, y)) * SqDist(x, y) * b, SqDist(x, y)), 0)', 'Sum_Reduction(AutoFactorize(Exp(-SqDist(x, y)) * SqDist(x, y) * b), 0)']) {
      for (const backend of ['ref', 'js', 'cpu'] as const) expectClose(compile(text, aliases).run([xs, ys, bs], { backend }).values!.data, plain.values!.data, 1e-12);
    }
    expect(() => compile('Sum_Reduction(Factorize(x, y, b), 0)', aliases)).to.throw(/Factorize takes 2 arguments/);
  });
  it('Zero_Reduction(D, tag) fills zeros of the right shape on every backend', () => {
    const k = compile('Zero_Reduction(2, 1)', aliases);
    expect(k.outputShapes(M, N)[0]!.shape).to.deep.equal([N, 2]);
    for (const backend of ['ref', 'js', 'cpu'] as const) {
      const r = k.run([xs, ys, bs], { backend });
      expect(r.values!.shape).to.deep.equal([N, 2]);
      expect(num(r.values!.data)).to.deep.equal(new Array(2 * N).fill(0));
    }
    expect(() => compile('Zero_Reduction(0, 1)', aliases)).to.throw(/the dimension must be a positive integer/);
  });
});

describe('higher-order kernel gradients: GradientKernel.grad', () => {
  const k = compile('Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)']);
  const x = data(2 * M, 8), y = data(2 * N, 9), b = data(N, 10), e = data(M, 11), u = data(2 * M, 12), w = data(2 * N, 13);
  const g = k.grad('x');
  const gOf = (xx: Float64Array, yy: Float64Array) => g.run({ x: xx, y: yy, b, e }, { backend: 'ref' }).values!.data as Float64Array;
  const h = 1e-5;
  const shift = (a: Float64Array, d: Float64Array, t: number) => a.map((v, k2) => v + t * d[k2]!);

  it('the Hessian-vector product of ⟨e, a⟩ in x matches finite differences (cpu and js)', () => {
    const hvp = g.grad('x', 'u');
    expect(hvp.args.map((a) => a.name)).to.deep.equal(['x', 'y', 'b', 'e', 'u']);
    const fd = gOf(shift(x, u, h), y).map((v, k2) => (v - gOf(shift(x, u, -h), y)[k2]!) / (2 * h));
    for (const backend of ['js', 'cpu'] as const) expectClose(hvp.run({ x, y, b, e, u }, { backend }).values!.data, fd, 1e-7);
  });
  it('the mixed derivative in y (a reduction over the other axis) matches finite differences', () => {
    const mixed = g.grad('y'); // default name u
    const r = mixed.run({ x, y, b, e, u }, { backend: 'js' }).values!;
    expect(r.shape).to.deep.equal([N, 2]);
    const dot = (p: Float64Array, q: ArrayLike<number>) => p.reduce((s, v, k2) => s + v * Number(q[k2]), 0);
    const fd = (dot(u, gOf(x, shift(y, w, h))) - dot(u, gOf(x, shift(y, w, -h)))) / (2 * h);
    expect(Math.abs(dot(w, r.data as Float64Array) - fd)).to.be.below(1e-7);
  });
  it('third order: the gradient of a gradient of a gradient', () => {
    const t3 = g.grad('x', 'u').grad('x', 'v');
    const hv = (xx: Float64Array) => g.grad('x', 'u').run({ x: xx, y, b, e, u }, { backend: 'ref' }).values!.data as Float64Array;
    const fd = hv(shift(x, w.subarray(0, 2 * M), h)).map((v, k2) => (v - hv(shift(x, w.subarray(0, 2 * M), -h))[k2]!) / (2 * h));
    expectClose(t3.run({ x, y, b, e, u, v: w.subarray(0, 2 * M) }, { backend: 'js' }).values!.data, fd, 1e-6);
  });
  it('says where it stops', () => {
    const lse = compile('LogSumExp_Reduction(-SqDist(x, y), 0)', ['x = Vi(2)', 'y = Vj(2)']);
    expectInputError(() => lse.grad('x').grad('x'), /reads the forward log-sum-exp as an input, so it has no gradient here/);
    const kp = compile('Sum_Reduction(Exp(-SqDist(x, y) * p), 0)', ['x = Vi(2)', 'y = Vj(2)', 'p = Pm(1)']);
    expectInputError(() => kp.grad('p').grad('p').grad('p'), /a second derivative through a parameter's gradient; differentiate in another order/);
    expectInputError(() => kp.grad('p').grad('p').run({ x, y, p: Float64Array.of(1), e: data(M, 3), u: data(2, 4) }), /argument u has 2 values; it has the shape of the parameter's gradient, \(1,\)/);
  });
  it('second derivatives through a parameter: d²/dp², and both orders of the mixed x, p derivative', () => {
    const kp = compile('Sum_Reduction(Exp(-SqDist(x, y) * p), 0)', ['x = Vi(2)', 'y = Vj(2)', 'p = Pm(1)']);
    const ep = data(M, 3), p = 0.8;
    const gp = (pp: number, xx = x) => Number(kp.grad('p').run({ x: xx, y, p: Float64Array.of(pp), e: ep }, { backend: 'ref' }).values!.data[0]);
    const u = Float64Array.of(1.5);
    const d2 = kp.grad('p').grad('p', 'u').run({ x, y, p: Float64Array.of(p), e: ep, u }, { backend: 'js' }).values!;
    expect(d2.shape).to.deep.equal([1]);
    expect(Math.abs(Number(d2.data[0]) - (1.5 * (gp(p + h) - gp(p - h))) / (2 * h))).to.be.below(1e-7);
    // ∂⟨u, ∂/∂p⟩/∂x against finite differences in x along w, and the other order (x first, then p)
    const dir = data(2 * M, 14);
    const px = kp.grad('p').grad('x', 'u').run({ x, y, p: Float64Array.of(p), e: ep, u }, { backend: 'cpu' }).values!;
    expect(px.shape).to.deep.equal([M, 2]);
    const fd = (1.5 * (gp(p, shift(x, dir, h)) - gp(p, shift(x, dir, -h)))) / (2 * h);
    const along = Array.from(px.data as Float64Array).reduce((s2, v, k2) => s2 + v * dir[k2]!, 0);
    expect(Math.abs(along - fd)).to.be.below(1e-7);
    const xp = kp.grad('x').grad('p', 'u').run({ x, y, p: Float64Array.of(p), e: ep, u: dir }, { backend: 'js' }).values!;
    expect(Math.abs(1.5 * Number(xp.data[0]) - along)).to.be.below(1e-10);
  });
});

describe('the ported KeOps tutorials (examples/kmeans.ts, examples/knn.ts)', function () {
  this.timeout(300000);
  const root = resolve(import.meta.dirname, '..');
  const run = (file: string) => execFileSync(process.execPath, ['--import', 'tsx', file, '--backend', 'js'], { cwd: root, encoding: 'utf8', env: { ...process.env, KEOPSC_QUIET: '1' } });
  it('k-means: 10 iterations on 10 000 points, K = 50, equal to the plain loop', () => {
    const out = run('examples/kmeans.ts');
    expect(out).to.match(/K-means example with 10,000 points in dimension 2, K = 50:\nTiming for 10 iterations: [\d.]+s = 10 x [\d.]+s/);
    expect(out).to.contain('cluster sizes: min 62, max 300, empty 0');
    expect(out).to.contain('centroid 0 = (0.453514, 0.894019), centroid 49 = (0.349262, 0.410063)');
    expect(out).to.contain('plain loop: 10000 of 10000 labels agree, max centroid difference 0.00e+0');
  });
  it('K-NN classification of a 100 x 100 grid, equal to brute force', () => {
    const out = run('examples/knn.ts');
    expect(out).to.match(/3-NN classification of 10,000 grid points \(1,000 samples in dimension 2\) performed in [\d.]+s\./);
    expect(out).to.contain('class 1 on 5030 of 10000 grid points; 9446 agree with the true frontier (94.46%)');
    expect(out).to.contain('brute force: 10000 of 10000 grid labels agree');
  });
});
