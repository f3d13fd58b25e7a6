/**
 * Batch dimensions (issue 14, keops-reference §3.4): every reduction family × tag × backend against a
 * loop over the batch on the reference (each entry sliced and broadcast by hand, run unbatched), a
 * property test over random batch shapes on random formulas, gradients, KernelSolve, and the errors.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { compile, InputError, type CompiledKernel, type RunResult } from '../src/index.js';
import { CPU_CONFIG, cpuStatus } from '../runtime/cpu/index.js';
import { JS_CONFIG } from '../runtime/js/index.js';
import { cpuOrSkip } from './helpers/native.js';
import { webgpuOrSkip } from './helpers/webgpu.js';
import { expectClose, uniform } from './helpers/data.js';
import { anyFormula, DECLS, specText, VARS, type VarName } from './helpers/gen.js';

type Arr = { data: Float64Array; shape: number[] };

/** Entry `t` of a batched argument, sliced and broadcast by hand (a copy): the oracle's own indexing. */
function entryOf(a: Arr, nb: number, batch: readonly number[], t: number): Float64Array {
  const own = a.shape.slice(0, nb);
  const inner = a.shape.slice(nb).reduce((p, q) => p * q, 1);
  let flat = 0;
  let rem = t;
  const idx: number[] = [];
  for (let d = nb - 1; d >= 0; d--) {
    idx[d] = rem % batch[d]!;
    rem = Math.floor(rem / batch[d]!);
  }
  for (let d = 0; d < nb; d++) flat = flat * own[d]! + (own[d] === 1 ? 0 : idx[d]!);
  return a.data.slice(flat * inner, (flat + 1) * inner);
}

/** The oracle: one unbatched reference run per batch entry, outputs concatenated. */
function loopRef(k: CompiledKernel, args: Record<string, Arr>, nb: number): { values?: number[]; indices?: number[]; shapes: number[][] } {
  const batch = Array.from({ length: nb }, (_, d) => Math.max(...Object.values(args).map((a) => (a.shape[d] === 1 ? 1 : a.shape[d]!))));
  if (Object.values(args).some((a) => a.shape.slice(0, nb).includes(0))) for (let d = 0; d < nb; d++) if (Object.values(args).some((a) => a.shape[d] === 0)) batch[d] = 0;
  const B = batch.reduce((p, q) => p * q, 1);
  const values: number[] = [];
  const indices: number[] = [];
  let shapes: number[][] = [];
  for (let t = 0; t < B; t++) {
    const one: Record<string, Arr> = {};
    for (const [name, a] of Object.entries(args)) one[name] = { data: entryOf(a, nb, batch, t), shape: a.shape.slice(nb) };
    const r = k.run(one, { backend: 'ref' });
    if (r.values) values.push(...r.values.data);
    if (r.indices) indices.push(...Array.from(r.indices.data, Number));
    shapes = r.outputs.map((o) => o.shape);
  }
  if (B === 0) {
    const M = Object.entries(args).find(([n]) => k.args.find((s) => s.name === n)?.cat === 0)?.[1].shape[nb] ?? 1;
    const N = Object.entries(args).find(([n]) => k.args.find((s) => s.name === n)?.cat === 1)?.[1].shape[nb] ?? 1;
    shapes = k.outputShapes(M, N).map((o) => o.shape);
  }
  return { values: k.resultKind === 'indices' ? undefined : values, indices: k.resultKind === 'values' ? undefined : indices, shapes: shapes.map((s) => [...batch, ...s]) };
}

function expectBatched(r: RunResult, want: ReturnType<typeof loopRef>, rtol: number, atol: number): void {
  expect(r.outputs.map((o) => o.shape)).to.deep.equal(want.shapes);
  if (want.values) expectClose(r.values!.data, want.values, rtol, atol, 'values');
  if (want.indices) expect(Array.from(r.indices!.data, Number)).to.deep.equal(want.indices);
}

/** Reductions of every family (x: Vi(2), y: Vj(2), b: Vj(1) or Vi(1) by tag, w: Vj(2)/Vi(2), p: Pm(1)). */
const FAMILIES = [
  'Sum_Reduction(Exp(-SqDist(x, y) * p) * b, T)',
  'Min_Reduction(SqDist(x, y) + b, T)',
  'Max_Reduction(x * y, T)',
  'ArgMin_Reduction(SqDist(x, y) + b, T)',
  'ArgMax_Reduction(x * y - p, T)',
  'Min_ArgMin_Reduction(SqDist(x, y), T)',
  'Max_ArgMax_Reduction(x - y, T)',
  'KMin_Reduction(SqDist(x, y) * p, 3, T)',
  'ArgKMin_Reduction(SqDist(x, y), 3, T)',
  'KMin_ArgKMin_Reduction(x + y, 2, T)',
  'LogSumExp_Reduction(-SqDist(x, y) * p, T)',
  'LogSumExpWeight_Reduction(-SqDist(x, y), T, w * w + 1)',
  'Max_SumShiftExpWeight_Reduction(-SqDist(x, y) * p, T, w)',
  'SumSoftMaxWeight_Reduction(-SqDist(x, y), T, w)',
];

function familyKernel(f: string, tag: 0 | 1): CompiledKernel {
  const red = tag === 0 ? 'Vj' : 'Vi';
  return compile(f.replace(/\bT\b/, String(tag)), ['x = Vi(2)', 'y = Vj(2)', `b = ${red}(1)`, `w = ${red}(2)`, 'p = Pm(1)']);
}

/** Batched arguments: x (2, 3, M, 2), y (1, 3, N, 2): broadcast on the first dim, b and w by tag, p (2, 1, 1). */
function familyArgs(k: CompiledKernel, seed: number, M = 5, N = 7): Record<string, Arr> {
  const out: Record<string, Arr> = {};
  const shapes: Record<string, number[]> = { x: [2, 3, M, 2], y: [1, 3, N, 2], p: [2, 1, 1] };
  const red = k.tag === 0 ? N : M;
  shapes.b = [2, 1, red, 1];
  shapes.w = [1, 3, red, 2];
  k.args.forEach((a, n) => {
    const shape = shapes[a.name]!;
    out[a.name] = { data: uniform(shape.reduce((p, q) => p * q, 1), seed + n, a.name === 'p' ? 0.5 : -1, 1), shape };
  });
  return out;
}

const f32 = (args: Record<string, Arr>) => Object.fromEntries(Object.entries(args).map(([n, a]) => [n, { data: Float32Array.from(a.data), shape: a.shape }]));

describe('batch dims: every family × tag against a loop over the batch on the reference', () => {
  for (const backend of ['ref', 'js'] as const) {
    for (const f of FAMILIES) {
      for (const tag of [0, 1] as const) {
        it(`${backend}: ${f.replace(/\bT\b/, String(tag))}`, () => {
          const k = familyKernel(f, tag);
          const args = familyArgs(k, 11 + tag);
          expectBatched(k.run(args, { backend }), loopRef(k, args, 2), 1e-12, 1e-12);
        });
      }
    }
  }
  it('js on the worker pool: (batch, row chunk) work items', () => {
    const saved = JS_CONFIG.parallelMinPairs;
    JS_CONFIG.parallelMinPairs = 0;
    try {
      for (const f of [FAMILIES[0]!, FAMILIES[8]!, FAMILIES[12]!]) {
        const k = familyKernel(f, 0);
        const args = familyArgs(k, 5, 40, 30);
        expectBatched(k.run(args, { backend: 'js', threads: 3 }), loopRef(k, args, 2), 1e-12, 1e-12);
      }
    } finally {
      JS_CONFIG.parallelMinPairs = saved;
    }
  });
});

describe('batch dims on the cpu backend', function () {
  this.timeout(600_000);
  if (!cpuOrSkip()) return;
  for (const f of FAMILIES) {
    for (const tag of [0, 1] as const) {
      it(`cpu: ${f.replace(/\bT\b/, String(tag))} (float64 and float32, one thread and the pool)`, () => {
        const k = familyKernel(f, tag);
        const args = familyArgs(k, 21 + tag);
        const want = loopRef(k, args, 2);
        expectBatched(k.run(args, { backend: 'cpu', threads: 1 }), want, 1e-12, 1e-12);
        const saved = CPU_CONFIG.minParallelPairs;
        CPU_CONFIG.minParallelPairs = 0;
        try {
          expectBatched(k.run(args, { backend: 'cpu', threads: 3 }), want, 1e-12, 1e-12);
        } finally {
          CPU_CONFIG.minParallelPairs = saved;
        }
        if (!/Arg/.test(f)) expectBatched(k.run(f32(args), { backend: 'cpu', fastMath: false }), { ...want, indices: undefined }, 1e-4, 1e-5);
      });
    }
  }
  it('the addon checks the batch strides before touching memory', async () => {
    const { requireAddon } = await import('../runtime/cpu/index.js');
    const k = compile('Sum_Reduction(x * y, 0)', ['x = Vi(1)', 'y = Vj(1)']);
    k.run({ x: new Float64Array(2), y: new Float64Array(2) }, { backend: 'cpu' });
    const { loadCompiled } = await import('../runtime/cpu/index.js');
    const h = loadCompiled(k.cppSource({ dtype: 'float64', sumScheme: 'block', accDtype: 'float64', fastMath: false } as never), { flags: ['-O2', '-std=c++17'] });
    const base = { inputs: [new Float64Array(4), new Float64Array(4)], outputs: [new Float64Array(4)], M: 2, N: 2, threads: 1 };
    // two entries, x read with stride 2: fine; stride 3 reads past the end
    expect(requireAddon().run(h, { ...base, batchShape: new Float64Array([2]), batchStrides: new Float64Array([2, 2]) })).to.equal(1);
    expect(() => requireAddon().run(h, { ...base, batchShape: new Float64Array([2]), batchStrides: new Float64Array([3, 2]) })).to.throw(RangeError, /batch strides read up to 5/);
    expect(() => requireAddon().run(h, { ...base, batchShape: new Float64Array([2]), batchStrides: new Float64Array([-1, 2]) })).to.throw(RangeError, /not a non-negative integer/);
    expect(() => requireAddon().run(h, { ...base, batchShape: new Float64Array([3]), batchStrides: new Float64Array([0, 0]) })).to.throw(RangeError, /output 0/);
    expect(() => requireAddon().run(h, { ...base, batchShape: new Float64Array([2]), batchStrides: new Float64Array([0]) })).to.throw(RangeError, /batchStrides has 1 values/);
  });
});

describe('batch dims on the webgpu backend', function () {
  this.timeout(600_000);
  webgpuOrSkip();
  for (const f of FAMILIES) {
    for (const tag of [0, 1] as const) {
      it(`webgpu: ${f.replace(/\bT\b/, String(tag))}`, async () => {
        const k = familyKernel(f, tag);
        const args = familyArgs(k, 31 + tag);
        const want = loopRef(k, args, 2);
        const r = await k.run(f32(args), { backend: 'webgpu' });
        expectBatched(r, want, 1e-4, 1e-5);
      });
    }
  }
});

describe('batch dims on the webgpu backend, tiled (the GPU code path) and with three batch dims', function () {
  this.timeout(600_000);
  webgpuOrSkip({ tiles: 'on' });
  for (const f of [FAMILIES[0]!, FAMILIES[6]!, FAMILIES[9]!, FAMILIES[12]!]) {
    it(`webgpu tiled: ${f.replace(/\bT\b/, '0')}`, async () => {
      const k = familyKernel(f, 0);
      const args = familyArgs(k, 41, 300, 270);
      expectBatched(await k.run(f32(args), { backend: 'webgpu' }), loopRef(k, args, 2), 1e-4, 1e-5);
    });
  }
  it('three batch dims, broadcast on every side; B = 0', async () => {
    const k = compile('Sum_Reduction(Exp(-SqDist(x, y)) * b, 1)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vi(1)']);
    const a = (shape: number[], seed: number): Arr => ({ data: uniform(shape.reduce((p, q) => p * q, 1), seed), shape });
    const args = { x: a([2, 1, 3, 4, 2], 1), y: a([1, 2, 3, 5, 2], 2), b: a([2, 2, 1, 4, 1], 3) };
    expectBatched(await k.run(f32(args), { backend: 'webgpu' }), loopRef(k, args, 3), 1e-4, 1e-5);
    const empty = await k.run(f32({ x: a([0, 4, 2], 1), y: a([1, 5, 2], 2), b: a([1, 4, 1], 3) }), { backend: 'webgpu' });
    expect(empty.values.shape).to.deep.equal([0, 5, 1]);
  });
});

describe('batch dims: shapes', () => {
  const k = compile('Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)']);
  const arr = (shape: number[], seed = 1): Arr => ({ data: uniform(shape.reduce((p, q) => p * q, 1), seed), shape });
  for (const backend of ['ref', 'js', 'cpu'] as const) {
    it(`${backend}: three batch dims with size-1 broadcasting on every side`, function () {
      if (backend === 'cpu' && !compile('Sum_Reduction(x, 0)', ['x = Vi(1)']).args.length) this.skip();
      const args = { x: arr([2, 1, 3, 4, 2], 1), y: arr([1, 2, 3, 5, 2], 2), b: arr([2, 2, 1, 5, 1], 3) };
      expectBatched(k.run(args, { backend }), loopRef(k, args, 3), 1e-12, 1e-12);
    });
    it(`${backend}: B = 0 gives an empty (0, M, D) output`, () => {
      const args = { x: arr([0, 4, 2]), y: arr([1, 5, 2]), b: arr([1, 5, 1]) };
      const r = k.run(args, { backend });
      expect(r.values!.shape).to.deep.equal([0, 4, 1]);
      expect(r.values!.data.length).to.equal(0);
    });
  }
  it('out= receives the batched values', () => {
    const args = { x: arr([3, 4, 2]), y: arr([3, 5, 2]), b: arr([1, 5, 1]) };
    const out = new Float64Array(12);
    const r = k.run(args, { backend: 'js', out });
    expect(r.values!.data).to.equal(out);
    expectBatched(r, loopRef(k, args, 1), 1e-12, 1e-12);
    expect(() => k.run(args, { backend: 'js', out: new Float64Array(4) })).to.throw(InputError, /shape \(3, 4, 1\)/);
  });
  it('a kernel with no i-variable has M = 1 per entry; batched parameters', () => {
    const kp = compile('Sum_Reduction(y * p, 0)', ['y = Vj(1)', 'p = Pm(1)']);
    const args = { y: arr([2, 3, 1]), p: arr([2, 1]) };
    const r = kp.run(args, { backend: 'js' });
    expect(r.values!.shape).to.deep.equal([2, 1, 1]);
    expectBatched(r, loopRef(kp, args, 1), 1e-12, 1e-12);
  });
});

describe('batch dims: errors', () => {
  const k = compile('Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)']);
  const arr = (shape: number[]): Arr => ({ data: new Float64Array(shape.reduce((p, q) => p * q, 1)), shape });
  const bad = (args: Record<string, unknown>, re: RegExp, opts = {}) => expect(() => k.run(args as never, opts)).to.throw(InputError, re);
  it('batch shapes that do not broadcast', () => {
    bad({ x: arr([2, 4, 2]), y: arr([3, 5, 2]), b: arr([1, 5, 1]) }, /KEO5\d{3}.*batch dims do not broadcast: x has shape \(2, 4, 2\) but y has shape \(3, 5, 2\) \(batch dim 0: 2 vs 3\)/);
  });
  it('different numbers of batch dims', () => {
    bad({ x: arr([2, 4, 2]), y: arr([2, 1, 5, 2]), b: arr([1, 5, 1]) }, /different numbers of batch dims: x has shape \(2, 4, 2\) \(1\) but y .* has shape \(2, 1, 5, 2\)/);
  });
  it('a flat or 1-D array where batch dims are used, and a D = 1 variable without its last dim', () => {
    bad({ x: arr([2, 4, 2]), y: arr([2, 5, 2]), b: new Float64Array(5) }, /argument b is a flat array but x has batch dims \(shape \(2, 4, 2\)\)/);
    bad({ x: arr([2, 4, 2]), y: arr([2, 5, 2]), b: arr([5]) }, /b .* has shape \(5,\).*explicit last dim/);
    bad({ x: arr([2, 4, 2]), y: arr([2, 5, 2]), b: arr([2, 5]) }, /b .* has shape \(2, 5\).*explicit last dim of 1/);
  });
  it('ranges together with batch dims are refused (KeOps does not support them)', () => {
    const r = [new Int32Array([0, 4]), new Int32Array([1]), new Int32Array([0, 5]), new Int32Array([0, 5]), new Int32Array([1]), new Int32Array([0, 4])];
    bad({ x: arr([2, 4, 2]), y: arr([2, 5, 2]), b: arr([2, 5, 1]) }, /ranges cannot be combined with batch dims \(batch shape \(2,\)\)/, { ranges: r });
  });
  it('M and N mismatches name the arguments', () => {
    bad({ x: arr([2, 4, 2]), y: arr([2, 5, 2]), b: arr([2, 6, 1]) }, /N mismatch: y has 5 rows but b has 6/);
  });
});

describe('batch dims: property test over random batch shapes on random formulas', function () {
  this.timeout(300_000);
  const names = Object.keys(VARS) as VarName[];
  it('js equals the loop over the batch on the reference', () => {
    fc.assert(
      fc.property(
        anyFormula({ depth: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }), { minLength: names.length, maxLength: names.length }),
        fc.constantFrom(0, 1),
        fc.integer({ min: 1, max: 1000 }),
        (spec, nb, dims, ones, tag, seed) => {
          const k = compile(`${DECLS}\nk = Sum_Reduction(${specText(spec)}, ${tag})`);
          const batch = dims.slice(0, nb);
          const args: Record<string, Arr> = {};
          k.args.forEach((a, n) => {
            const own = batch.map((s, d) => (ones[names.indexOf(a.name as VarName)]![d] ? 1 : s));
            const shape = [...own, ...(a.cat === 2 ? [a.dim] : [a.cat === 0 ? 3 : 4, a.dim])];
            args[a.name] = { data: uniform(shape.reduce((p, q) => p * q, 1), seed + n, -1, 1), shape };
          });
          if (!k.args.length) return;
          const r = k.run(args, { backend: 'js' });
          const want = loopRef(k, args, nb);
          expect(r.values!.shape).to.deep.equal(want.shapes[0]);
          Array.from(r.values!.data).forEach((v, i) => {
            const w = want.values![i]!;
            if (!(Object.is(v, w) || Math.abs(v - w) <= 1e-9 * (1 + Math.abs(w)))) throw new Error(`${specText(spec)} batch ${batch}: ${v} vs ${w} at ${i}`);
          });
        },
      ),
      { seed: 14, numRuns: 60 },
    );
  });
});

describe('batch dims: keopsc run round trips', () => {
  it('takes (B…, M, D), (B…, N, D), (B…, D) .npy arrays and writes (B…, M, Dout)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { main } = await import('../src/cli/main.js');
    const { loadNpy, loadNpz, saveNpy, ndarray } = await import('../runtime/npy/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'keopsc-batch-'));
    try {
      const p = (n: string) => join(dir, n);
      writeFileSync(p('k.keo'), 'x = Vi(0, 2)\ny = Vj(1, 2)\np = Pm(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) * p) * y, 0)\nm = Min_ArgMin_Reduction(SqDist(x, y) * p, 1)\n');
      const args = { x: { data: uniform(2 * 3 * 4 * 2, 1), shape: [2, 3, 4, 2] }, y: { data: uniform(1 * 3 * 5 * 2, 2), shape: [1, 3, 5, 2] }, p: { data: uniform(2, 3, 0.5, 1), shape: [2, 1, 1] } };
      for (const [n, a] of Object.entries(args)) saveNpy(p(`${n}.npy`), ndarray(a.data, a.shape));
      const run = (...a: string[]) => main(['node', 'keopsc', 'run', p('k.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '-a', `p=${p('p.npy')}`, ...a], { out: () => {}, err: () => {} });
      expect(await run('-k', 'g', '-o', p('g.npy'))).to.equal(0);
      const kg = compile('x = Vi(0, 2)\ny = Vj(1, 2)\np = Pm(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) * p) * y, 0)');
      const want = loopRef(kg, args, 2);
      const g = loadNpy(p('g.npy'));
      expect(g.shape).to.deep.equal([2, 3, 4, 2]);
      expectClose(g.data as Float64Array, want.values!, 1e-12, 1e-12);
      expect(await run('-k', 'm', '-o', p('m.npz'))).to.equal(0);
      const km = compile('x = Vi(0, 2)\ny = Vj(1, 2)\np = Pm(2, 1)\nm = Min_ArgMin_Reduction(SqDist(x, y) * p, 1)');
      const wm = loopRef(km, args, 2);
      const z = loadNpz(p('m.npz'));
      expect(z.get('values')!.shape).to.deep.equal([2, 3, 5, 1]);
      expectClose(z.get('values')!.data as Float64Array, wm.values!, 1e-12, 1e-12);
      expect(Array.from(z.get('indices')!.data as BigInt64Array, Number)).to.deep.equal(wm.indices);
      // a parameter without its batch dims is refused, naming the shapes
      saveNpy(p('p1.npy'), ndarray(Float64Array.from([1]), [1]));
      const errs: string[] = [];
      const code = await main(['node', 'keopsc', 'run', p('k.keo'), '-k', 'g', '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '-a', `p=${p('p1.npy')}`], { out: () => {}, err: (s) => errs.push(s) });
      expect(code).to.not.equal(0);
      expect(errs.join('\n')).to.match(/different numbers of batch dims: x has shape \(2, 3, 4, 2\) \(2\) but p \(Pm\(1\)\) has shape \(1,\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Sum per-entry arrays (each of `inner` values, entries over `batch`) into an argument's own batch
 * shape `own` (summing where it is 1): the oracle of a broadcast argument's gradient. */
function foldByHand(perEntry: number[][], batch: number[], own: number[]): number[] {
  const inner = perEntry[0]?.length ?? 0;
  const out = new Array<number>(own.reduce((p, q) => p * q, 1) * inner).fill(0);
  perEntry.forEach((vals, t) => {
    let rem = t;
    const idx: number[] = [];
    for (let d = batch.length - 1; d >= 0; d--) {
      idx[d] = rem % batch[d]!;
      rem = Math.floor(rem / batch[d]!);
    }
    let flat = 0;
    for (let d = 0; d < batch.length; d++) flat = flat * own[d]! + (own[d] === 1 ? 0 : idx[d]!);
    vals.forEach((v, k) => (out[flat * inner + k]! += v));
  });
  return out;
}

describe('batch dims: gradients and KernelSolve', function () {
  this.timeout(120_000);
  const arr = (shape: number[], seed: number, lo = -1, hi = 1): Arr => ({ data: uniform(shape.reduce((p, q) => p * q, 1), seed, lo, hi), shape });
  const cases: [string, string[]][] = [
    ['Sum_Reduction(Exp(-SqDist(x, y) * p) * b, 0)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)', 'p = Pm(1)']],
    ['LogSumExp_Reduction(-SqDist(x, y) * p + b, 1)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vi(1)', 'p = Pm(1)']],
    ['SumSoftMaxWeight_Reduction(-SqDist(x, y) * p, 0, b)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)', 'p = Pm(1)']],
  ];
  for (const [f, aliases] of cases) {
    for (const backend of ['ref', 'js'] as const) {
      it(`${backend}: ${f}: every argument's gradient (broadcast ones summed over their broadcast dims) equals the per-entry gradients`, () => {
        const k = compile(f, aliases);
        const batch = [2, 3];
        const rowsOf = (name: string) => (k.args.find((a) => a.name === name)!.cat === 0 ? 4 : 5);
        const args: Record<string, Arr> = { x: arr([2, 3, 4, 2], 1), y: arr([1, 3, 5, 2], 2), b: arr([2, 1, rowsOf('b'), 1], 3), p: arr([2, 1, 1], 4, 0.5, 1) };
        const outRows = k.tag === 0 ? 4 : 5;
        const e = arr([2, 3, outRows, k.ir.reduction.name === 'Sum' ? 1 : 1], 5);
        for (const wrt of ['x', 'y', 'b', 'p']) {
          const g = k.grad(wrt);
          const r = g.run({ ...args, e }, { backend });
          const own = args[wrt]!.shape;
          expect(r.values!.shape).to.deep.equal(own);
          const per: number[][] = [];
          for (let t = 0; t < 6; t++) {
            const one: Record<string, Arr> = {};
            for (const [n, a] of Object.entries({ ...args, e })) one[n] = { data: entryOf(a, 2, batch, t), shape: a.shape.slice(2) };
            per.push(Array.from(g.run(one, { backend: 'ref' }).values!.data));
          }
          expectClose(r.values!.data, foldByHand(per, batch, own.slice(0, 2)), 1e-10, 1e-12, `d/d${wrt}`);
        }
      });
    }
  }
  it('cpu: a batched gradient', function () {
    if (!cpuStatusOk()) this.skip();
    const [f, aliases] = cases[0]!;
    const k = compile(f, aliases);
    const args = { x: arr([2, 4, 2], 1), y: arr([2, 5, 2], 2), b: arr([1, 5, 1], 3), p: arr([2, 1], 4, 0.5, 1), e: arr([2, 4, 1], 5) };
    for (const wrt of ['y', 'b', 'p']) expectClose(k.grad(wrt).run(args, { backend: 'cpu' }).values!.data, k.grad(wrt).run(args, { backend: 'ref' }).values!.data, 1e-12, 1e-12);
  });
  for (const backend of ['ref', 'js'] as const) {
    it(`${backend}: KernelSolve solves each batch entry as its own system`, () => {
      const k = compile('Sum_Reduction(Exp(-SqDist(x, y) * p) * b, 0)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)', 'p = Pm(1)']);
      const pts = arr([3, 6, 2], 7);
      const p = { data: Float64Array.from([1, 4, 9]), shape: [3, 1] };
      const rhs = arr([3, 6, 1], 8);
      const sol = k.solve('b', { x: pts, y: pts, p }, rhs, { backend, alpha: 0.5, eps: 1e-12 });
      expect(sol.shape).to.deep.equal([3, 6, 1]);
      for (let t = 0; t < 3; t++) {
        const one = k.solve('b', { x: { data: pts.data.slice(12 * t, 12 * (t + 1)), shape: [6, 2] }, y: { data: pts.data.slice(12 * t, 12 * (t + 1)), shape: [6, 2] }, p: { data: p.data.slice(t, t + 1), shape: [1] } }, { data: rhs.data.slice(6 * t, 6 * (t + 1)), shape: [6, 1] }, { backend: 'ref', alpha: 0.5, eps: 1e-12 });
        expectClose(sol.data.slice(6 * t, 6 * (t + 1)), one.data, 1e-9, 1e-10, `entry ${t}`);
      }
      // and it solves the batched system: (0.5 I + K) a = b per entry
      const Ka = k.run({ x: pts, y: pts, p, b: { data: sol.data as Float64Array, shape: [3, 6, 1] } }, { backend: 'ref' }).values!.data;
      expectClose(Array.from(Ka, (v, i) => v + 0.5 * sol.data[i]!), rhs.data, 1e-8, 1e-9);
    });
  }
});

const cpuStatusOk = (): boolean => cpuStatus().ok;

describe('batch dims: LazyTensor (pykeops spelling) and Genred', () => {
  it('x (B, M, 1, D), y (1, 1, N, D), p (B, 1, 1, 1): reductions are (B, M, ·) and equal the loop over the batch', async () => {
    const { Vi, Vj, Pm } = await import('../src/index.js');
    const xs = uniform(3 * 4 * 2, 1), ys = uniform(5 * 2, 2), ps = uniform(3, 3, 0.5, 1);
    const x = Vi({ data: xs, shape: [3, 4, 1, 2] });
    const y = Vj({ data: ys, shape: [1, 1, 5, 2] });
    const p = Pm({ data: ps, shape: [3, 1, 1, 1] });
    const K = x.sub(y).sqnorm2().mul(p).neg().exp();
    const s = K.sum(1);
    expect(s.shape).to.deep.equal([3, 4, 1]);
    const k = compile('Sum_Reduction(Exp(-SqDist(x, y) * p), 0)', ['x = Vi(2)', 'y = Vj(2)', 'p = Pm(1)']);
    const want = loopRef(k, { x: { data: xs, shape: [3, 4, 2] }, y: { data: ys, shape: [1, 5, 2] }, p: { data: ps, shape: [3, 1] } }, 1);
    expectClose(s.data, want.values!, 1e-12, 1e-12);
    const am = x.sub(y).sqnorm2().argmin(0);
    expect(am.shape).to.deep.equal([3, 5, 1]);
    const km = compile('ArgMin_Reduction(SqDist(x, y), 1)', ['x = Vi(2)', 'y = Vj(2)']);
    expect(Array.from(am.data, Number)).to.deep.equal(loopRef(km, { x: { data: xs, shape: [3, 4, 2] }, y: { data: ys, shape: [1, 5, 2] } }, 1).indices);
    expect(() => Vi({ data: xs, shape: [3, 1, 4, 2] })).to.throw(InputError, /Vi: a batched array has shape \(B…, M, 1, D\), got \(3, 1, 4, 2\)/);
    const z = Vi({ data: uniform(2 * 4 * 2, 4), shape: [2, 4, 1, 2] });
    expect(() => z.sub(y).sqnorm2().add(x.sub(y).sqnorm2()).sum(1)).to.throw(InputError, /batch dims do not broadcast/);
  });
  it('Genred takes batched arrays', async () => {
    const { Genred } = await import('../src/index.js');
    const g = Genred('Exp(-SqDist(x, y)) * b', ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)'], { axis: 1 });
    const args = { x: { data: uniform(2 * 4 * 2, 1), shape: [2, 4, 2] }, y: { data: uniform(2 * 5 * 2, 2), shape: [2, 5, 2] }, b: { data: uniform(5, 3), shape: [1, 5, 1] } };
    const out = g(args.x, args.y, args.b, { backend: 'js' }) as { data: Float64Array; shape: number[] };
    expect(out.shape).to.deep.equal([2, 4, 1]);
    expectClose(out.data, loopRef(g.kernel, args, 1).values!, 1e-12, 1e-12);
  });
});

describe('batch dims with onProgress', () => {
  it('a batched run with onProgress runs as one block, with the batched result and progress (0, rows) then (rows, rows)', () => {
    const k = compile('Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)', ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)']);
    const args = { x: { data: uniform(2 * 4 * 2, 1), shape: [2, 4, 2] }, y: { data: uniform(5 * 2, 2), shape: [1, 5, 2] }, b: { data: uniform(2 * 5, 3), shape: [2, 5, 1] } };
    const seen: [number, number][] = [];
    const r = k.run(args, { backend: 'js', onProgress: (d, t) => seen.push([d, t]) });
    expectBatched(r, loopRef(k, args, 1), 1e-12, 1e-12);
    expect(seen).to.deep.equal([[0, 4], [4, 4]]);
  });
});
