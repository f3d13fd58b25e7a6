import { expect } from 'chai';
import fc from 'fast-check';
import { compile, WEBGPU_CONFIG, type RunResult } from '../src/index.js';
import { JS_CONFIG } from '../runtime/js/index.js';
import { CPU_CONFIG } from '../runtime/cpu/index.js';
import { cpuOrSkip } from './helpers/native.js';
import { webgpuOrSkip } from './helpers/webgpu.js';
import { DECLS, anyFormula, specText, type Spec } from './helpers/gen.js';
import { rng } from './helpers/data.js';
import { expectClose } from './helpers/data.js';

/**
 * Differential test of the JS backend against the reference evaluator: random formulas from the op
 * registry's generator, random reductions and tags, random sizes (including M or N = 1 and sizes that
 * do not divide the thread chunks), random ranges, one and two threads, float64 and float32.
 */
const REDUCTIONS = [
  (f: string, tag: number) => `Sum_Reduction(${f}, ${tag})`,
  (f: string, tag: number) => `Max_Reduction(${f}, ${tag})`,
  (f: string, tag: number) => `Min_ArgMin_Reduction(${f}, ${tag})`,
  (f: string, tag: number) => `ArgMax_Reduction(${f}, ${tag})`,
  (f: string, tag: number) => `KMin_ArgKMin_Reduction(${f}, 3, ${tag})`,
  (f: string, tag: number) => `LogSumExp_Reduction(Sum(${f}), ${tag})`,
  (f: string, tag: number) => `SumSoftMaxWeight_Reduction(Sum(${f}), ${tag}, ${f})`,
  (f: string, tag: number) => `LogSumExpWeight_Reduction(Sum(${f}), ${tag}, Exp(-Abs(${f}) / (1 + Abs(${f}))))`, // a weight in [1/e, 1]: no float32 underflow
];
const SIZES = [1, 2, 7, 33, 130];

/** Random valid ranges for M rows of i and N rows of j: contiguous clusters, random kept blocks. */
function randomRanges(M: number, N: number, seed: number) {
  const r = rng(seed);
  const cuts = (n: number) => {
    const c = [0];
    while (c[c.length - 1]! < n) c.push(Math.min(n, c[c.length - 1]! + 1 + Math.floor(r() * n * 0.5)));
    return c.slice(1).map((e, k) => [c[k]!, e] as [number, number]);
  };
  const ci = cuts(M), cj = cuts(N);
  const keep = ci.map(() => cj.map(() => r() < 0.6));
  const side = (rows: [number, number][], cols: [number, number][], k: (a: number, b: number) => boolean) => {
    const red: number[] = [], slices: number[] = [];
    rows.forEach((_, a) => {
      cols.forEach((c, b) => k(a, b) && red.push(...c));
      slices.push(red.length / 2);
    });
    return { out: Int32Array.from(rows.flat()), slices: Int32Array.from(slices), red: Int32Array.from(red) };
  };
  const I = side(ci, cj, (a, b) => keep[a]![b]!);
  const J = side(cj, ci, (b, a) => keep[a]![b]!);
  return { ranges_i: I.out, slices_i: I.slices, redranges_j: I.red, ranges_j: J.out, slices_j: J.slices, redranges_i: J.red };
}

/** One random case: the kernel text, its arguments and ranges. */
const CASE = fc.record({
  spec: anyFormula(),
  red: fc.integer({ min: 0, max: REDUCTIONS.length - 1 }),
  tag: fc.integer({ min: 0, max: 1 }),
  M: fc.constantFrom(...SIZES),
  N: fc.constantFrom(...SIZES),
  ranges: fc.boolean(),
  threads: fc.constantFrom(1, 2, 3),
  f32: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1e6 }),
});
type Case = typeof CASE extends fc.Arbitrary<infer T> ? T : never;

function makeCase({ spec, red, tag, M, N, ranges, f32, seed }: Case) {
  const text = `${DECLS}\nk = ${REDUCTIONS[red]!(specText(spec as Spec), tag)}`;
  const k = compile(text);
  const r = rng(seed);
  const make = (n: number) => (f32 ? Float32Array.from({ length: n }, () => 4 * r() - 2) : Float64Array.from({ length: n }, () => 4 * r() - 2));
  const args = Object.fromEntries(
    k.args.map((a) => {
      const rows = a.cat === 0 ? M : a.cat === 1 ? N : 1;
      const data = make(rows * a.dim);
      return [a.name, a.cat === 2 ? { data, shape: [a.dim] } : { data, shape: [rows, a.dim] }];
    }),
  );
  const hasI = k.args.some((a) => a.cat === 0), hasJ = k.args.some((a) => a.cat === 1);
  const rg = ranges ? randomRanges(hasI ? M : 1, hasJ ? N : 1, seed) : undefined;
  return { text, k, args, rg };
}

/** Compare a backend's result with the reference's; `tol` for values in float32. */
function compare(c: Case, text: string, ref: RunResult, mine: RunResult, tol32: number): void {
  for (const o of ref.outputs) {
    const got = mine[o.name]!;
    expect(got.shape).to.deep.equal(o.shape);
    const want = Array.from(o.data as ArrayLike<number | bigint>, Number);
    if (o.name === 'indices') {
      // an index may differ only where the values tie within rounding (float32 rounding of f)
      if (!c.f32) expectClose(got.data, want, 0, 0, `${text}\nindices`);
    } else {
      const tol = c.f32 ? tol32 : 1e-9;
      try {
        expectClose(got.data, want, tol, tol, 'values');
      } catch (e) {
        throw new Error(`${text}\nM=${c.M} N=${c.N} ranges=${c.ranges} threads=${c.threads} f32=${c.f32}\n${(e as Error).message}`);
      }
    }
  }
}

for (const [backend, numRuns] of [['js', 250], ['cpu', 60]] as const)
describe(`${backend} backend vs the reference evaluator (differential, random formulas)`, function () {
  this.timeout(600000);
  if (backend === 'cpu' && !cpuOrSkip()) return;
  const saved: [number, number] = [JS_CONFIG.parallelMinPairs, CPU_CONFIG.minParallelPairs];
  before(function () {
    JS_CONFIG.parallelMinPairs = 0; // exercise the thread pools on small problems
    CPU_CONFIG.minParallelPairs = 0;
  });
  after(() => ([JS_CONFIG.parallelMinPairs, CPU_CONFIG.minParallelPairs] = saved));

  it('agrees on random kernels, sizes, ranges, threads and dtypes', () => {
    fc.assert(
      fc.property(CASE, (c) => {
        const { text, k, args, rg } = makeCase(c);
        const ref = k.run(args, { backend: 'ref', ranges: rg });
        // float32 on cpu evaluates the formula in float (js in double): allow for cancellations
        compare(c, text, ref, k.run(args, { backend, ranges: rg, threads: c.threads }), backend === 'cpu' ? 2e-3 : 2e-4);
      }),
      { seed: 7, numRuns },
    );
  });
});

describe('webgpu backend vs the reference evaluator (differential, random formulas, float32)', function () {
  this.timeout(600000);
  webgpuOrSkip();
  it('agrees on random kernels, sizes and ranges', async () => {
    await fc.assert(
      fc.asyncProperty(CASE, async (c0) => {
        const c = { ...c0, f32: true };
        // both code paths: workgroup tiles (GPUs) and direct loads (CPU adapters); ranges by blocks or rows
        WEBGPU_CONFIG.tiles = c.seed % 2 ? 'on' : 'off';
        WEBGPU_CONFIG.rangesScheme = (['rows', 'blocks', 'auto'] as const)[c.seed % 3]!;
        const { text, k, args, rg } = makeCase(c);
        const ref = k.run(args, { backend: 'ref', ranges: rg });
        // WGSL evaluates in f32 with its own exp/log: as the cpu backend's float32
        compare(c, text, ref, await k.run(args, { backend: 'webgpu', ranges: rg }), 2e-3);
      }),
      { seed: 11, numRuns: 100 },
    );
  });
});
