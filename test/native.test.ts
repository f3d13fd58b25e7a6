import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelPlan } from '../src/lower/plan.js';
import { CPU_CONFIG, compileKernel, loadAddon, runCompiled, runCpu, type KernelHandle, type NativeAddon, type NativeRanges } from '../runtime/cpu/index.js';
import { KERNEL_INFO_DECLS, printKernelInfo, type KernelInfo } from '../src/targets/abi.js';
import { cpuOrSkip } from './helpers/native.js';

/**
 * The native addon against hand-written kernels that follow native/ABI.md, compared with plain TS
 * loops; and every validation and load error path (each must throw, never crash).
 */

const ABI_HEADER = `
#include <stdint.h>
struct keopsc_call {
  const void* const* in; void* const* out; int64_t M, N; int64_t r0, r1;
  const int32_t* ranges_out; const int32_t* slices; const int32_t* red; int64_t n_clusters, n_red;
};
${KERNEL_INFO_DECLS}
`;

/**
 * A generic test kernel: for each output row r (i for tag 0, j for tag 1) and reduction index s,
 * term(r, s) is folded; rows of [r0, r1) that no cluster covers get the neutral value; overlapping
 * clusters: the later one wins.
 */
function kernelSource(o: { dtype: 'float32' | 'float64'; tag: 0 | 1; kind: 'sum' | 'minargmin' | 'argmin'; D: number; name: string }): string {
  const T = o.dtype === 'float32' ? 'float' : 'double';
  const catX = o.tag === 0 ? 0 : 1; // x indexed by output rows
  const catY = o.tag === 0 ? 1 : 0;
  const values = { name: 'values', kind: 'float', width: 1 } as const;
  const indices = { name: 'indices', kind: 'index', width: 1 } as const;
  const outputs = o.kind === 'sum' ? [{ ...values, width: o.D }] : o.kind === 'minargmin' ? [values, indices] : [indices];
  const info: KernelInfo = {
    name: o.name,
    dtype: o.dtype,
    tag: o.tag,
    args: [
      { index: 0, dim: o.D, cat: catX },
      { index: 2, dim: o.D, cat: catY },
      { index: 3, dim: 1, cat: 2 },
    ],
    outputs,
  };
  return `${ABI_HEADER}
typedef ${T} T;
static const int D = ${o.D};
/* x: rows, y: reduction, p: a parameter */
static void fold_row(const keopsc_call* c, int64_t r, const int32_t* red, int64_t l0, int64_t l1, int dense) {
  const T* x = (const T*)c->in[0]; const T* y = (const T*)c->in[2]; const T* p = (const T*)c->in[3];
  int64_t redLen = ${o.tag === 0 ? 'c->N' : 'c->M'};
  ${o.kind === 'sum' ? 'T acc[D]; for (int d = 0; d < D; d++) acc[d] = 0;' : 'T best = (T)1e30; int64_t arg = -1;'}
  for (int64_t l = l0; l < l1; l++) {
    int64_t s0 = dense ? 0 : red[2 * l], s1 = dense ? redLen : red[2 * l + 1];
    for (int64_t s = s0; s < s1; s++) {
      ${
        o.kind === 'sum'
          ? 'for (int d = 0; d < D; d++) acc[d] += (x[r * D + d] + y[s * D + d]) * p[0];'
          : 'T v = 0; for (int d = 0; d < D; d++) { T t = x[r * D + d] - y[s * D + d]; v += t * t; } v *= p[0]; if (v < best) { best = v; arg = s; }'
      }
    }
  }
  ${
    o.kind === 'sum'
      ? 'T* out = (T*)c->out[0]; for (int d = 0; d < D; d++) out[r * D + d] = acc[d];'
      : o.kind === 'minargmin'
        ? '((T*)c->out[0])[r] = best; ((int64_t*)c->out[1])[r] = arg;'
        : '((int64_t*)c->out[0])[r] = arg;'
  }
}
static void neutral(const keopsc_call* c, int64_t r) {
  ${
    o.kind === 'sum'
      ? 'T* out = (T*)c->out[0]; for (int d = 0; d < D; d++) out[r * D + d] = 0;'
      : o.kind === 'minargmin'
        ? '((T*)c->out[0])[r] = (T)1e30; ((int64_t*)c->out[1])[r] = -1;'
        : '((int64_t*)c->out[0])[r] = -1;'
  }
}
extern "C" int keopsc_run(const keopsc_call* c) {
  if (!c->ranges_out) {
    for (int64_t r = c->r0; r < c->r1; r++) fold_row(c, r, 0, 0, 1, 1);
    return 0;
  }
  for (int64_t r = c->r0; r < c->r1; r++) neutral(c, r);
  for (int64_t k = 0; k < c->n_clusters; k++) {
    int64_t a = c->ranges_out[2 * k], b = c->ranges_out[2 * k + 1];
    if (a < c->r0) a = c->r0;
    if (b > c->r1) b = c->r1;
    for (int64_t r = a; r < b; r++) fold_row(c, r, c->red, k == 0 ? 0 : c->slices[k - 1], c->slices[k], 0);
  }
  return 0;
}
${printKernelInfo(info)}
`;
}

/** The same computation in TS (float64; test data are small integers, so float32 is exact too). */
function reference(
  o: { tag: 0 | 1; kind: 'sum' | 'minargmin' | 'argmin'; D: number },
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  p: number,
  M: number,
  N: number,
  R?: NativeRanges,
): { values: number[]; indices: number[] } {
  const rows = o.tag === 0 ? M : N;
  const redLen = o.tag === 0 ? N : M;
  const D = o.D;
  const values: number[] = new Array(rows * (o.kind === 'sum' ? D : 1)).fill(0);
  const indices: number[] = new Array(rows).fill(-1);
  const fold = (r: number, intervals: [number, number][]): void => {
    if (o.kind === 'sum') {
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (const [s0, s1] of intervals) for (let s = s0; s < s1; s++) acc += (x[r * D + d]! + y[s * D + d]!) * p;
        values[r * D + d] = acc;
      }
    } else {
      let best = 1e30;
      let arg = -1;
      for (const [s0, s1] of intervals)
        for (let s = s0; s < s1; s++) {
          let v = 0;
          for (let d = 0; d < D; d++) v += (x[r * D + d]! - y[s * D + d]!) ** 2;
          v *= p;
          if (v < best) {
            best = v;
            arg = s;
          }
        }
      values[r] = best;
      indices[r] = arg;
    }
  };
  if (!R) {
    for (let r = 0; r < rows; r++) fold(r, [[0, redLen]]);
  } else {
    if (o.kind !== 'sum') values.fill(1e30);
    for (let k = 0; k < R.out.length / 2; k++) {
      const intervals: [number, number][] = [];
      for (let l = k === 0 ? 0 : R.slices[k - 1]!; l < R.slices[k]!; l++) intervals.push([R.red[2 * l]!, R.red[2 * l + 1]!]);
      for (let r = R.out[2 * k]!; r < R.out[2 * k + 1]!; r++) fold(r, intervals);
    }
  }
  return { values, indices };
}

/** A small deterministic generator (test data: integers in [-8, 8]). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
const ints = (n: number, rand: () => number, lo = -8, hi = 8): number[] => Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo + 1)));

/** Random ranges: clusters of output rows (some overlapping, some rows uncovered), each with a few reduction intervals. */
function randomRanges(rows: number, redLen: number, rand: () => number): NativeRanges {
  const out: number[] = [];
  const slices: number[] = [];
  const red: number[] = [];
  const clusters = 1 + Math.floor(rand() * 6);
  for (let c = 0; c < clusters; c++) {
    const a = Math.floor(rand() * (rows + 1));
    const b = a + Math.floor(rand() * (rows - a + 1));
    out.push(a, b);
    const n = Math.floor(rand() * 4);
    for (let k = 0; k < n; k++) {
      const s = Math.floor(rand() * (redLen + 1));
      red.push(s, s + Math.floor(rand() * (redLen - s + 1)));
    }
    slices.push(red.length / 2);
  }
  return { out: Int32Array.from(out), slices: Int32Array.from(slices), red: Int32Array.from(red) };
}


describe('native addon (runtime/cpu)', function () {
  this.timeout(120000);
  if (!cpuOrSkip()) return;
  const addon = loadAddon() as NativeAddon;
  let dir = '';
  let savedCache: string | undefined;
  let savedMin = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keopsc-native-'));
    savedCache = process.env['KEOPSC_CACHE_DIR'];
    process.env['KEOPSC_CACHE_DIR'] = join(dir, 'cache');
    savedMin = CPU_CONFIG.minParallelPairs;
  });
  after(() => {
    if (savedCache === undefined) delete process.env['KEOPSC_CACHE_DIR'];
    else process.env['KEOPSC_CACHE_DIR'] = savedCache;
    CPU_CONFIG.minParallelPairs = savedMin;
    rmSync(dir, { recursive: true, force: true });
  });

  const handles = new Map<string, KernelHandle>();
  type Spec = { dtype: 'float32' | 'float64'; tag: 0 | 1; kind: 'sum' | 'minargmin' | 'argmin'; D: number };
  const kernel = (o: Spec): KernelHandle => {
    const name = `${o.kind}_${o.dtype}_t${o.tag}_d${o.D}`;
    let h = handles.get(name);
    if (!h) {
      h = addon.load(compileKernel(kernelSource({ ...o, name })));
      handles.set(name, h);
    }
    return h;
  };

  /** Run one case on the addon and compare with the TS reference; returns the threads used. */
  const check = (o: Spec, M: number, N: number, threads: number, seed: number, withRanges: boolean): number => {
    const rand = rng(seed);
    const F = o.dtype === 'float32' ? Float32Array : Float64Array;
    const rowsX = o.tag === 0 ? M : N;
    const rowsY = o.tag === 0 ? N : M;
    const x = F.from(ints(rowsX * o.D, rand));
    const y = F.from(ints(rowsY * o.D, rand));
    const p = F.of(o.kind === 'sum' ? 2 : 1);
    const R = withRanges ? randomRanges(rowsX, rowsY, rand) : undefined;
    const rows = rowsX;
    const outputs: (Float32Array | Float64Array | BigInt64Array)[] =
      o.kind === 'sum' ? [new F(rows * o.D)] : o.kind === 'minargmin' ? [new F(rows), new BigInt64Array(rows)] : [new BigInt64Array(rows)];
    for (const a of outputs) if (!(a instanceof BigInt64Array)) a.fill(NaN); // every row must be written
    const used = addon.run(kernel(o), { inputs: [x, undefined, y, p], outputs, M, N, ranges: R, threads, minParallelPairs: 0 });
    const ref = reference(o, x, y, p[0]!, M, N, R);
    const label = `${o.kind} ${o.dtype} tag ${o.tag} M=${M} N=${N} threads=${threads} ranges=${withRanges}`;
    if (o.kind === 'sum') expect(Array.from(outputs[0] as Float64Array), label).to.deep.equal(ref.values);
    if (o.kind === 'minargmin') {
      expect(Array.from(outputs[0] as Float64Array), label).to.deep.equal(ref.values.map((v) => (o.dtype === 'float32' ? Math.fround(v) : v)));
      expect(Array.from(outputs[1] as BigInt64Array, Number), label).to.deep.equal(ref.indices);
    }
    if (o.kind === 'argmin') expect(Array.from(outputs[0] as BigInt64Array, Number), label).to.deep.equal(ref.indices);
    expect(used, label).to.be.within(1, threads);
    return used;
  };

  describe('runs hand-written ABI kernels like plain TS loops', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`Sum over j of (x_i + y_j)·p, ${dtype}, dense and with ranges, threads 1–4, uneven row counts`, () => {
        const o: Spec = { dtype, tag: 0, kind: 'sum', D: 3 };
        let parallel = 0;
        for (const M of [1, 5, 7, 97, 1001]) {
          for (const threads of [1, 2, 3, 4]) {
            if (check(o, M, 53, threads, M * 10 + threads, false) > 1) parallel++;
            check(o, M, 53, threads, M * 17 + threads, true);
          }
        }
        expect(parallel, 'the pool ran some of the dense cases').to.be.greaterThan(0);
      });
      it(`Min_ArgMin (values + int64 indices) and ArgMin (int64 only), ${dtype}`, () => {
        for (const kind of ['minargmin', 'argmin'] as const)
          for (const M of [3, 64, 301])
            for (const threads of [1, 2, 4]) {
              check({ dtype, tag: 0, kind, D: 2 }, M, 41, threads, M + threads, false);
              check({ dtype, tag: 0, kind, D: 2 }, M, 41, threads, M * 3 + threads, true);
            }
      });
    }
    it('tag 1 kernels have N output rows and reduce over M (dense and ranges)', () => {
      for (const kind of ['sum', 'minargmin'] as const)
        for (const [M, N] of [
          [40, 3],
          [13, 250],
        ] as const)
          for (const threads of [1, 3]) {
            check({ dtype: 'float64', tag: 1, kind, D: 2 }, M, N, threads, M + N + threads, false);
            check({ dtype: 'float64', tag: 1, kind, D: 2 }, M, N, threads, M * N + threads, true);
          }
    });
    it('many random ranges, including empty clusters, overlaps and uncovered rows', () => {
      for (let seed = 1; seed <= 60; seed++) {
        const rand = rng(seed * 7919);
        const M = 1 + Math.floor(rand() * 300);
        const N = 1 + Math.floor(rand() * 80);
        check({ dtype: 'float64', tag: 0, kind: 'sum', D: 1 }, M, N, 1 + (seed % 4), seed, true);
      }
    });
    it('M = 0 or N = 0: nothing to compute (sums of nothing are 0), no crash', () => {
      const h = kernel({ dtype: 'float64', tag: 0, kind: 'sum', D: 3 });
      const out = new Float64Array(0);
      expect(addon.run(h, { inputs: [new Float64Array(0), undefined, new Float64Array(6), Float64Array.of(1)], outputs: [out], M: 0, N: 2, threads: 2 })).to.equal(0);
      const out2 = new Float64Array(6).fill(NaN);
      addon.run(h, { inputs: [new Float64Array(6), undefined, new Float64Array(0), Float64Array.of(1)], outputs: [out2], M: 2, N: 0, threads: 2, minParallelPairs: 0 });
      expect(Array.from(out2)).to.deep.equal([0, 0, 0, 0, 0, 0]);
    });
    it('small problems stay on the calling thread; the pool is persistent (workers reused)', () => {
      const o: Spec = { dtype: 'float64', tag: 0, kind: 'sum', D: 1 };
      const h = kernel(o);
      const small = { inputs: [new Float64Array(10), undefined, new Float64Array(10), Float64Array.of(1)], outputs: [new Float64Array(10)], M: 10, N: 10, threads: 4 };
      expect(addon.run(h, small)).to.equal(1);
      const M = 2000;
      const N = 100;
      const big = { inputs: [new Float64Array(M), undefined, new Float64Array(N), Float64Array.of(1)], outputs: [new Float64Array(M)], M, N, threads: 3 };
      expect(addon.run(h, big)).to.equal(3);
      const workers = addon.poolSize();
      expect(workers).to.be.at.least(2);
      for (let k = 0; k < 20; k++) addon.run(h, big);
      expect(addon.poolSize()).to.equal(workers);
    });
    it('info(handle) returns the parsed info; the handle carries path and name', () => {
      const h = kernel({ dtype: 'float32', tag: 0, kind: 'minargmin', D: 2 });
      const info = addon.info(h);
      expect(info).to.deep.include({ abi: 2, name: 'minargmin_float32_t0_d2', dtype: 'float32', tag: 0 });
      expect(info.args).to.deep.equal([
        { index: 0, dim: 2, cat: 0 },
        { index: 2, dim: 2, cat: 1 },
        { index: 3, dim: 1, cat: 2 },
      ]);
      expect(info.outputs.map((o) => o.kind)).to.deep.equal(['float', 'index']);
      expect(h.name).to.equal('minargmin_float32_t0_d2');
      expect(h.path).to.match(/\.so$/);
    });
    it('runCpu runs a plan-shaped call: allocates outputs (int64 indices), coalesces the ranges of the tag', () => {
      const src = kernelSource({ dtype: 'float32', tag: 0, kind: 'minargmin', D: 2, name: 'viaRunCpu' });
      const plan = { tag: 0, reduction: { outputs: [{ name: 'values', kind: 'float', rowShape: [1] }, { name: 'indices', kind: 'index', rowShape: [1] }] } } as unknown as KernelPlan;
      const rand = rng(5);
      const M = 50;
      const N = 30;
      const x = Float32Array.from(ints(M * 2, rand));
      const y = Float32Array.from(ints(N * 2, rand));
      const p = Float32Array.of(1);
      const arrays = new Map<number, Float32Array>([
        [0, x],
        [2, y],
        [3, p],
      ]);
      const R = randomRanges(M, N, rand);
      const ranges = { ranges_i: R.out, slices_i: R.slices, redranges_j: R.red, ranges_j: new Int32Array(0), slices_j: new Int32Array(0), redranges_i: new Int32Array(0) };
      const outs = runCpu(plan, { arrays, M, N, dtype: 'float32', ranges }, src, 2);
      const ref = reference({ tag: 0, kind: 'minargmin', D: 2 }, x, y, 1, M, N, R);
      expect(outs.map((o) => o.shape)).to.deep.equal([
        [M, 1],
        [M, 1],
      ]);
      expect(outs[1]!.data).to.be.instanceOf(BigInt64Array);
      expect(Array.from(outs[1]!.data as BigInt64Array, Number)).to.deep.equal(ref.indices);
      expect(Array.from(outs[0]!.data as Float32Array)).to.deep.equal(ref.values.map(Math.fround));
      const pre = new Float32Array(M);
      const outs2 = runCpu(plan, { arrays, M, N, dtype: 'float32' }, src, 1, pre);
      expect(outs2[0]!.data).to.equal(pre);
    });
  });

  describe('validation: every bad argument throws a one-line TypeError/RangeError before any work', () => {
    const o: Spec = { dtype: 'float32', tag: 0, kind: 'minargmin', D: 2 };
    const M = 6;
    const N = 4;
    const good = () => ({
      inputs: [new Float32Array(M * 2).fill(1), undefined, new Float32Array(N * 2).fill(2), Float32Array.of(1)] as (Float32Array | Float64Array | undefined)[],
      outputs: [new Float32Array(M).fill(7), new BigInt64Array(M).fill(7n)] as (Float32Array | Float64Array | BigInt64Array)[],
      M,
      N,
      threads: 2,
      ranges: undefined as NativeRanges | undefined,
    });
    const ranges = (out: number[], slices: number[], red: number[]): NativeRanges => ({ out: Int32Array.from(out), slices: Int32Array.from(slices), red: Int32Array.from(red) });
    type Case = [string, (a: ReturnType<typeof good>) => unknown, 'TypeError' | 'RangeError', RegExp];
    const cases: Case[] = [
      ['wrong dtype input (Float64Array for float32)', (a) => (a.inputs[0] = new Float64Array(M * 2)), 'TypeError', /input 0 .*must be a Float32Array.*got Float64Array/],
      ['input not a typed array', (a) => ((a.inputs as unknown[])[2] = [1, 2, 3, 4, 5, 6, 7, 8]), 'TypeError', /input 2 .*must be a Float32Array, got an Array/],
      ['input of an integer type', (a) => ((a.inputs as unknown[])[3] = Int32Array.of(1)), 'TypeError', /input 3 .*got Int32Array/],
      ['short input', (a) => (a.inputs[0] = new Float32Array(M * 2 - 1)), 'RangeError', /input 0 has 11 values, expected M x dim = 6 x 2 = 12/],
      ['long input', (a) => (a.inputs[2] = new Float32Array(N * 2 + 1)), 'RangeError', /input 2 has 9 values, expected N x dim = 4 x 2 = 8/],
      ['parameter of the wrong length', (a) => (a.inputs[3] = new Float32Array(2)), 'RangeError', /input 3 has 2 values, expected 1 x dim = 1 x 1 = 1/],
      ['missing input (hole)', (a) => (a.inputs[2] = undefined), 'TypeError', /input 2 \(dim 2, category j \(N rows\)\) is missing/],
      ['missing input (array too short)', (a) => (a.inputs.length = 3), 'TypeError', /input 3 .*is missing/],
      ['inputs not an array', (a) => ((a as { inputs: unknown }).inputs = { 0: 1 }), 'TypeError', /inputs must be an Array/],
      ['short values output', (a) => (a.outputs[0] = new Float32Array(M - 1)), 'RangeError', /output 0 \(values\) has 5 values, expected rows x width = 6 x 1 = 6/],
      ['short index output', (a) => (a.outputs[1] = new BigInt64Array(M - 1)), 'RangeError', /output 1 \(indices\) has 5 values/],
      ['values output of the wrong dtype', (a) => (a.outputs[0] = new Float64Array(M)), 'TypeError', /output 0 \(values\) must be a Float32Array, got Float64Array/],
      ['index output as floats', (a) => (a.outputs[1] = new Float32Array(M)), 'TypeError', /output 1 \(indices\) must be a BigInt64Array, got Float32Array/],
      ['index output as BigUint64Array', (a) => ((a.outputs as unknown[])[1] = new BigUint64Array(M)), 'TypeError', /must be a BigInt64Array, got BigUint64Array/],
      ['too few outputs', (a) => a.outputs.pop(), 'RangeError', /outputs has 1 arrays, the kernel writes 2/],
      ['outputs not an array', (a) => ((a as { outputs: unknown }).outputs = a.outputs[0]), 'TypeError', /outputs must be an Array/],
      [
        'output sharing memory with an input',
        (a) => {
          const buf = new Float32Array(M * 3);
          a.inputs[0] = buf.subarray(0, M * 2);
          a.outputs[0] = buf.subarray(M * 2 - 1, M * 3 - 1);
        },
        'RangeError',
        /output 0 \(values\) shares memory with input 0/,
      ],
      ['M negative', (a) => (a.M = -1), 'RangeError', /M must be an integer in \[0, /],
      ['M fractional', (a) => (a.M = 2.5), 'RangeError', /M must be an integer/],
      ['N NaN', (a) => (a.N = NaN), 'RangeError', /N must be an integer .*got nan/i],
      ['N a string', (a) => ((a as { N: unknown }).N = '4'), 'TypeError', /N must be a number, got a string/],
      ['M missing', (a) => ((a as { M: unknown }).M = undefined), 'TypeError', /M must be a number, got undefined/],
      ['threads 0', (a) => (a.threads = 0), 'RangeError', /threads must be an integer in \[1, 1024\], got 0/],
      ['threads negative', (a) => (a.threads = -2), 'RangeError', /threads must be an integer in \[1, 1024\]/],
      ['threads fractional', (a) => (a.threads = 1.5), 'RangeError', /threads must be an integer/],
      ['threads too many', (a) => (a.threads = 5000), 'RangeError', /threads must be an integer in \[1, 1024\]/],
      ['threads not a number', (a) => ((a as { threads: unknown }).threads = '2'), 'TypeError', /threads must be a number/],
      ['ranges not an object', (a) => ((a as { ranges: unknown }).ranges = 3), 'TypeError', /ranges must be an object/],
      ['ranges array of the wrong type', (a) => ((a as { ranges: unknown }).ranges = { out: Float64Array.of(0, 6), slices: Int32Array.of(1), red: Int32Array.of(0, 4) }), 'TypeError', /ranges\.out must be a Int32Array, got Float64Array/],
      ['ranges array missing', (a) => ((a as { ranges: unknown }).ranges = { out: Int32Array.of(0, 6), slices: Int32Array.of(1) }), 'TypeError', /ranges\.red must be a Int32Array, got undefined/],
      ['ranges.out odd length', (a) => (a.ranges = ranges([0, 6, 1], [1], [0, 4])), 'RangeError', /ranges\.out has 3 values; it must hold \[start, end\) pairs/],
      ['ranges.red odd length', (a) => (a.ranges = ranges([0, 6], [1], [0, 4, 1])), 'RangeError', /ranges\.red has 3 values/],
      ['ranges.out start > end', (a) => (a.ranges = ranges([4, 2], [1], [0, 4])), 'RangeError', /ranges\.out\[0\] = \[4, 2\) has start > end/],
      ['ranges.out negative start', (a) => (a.ranges = ranges([-1, 2], [1], [0, 4])), 'RangeError', /ranges\.out\[0\] = \[-1, 2\) has a negative start/],
      ['ranges.out past the rows', (a) => (a.ranges = ranges([0, 7], [1], [0, 4])), 'RangeError', /ranges\.out\[0\] = \[0, 7\) is out of bounds for M = 6/],
      ['ranges.red start > end', (a) => (a.ranges = ranges([0, 6], [1], [3, 1])), 'RangeError', /ranges\.red\[0\] = \[3, 1\) has start > end/],
      ['ranges.red negative', (a) => (a.ranges = ranges([0, 6], [1], [-3, 1])), 'RangeError', /ranges\.red\[0\] = \[-3, 1\) has a negative start/],
      ['ranges.red past the reduction', (a) => (a.ranges = ranges([0, 6], [1], [0, 5])), 'RangeError', /ranges\.red\[0\] = \[0, 5\) is out of bounds for N = 4/],
      ['slices: one per cluster', (a) => (a.ranges = ranges([0, 3, 3, 6], [1], [0, 4])), 'RangeError', /ranges\.slices has 1 entries but there are 2 clusters/],
      ['slices decreasing', (a) => (a.ranges = ranges([0, 3, 3, 6], [2, 1], [0, 4, 0, 2])), 'RangeError', /ranges\.slices must be non-decreasing, but slices\[1\] = 1 < 2/],
      ['slices negative', (a) => (a.ranges = ranges([0, 6], [-1], [0, 4])), 'RangeError', /non-decreasing, but slices\[0\] = -1 < 0/],
      ['slices past red', (a) => (a.ranges = ranges([0, 6], [2], [0, 4])), 'RangeError', /ranges\.slices\[0\] = 2 is past the end of ranges\.red \(1 intervals\)/],
    ];
    for (const [what, mutate, type, re] of cases) {
      it(`${what}: ${type}`, () => {
        const h = kernel(o);
        const a = good();
        mutate(a);
        const before = a.outputs.map((x) => Array.from(x as Float32Array, String).join(','));
        let err: unknown;
        try {
          addon.run(h, a as never);
        } catch (e) {
          err = e;
        }
        expect(err, 'it throws').to.be.instanceOf(Error);
        const e = err as Error;
        expect(e.name).to.equal(type);
        expect(e.message).to.match(re);
        expect(e.message).to.not.include('\n');
        if (Array.isArray(a.outputs) && a.outputs.length === 2 && !what.includes('memory'))
          expect(
            a.outputs.map((x) => Array.from(x as Float32Array, String).join(',')),
            'outputs untouched',
          ).to.deep.equal(before);
      });
    }
    it('the good call itself works after all the failures', () => {
      const a = good();
      addon.run(kernel(o), a);
      expect(Array.from(a.outputs[0] as Float32Array)).to.deep.equal(new Array(M).fill(2));
      expect(Array.from(a.outputs[1] as BigInt64Array)).to.deep.equal(new Array(M).fill(0n));
    });
    it('a getter that detaches an input buffer runs before validation (no use-after-free)', () => {
      const a = good();
      const x = a.inputs[0]!;
      const opts = {
        ...a,
        get threads(): number {
          structuredClone(x.buffer, { transfer: [x.buffer] }); // detaches x
          return 2;
        },
      };
      expect(() => addon.run(kernel(o), opts)).to.throw(RangeError, /input 0 has 0 values, expected M x dim = 6 x 2 = 12/);
    });
    it('a bad handle or options: TypeError', () => {
      expect(() => addon.run({} as never, good())).to.throw(TypeError, /must be a kernel handle returned by load\(\)/);
      expect(() => addon.run(undefined as never, good())).to.throw(TypeError, /kernel handle/);
      expect(() => addon.info({ path: 'x', name: 'y' } as never)).to.throw(TypeError, /kernel handle/);
      expect(() => addon.run(kernel(o), undefined as never)).to.throw(TypeError, /options object/);
      expect(() => runCompiled(kernel(o), [], [], 1, 1, undefined, 1)).to.throw(TypeError, /input 0 .*is missing/);
    });
  });

  describe('load errors are Errors, never crashes', () => {
    /** Compile a test library (`name` only labels the call). */
    const lib = (name: string, code: string): string => compileKernel(`// ${name}\n${code}`, { flags: ['-O0', '-std=c++17'] });
    /** A library whose keopsc_info returns `&I` for the C initializer `init` of `keopsc_kernel_info I`. */
    const infoLib = (init: string, decls = ''): string =>
      lib('info', `${ABI_HEADER}\nextern "C" int keopsc_run(const keopsc_call*) { return 0; }\n${decls}\nstatic const keopsc_kernel_info I = ${init};\nextern "C" const keopsc_kernel_info* keopsc_info(void) { return &I; }\n`);
    it('a missing file', () => {
      expect(() => addon.load(join(dir, 'nope.so'))).to.throw(Error, /cannot load kernel library '.*nope\.so': No such file or directory/);
    });
    it('a directory, an empty path, a non-string', () => {
      expect(() => addon.load(dir)).to.throw(Error, /not a regular file/);
      expect(() => addon.load('')).to.throw(TypeError, /empty/);
      expect(() => (addon.load as (x: unknown) => unknown)(3)).to.throw(TypeError, /expected the path/);
    });
    it('a file that is not a library', () => {
      const p = join(dir, 'text.so');
      writeFileSync(p, 'this is not an ELF file\n'.repeat(100));
      expect(() => addon.load(p)).to.throw(Error, /cannot load kernel library '.*text\.so': .*(invalid ELF header|too short)/);
    });
    it('a truncated library, cut anywhere, is an Error (dlopen alone would fault on it)', () => {
      const whole = lib('whole', kernelSource({ dtype: 'float64', tag: 0, kind: 'sum', D: 1, name: 'whole' }));
      const bytes = readFileSync(whole);
      const cuts = new Set<number>([1, 63, 64, 65, bytes.length - 1, bytes.length - 64]);
      for (let k = 1; k < 32; k++) cuts.add(Math.floor((bytes.length * k) / 32));
      for (const n of cuts) {
        const p = join(dir, `cut-${n}.so`);
        writeFileSync(p, bytes.subarray(0, n));
        expect(() => addon.load(p), `cut at ${n} of ${bytes.length}`).to.throw(Error, /cannot load kernel library .*(truncated|too short)/);
      }
      const p = join(dir, 'copy.so');
      writeFileSync(p, bytes);
      expect(addon.load(p).name).to.equal('whole');
    });
    it('a library without the symbols', () => {
      expect(() => addon.load(lib('nosym', 'extern "C" int something_else(void) { return 1; }\n'))).to.throw(Error, /is not a keopsc kernel: it has no symbol keopsc_run/);
      expect(() => addon.load(lib('noinfo', `${ABI_HEADER}\nextern "C" int keopsc_run(const keopsc_call*) { return 0; }\n`))).to.throw(Error, /it has no symbol keopsc_info/);
    });
    it('a bad info struct, a wrong ABI, bad fields, another key', () => {
      const ok1 = 'static const keopsc_output O[] = {{"values", 0, 1}};';
      const arg = (list: string): string => `${ok1}\nstatic const keopsc_arg A[] = {${list}};`;
      expect(() => addon.load(lib('null', `${ABI_HEADER}\nextern "C" int keopsc_run(const keopsc_call*) { return 0; }\nextern "C" const void* keopsc_info(void) { return 0; }\n`))).to.throw(Error, /keopsc_info returned a null pointer/);
      // a library of ABI 1, whose keopsc_info returned JSON text
      expect(() => addon.load(lib('abi1', `${ABI_HEADER}\nextern "C" int keopsc_run(const keopsc_call*) { return 0; }\nextern "C" const char* keopsc_info(void) { return "{\\"abi\\":1,\\"name\\":\\"x\\",\\"dtype\\":\\"float64\\",\\"tag\\":0,\\"args\\":[],\\"outputs\\":[]}"; }\n`))).to.throw(Error, /ABI version 1 \(JSON info\), this addon supports 2 \(recompile the kernel\)/);
      expect(() => addon.load(infoLib('{3, 0, 0, 0, 1, "x", 0, O, ""}', ok1))).to.throw(Error, /ABI version 3, this addon supports 2/);
      expect(() => addon.load(infoLib('{2, 2, 0, 0, 1, "x", 0, O, ""}', ok1))).to.throw(Error, /f64 must be 0 \(float32\) or 1 \(float64\)/);
      expect(() => addon.load(infoLib('{2, 0, 2, 0, 1, "x", 0, O, ""}', ok1))).to.throw(Error, /tag must be 0 or 1/);
      expect(() => addon.load(infoLib('{2, 0, 0, 0, 1, 0, 0, O, ""}', ok1))).to.throw(Error, /the info's name is a null pointer/);
      expect(() => addon.load(infoLib('{2, 0, 0, 1, 1, "x", 0, O, ""}', ok1))).to.throw(Error, /args must be an array of n_args/);
      expect(() => addon.load(infoLib('{2, 0, 0, 1, 1, "x", A, O, ""}', arg('{0, 0, 0}')))).to.throw(Error, /args\[0\] needs a dim >= 1/);
      expect(() => addon.load(infoLib('{2, 0, 0, 1, 1, "x", A, O, ""}', arg('{70000, 1, 0}')))).to.throw(Error, /args\[0\] needs an index in \[0, 65535\]/);
      expect(() => addon.load(infoLib('{2, 0, 0, 1, 1, "x", A, O, ""}', arg('{0, 1, 3}')))).to.throw(Error, /args\[0\] needs cat 0, 1 or 2/);
      expect(() => addon.load(infoLib('{2, 0, 0, 2, 1, "x", A, O, ""}', arg('{0, 1, 0}, {0, 1, 1}')))).to.throw(Error, /args\[1\] repeats index 0/);
      expect(() => addon.load(infoLib('{2, 0, 0, 0, 0, "x", 0, O, ""}', ok1))).to.throw(Error, /outputs must be an array of 1 or 2 outputs/);
      expect(() => addon.load(infoLib('{2, 0, 0, 0, 1, "x", 0, O, ""}', 'static const keopsc_output O[] = {{"v", 2, 1}};'))).to.throw(Error, /outputs\[0\] needs kind 0 \(values\) or 1 \(indices\)/);
      expect(() => addon.load(infoLib('{2, 0, 0, 0, 1, "x", 0, O, ""}', 'static const keopsc_output O[] = {{"v", 0, 0}};'))).to.throw(Error, /outputs\[0\] needs a width >= 1/);
      const path = infoLib('{2, 1, 1, 1, 1, "e\\303\\251\\n", A, O, "k1"}', `static const keopsc_output O[] = {{0, 1, 3}};\nstatic const keopsc_arg A[] = {{5, 7, 2}};`);
      expect(addon.info(addon.load(path))).to.deep.equal({
        abi: 2,
        name: 'eé\n',
        dtype: 'float64',
        tag: 1,
        args: [{ index: 5, dim: 7, cat: 2 }],
        outputs: [{ name: 'indices', kind: 'index', width: 3 }],
        key: 'k1',
      });
      expect(addon.load(path, 'k1').name).to.equal('eé\n');
      expect(() => addon.load(path, 'k2')).to.throw(Error, /was built for another kernel \(its key is 'k1', expected 'k2'\)/);
      expect(() => (addon.load as (p: string, k: unknown) => unknown)(path, 3)).to.throw(TypeError, /expected key must be a string/);
    });
    it('a kernel that returns non-zero: Error', () => {
      const h = addon.load(lib('fails', `${ABI_HEADER}\nextern "C" int keopsc_run(const keopsc_call*) { return 3; }\n${printKernelInfo({ name: 'f', dtype: 'float64', tag: 0, args: [], outputs: [{ name: 'values', kind: 'float', width: 1 }] })}\n`));
      expect(() => addon.run(h, { inputs: [], outputs: [new Float64Array(5)], M: 5, N: 5, threads: 1 })).to.throw(Error, /keopsc_run returned 3/);
      expect(() => addon.run(h, { inputs: [], outputs: [new Float64Array(500)], M: 500, N: 500, threads: 2, minParallelPairs: 0 })).to.throw(Error, /keopsc_run returned 3/);
    });
  });

  describe('overheads (printed, not asserted)', () => {
    it('call overhead of run for a tiny problem', () => {
      const h = kernel({ dtype: 'float64', tag: 0, kind: 'sum', D: 1 });
      const a = { inputs: [Float64Array.of(1, 2), undefined, Float64Array.of(3, 4), Float64Array.of(1)], outputs: [new Float64Array(2)], M: 2, N: 2, threads: 4 };
      for (let k = 0; k < 1000; k++) addon.run(h, a);
      const n = 20000;
      const t0 = performance.now();
      for (let k = 0; k < n; k++) addon.run(h, a);
      const us = ((performance.now() - t0) * 1000) / n;
      console.log(`      run() on a 2×2 problem: ${us.toFixed(2)} µs per call`);
      const src = kernelSource({ dtype: 'float64', tag: 0, kind: 'sum', D: 1, name: 'overhead' });
      const plan = { tag: 0, reduction: { outputs: [{ name: 'values', kind: 'float', rowShape: [1] }] } } as unknown as KernelPlan;
      const arrays = new Map<number, Float64Array>([
        [0, Float64Array.of(1, 2)],
        [2, Float64Array.of(3, 4)],
        [3, Float64Array.of(1)],
      ]);
      const inp = { arrays, M: 2, N: 2, dtype: 'float64' as const };
      for (let k = 0; k < 1000; k++) runCpu(plan, inp, src, 4);
      const t1c = performance.now();
      for (let k = 0; k < n; k++) runCpu(plan, inp, src, 4);
      console.log(`      runCpu() on a 2×2 problem (source lookup, output allocation, run): ${(((performance.now() - t1c) * 1000) / n).toFixed(2)} µs per call`);
      const M = 4000;
      const N = 4000;
      const big = { inputs: [new Float64Array(M), undefined, new Float64Array(N), Float64Array.of(1)], outputs: [new Float64Array(M)], M, N };
      const time = (threads: number): number => {
        addon.run(h, { ...big, threads });
        const t = performance.now();
        for (let k = 0; k < 5; k++) addon.run(h, { ...big, threads });
        return (performance.now() - t) / 5;
      };
      const t1 = time(1);
      const t2 = time(2);
      console.log(`      ${M}×${N} sum: 1 thread ${t1.toFixed(2)} ms, 2 threads ${t2.toFixed(2)} ms (${(t1 / t2).toFixed(2)}×)`);
    });
  });
});
