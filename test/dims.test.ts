import { expect } from 'chai';
import { compile, WEBGPU_CONFIG, type RunResult } from '../src/index.js';
import { LOOP_MIN_TERMS } from '../src/ir/scalar.js';
import { JS_UNROLL_MAX } from '../src/targets/js.js';
import { printCuda } from '../src/targets/cuda.js';
import { printWgsl } from '../src/targets/wgsl.js';
import { cpuOrSkip } from './helpers/native.js';
import { webgpuOrSkip } from './helpers/webgpu.js';
import { expectClose, rng } from './helpers/data.js';
import { VECTOR_RESULTS } from './helpers/dims.js';

/**
 * High-dimensional vectors (issue 19): sums over LOOP_MIN_TERMS or more components lower to `loop`
 * statements and long vector results to component loops (printed as loops by the C++ and JS targets, so
 * their source size does not grow with D), and every backend agrees with the float64 reference at
 * dimensions below, at and across the loop thresholds (LOOP_MIN_TERMS, and JS_UNROLL_MAX = 64 for JS).
 */
const DIMS = [1, 3, LOOP_MIN_TERMS - 1, LOOP_MIN_TERMS, 64, 65, 300, 768];

const FORMULAS: Record<string, (D: number) => string> = {
  gaussian: (D) => `Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * b, 0)`,
  argkmin: () => 'ArgKMin_Reduction(SqDist(x, y), 10, 0)',
  // over i (tag 1): the row side is j; scalar product, a parameter vector, a norm
  scalprod: (D) => `Sum_Reduction(Exp(-Abs((x | y) - (p | y)) / ${D}) * Norm2(x - p), 1)`,
  // a loop whose body has non-trivial statements and an invariant factor
  weighted: (D) => `Max_Reduction(Sum(Square(x - y) * Exp(-Abs(x))) / ${D} + Sum(y * p), 0)`,
  lse: (D) => `LogSumExp_Reduction(-SqDist(x, y) / ${D} + (x | p), 0)`,
  // vector-valued results: one loop over the components of f (or of the weight g)
  ...VECTOR_RESULTS,
};

function kernel(D: number, name: string) {
  return compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\np = Pm(3, ${D})\nu = Vi(4, 3)\nv = Vj(5, 3)\nk = ${FORMULAS[name]!(D)}`);
}

const CPP = { dtype: 'float32', sumScheme: 'block', accDtype: 'float32', fastMath: true } as const;

function args(D: number, M: number, N: number, f32: boolean, seed: number, used: readonly { name: string }[]) {
  const r = rng(seed);
  const make = (n: number) => (f32 ? Float32Array.from({ length: n }, () => 2 * r() - 1) : Float64Array.from({ length: n }, () => 2 * r() - 1));
  const all = { x: { data: make(M * D), shape: [M, D] }, y: { data: make(N * D), shape: [N, D] }, b: { data: make(N), shape: [N, 1] }, p: { data: make(D), shape: [D] }, u: { data: make(M * 3), shape: [M, 3] }, v: { data: make(N * 3), shape: [N, 3] } };
  return Object.fromEntries(Object.entries(all).filter(([n]) => used.some((a) => a.name === n)));
}

/** Block-sparse ranges for 7 rows i and 37 rows j: two clusters on each side, with gaps (row 2 and rows
 * 10..14 of the reduction side are never visited from the first clusters). */
const RANGES = {
  ranges_i: Int32Array.of(0, 3, 3, 7),
  slices_i: Int32Array.of(1, 3),
  redranges_j: Int32Array.of(0, 10, 5, 20, 25, 37),
  ranges_j: Int32Array.of(0, 10, 10, 37),
  slices_j: Int32Array.of(1, 2),
  redranges_i: Int32Array.of(0, 2, 3, 7),
};

/** The gradient of a D-dim Gaussian with respect to x (a D-dim vector result), and data for it. */
function gaussianGrad(D: number) {
  const k = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\ne = Vi(3, 1)\ng = Sum_Reduction(Grad(Exp(-SqDist(x, y) / ${D}) * b, x, e), 0)`);
  const r = rng(5);
  const make = (n: number) => Float64Array.from({ length: n }, () => 2 * r() - 1);
  const a = { x: { data: make(5 * D), shape: [5, D] }, y: { data: make(21 * D), shape: [21, D] }, b: { data: make(21), shape: [21, 1] }, e: { data: make(5), shape: [5, 1] } };
  return { k, a };
}

function compare(ref: RunResult, mine: RunResult, tol: number, what: string, exactIndices: boolean): void {
  for (const o of ref.outputs) {
    const got = mine[o.name]!;
    expect(got.shape, what).to.deep.equal(o.shape);
    const want = Array.from(o.data as ArrayLike<number | bigint>, Number);
    if (o.name === 'indices') {
      if (exactIndices) expectClose(got.data, want, 0, 0, `${what} indices`);
    } else expectClose(got.data, want, tol, tol, `${what} ${o.name}`);
  }
}

describe('high-dimensional vectors: loops over components (issue 19)', function () {
  this.timeout(600000);

  it('lowers long component sums to one loop statement and keeps short ones unrolled', () => {
    for (const D of DIMS) {
      const plan = kernel(D, 'argkmin').plan;
      const loops = plan.stmts.inner.filter((n) => n.fn === 'loop');
      expect(loops.length, `D=${D}`).to.equal(D >= LOOP_MIN_TERMS ? 1 : 0);
      if (D >= LOOP_MIN_TERMS) {
        expect(loops[0]!.loop!.n).to.equal(D);
        expect(plan.loads.inner.length, 'no component is loaded one by one').to.equal(0);
      }
    }
  });

  it('prints C++ whose size does not grow with D beyond the loop threshold', () => {
    const size = (D: number) => kernel(D, 'argkmin').cppSource(CPP).length;
    const s768 = size(768), s4096 = size(4096);
    expect(s768).to.be.below(40000);
    expect(Math.abs(s4096 - s768)).to.be.below(200); // only the printed sizes differ
  });

  it('lowers long vector results to one component loop and keeps short ones unrolled', () => {
    for (const D of DIMS) {
      for (const [name, which] of [['vecsum', 'fLoop'], ['vecgauss', 'fLoop'], ['veckmin', 'fLoop'], ['veclse', 'gLoop']] as const) {
        const plan = kernel(D, name).plan;
        expect(!!plan[which], `${name} D=${D}`).to.equal(D >= LOOP_MIN_TERMS);
        if (D >= LOOP_MIN_TERMS) {
          expect(plan[which]!.n).to.equal(D);
          // nothing is computed per component outside the loop
          expect(plan.stmts.inner.length + plan.loads.inner.length, `${name} D=${D}: statements outside the loop`).to.be.below(40);
        }
      }
    }
  });

  // (bounds for 8-row blocks: each row of a block prints its own accumulator update, e.g. an ArgKMin insertion)
  it('prints JS whose size does not grow with D beyond JS_UNROLL_MAX (768 and 4096)', () => {
    for (const name of ['gaussian', 'argkmin', 'vecsum', 'vecgauss', 'veclse']) {
      const size = (D: number) => kernel(D, name).jsSource({ dtype: 'float32' }).length;
      const s768 = size(768), s4096 = size(4096);
      expect(s768, name).to.be.below(40000);
      expect(Math.abs(s4096 - s768), name).to.be.below(s768 / 20); // only the printed sizes differ
      expect(size(JS_UNROLL_MAX + 1), `${name}: a loop from JS_UNROLL_MAX + 1 on`).to.be.below(40000);
    }
  });

  it('prints C++ whose size does not grow with D for vector-valued results (768 and 4096)', () => {
    for (const name of ['vecsum', 'vecgauss', 'vecmax', 'veclse', 'vecsoftmax']) {
      const size = (D: number) => kernel(D, name).cppSource(CPP).length;
      const s768 = size(768), s4096 = size(4096);
      expect(s768, name).to.be.below(40000);
      expect(Math.abs(s4096 - s768), name).to.be.below(200);
    }
  });

  it('prints CUDA and WGSL whose size does not grow with D beyond the loop threshold', () => {
    for (const name of ['argkmin', 'gaussian', 'vecsum', 'vecgauss', 'vecmax', 'veclse', 'vecsoftmax']) {
      const cuda = (D: number) => printCuda(kernel(D, name).plan, { dtype: 'float32' }).source.length;
      const wgsl = (D: number) => printWgsl(kernel(D, name).plan).code.length;
      for (const [target, size] of [['cuda', cuda], ['wgsl', wgsl]] as const) {
        const s768 = size(768), s4096 = size(4096);
        expect(s768, `${name} ${target}`).to.be.below(16000); // 490-730 KB unrolled
        expect(Math.abs(s4096 - s768), `${name} ${target}`).to.be.below(200); // only the printed sizes differ
        expect(size(64), `${name} ${target}`).to.be.below(16000);
      }
    }
    // the row's own x_i, read by the loops: a private copy, whole (D = 64) or per chunk (D = 768)
    const c64 = printCuda(kernel(64, 'argkmin').plan, { dtype: 'float32' }).source;
    expect(c64).to.include('T xr0[64]; for (int u = 0; u < 64; u++) xr0[u] = a.in0[r * 64 + 0 + u];').and.to.include('const T t').and.to.match(/= xr0\[k\];/);
    const w768 = printWgsl(kernel(768, 'argkmin').plan).code;
    expect(w768).to.include('var xr0: array<f32, 32>;').and.to.match(/= xr0\[k - kc\];/);
  });

  for (const name of Object.keys(FORMULAS)) {
    it(`${name}: js (float64 and float32) and the reference agree at D = ${DIMS.join(', ')}`, () => {
      for (const D of DIMS) {
        const k = kernel(D, name);
        for (const f32 of [false, true]) {
          // 11 rows: a block of 8 rows (or blocks of 2, see blockRows in src/targets/js.ts) and single rows
          const a = args(D, 11, 37, f32, D, k.args);
          compare(k.run(a, { backend: 'ref' }), k.run(a, { backend: 'js' }), f32 ? 1e-5 : 1e-10, `${name} D=${D} f32=${f32}`, !f32);
        }
      }
    });
  }

  it('js: every sum scheme, and block-sparse ranges, agree with the reference across the loop thresholds', () => {
    for (const [name, D] of [['vecgauss', 65], ['vecgauss', 300], ['gaussian', 300], ['vecmax', 65], ['veclse', 65], ['scalprod', 300]] as const) {
      const k = kernel(D, name);
      for (const f32 of [false, true]) {
        const a = args(D, 7, 37, f32, D + 3, k.args);
        if (k.plan.reduction.family === 'sum') for (const sumScheme of ['block', 'kahan', 'direct'] as const) compare(k.run(a, { backend: 'ref' }), k.run(a, { backend: 'js', sumScheme }), f32 ? 1e-5 : 1e-10, `${name} D=${D} f32=${f32} ${sumScheme}`, !f32);
        compare(k.run(a, { backend: 'ref', ranges: RANGES }), k.run(a, { backend: 'js', ranges: RANGES }), f32 ? 1e-5 : 1e-10, `${name} D=${D} f32=${f32} ranges`, !f32);
      }
    }
  });

  it('js: the gradient of a 768-dim Gaussian agrees with the reference', () => {
    const { k, a } = gaussianGrad(768);
    compare(k.run(a, { backend: 'ref' }), k.run(a, { backend: 'js' }), 1e-10, 'grad js', true);
  });

  describe('cpu backend', function () {
    if (!cpuOrSkip()) return;
    for (const name of Object.keys(FORMULAS)) {
      it(`${name}: cpu (float64 and float32) and the reference agree at D = ${DIMS.join(', ')}`, () => {
        for (const D of DIMS) {
          const k = kernel(D, name);
          for (const f32 of [false, true]) {
            // 37 rows: whole vectors of lanes and a masked tail; 7 rows: blocks of 4 and single rows
            const a = args(D, 7, 37, f32, D + 1, k.args);
            compare(k.run(a, { backend: 'ref' }), k.run(a, { backend: 'cpu' }), f32 ? 1e-4 : 1e-10, `${name} D=${D} f32=${f32}`, !f32);
          }
        }
      });
    }

    it('every sum scheme, and block-sparse ranges, agree with the reference across the loop thresholds', () => {
      for (const [name, D] of [['vecgauss', 65], ['vecgauss', 300], ['vecmax', 65], ['veclse', 65]] as const) {
        const k = kernel(D, name);
        for (const f32 of [false, true]) {
          const a = args(D, 7, 37, f32, D + 4, k.args);
          if (k.plan.reduction.family === 'sum') for (const sumScheme of ['kahan', 'direct'] as const) compare(k.run(a, { backend: 'ref' }), k.run(a, { backend: 'cpu', sumScheme }), f32 ? 1e-4 : 1e-10, `${name} D=${D} f32=${f32} ${sumScheme}`, !f32);
          compare(k.run(a, { backend: 'ref', ranges: RANGES }), k.run(a, { backend: 'cpu', ranges: RANGES }), f32 ? 1e-4 : 1e-10, `${name} D=${D} f32=${f32} ranges`, !f32);
        }
      }
    });

    it('the gradient of a 768-dim Gaussian agrees with the reference', () => {
      const { k, a } = gaussianGrad(768);
      expect(k.plan.fLoop, 'the gradient is a vector result: one component loop').to.not.equal(undefined);
      compare(k.run(a, { backend: 'ref' }), k.run(a, { backend: 'cpu' }), 1e-10, 'grad cpu', true);
    });
  });

  describe('webgpu backend (float32)', function () {
    webgpuOrSkip({ tiles: 'on' });
    // D = 1, 3: unrolled; 64, 65: loops over the whole vectors staged in workgroup memory; 300, 768,
    // 4096: chunks of components staged in workgroup memory (16 KiB hold 32 x 32 components)
    const GPU_DIMS = [1, 3, 64, 65, 300, 768];
    for (const name of ['gaussian', 'argkmin', 'scalprod']) {
      it(`${name}: webgpu and the reference agree at D = ${GPU_DIMS.join(', ')}`, async () => {
        for (const D of GPU_DIMS) {
          const k = kernel(D, name);
          // 70 reduction indices: two full tiles of 32 and a partial one
          const a = args(D, 37, 70, true, D + 2, k.args);
          compare(k.run(a, { backend: 'ref' }), await k.run(a, { backend: 'webgpu' }), 1e-4, `${name} D=${D}`, false);
        }
      });
    }

    it('chunks with a reduction-side invariant factor in the loop, LogSumExp, Max_ArgMax (tag 1) and the kahan and direct sums agree with the reference at D = 300, 768', async () => {
      const cases: [string, (D: number) => string, object][] = [
        ['invariant factor', (D) => `Max_Reduction(Sum(Square(x - y) * Exp(-Abs(x) * b)) / ${D} + Sum(y * p), 0)`, {}],
        ['logsumexp', (D) => `LogSumExp_Reduction(-SqDist(x, y) / ${D}, 0)`, {}],
        ['max_argmax', () => 'Max_ArgMax_Reduction(-SqDist(x, y), 1)', {}],
        ['kahan', (D) => `Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * b, 0)`, { sumScheme: 'kahan' }],
        ['direct', (D) => `Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * b, 0)`, { sumScheme: 'direct' }],
      ];
      for (const D of [300, 768])
        for (const [what, f, opts] of cases) {
          const k = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\np = Pm(3, ${D})\nk = ${f(D)}`);
          expect(k.wgslSource().staging, what).to.equal('chunked');
          const a = args(D, 37, 70, true, D + 11, k.args);
          compare(k.run(a, { backend: 'ref' }), await k.run(a, { backend: 'webgpu', ...opts }), 1e-4, `${what} D=${D}`, what === 'max_argmax');
        }
    });

    it('vector-valued results (one loop over the components) agree with the reference at D = 3, 65, 300, with every sum scheme, both block-sparse entries and tiles off', async () => {
      // 70 reduction indices: two full tiles of 32 and a partial one; at D = 65 the reduction side is
      // staged whole (the loop reads the tile), at 300 it is not (the loop reads the storage buffer)
      for (const name of Object.keys(VECTOR_RESULTS))
        for (const D of [3, 65, 300]) {
          const k = kernel(D, name);
          if (D > 3) expect(k.plan.fLoop ?? k.plan.gLoop, `${name} D=${D}: a component loop`).to.not.equal(undefined);
          const a = args(D, 37, 70, true, D + 6, k.args);
          const ref = k.run(a, { backend: 'ref' });
          const exact = name === 'vecmax' || name === 'veckmin' || name === 'vecargmin';
          if (k.plan.reduction.family === 'sum') for (const sumScheme of ['block', 'kahan', 'direct'] as const) compare(ref, await k.run(a, { backend: 'webgpu', sumScheme }), 1e-4, `${name} D=${D} ${sumScheme}`, exact);
          else compare(ref, await k.run(a, { backend: 'webgpu' }), 1e-4, `${name} D=${D}`, exact);
        }
      const saved = { ...WEBGPU_CONFIG };
      try {
        for (const [name, D] of [['vecgauss', 65], ['veclse', 65], ['veckmin', 300], ['vecmax', 300], ['vecsoftmax', 65]] as const) {
          const k = kernel(D, name);
          const a = args(D, 7, 37, true, D + 8, k.args);
          const ref = k.run(a, { backend: 'ref', ranges: RANGES });
          for (const rangesScheme of ['blocks', 'rows'] as const) {
            Object.assign(WEBGPU_CONFIG, { rangesScheme, tiles: 'on' });
            compare(ref, await k.run(a, { backend: 'webgpu', ranges: RANGES }), 1e-4, `${name} D=${D} ranges ${rangesScheme}`, false);
          }
          Object.assign(WEBGPU_CONFIG, { rangesScheme: saved.rangesScheme, tiles: 'off' });
          compare(k.run(a, { backend: 'ref' }), await k.run(a, { backend: 'webgpu' }), 1e-4, `${name} D=${D} tiles off`, false);
        }
      } finally {
        Object.assign(WEBGPU_CONFIG, saved);
      }
    });

    it('ArgKMin at D = 4096 (chunks of components) agrees with the reference, block-sparse too', async () => {
      const D = 4096;
      const k = kernel(D, 'argkmin');
      const a = args(D, 9, 45, true, 3, k.args);
      const ranges = { ranges_i: [0, 4, 4, 9], slices_i: [1, 2], redranges_j: [0, 20, 12, 45], ranges_j: [0, 45], slices_j: [2], redranges_i: [0, 9, 0, 9] };
      for (const r of [undefined, ranges]) {
        const ref = k.run(a, { backend: 'ref', ...(r ? { ranges: r } : {}) });
        compare(ref, await k.run(a, { backend: 'webgpu', ...(r ? { ranges: r } : {}) }), 1e-4, `argkmin D=4096${r ? ' ranges' : ''}`, true);
      }
    });

    it(`the gradient of a Gaussian agrees with the reference at D = ${GPU_DIMS.join(', ')}`, async () => {
      for (const D of GPU_DIMS) {
        const k = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\ne = Vi(3, 1)\ng = Sum_Reduction(Grad(Exp(-SqDist(x, y) / ${D}) * b, x, e), 0)`);
        const r = rng(D + 5);
        const make = (n: number) => Float32Array.from({ length: n }, () => 2 * r() - 1);
        const a = { x: { data: make(5 * D), shape: [5, D] }, y: { data: make(40 * D), shape: [40, D] }, b: { data: make(40), shape: [40, 1] }, e: { data: make(5), shape: [5, 1] } };
        compare(k.run(a, { backend: 'ref' }), await k.run(a, { backend: 'webgpu' }), 1e-4, `grad D=${D}`, false);
      }
    });

    it('a reduction-side loop that needs another one (no chunks: storage-buffer reads), and tiles off, agree with the reference', async () => {
      const k = compile('x = Vi(0, 400)\ny = Vj(1, 400)\nk = Sum_Reduction(Sum(Exp(y * (x | y) / 400)), 0)');
      expect(k.wgslSource().staging).to.equal('direct');
      const a = args(400, 6, 40, true, 9, k.args);
      compare(k.run(a, { backend: 'ref' }), await k.run(a, { backend: 'webgpu' }), 1e-4, 'nested loops', false);
      const g = kernel(768, 'gaussian');
      expect(g.wgslSource({ tile: false }).staging).to.equal('direct');
      const saved = WEBGPU_CONFIG.tiles;
      WEBGPU_CONFIG.tiles = 'off';
      try {
        const b = args(768, 6, 40, true, 10, g.args);
        compare(g.run(b, { backend: 'ref' }), await g.run(b, { backend: 'webgpu' }), 1e-4, 'gaussian D=768 untiled', false);
      } finally {
        WEBGPU_CONFIG.tiles = saved;
      }
    });
  });
});
