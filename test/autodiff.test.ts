import { expect } from 'chai';
import { compile, KeopsError, InputError, KernelSolve } from '../src/index.js';
import { expectClose, normal, uniform } from './helpers/data.js';

/** keops-reference §7.3 cases 23–29 and 35, KernelSolve, and the simplifier's output on derivatives. */
const M = 12, N = 15, D = 3;
const x = normal(M * D, 1), y = normal(N * D, 2), b = normal(N, 3), e = normal(M, 4);
const row = (a: Float64Array, r: number, d = D) => Array.from({ length: d }, (_, k) => a[r * d + k]!);
const d2 = (i: number, j: number) => row(x, i).reduce((s, v, k) => s + (v - y[j * D + k]!) ** 2, 0);
const K = (i: number, j: number) => Math.exp(-d2(i, j));
const decl = `x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\n`;
const args = { x: { data: x, shape: [M, D] }, y: { data: y, shape: [N, D] }, b: { data: b, shape: [N, 1] } };

describe('autodiff in formulas (§7.3 cases 23–27)', () => {
  it('case 23: Grad with respect to an i-variable', () => {
    const k = compile(`${decl}e = Vi(3, 1)\ng = Sum_Reduction(Grad(Exp(-SqDist(x, y)) * b, x, e), 0)`);
    const want = new Float64Array(M * D);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let c = 0; c < D; c++) want[i * D + c]! += e[i]! * b[j]! * -2 * (x[i * D + c]! - y[j * D + c]!) * K(i, j);
    for (const backend of ['ref', 'js'] as const) expectClose(k.run({ ...args, e: { data: e, shape: [M, 1] } }, { backend }).values!.data, want, 1e-10, 1e-12);
  });

  it('case 24: Grad with respect to a j-variable, reduced over i', () => {
    const k = compile(`${decl}e = Vi(3, 1)\ng = Sum_Reduction(Grad(Exp(-SqDist(x, y)) * b, y, e), 1)`);
    const want = new Float64Array(N * D);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let c = 0; c < D; c++) want[j * D + c]! += e[i]! * b[j]! * 2 * (x[i * D + c]! - y[j * D + c]!) * K(i, j);
    expectClose(k.run({ ...args, e: { data: e, shape: [M, 1] } }).values!.data, want, 1e-10, 1e-12);
  });

  it('case 25: gradient with respect to a parameter', () => {
    const p = 0.7;
    const k = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\np = Pm(2, 1)\ne = Vi(3, 1)\ng = Sum_Reduction(Grad(Exp(-p * SqDist(x, y)), p, e), 0)`);
    const r = k.run({ x: args.x, y: args.y, p: Float64Array.of(p), e: { data: e, shape: [M, 1] } }).values!.data;
    let want = 0;
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) want += e[i]! * -d2(i, j) * Math.exp(-p * d2(i, j));
    expectClose([Array.from(r as Float64Array).reduce((s, v) => s + v, 0)], [want], 1e-10, 1e-12);
  });

  it('case 26: Laplacian, Divergence and Diff', () => {
    const u = normal(M * D, 6);
    const lap = compile(`${decl}k = Sum_Reduction(Laplacian(Exp(-SqDist(x, y)), x), 0)`);
    const div = compile(`${decl}k = Sum_Reduction(Divergence((x - y) * Exp(-SqDist(x, y)), x), 0)`);
    const dif = compile(`${decl}u = Vi(3, ${D})\nk = Sum_Reduction(Diff(Exp(-SqDist(x, y)), x, u), 0)`);
    const want = (f: (i: number, j: number) => number) => Float64Array.from({ length: M }, (_, i) => Array.from({ length: N }, (_, j) => f(i, j)).reduce((s, v) => s + v, 0));
    const xy = { x: args.x, y: args.y };
    expectClose(lap.run(xy).values!.data, want((i, j) => (4 * d2(i, j) - 2 * D) * K(i, j)), 1e-10, 1e-12);
    expectClose(div.run(xy).values!.data, want((i, j) => (D - 2 * d2(i, j)) * K(i, j)), 1e-10, 1e-12);
    const dot = (i: number, j: number) => row(x, i).reduce((s, v, c) => s + (v - y[j * D + c]!) * u[i * D + c]!, 0);
    expectClose(dif.run({ ...xy, u: { data: u, shape: [M, D] } }).values!.data, want((i, j) => -2 * dot(i, j) * K(i, j)), 1e-10, 1e-12);
  });

  it('case 26: the Laplacian of a Gaussian simplifies to a compact closed form', () => {
    const k = compile(`${decl}k = Sum_Reduction(Laplacian(Exp(-SqDist(x, y)), x), 0)`);
    const text = k.toString();
    // KeOps: (-6+4*Sum((x-y)**2))*Exp(-Sum((x-y)**2)); ours must stay as small
    const body = text.slice(text.lastIndexOf('k = Sum_Reduction('));
    expect(body.length, text).to.be.below(120);
  });

  it('case 27: Grad(Grad(x + y, x, e1), x, e2) is Zero at compile time', () => {
    const k = compile('x = Vi(0, 3)\nk = Sum_Reduction(Grad(Grad(x + Var(1, 3, 1), x, Var(2, 3, 0)), x, Var(3, 3, 0)), 0)');
    expect(k.ir.formula.op).to.equal('Zero');
    expect(k.plan.zero).to.equal(true);
  });

  it('Grad of a formula that does not depend on the variable is Zero', () => {
    expect(compile(`${decl}k = Sum_Reduction(Grad(Exp(y), x, Vj(5, 3)), 0)`).ir.formula.op).to.equal('Zero');
  });

  it('a non-differentiable op is a diagnostic at the op', () => {
    expect(() => compile(`s = Vi(0, 1)\nk = Pm(1, 5)\nr = Sum_Reduction(Grad(BSpline(k, s, 1), s, Vi(2, 3)), 0)`, { file: 'b.keo' })).to.throw(KeopsError, /b\.keo:3:\d+ - error KEO4002: BSpline is not differentiable/);
  });

  it('compile --emit ir shows the differentiated formula', () => {
    const stages: string[] = [];
    compile(`${decl}e = Vi(3, 1)\ng = Sum_Reduction(Grad(Exp(-SqDist(x, y)) * b, x, e), 0)`, { onPass: (s, kk) => stages.push(`${s}: ${kk.formula.op}`) });
    expect(stages).to.include('typecheck: Grad');
    expect(stages.find((s) => s.startsWith('autodiff'))).to.not.contain('Grad');
  });
});

describe('gradients of reductions through the API (kernel.grad)', () => {
  const gauss = compile(`${decl}a = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)`);

  it('w.r.t. an i-variable reduces over j, w.r.t. a j-variable over i, w.r.t. a parameter sums rows', () => {
    const gx = gauss.grad('x');
    expect(gx.args.map((a) => a.name)).to.deep.equal(['x', 'y', 'b', 'e']);
    const rx = gx.run({ ...args, e: { data: e, shape: [M, 1] } });
    expect(rx.values!.shape).to.deep.equal([M, D]);
    const wantX = new Float64Array(M * D);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let c = 0; c < D; c++) wantX[i * D + c]! += e[i]! * b[j]! * -2 * (x[i * D + c]! - y[j * D + c]!) * K(i, j);
    expectClose(rx.values!.data, wantX, 1e-10, 1e-12);
    const rb = gauss.grad('b').run({ ...args, e: { data: e, shape: [M, 1] } });
    expect(rb.values!.shape).to.deep.equal([N, 1]);
    expectClose(rb.values!.data, Float64Array.from({ length: N }, (_, j) => Array.from({ length: M }, (_, i) => e[i]! * K(i, j)).reduce((s, v) => s + v, 0)), 1e-10, 1e-12);
  });

  it('case 28: LogSumExp gradient (softmax weights, needs the forward result)', () => {
    const P = [0.3, -1.2], X = normal(M, 7), Y = normal(N, 8);
    const lse = compile('P = Pm(0, 2)\nX = Vi(1, 1)\nY = Vj(2, 1)\nk = LogSumExp_Reduction(Elem(P, 0) * X + Elem(P, 1) * Y, 0)');
    const a = { P: Float64Array.from(P), X: { data: X, shape: [M, 1] }, Y: { data: Y, shape: [N, 1] } };
    const ones = { data: new Float64Array(M).fill(1), shape: [M, 1] };
    expectClose(lse.grad('X').run({ ...a, e: ones }).values!.data, new Float64Array(M).fill(P[0]!), 1e-12, 1e-12);
    const f = (i: number, j: number) => P[0]! * X[i]! + P[1]! * Y[j]!;
    const wantY = new Float64Array(N);
    for (let i = 0; i < M; i++) {
      const z = Array.from({ length: N }, (_, j) => Math.exp(f(i, j)));
      const s = z.reduce((u, v) => u + v, 0);
      for (let j = 0; j < N; j++) wantY[j]! += (P[1]! * z[j]!) / s;
    }
    expectClose(lse.grad('Y').run({ ...a, e: ones }).values!.data, wantY, 1e-10, 1e-12);
    // and the parameter gradient: Σ_i Σ_j softmax_ij (X_i, Y_j)
    const gp = lse.grad('P').run({ ...a, e: ones }).values!;
    expect(gp.shape).to.deep.equal([2]);
    expectClose([gp.data[0]!], [X.reduce((s, v) => s + v, 0)], 1e-10, 1e-12);
  });

  it('SumSoftMaxWeight gradient matches finite differences', () => {
    const g = normal(N * 2, 9);
    const k = compile(`${decl}g = Vj(3, 2)\nk = SumSoftMaxWeight_Reduction(-SqDist(x, y), 0, g)`);
    const base = { x: args.x, y: args.y, g: { data: g, shape: [N, 2] } };
    const E = normal(M * 2, 10);
    const loss = (xx: Float64Array) => {
      const o = k.run({ ...base, x: { data: xx, shape: [M, D] } }).values!.data as Float64Array;
      return o.reduce((s, v, q) => s + v * E[q]!, 0);
    };
    const grad = k.grad('x').run({ ...base, e: { data: E, shape: [M, 2] } }).values!.data;
    const h = 1e-6;
    const fd = Float64Array.from(x, (_, q) => {
      const xp = x.slice(), xm = x.slice();
      xp[q]! += h;
      xm[q]! -= h;
      return (loss(xp) - loss(xm)) / (2 * h);
    });
    expectClose(grad, fd, 1e-5, 1e-7);
  });

  it('case 29: ∂L/∂b for L = Σ_i (Σ_j K_ij b_j)², and the derivative of ‖∂L/∂b‖²', () => {
    const a = gauss.run(args).values!.data as Float64Array;
    const gb = gauss.grad('b');
    const dLdb = gb.run({ ...args, e: { data: a.map((v) => 2 * v), shape: [M, 1] } }).values!.data as Float64Array;
    const Kd = Array.from({ length: M }, (_, i) => Array.from({ length: N }, (_, j) => K(i, j)));
    const KtKb = (v: Float64Array) => {
      const Kv = Kd.map((r) => r.reduce((s, kij, j) => s + kij * v[j]!, 0));
      return Float64Array.from({ length: N }, (_, j) => Kd.reduce((s, r, i) => s + r[j]! * Kv[i]!, 0));
    };
    expectClose(dLdb, KtKb(b).map((v) => 2 * v), 1e-10, 1e-12);
    // ‖∂L/∂b‖² = ‖2KᵀKb‖², whose gradient is 8 KᵀK KᵀK b: two forward and two gradient kernel runs
    const G = dLdb;
    const KG = gauss.run({ ...args, b: { data: G, shape: [N, 1] } }).values!.data as Float64Array;
    const second = gb.run({ ...args, e: { data: KG.map((v) => 4 * v), shape: [M, 1] } }).values!.data;
    expectClose(second, KtKb(KtKb(b)).map((v) => 8 * v), 1e-9, 1e-12);
  });

  it('case 35: gradient w.r.t. y through ranges equals the dense gradient with masked pairs removed', () => {
    const xs = Float64Array.from({ length: 6 }, (_, i) => i / 3), ys = Float64Array.from({ length: 5 }, (_, j) => j / 4), bs = uniform(5, 11);
    const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nb = Vj(2, 1)\na = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
    const ranges = { ranges_i: [0, 2, 2, 4], slices_i: [1, 3], redranges_j: [0, 2, 0, 2, 2, 5], ranges_j: [0, 2, 2, 5], slices_j: [2, 3], redranges_i: [0, 2, 2, 4, 2, 4] };
    const keep = (i: number, j: number) => (i < 2 ? j < 2 : i < 4);
    const E = uniform(6, 12);
    const r = k.grad('y').run({ x: xs, y: ys, b: bs, e: E }, { ranges });
    const want = Float64Array.from({ length: 5 }, (_, j) => {
      let s = 0;
      for (let i = 0; i < 6; i++) if (keep(i, j)) s += E[i]! * bs[j]! * 2 * (xs[i]! - ys[j]!) * Math.exp(-((xs[i]! - ys[j]!) ** 2));
      return s;
    });
    expectClose(r.values!.data, want, 1e-12, 1e-14);
  });

  it('Min/Max-type reductions have no gradient (as KeOps)', () => {
    const mn = compile(`${decl}m = Min_Reduction(SqDist(x, y), 0)`);
    expect(() => mn.grad('x')).to.throw(InputError, /Min_Reduction has no gradient/);
    expect(() => gauss.grad('z')).to.throw(InputError, /no argument named 'z'/);
  });
});

describe('KernelSolve', () => {
  it('matches a dense solve on M = N = 200', function () {
    this.timeout(60000);
    const n = 200;
    const pts = uniform(n * 2, 13);
    const rhs = normal(n, 14);
    const alpha = 0.5;
    const k = compile('x = Vi(0, 2)\ny = Vj(1, 2)\nv = Vj(2, 1)\nKv = Sum_Reduction(Exp(-SqDist(x, y) / 0.02) * v, 0)');
    const sol = k.solve('v', { x: { data: pts, shape: [n, 2] }, y: { data: pts, shape: [n, 2] } }, { data: rhs, shape: [n, 1] }, { alpha, eps: 1e-10 });
    // dense (alpha I + K) a = b by Gaussian elimination
    const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.exp(-(((pts[2 * i]! - pts[2 * j]!) ** 2 + (pts[2 * i + 1]! - pts[2 * j + 1]!) ** 2) / 0.02)) + (i === j ? alpha : 0)));
    const z = Array.from(rhs);
    for (let c = 0; c < n; c++) {
      for (let r = c + 1; r < n; r++) {
        const f = A[r]![c]! / A[c]![c]!;
        for (let q = c; q < n; q++) A[r]![q]! -= f * A[c]![q]!;
        z[r]! -= f * z[c]!;
      }
    }
    const want = new Float64Array(n);
    for (let r = n - 1; r >= 0; r--) want[r] = (z[r]! - A[r]!.slice(r + 1).reduce((s, v, q) => s + v * want[r + 1 + q]!, 0)) / A[r]![r]!;
    expect(sol.shape).to.deep.equal([n, 1]);
    expect(sol.iterations).to.be.above(0);
    expectClose(sol.data, want, 1e-7, 1e-8);
  });

  it('returns zero at once for b = 0, and reports non-convergence instead of hanging', () => {
    const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nv = Vj(2, 1)\nKv = Sum_Reduction(Exp(-SqDist(x, y)) * v, 0)');
    const p = { x: Float64Array.of(0, 1), y: Float64Array.of(0, 1) };
    expect(Array.from(k.solve('v', p, new Float64Array(2)).data)).to.deep.equal([0, 0]);
    expect(() => k.solve('v', p, Float64Array.of(1, 2), { maxIter: 1, eps: 1e-30 })).to.throw(InputError, /did not converge in 1 iterations/);
  });
});

describe('KernelSolve (pykeops spelling)', () => {
  it('solves with the other aliases given positionally, and rejects a bad variable name', () => {
    const pts = Float64Array.of(0, 0, 1, 0, 0, 1);
    const solve = KernelSolve('Exp(-SqDist(x, y)) * a', ['x = Vi(2)', 'y = Vj(2)', 'a = Vj(1)'], 'a', { axis: 1 });
    const b = Float64Array.of(1, 2, 3);
    const r = solve([pts, pts], b, { alpha: 0.5, eps: 1e-12 });
    // check (alpha I + K) a = b directly
    const K = (i: number, j: number) => Math.exp(-((pts[2 * i]! - pts[2 * j]!) ** 2 + (pts[2 * i + 1]! - pts[2 * j + 1]!) ** 2));
    const back = [0, 1, 2].map((i) => 0.5 * Number(r.data[i]) + [0, 1, 2].reduce((s, j) => s + K(i, j) * Number(r.data[j]), 0));
    expectClose(back, b, 1e-9, 1e-9);
    expect(() => KernelSolve('x', ['x = Vi(1)'], 'z')).to.throw(InputError, /'z' is not one of the aliases/);
  });
});
