import { expect } from 'chai';
import { compile, Genred, KernelSolve, printWgsl, releaseWebGpu, setGpuProvider, WEBGPU_CONFIG, webgpuStatus, InputError, Vi, Vj } from '../src/index.js';
import { webgpuBlockTable as blockTable, toHalfBits, webgpuStats } from '../runtime/webgpu/index.js';
import { nodeProvider } from '../runtime/webgpu/node.js';
import { webgpuOrSkip } from './helpers/webgpu.js';
import { matchSnapshot } from './helpers/snapshot.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.js';
import { loadNpy, saveNpy, ndarray } from '../runtime/npy/index.js';
import { expectClose, uniform } from './helpers/data.js';

const GAUSS = 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)';
const f32 = (n: number, seed: number) => Float32Array.from(uniform(n, seed));

describe('WGSL target (src/targets/wgsl.ts)', () => {
  it('prints one shader for every size: sizes and offsets are uniforms, the layout is documented', () => {
    const k = compile(GAUSS);
    const s = printWgsl(k.plan);
    expect(s.code).to.match(/@compute @workgroup_size\(WG\)\nfn dense\(/);
    expect(s.code).to.match(/fn ranges\(/);
    expect(s.code).to.match(/var<workgroup> sh: array<f32, 1024>;/); // y (3) and b (1) per row, 256 rows
    expect(s.code).to.include('// Bind group 0:');
    expect(s.params.slice(0, 3)).to.deep.equal(['M', 'N', 'g0']);
    expect(s.params.length % 4).to.equal(0);
    expect(s.inputs).to.deep.equal([
      { index: 0, dim: 3, rows: 'M' },
      { index: 1, dim: 3, rows: 'N' },
      { index: 2, dim: 1, rows: 'N' },
    ]);
    expect(s.code).to.not.match(/\b(1000|1500)\b/);
  });

  it('shrinks the workgroup to fit the tile in workgroup memory, stages chunks of components when 32 rows do not fit, and drops the tile when neither fits', () => {
    const wide = compile('x = Vi(0, 3)\ny = Vj(1, 100)\nk = Sum_Reduction(Sum(y) * x, 0)').plan;
    const a = printWgsl(wide, { workgroupSize: 256, maxWorkgroupStorage: 16384 });
    expect([a.workgroupSize, a.tiled, a.staging]).to.deep.equal([32, true, 'whole']);
    // the loop over y's components: 32 indices x 32 components per chunk, at 256 invocations
    const b = printWgsl(wide, { workgroupSize: 256, maxWorkgroupStorage: 8192 });
    expect([b.workgroupSize, b.tiled, b.staging, b.chunk]).to.deep.equal([256, true, 'chunked', { rows: 32, dims: 32 }]);
    expect(b.code).to.include('var<workgroup> sh: array<f32, 1024>;');
    // components read one by one (no loop) that do not fit: no tile
    const unrolled = compile('x = Vi(0, 3)\ny = Vj(1, 100)\nk = Sum_Reduction(Elem(y, 7) * x + Elem(y, 99), 0)').plan;
    const c = printWgsl(unrolled, { workgroupSize: 256, maxWorkgroupStorage: 8192 });
    expect([c.tiled, c.staging]).to.deep.equal([false, 'direct']);
    expect(c.code).to.not.include('var<workgroup>');
  });

  it('declares f16 storage only when asked', () => {
    const p = compile(GAUSS).plan;
    expect(printWgsl(p).code).to.not.include('enable f16');
    const h = printWgsl(p, { storage: 'float16' });
    expect(h.code).to.match(/^enable f16;$/m);
    expect(h.code).to.include('var<storage, read> inp: array<f16>');
    expect(h.elementBytes).to.equal(2);
  });

  it('matches the snapshot of a Gaussian Sum, an ArgKMin (tag 1) and a weighted LogSumExp (KEOPSC_BLESS=1 re-blesses)', () => {
    const D = 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\np = Pm(3, 1)\n';
    const cases = [
      ['gauss', 'Sum_Reduction(Exp(-SqDist(x, y) * p) * b, 0)'],
      ['argkmin', 'ArgKMin_Reduction(SqDist(x, y), 3, 1)'],
      ['lsew', 'LogSumExpWeight_Reduction(-SqDist(x, y), 0, Exp(b))'],
    ] as const;
    matchSnapshot('wgsl.snap.txt', cases.map(([n, t]) => `==== ${n}: ${t}\n${printWgsl(compile(`${D}${n} = ${t}`).plan).code}`).join('\n'));
  });
});

describe('WebGPU runtime helpers', () => {
  it('rounds float32 to half precision bits like IEEE (nearest even, subnormals, overflow)', () => {
    const xs = Float32Array.from([0, -0, 1, -2, 0.1, 65504, 65520, 1e6, 5.960464477539063e-8, 2.98e-8, 1 / 3, NaN, Infinity, -Infinity, 6.103515625e-5, 1.0009765625, 1.00048828125]);
    const want = [0x0000, 0x8000, 0x3c00, 0xc000, 0x2e66, 0x7bff, 0x7c00, 0x7c00, 0x0001, 0x0000, 0x3555, 0x7e00, 0x7c00, 0xfc00, 0x0400, 0x3c01, 0x3c00];
    expect(Array.from(toHalfBits(xs))).to.deep.equal(want);
  });

  it('makes a block table where the later cluster wins, uncovered rows get cluster -1, blocks have at most wg rows', () => {
    const ranges = {
      ranges_i: Int32Array.from([0, 5, 3, 6]),
      slices_i: Int32Array.from([1, 2]),
      redranges_j: Int32Array.from([0, 2, 1, 2]),
      ranges_j: Int32Array.from([0, 2]),
      slices_j: Int32Array.from([2]),
      redranges_i: Int32Array.from([0, 5, 3, 6]),
    };
    expect(Array.from(blockTable(ranges, 0, 9, 2))).to.deep.equal([0, 0, 2, 0, 2, 3, 1, 3, 5, 1, 5, 6, -1, 6, 8, -1, 8, 9]);
  });
});

describe('webgpu backend', function () {
  this.timeout(120_000);
  webgpuOrSkip();

  it('gives the same values with and without workgroup tiles', async () => {
    const k = compile(GAUSS);
    const M = 300, N = 700;
    const args = { x: f32(M * 3, 31), y: f32(N * 3, 32), b: f32(N, 33) };
    const on = await k.run(args, { backend: 'webgpu' });
    WEBGPU_CONFIG.tiles = 'off';
    try {
      const off = await k.run(args, { backend: 'webgpu' });
      expectClose(off.values!.data, Array.from(on.values!.data as Float32Array), 1e-6, 1e-7, 'untiled');
    } finally {
      WEBGPU_CONFIG.tiles = 'on';
    }
  });

  it('reports its adapter', async () => {
    const s = await webgpuStatus();
    expect(s.ok).to.equal(true);
    if (s.ok) {
      expect(s.adapter).to.be.a('string').and.not.equal('');
      expect(s.limits.maxComputeInvocationsPerWorkgroup).to.be.greaterThan(0);
    }
  });

  it('runs the Gaussian kernel sum and agrees with the reference; the second call reuses the pipeline', async () => {
    const k = compile(GAUSS);
    const M = 700, N = 900;
    const args = { x: f32(M * 3, 1), y: f32(N * 3, 2), b: f32(N, 3) };
    const before = { ...webgpuStats };
    const r = await k.run(args, { backend: 'webgpu' });
    const r2 = await k.run(args, { backend: 'webgpu' });
    expect(webgpuStats.pipelineHits).to.be.greaterThan(before.pipelineHits);
    expect(r.values!.data).to.be.instanceOf(Float32Array);
    expect(r.values!.shape).to.deep.equal([M, 1]);
    const ref = k.run(args, { backend: 'ref' });
    expectClose(r.values!.data, Array.from(ref.values!.data as Float64Array), 1e-5, 1e-5, 'values');
    expect(Array.from(r2.values!.data as Float32Array)).to.deep.equal(Array.from(r.values!.data as Float32Array));
  });

  it('splits large launches into several dispatches with the same result', async () => {
    const k = compile(GAUSS);
    const M = 3000, N = 50;
    const args = { x: f32(M * 3, 4), y: f32(N * 3, 5), b: f32(N, 6) };
    const whole = await k.run(args, { backend: 'webgpu' });
    // ranges: clusters of 100 rows (blocks of at most 100 rows each) over all of y
    const cl = Array.from({ length: 30 }, (_, c) => [c * 100, c * 100 + 100]).flat();
    const ranges = { ranges_i: Int32Array.from(cl), slices_i: Int32Array.from({ length: 30 }, (_, c) => c + 1), redranges_j: Int32Array.from(Array.from({ length: 30 }, () => [0, N]).flat()), ranges_j: Int32Array.from([0, N]), slices_j: Int32Array.from([1]), redranges_i: Int32Array.from([0, M]) };
    const saved = { ...WEBGPU_CONFIG };
    try {
      WEBGPU_CONFIG.rangesScheme = 'blocks';
      const wholeR = await k.run(args, { backend: 'webgpu', ranges });
      expectClose(wholeR.values!.data, Array.from(whole.values!.data as Float32Array), 1e-6, 1e-7, 'ranges = dense');
      WEBGPU_CONFIG.maxWorkgroupsPerDispatch = 3; // 12 workgroups of 256 rows (30 blocks under ranges): several dispatches
      const split = await k.run(args, { backend: 'webgpu' });
      expect(Array.from(split.values!.data as Float32Array)).to.deep.equal(Array.from(whole.values!.data as Float32Array));
      const splitR = await k.run(args, { backend: 'webgpu', ranges });
      expect(Array.from(splitR.values!.data as Float32Array)).to.deep.equal(Array.from(wholeR.values!.data as Float32Array));
    } finally {
      Object.assign(WEBGPU_CONFIG, saved);
    }
  });

  it('runs block-sparse ranges with per-cluster blocks and with per-row invocations, with the same values', async () => {
    const k = compile('x = Vi(0, 2)\ny = Vj(1, 2)\nb = Vj(2, 1)\nk = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
    const km = compile('x = Vi(0, 2)\ny = Vj(1, 2)\nk = Min_ArgMin_Reduction(SqDist(x, y), 1)');
    const M = 600, N = 500;
    const args = { x: f32(M * 2, 21), y: f32(N * 2, 22), b: f32(N, 23) };
    // clusters of 7 rows of x and 11 of y; every other cluster pair kept, some rows uncovered
    const cut = (n: number, w: number, end: number) => Array.from({ length: Math.ceil(end / w) }, (_, c) => [c * w, Math.min(end, c * w + w)]).slice(0, n);
    const ci = cut(80, 7, M - 30), cj = cut(50, 11, N - 20);
    const side = (rows: number[][], cols: number[][], keep: (a: number, b: number) => boolean) => {
      const red: number[] = [], slices: number[] = [];
      rows.forEach((_, a) => {
        cols.forEach((c, b) => keep(a, b) && red.push(...c));
        slices.push(red.length / 2);
      });
      return [Int32Array.from(rows.flat()), Int32Array.from(slices), Int32Array.from(red)] as const;
    };
    const keep = (a: number, b: number) => (a + b) % 2 === 0;
    const [ri, si, rj] = side(ci, cj, keep);
    const [rj2, sj, ri2] = side(cj, ci, (b, a) => keep(a, b));
    const ranges = { ranges_i: ri, slices_i: si, redranges_j: rj, ranges_j: rj2, slices_j: sj, redranges_i: ri2 };
    const saved = WEBGPU_CONFIG.rangesScheme;
    try {
      for (const kern of [k, km]) {
        const a = Object.fromEntries(kern.args.map((v) => [v.name, args[v.name as 'x' | 'y' | 'b']]));
        const ref = kern.run(a, { backend: 'ref', ranges });
        for (const scheme of ['blocks', 'rows', 'auto'] as const) {
          WEBGPU_CONFIG.rangesScheme = scheme;
          const r = await kern.run(a, { backend: 'webgpu', ranges });
          for (const o of ref.outputs) expectClose(r[o.name]!.data, Array.from(o.data as ArrayLike<number | bigint>, Number), 1e-5, 1e-6, `${kern.name} ${scheme} ${o.name}`);
        }
      }
    } finally {
      WEBGPU_CONFIG.rangesScheme = saved;
    }
  });

  it('runs kernels whose reduction-side inputs do not fit workgroup memory (a loop staged in chunks of components, a component read from the storage buffer)', async () => {
    const k = compile('x = Vi(0, 2)\ny = Vj(1, 300)\nk = Max_ArgMax_Reduction(Sum(y) * Elem(x, 0) - Elem(y, 7) * Elem(x, 1), 0)');
    const M = 40, N = 70;
    const args = { x: f32(M * 2, 7), y: f32(N * 300, 8) };
    const r = await k.run(args, { backend: 'webgpu' });
    const ref = k.run(args, { backend: 'ref' });
    expectClose(r.values!.data, Array.from(ref.values!.data as Float64Array), 1e-4, 1e-4, 'values');
    expect(Array.from(r.indices!.data as BigInt64Array, Number)).to.deep.equal(Array.from(ref.indices!.data as ArrayLike<number | bigint>, Number));
  });

  it('serialises concurrent runs of different kernels', async () => {
    const ks = [compile(GAUSS), compile('x = Vi(0, 3)\ny = Vj(1, 3)\nk = ArgKMin_Reduction(SqDist(x, y), 3, 0)'), compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\nk = LogSumExp_Reduction(-SqDist(x, y), 1)')];
    const M = 120, N = 200;
    const all = { x: f32(M * 3, 9), y: f32(N * 3, 10), b: f32(N, 11) };
    const pick = (k: (typeof ks)[number]) => Object.fromEntries(k.args.map((a) => [a.name, all[a.name as 'x' | 'y' | 'b']]));
    const rs = await Promise.all([...ks, ...ks].map((k) => k.run(pick(k), { backend: 'webgpu' })));
    rs.forEach((r, q) => {
      const ref = ks[q % 3]!.run(pick(ks[q % 3]!), { backend: 'ref' });
      const o = ref.outputs[0]!;
      expectClose(r.outputs[0]!.data, Array.from(o.data as ArrayLike<number | bigint>, Number), 1e-5, 1e-5, `run ${q}`);
    });
  });

  it('gets a new device after releaseWebGpu() (or a lost device) and runs again', async () => {
    const k = compile(GAUSS);
    const args = { x: f32(30, 51), y: f32(45, 52), b: f32(15, 53) };
    const a = await k.run(args, { backend: 'webgpu' });
    await releaseWebGpu();
    const b = await k.run(args, { backend: 'webgpu' });
    expect(Array.from(b.values!.data as Float32Array)).to.deep.equal(Array.from(a.values!.data as Float32Array));
  });

  it('fills a preallocated out array and handles M = 0', async () => {
    const k = compile(GAUSS);
    const out = new Float32Array(5);
    const r = await k.run({ x: f32(15, 1), y: f32(6, 2), b: f32(2, 3) }, { backend: 'webgpu', out });
    expect(r.values!.data).to.equal(out);
    expect(out.some((v) => v !== 0)).to.equal(true);
    const empty = await k.run({ x: new Float32Array(0), y: f32(6, 2), b: f32(2, 3) }, { backend: 'webgpu' });
    expect(empty.values!.shape).to.deep.equal([0, 1]);
  });

  it('refuses what WGSL cannot do, with a clear error', async () => {
    const k = compile(GAUSS);
    const d = { x: uniform(6, 1), y: uniform(6, 2), b: uniform(2, 3) };
    let err: unknown;
    await k.run(d, { backend: 'webgpu' }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.include('float32 only');
    err = undefined;
    const s = { x: f32(6, 1), y: f32(6, 2), b: f32(2, 3) };
    await k.run(s, { backend: 'webgpu', dtypeAcc: 'float64' }).catch((e: unknown) => (err = e));
    expect((err as Error).message).to.include('no float64 accumulator');
    // no inputs: no dtype to follow, webgpu computes in float32, and refuses float64 like above
    const none = compile('Sum_Reduction(IntCst(2), 0)', []);
    const r = await none.run({}, { backend: 'webgpu' });
    expect(r.values.data).to.be.instanceOf(Float32Array);
    expect(Array.from(r.values.data)).to.deep.equal([2]);
    err = undefined;
    await none.run({}, { backend: 'webgpu', dtypeAcc: 'float64' }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.include('no float64 accumulator');
    err = undefined;
    await none.run({}, { backend: 'webgpu', out: new Float64Array(1) }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(InputError);
    expect((err as Error).message).to.include('cannot fill a Float64Array out');
    const st = await webgpuStatus();
    if (st.ok && !st.features.includes('shader-f16')) {
      await k.run(s, { backend: 'webgpu', storage: 'float16' }).catch((e: unknown) => (err = e));
      expect((err as Error).message).to.include("needs the WebGPU feature 'shader-f16'");
    }
    expect(() => k.runSync(s, { backend: 'webgpu' }, 'Genred')).to.throw(InputError, /asynchronous and Genred is synchronous/);
  });

  it('rejects bad shapes and out-of-bounds ranges with the shared one-line errors', async () => {
    const k = compile(GAUSS);
    const reason = async (p: Promise<unknown>) => {
      let err: unknown;
      await p.catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(InputError);
      return (err as Error).message;
    };
    // y has 3 columns in the formula: 7 values are not whole rows
    expect(await reason(k.run({ x: f32(6, 1), y: f32(7, 2), b: f32(2, 3) }, { backend: 'webgpu' }))).to.match(/y/);
    const ranges = { ranges_i: Int32Array.from([0, 5]), slices_i: Int32Array.from([1]), redranges_j: Int32Array.from([0, 9]), ranges_j: Int32Array.from([0, 2]), slices_j: Int32Array.from([1]), redranges_i: Int32Array.from([0, 2]) };
    expect(await reason(k.run({ x: f32(6, 1), y: f32(6, 2), b: f32(2, 3) }, { backend: 'webgpu', ranges }))).to.match(/range/);
  });

  it('says how to get an adapter when there is none', async () => {
    setGpuProvider(async () => ({ reason: 'no GPU here (test)', source: 'test' }));
    try {
      const s = await webgpuStatus();
      expect(s.ok).to.equal(false);
      if (!s.ok) {
        expect(s.reason).to.include('no GPU here (test)');
        expect(s.reason).to.include('VK_ICD_FILENAMES');
      }
      let err: unknown;
      await compile(GAUSS).run({ x: f32(3, 1), y: f32(3, 2), b: f32(1, 3) }, { backend: 'webgpu' }).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(InputError);
      expect((err as Error).message).to.match(/^error KEO5001: backend 'webgpu' is unavailable: no GPU here \(test\)/);
    } finally {
      setGpuProvider(nodeProvider);
    }
  });
});

describe('keopsc run --backend webgpu', function () {
  this.timeout(120_000);
  webgpuOrSkip();
  it('runs a .keo file on .npy arguments and writes the float32 result; float64 arguments get a one-line error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keopsc-webgpu-cli-'));
    try {
      const p = (f: string) => join(dir, f);
      writeFileSync(p('g.keo'), GAUSS);
      const x = f32(12, 1), y = f32(15, 2), b = f32(5, 3);
      saveNpy(p('x.npy'), ndarray(x, [4, 3]));
      saveNpy(p('y.npy'), ndarray(y, [5, 3]));
      saveNpy(p('b.npy'), ndarray(b, [5, 1]));
      saveNpy(p('b64.npy'), ndarray(Float64Array.from(b), [5, 1]));
      const out: string[] = [], err: string[] = [];
      const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
      const code = await main(['node', 'keopsc', 'run', p('g.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '-a', `b=${p('b.npy')}`, '-b', 'webgpu', '-o', p('out.npy')], io);
      expect(code, err.join('\n')).to.equal(0);
      const got = loadNpy(p('out.npy'));
      expect(got.shape).to.deep.equal([4, 1]);
      const ref = compile(GAUSS).run({ x: { data: x, shape: [4, 3] }, y: { data: y, shape: [5, 3] }, b: { data: b, shape: [5, 1] } }, { backend: 'ref' });
      expectClose(got.data as Float32Array, Array.from(ref.values!.data as Float64Array), 1e-5, 1e-6, 'cli webgpu');
      const code2 = await main(['node', 'keopsc', 'run', p('g.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '-a', `b=${p('b64.npy')}`, '-b', 'webgpu'], io);
      expect(code2).to.equal(1);
      expect(err.join('\n')).to.match(/arguments mix dtypes/);
      const code3 = await main(['node', 'keopsc', 'run', p('g.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '-a', `b=${p('b.npy')}`, '-b', 'js', '--storage', 'float16'], io);
      expect(code3).to.equal(1);
      expect(err.join('\n')).to.match(/storage 'float16' is for the webgpu and cuda backends/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LazyTensor reductions on webgpu', function () {
  this.timeout(120_000);
  webgpuOrSkip();
  it('return Promises with { backend: "webgpu" }, equal to the js results', async () => {
    const M = 50, N = 80;
    const xs = f32(M * 3, 41), ys = f32(N * 3, 42), bs = f32(N, 43);
    const x = Vi({ data: xs, shape: [M, 3] }), y = Vj({ data: ys, shape: [N, 3] }), b = Vj({ data: bs, shape: [N, 1] });
    const K = x.sqdist(y).neg().exp();
    const gpu = { backend: 'webgpu' } as const, cpu = { backend: 'js' } as const;
    const close = (a: { data: ArrayLike<number | bigint> }, w: { data: ArrayLike<number | bigint> }, what: string) => expectClose(a.data, Array.from(w.data, Number), 1e-5, 1e-6, what);
    close(await K.mul(b).sum(1, gpu), K.mul(b).sum(1, cpu), 'sum');
    close(await K.matvec(bs, gpu), K.matvec(bs, cpu), 'matvec');
    close(await x.sqdist(y).neg().logsumexp(1, gpu), x.sqdist(y).neg().logsumexp(1, cpu), 'logsumexp');
    const [g2, c2] = [await x.sqdist(y).minArgmin(1, gpu), x.sqdist(y).minArgmin(1, cpu)];
    close(g2.values, c2.values, 'min');
    close(g2.indices, c2.indices, 'argmin');
    close(await x.sqdist(y).argKmin(3, 1, gpu), x.sqdist(y).argKmin(3, 1, cpu), 'argKmin');
    // a LazyTensor whose default backend is webgpu must say so in the call, to get a Promise
    const Kg = x.sqdist(y).neg().exp();
    Kg.backend = 'webgpu';
    expect(() => Kg.sum(1)).to.throw(InputError, /pass \{ backend: 'webgpu' \} to the reduction itself/);
    close(await Kg.sum(1, gpu), K.sum(1, cpu), 'default backend webgpu');
  });
});

describe('gradients of reductions on webgpu', function () {
  this.timeout(120_000);
  webgpuOrSkip();
  it('kernel.grad(...).run with { backend: "webgpu" } returns a Promise of the js result (i, j and parameter variables, LogSumExp)', async () => {
    const M = 40, N = 60;
    const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ns = Pm(3, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) * s) * b, 0)');
    const lse = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nl = LogSumExp_Reduction(-SqDist(x, y), 0)');
    const args = { x: f32(M * 3, 61), y: f32(N * 3, 62), b: f32(N, 63), s: Float32Array.from([0.7]), e: f32(M, 64) };
    for (const [kern, wrt] of [[k, 'x'], [k, 'y'], [k, 's'], [lse, 'x'], [lse, 'y']] as const) {
      const gk = kern.grad(wrt);
      const a = Object.fromEntries(gk.args.map((v) => [v.name, args[v.name as keyof typeof args]]));
      const p = gk.run(a, { backend: 'webgpu' });
      expect(p).to.be.instanceOf(Promise);
      const got = await p;
      const want = gk.run(a, { backend: 'js' });
      expectClose(got.values!.data, Array.from(want.values!.data as Float32Array), 2e-4, 2e-5, `grad ${kern.name} wrt ${wrt}`);
    }
  });
});

describe('Genred on webgpu', function () {
  this.timeout(120_000);
  webgpuOrSkip();
  it('g.runAsync(..., { backend: "webgpu" }) gives the js result; the synchronous call says to use runAsync', async () => {
    const g = Genred('Exp(-SqDist(x, y)) * b', ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)'], { reduction: 'Sum', axis: 1 });
    const x = f32(20 * 3, 71), y = f32(30 * 3, 72), b = f32(30, 73);
    const got = (await g.runAsync(x, y, b, { backend: 'webgpu' })) as { data: Float32Array };
    const want = g(x, y, b, { backend: 'js' }) as { data: Float32Array };
    expectClose(got.data, Array.from(want.data), 1e-5, 1e-6, 'Genred webgpu');
    const m = Genred('SqDist(x, y)', ['x = Vi(3)', 'y = Vj(3)'], { reduction: 'Min_ArgMin', axis: 1 });
    const [v, i] = (await m.runAsync(x, y, { backend: 'webgpu' })) as [{ data: Float32Array }, { data: BigInt64Array }];
    const [v2, i2] = m(x, y) as [{ data: Float32Array }, { data: BigInt64Array }];
    expectClose(v.data, Array.from(v2.data), 1e-5, 1e-6, 'min');
    expect(Array.from(i.data)).to.deep.equal(Array.from(i2.data));
    expect(() => g(x, y, b, { backend: 'webgpu' })).to.throw(InputError, /use g\.runAsync/);
  });
});

describe('KernelSolve on webgpu', function () {
  this.timeout(120_000);
  webgpuOrSkip();
  it('solves (alpha I + K) a = b by conjugate gradient with K·v on the GPU, as on js', async () => {
    const N = 120;
    const x = f32(N * 2, 81), b = f32(N, 82);
    const k = compile('x = Vi(0, 2)\ny = Vj(1, 2)\nv = Vj(2, 1)\nk = Sum_Reduction(Exp(-SqDist(x, y) * 4) * v, 0)');
    const opts = { alpha: 0.5, eps: 1e-5 };
    const p = k.solve('v', { x, y: x }, b, { ...opts, backend: 'webgpu' });
    expect(p).to.be.instanceOf(Promise);
    const gpu = await p;
    const js = k.solve('v', { x, y: x }, b, { ...opts, backend: 'js' });
    expectClose(gpu.data, Array.from(js.data), 2e-3, 2e-4, 'solution');
    // the residual of the GPU solution, checked on js
    const Ka = k.run({ x, y: x, v: { data: Float32Array.from(gpu.data), shape: [N, 1] } }, { backend: 'js' }).values!.data as Float32Array;
    let r2 = 0;
    for (let i = 0; i < N; i++) r2 += (Ka[i]! + opts.alpha * gpu.data[i]! - b[i]!) ** 2;
    expect(r2).to.be.below(N * 1e-7);
    const KS = KernelSolve('Exp(-SqDist(x, y) * 4) * v', ['x = Vi(2)', 'y = Vj(2)', 'v = Vj(1)'], 'v', { axis: 1, alpha: 0.5, eps: 1e-5 });
    const viaPykeops = await KS([x, x], b, { backend: 'webgpu' });
    expectClose(viaPykeops.data, Array.from(gpu.data), 1e-4, 1e-5, 'KernelSolve');
  });
});

describe('webgpu dispatch grids', function () {
  this.timeout(120_000);
  webgpuOrSkip();
  it('uses a 2-D grid when a dispatch holds more workgroups than one dimension allows, with the same values', async () => {
    // 4 workgroups per dimension and 7 per dispatch: the 12 workgroups of M = 3000 run as a 4 x 2 grid
    // (one group extra, recomputing a row block of the next dispatch) and a 3 x 2 grid
    const k = compile(GAUSS);
    const M = 3000, N = 40;
    const args = { x: f32(M * 3, 91), y: f32(N * 3, 92), b: f32(N, 93) };
    const want = await k.run(args, { backend: 'webgpu' });
    const saved = { ...WEBGPU_CONFIG };
    try {
      WEBGPU_CONFIG.maxWorkgroupsPerDimension = 4;
      WEBGPU_CONFIG.maxWorkgroupsPerDispatch = 7;
      const got = await k.run(args, { backend: 'webgpu' });
      expect(Array.from(got.values!.data as Float32Array)).to.deep.equal(Array.from(want.values!.data as Float32Array));
      WEBGPU_CONFIG.rangesScheme = 'rows';
      const ranges = { ranges_i: Int32Array.from([0, M]), slices_i: Int32Array.from([1]), redranges_j: Int32Array.from([0, N]), ranges_j: Int32Array.from([0, N]), slices_j: Int32Array.from([1]), redranges_i: Int32Array.from([0, M]) };
      const viaRanges = await k.run(args, { backend: 'webgpu', ranges });
      expect(Array.from(viaRanges.values!.data as Float32Array)).to.deep.equal(Array.from(want.values!.data as Float32Array));
    } finally {
      Object.assign(WEBGPU_CONFIG, saved);
    }
  });
});
