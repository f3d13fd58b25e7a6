import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compile, compileModule, type RunResult } from '../src/api/compile.js';
import { main } from '../src/cli/main.js';
import { cudaLayout, printCuda } from '../src/targets/cuda.js';
import { withoutComponentLoops } from '../src/lower/plan.js';
import { blockTable as cudaBlockTable } from '../runtime/ranges/index.js';
import { deviceOnly, goldenModules } from './helpers/golden.js';
import { highDimPlans, VECTOR_FORMULAS, vectorDecls, vectorPlans, VECTOR_DIMS } from './helpers/dims.js';
import { emulateCuda, type EmuRun } from './helpers/cuda-emu.js';
import { rng } from './helpers/data.js';
import { matchSnapshot } from './helpers/snapshot.js';

const run = promisify(execFile);

/** Run nvcc; a failure throws its first 30 lines of output, naming `what`. */
async function nvcc(what: string, args: string[]): Promise<void> {
  await run('nvcc', args).catch((e: { stderr?: string }) => {
    throw new Error(`nvcc ${what} failed:\n${(e.stderr ?? String(e)).split('\n').slice(0, 30).join('\n')}`);
  });
}

/** Compile `src` to PTX as `<dir>/<what>.cu` (sm_80 for `float32`, else sm_90) and check that every kernel
 * `keopsc_<name>_dense` of `names` is an entry of it. */
async function ptxHasEntries(dir: string, what: string, src: string, names: readonly string[]): Promise<void> {
  writeFileSync(join(dir, `${what}.cu`), src);
  await nvcc(what, ['-ptx', `-arch=${what === 'float32' ? 'sm_80' : 'sm_90'}`, join(dir, `${what}.cu`), '-o', join(dir, `${what}.ptx`)]);
  const ptx = readFileSync(join(dir, `${what}.ptx`), 'utf8');
  for (const name of names) assert.match(ptx, new RegExp(`\\.entry keopsc_${name}_dense\\(`), `${what} ${name}`);
}
const DECLS = 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 2)\nc = Vi(3, 2)\np = Pm(4, 2)\n';

const KERNELS: [string, string][] = [
  ['gauss', 'Sum_Reduction(Exp(-SqDist(x, y) * Elem(p, 0) * Elem(p, 0)) * Exp(b), 0)'],
  ['sum_tag1', 'Sum_Reduction(Exp(-SqDist(x, y) / 2 + Elem(p, 1)) * Exp(c) + Square(Elem(y, 2)), 1)'],
  ['sum_math', 'Sum_Reduction(Atan2(Elem(x, 0), Elem(y, 1)) + Round(Elem(x, 1) * 3, 0) + Rsqrt(Abs(Elem(y, 2))) + Pow(Abs(Elem(x, 2)), 3) + IfElse(Elem(x, 0) - Elem(y, 0), Sin(Elem(x, 1)), Cos(Elem(y, 1))), 0)'],
  ['sum_zero', 'Sum_Reduction(0 * Exp(x - y), 0)'],
  ['max', 'Max_Reduction(Concat(-SqDist(x, y), Elem(y, 0) - Elem(c, 1)), 0)'],
  ['min_tag1', 'Min_Reduction(SqDist(x, y) + c, 1)'],
  ['argmin', 'ArgMin_Reduction(SqDist(x, y) - Elem(b, 0), 0)'],
  ['argmax_tag1', 'ArgMax_Reduction(Floor(x * y * 2), 1)'],
  ['min_argmin', 'Min_ArgMin_Reduction(Concat(Floor(SqDist(x, y) * 2), Elem(y, 1)), 0)'],
  ['max_argmax_tag1', 'Max_ArgMax_Reduction(Elem(x, 0) * Elem(y, 1) - c, 1)'],
  ['kmin', 'KMin_Reduction(SqDist(x, y), 3, 0)'],
  ['argkmin_tag1', 'ArgKMin_Reduction(Floor(SqDist(x, y)), 4, 1)'],
  ['kmin_argkmin_vec', 'KMin_ArgKMin_Reduction(x - y, 5, 0)'],
  ['lse', 'LogSumExp_Reduction(-SqDist(x, y) * 3, 0)'],
  ['lse_w', 'LogSumExpWeight_Reduction(-SqDist(x, y), 0, b)'],
  ['ssm_w', 'SumSoftMaxWeight_Reduction(-SqDist(x, y), 1, b)'],
  ['mss', 'Max_SumShiftExp_Reduction(-SqDist(x, y), 1)'],
  ['mssw', 'Max_SumShiftExpWeight_Reduction(-SqDist(x, y), 0, b)'],
];

/** Why nvcc cannot run (null when it can). With KEOPSC_REQUIRE_NVCC=1 (CI) a missing nvcc fails the suites instead. */
function nvccOk(): string | null {
  try {
    execFileSync('nvcc', ['--version'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `nvcc --version failed (${(e as Error).message.split('\n')[0]})`;
  }
}

/** In a describe: skip its tests when nvcc cannot run, or fail them when KEOPSC_REQUIRE_NVCC=1 (CI). */
function skipWithoutNvcc(): void {
  const why = nvccOk();
  before(function () {
    if (why && process.env['KEOPSC_REQUIRE_NVCC'] === '1') throw new Error(`KEOPSC_REQUIRE_NVCC=1 but ${why}`);
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
  });
}

function emit(name: string, text: string, dtype: 'float32' | 'float64', storage?: 'float16') {
  return printCuda(compile(`${DECLS}${name} = ${text}`).plan, storage ? { dtype, storage } : { dtype });
}

/** Run the CLI in-process; returns the exit code and what it printed. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'keopsc', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Random output ranges (some overlapping, some empty) with a row count and a block size. */
function tableCases(): { rows: number; out: Int32Array; bs: number }[] {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const cases = [{ rows: 0, out: new Int32Array(0), bs: 256 }];
  for (let k = 0; k < 40; k++) {
    const rows = 1 + rnd(1200);
    const nc = rnd(8);
    const out: number[] = [];
    let at = 0;
    for (let c = 0; c < nc; c++) {
      const s = k % 2 ? rnd(rows) : Math.min(rows, at + rnd(50));
      const e = Math.min(rows, s + rnd(600));
      out.push(s, e);
      at = e;
    }
    cases.push({ rows, out: Int32Array.from(out), bs: 256 });
  }
  return cases;
}

describe('CUDA target (src/targets/cuda.ts)', function () {
  this.timeout(120_000);

  it('prints every reduction, both dtypes, with a matching header', () => {
    for (const dtype of ['float32', 'float64'] as const)
      for (const [n, t] of KERNELS) {
        const { source, header } = emit(n, t, dtype);
        assert.match(source, new RegExp(`__global__ void keopsc_${n}_dense`));
        assert.match(source, new RegExp(`__global__ void keopsc_${n}_ranges`));
        assert.match(source, /#ifndef __CUDACC_RTC__\n#include <cstdint>\n#include <cuda_runtime.h>/);
        assert.match(header, new RegExp(`int64_t keopsc_${n}_block_table\\(`));
        assert.match(header, new RegExp(`cudaError_t keopsc_${n}_launch\\(`));
      }
  });

  it('prints every reduction with float16 storage: half-bit inputs converted on load, float arithmetic and tiles', () => {
    for (const [n, t] of KERNELS) {
      const plan = compile(`${DECLS}${n} = ${t}`).plan;
      const { source, header } = printCuda(plan, { dtype: 'float32', storage: 'float16' });
      assert.match(source, /^typedef float T;$/m);
      assert.match(source, /^typedef unsigned short S;$/m);
      assert.match(source, /__device__ __forceinline__ float k_h2f\(unsigned short h\) \{ float r; asm\("cvt\.f32\.f16 %0, %1;" : "=f"\(r\) : "h"\(h\)\); return r; \}/);
      assert.doesNotMatch(source, /#include <cuda_fp16|\b__half/);
      // every input pointer holds halves, every read of one converts; the tile and the outputs are float
      assert.doesNotMatch(source, /const T\* __restrict__ in\d/);
      assert.doesNotMatch(source, /[^(]a\.in\d+\[/);
      assert.match(source, /T\* sh = reinterpret_cast<T\*>\(sh_raw\)/);
      for (const m of source.matchAll(/^ *sh\[.*\] = (.*);$/gm)) assert.match(m[1]!, /^k_h2f\(a\.in\d+\[/, `tile load in ${n}: ${m[0]}`);
      assert.match(source, new RegExp(`a\\.in\\d+ = static_cast<const keopsc_${n}::S\\*>`));
      assert.doesNotMatch(source, /T\* out\d;[\s\S]*S\* out/);
      for (const text of [source, header]) {
        assert.match(text, /float16 storage \(inputs are uint16 half bits\)/);
        assert.match(text, /row-major uint16 half bits/);
      }
      // the same launch layout as float32 storage (the shared tile holds floats), storage named
      const l16 = cudaLayout(plan, { dtype: 'float32', storage: 'float16' });
      const l32 = cudaLayout(plan, { dtype: 'float32' });
      assert.equal(l16.storage, 'float16');
      assert.equal(l32.storage, 'float32');
      assert.deepEqual({ ...l16, storage: 'float32' }, l32);
    }
    const plan = compile(`${DECLS}g = ${KERNELS[0]![1]}`).plan;
    assert.throws(() => printCuda(plan, { dtype: 'float64', storage: 'float16' }), /storage 'float16' is for float32 data .*not float64/);
    assert.throws(() => cudaLayout(plan, { dtype: 'float64', storage: 'float16' }), /storage 'float16' is for float32 data/);
    assert.throws(() => printCuda(plan, { dtype: 'float32', storage: 'bf16' as 'float16' }), /storage must be 'float32' or 'float16', got 'bf16'/);
    // float32 storage, said or not, prints the same code
    assert.equal(printCuda(plan, { dtype: 'float32', storage: 'float32' }).source, printCuda(plan, { dtype: 'float32' }).source);
  });

  it('keopsc compile --target cuda --storage float16 (and wgsl); float64 and other targets are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keopsc-cuda-cli-'));
    try {
      const file = join(dir, 'g.keo');
      writeFileSync(file, 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)\n');
      const r = await cli('compile', file, '--target', 'cuda', '--storage', 'float16', '-o', join(dir, 'g.cu'));
      assert.equal(r.code, 0, r.err);
      assert.equal(readFileSync(join(dir, 'g.cu'), 'utf8').trimEnd(), printCuda(compile(readFileSync(file, 'utf8')).plan, { dtype: 'float32', storage: 'float16' }).source.trimEnd());
      assert.match(readFileSync(join(dir, 'g.h'), 'utf8'), /row-major uint16 half bits/);
      const f32 = await cli('compile', file, '--target', 'cuda', '--storage', 'float32');
      assert.equal(f32.code, 0, f32.err);
      assert.doesNotMatch(f32.out, /k_h2f/);
      const w = await cli('compile', file, '--target', 'wgsl', '--storage', 'float16');
      assert.equal(w.code, 0, w.err);
      assert.match(w.out, /array<f16>/);
      const f64 = await cli('compile', file, '--target', 'cuda', '--storage', 'float16', '--dtype', 'float64');
      assert.equal(f64.code, 1);
      assert.match(f64.err, /--storage float16 --dtype float64: float16 storage keeps float32 arithmetic/);
      for (const other of [['--target', 'cpp'], ['--target', 'js'], []]) {
        const o = await cli('compile', file, ...other, '--storage', 'float16');
        assert.equal(o.code, 1, other.join(' '));
        assert.match(o.err, /--storage float16 is for --target cuda or wgsl/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('with nvcc', function () {
    skipWithoutNvcc();

    it('compiles to PTX for sm_80 and sm_90 (float32, float64, float16 storage; the half device part as NVRTC sees it), and the header compiles', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keopsc-cuda-'));
      const jobs: Promise<unknown>[] = [];
      for (const dtype of ['float32', 'float64'] as const) {
        const src = KERNELS.map(([n, t]) => emit(n, t, dtype).source).join('\n');
        const file = join(dir, `all_${dtype}.cu`);
        writeFileSync(file, src);
        for (const arch of ['sm_80', 'sm_90']) jobs.push(run('nvcc', ['-ptx', `-arch=${arch}`, file, '-o', join(dir, `all_${dtype}_${arch}.ptx`)]));
      }
      // float16 storage: the whole file, and the device part alone (what NVRTC compiles, no cuda_fp16.h)
      const half = KERNELS.map(([n, t]) => emit(n, t, 'float32', 'float16').source).join('\n');
      writeFileSync(join(dir, 'all_half.cu'), half);
      writeFileSync(join(dir, 'all_half_rtc.cu'), deviceOnly(half));
      for (const arch of ['sm_80', 'sm_90']) jobs.push(run('nvcc', ['-ptx', `-arch=${arch}`, join(dir, 'all_half.cu'), '-o', join(dir, `all_half_${arch}.ptx`)]));
      jobs.push(run('nvcc', ['-ptx', '-arch=sm_90', join(dir, 'all_half_rtc.cu'), '-o', join(dir, 'all_half_rtc.ptx')]));
      // the headers: declare every launcher in one translation unit
      const headers = KERNELS.map(([n, t]) => {
        const h = emit(n, t, 'float32').header;
        writeFileSync(join(dir, `${n}.h`), h);
        return `#include "${n}.h"`;
      });
      writeFileSync(join(dir, 'use.cu'), [...headers, 'int main() { return keopsc_gauss_block_rows == nullptr; }', ''].join('\n'));
      jobs.push(run('nvcc', ['-c', join(dir, 'use.cu'), '-o', join(dir, 'use.o')]));
      // a few at a time
      for (let k = 0; k < jobs.length; k += 3) await Promise.all(jobs.slice(k, k + 3));
      // the conversions are there: one cvt.f32.f16 per input value read (several per kernel)
      const ptx = readFileSync(join(dir, 'all_half_sm_90.ptx'), 'utf8');
      assert.ok((ptx.match(/cvt\.f32\.f16/g) ?? []).length >= 3 * KERNELS.length, 'too few cvt.f32.f16 in the half PTX');
      assert.doesNotMatch(readFileSync(join(dir, 'all_float32_sm_90.ptx'), 'utf8'), /cvt\.f32\.f16/);
      rmSync(dir, { recursive: true, force: true });
    });
  });

  describe('high-dimensional kernels with nvcc (issue 19)', function () {
    skipWithoutNvcc();

    it('kernels at D = 1 ... 4096 (unrolled, whole staged vectors, chunks of components) compile to PTX: float32 (whole file), float64 and float16 storage (as NVRTC sees them)', async function () {
      this.timeout(900_000);
      const dir = mkdtempSync(join(tmpdir(), 'keopsc-cuda-dims-'));
      try {
        // the gradient up to D = 300 (vector-valued results, the gradient at D = 768 among them, below)
        const plans = highDimPlans(300);
        for (const mode of [{ dtype: 'float32' }, { dtype: 'float64' }, { dtype: 'float32', storage: 'float16' }] as const) {
          const what = `${mode.dtype}${'storage' in mode ? '_half' : ''}`;
          const src = plans.map(({ name, plan }) => printCuda(plan, { ...mode, symbol: `keopsc_${name}` }).source).join('\n');
          // the whole file (host launcher included) once; the device part alone for the other modes
          await ptxHasEntries(dir, what, what === 'float32' ? src : deviceOnly(src), plans.map((p) => p.name));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('vector-valued results with nvcc (issue 19)', function () {
    skipWithoutNvcc();

    it(`compile to PTX at D = ${VECTOR_DIMS.join(', ')}: float32 (whole file, sm_80), float64 (as NVRTC sees it, sm_90)`, async function () {
      this.timeout(900_000);
      const dir = mkdtempSync(join(tmpdir(), 'keopsc-cuda-vec-'));
      try {
        const plans = vectorPlans();
        for (const dtype of ['float32', 'float64'] as const) {
          const src = plans.map(({ name, plan }) => printCuda(plan, { dtype, symbol: `keopsc_${name}` }).source).join('\n');
          await ptxHasEntries(dir, dtype, dtype === 'float32' ? src : deviceOnly(src), plans.map((p) => p.name));
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('golden kernels with nvcc', function () {
    skipWithoutNvcc();

    it('every kernel of every valid .keo file and conformance case compiles to PTX (sm_80, sm_90; float32, float64; also as NVRTC sees it)', async () => {
      const golden = goldenModules();
      assert.ok(golden.length >= 20, `only ${golden.length} golden modules found`);
      const dir = mkdtempSync(join(tmpdir(), 'keopsc-cuda-golden-'));
      try {
        const jobs: [string, string[]][] = [];
        for (const dtype of ['float32', 'float64'] as const) {
          let n = 0;
          const parts = golden.flatMap(({ where, text }) =>
            compileModule(text, { file: where }).kernels.map((k) => `// ${where}: kernel ${k.name}\n${printCuda(k.plan, { dtype, symbol: `keopsc_g${n++}` }).source}`),
          );
          const file = join(dir, `golden_${dtype}.cu`);
          writeFileSync(file, parts.join('\n'));
          for (const arch of ['sm_80', 'sm_90']) jobs.push([`${dtype} ${arch}`, ['-ptx', `-arch=${arch}`, file, '-o', join(dir, `golden_${dtype}_${arch}.ptx`)]]);
          // what NVRTC compiles: the device part alone, without the host launcher (and its headers)
          const rtc = join(dir, `golden_${dtype}_rtc.cu`);
          writeFileSync(rtc, deviceOnly(parts.join('\n')));
          jobs.push([`${dtype} device part`, ['-ptx', '-arch=sm_90', rtc, '-o', join(dir, `golden_${dtype}_rtc.ptx`)]]);
        }
        for (let k = 0; k < jobs.length; k += 2)
          await Promise.all(
            jobs.slice(k, k + 2).map(([what, args]) => nvcc(what, args)),
          );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("the printed host keopsc_*_block_table agrees with cudaBlockTable (the runtime's)", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keopsc-cuda-table-'));
      try {
        const { source } = emit('gauss', 'Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)', 'float32');
        const cases = tableCases();
        writeFileSync(join(dir, 'k.cu'), source);
        writeFileSync(
          join(dir, 'main.cu'),
          [
            '#include "k.cu"',
            '#include <cstdio>',
            'int main() {',
            '  int rows, nc;',
            '  while (std::scanf("%d %d", &rows, &nc) == 2) {',
            '    std::vector<int32_t> r(2 * nc);',
            '    for (auto& v : r) std::scanf("%d", &v);',
            '    int64_t n = keopsc_gauss_block_table(r.data(), nc, rows, nullptr);',
            '    std::vector<int32_t> t(3 * n);',
            '    keopsc_gauss_block_table(r.data(), nc, rows, t.data());',
            '    for (auto v : t) std::printf("%d ", v);',
            '    std::printf("\\n");',
            '  }',
            '}',
            '',
          ].join('\n'),
        );
        await run('nvcc', ['-o', join(dir, 'table'), join(dir, 'main.cu')]);
        const input = cases.map((c) => `${c.rows} ${c.out.length / 2} ${[...c.out].join(' ')}`).join('\n');
        const out = execFileSync(join(dir, 'table'), { input, encoding: 'utf8' }).split('\n');
        const bs = cudaLayout(compile(`${DECLS}gauss = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)`).plan, { dtype: 'float32' }).blockRows;
        cases.forEach((c, k) => assert.equal(out[k]!.trim(), [...cudaBlockTable(c.out, c.rows, bs)].join(' '), `case ${k}: rows ${c.rows}, ranges ${[...c.out].join(' ')}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('cudaBlockTable', () => {
    it("cuts disjoint clusters into runs of at most blockRows rows (KeOps's table)", () => {
      const t = cudaBlockTable(Int32Array.from([0, 5, 5, 5, 7, 20]), 20, 4);
      assert.deepEqual([...t], [0, 0, 4, 0, 4, 5, 2, 7, 11, 2, 11, 15, 2, 15, 19, 2, 19, 20]);
    });
    it('gives a row covered by several clusters to the last one, as the CPU backends do', () => {
      const t = cudaBlockTable(Int32Array.from([0, 6, 4, 8, 2, 3]), 10, 3);
      assert.deepEqual([...t], [0, 0, 2, 2, 2, 3, 0, 3, 4, 1, 4, 7, 1, 7, 8]);
    });
    it('covers every covered row exactly once, with the owner of the CPU backends (random ranges)', () => {
      for (const c of tableCases()) {
        const t = cudaBlockTable(c.out, c.rows, c.bs);
        const owner = new Int32Array(c.rows).fill(-1);
        for (let k = 0; k < c.out.length / 2; k++) owner.fill(k, c.out[2 * k]!, c.out[2 * k + 1]!);
        const seen = new Int32Array(c.rows).fill(-1);
        for (let b = 0; b < t.length; b += 3) {
          assert.ok(t[b + 2]! - t[b + 1]! >= 1 && t[b + 2]! - t[b + 1]! <= c.bs, `block ${b / 3} has ${t[b + 2]! - t[b + 1]!} rows`);
          for (let r = t[b + 1]!; r < t[b + 2]!; r++) {
            assert.equal(seen[r], -1, `row ${r} is in two blocks`);
            seen[r] = t[b]!;
          }
        }
        assert.deepEqual([...seen], [...owner]);
      }
    });
    it('refuses a block size below 1', () => {
      assert.throws(() => cudaBlockTable(new Int32Array(2), 1, 0), /blockRows must be a positive integer/);
    });
  });

  it('cudaLayout: the Args struct, block size and shared memory of a kernel', () => {
    const k = compile(`${DECLS}k = KMin_ArgKMin_Reduction(SqDist(x, y) + Elem(b, 1), 3, 0)`);
    const l = cudaLayout(k.plan, { dtype: 'float64' });
    assert.equal(l.nIn, 3);
    assert.deepEqual(l.args, [{ index: 0, dim: 3, cat: 0 }, { index: 1, dim: 3, cat: 1 }, { index: 2, dim: 2, cat: 1 }]);
    assert.deepEqual(l.outputs, [{ name: 'values', kind: 'float', width: 3 }, { name: 'indices', kind: 'index', width: 3 }]);
    assert.equal(l.blockRows, 128);
    assert.equal(l.sharedBytes, 128 * 5 * 8);
    assert.deepEqual(l.kernels, { dense: 'keopsc_k_dense', fill: 'keopsc_k_fill', ranges: 'keopsc_k_ranges', denseBatched: 'keopsc_k_dense_batched' });
    // wide reduction-side variables: fewer rows per block, within 48 KiB
    const wide = compile('x = Vi(0, 3)\ny = Vj(1, 100)\nk = Sum_Reduction(Sum(y) * x, 0)');
    const w = cudaLayout(wide.plan, { dtype: 'float64' });
    assert.ok(w.sharedBytes <= 49152 && w.blockRows === 32 * Math.floor(49152 / (100 * 8) / 32), `${w.blockRows} rows, ${w.sharedBytes} bytes`);
    // wider: chunks of components (32 indices x 32 components per staged slot), at 256 threads
    for (const D of [200, 768, 4096]) {
      const tooWide = compile(`x = Vi(0, 3)\ny = Vj(1, ${D})\nk = Sum_Reduction(Sum(y) * x, 0)`);
      const t = cudaLayout(tooWide.plan, { dtype: 'float64' });
      assert.deepEqual([t.staging, t.chunk, t.blockRows, t.sharedBytes], ['chunked', { rows: 32, dims: 32 }, 256, 32 * 32 * 8], `D = ${D}`);
    }
    // many staged slots: smaller chunks; a reduction-side loop that needs another's value: no staging
    const slots = compile('x = Vi(0, 3)\ny = Vj(1, 2000)\nk = Sum_Reduction(Sum(Extract(y, 0, 64)) + Sum(Extract(y, 100, 64)) + Sum(Extract(y, 200, 64)) + Sum(Extract(y, 300, 64)) + Sum(Extract(y, 400, 64)) + Sum(Extract(y, 500, 64)) + Sum(Extract(y, 600, 64)), 0)');
    const sl = cudaLayout(slots.plan, { dtype: 'float64' });
    assert.deepEqual([sl.staging, sl.chunk, sl.sharedBytes], ['chunked', { rows: 32, dims: 16 }, 7 * 32 * 16 * 8]);
    const nested = compile('x = Vi(0, 400)\ny = Vj(1, 400)\nk = Sum_Reduction(Sum(Exp(y * (x | y))), 0)');
    const ne = cudaLayout(nested.plan, { dtype: 'float32' });
    assert.deepEqual([ne.staging, ne.sharedBytes, ne.chunk], ['direct', 0, undefined]);
    assert.throws(() => printCuda(k.plan, { dtype: 'float32', symbol: 'not-c' }), /not a C identifier/);
  });

  describe('vector-valued results: loops over the components of the result (issue 19)', () => {
    const plan = (name: string, D: number) => compile(`${vectorDecls(D)}k = ${VECTOR_FORMULAS[name]!(D)}`).plan;

    it('print a source whose size does not grow with D (64, 768, 4096; KMin 1365: K x D is bounded)', () => {
      for (const name of Object.keys(VECTOR_FORMULAS)) {
        const top = name === 'veckmin' ? 1365 : 4096;
        const size = (D: number) => printCuda(plan(name, D), { dtype: 'float32' }).source.length;
        const s64 = size(64), s768 = size(768), sTop = size(top);
        assert.ok(sTop < 16000, `${name}: ${sTop} bytes at D = ${top}`); // 2.4-4.8 MB unrolled
        // D = 64 stages the reduction side whole, D = 4096 in chunks or not at all: up to 15 % apart
        assert.ok(Math.abs(sTop - s64) < 0.15 * s64, `${name}: ${s64} bytes at D = 64, ${sTop} at D = ${top}`);
        assert.ok(Math.abs(sTop - s768) < 200, `${name}: ${s768} bytes at D = 768, ${sTop} at D = ${top}`); // the printed sizes differ
      }
    });

    it('fold the result in per-thread arrays by one loop over k, and write it by a loop', () => {
      const src = (name: string, D: number, o: object = {}) => printCuda(plan(name, D), { dtype: 'float32', ...o }).source;
      // Sum, block scheme: the total and the tile's partial sums; direct: one array
      const sum = src('vecsum', 768);
      assert.match(sum, /T acc\[768\]; for \(int k = 0; k < 768; k\+\+\) acc\[k\] = \(T\)0;/);
      assert.match(sum, /T part\[768\]; for \(int k = 0; k < 768; k\+\+\) part\[k\] = \(T\)0;/);
      assert.match(sum, /for \(int k = 0; k < 768; k\+\+\) acc\[k\] \+= part\[k\];/);
      assert.match(sum, /for \(int k = 0; k < 768; k\+\+\) a\.out0\[row \* 768 \+ k\] = acc\[k\];/);
      assert.match(src('vecsum', 768, { sumScheme: 'direct', accDtype: 'float64' }), /double acc\[768\];[\s\S]*acc\[k\] \+= fk;[\s\S]*a\.out0\[row \* 768 \+ k\] = \(T\)acc\[k\];/);
      assert.doesNotMatch(src('vecsum', 768, { sumScheme: 'direct' }), /part\[/);
      // extremum: values and indices; KMin: K x D; log-sum-exp: the maximum and the sums
      assert.match(src('vecmax', 300), /T em\[300\]; keopsc_i64 ei\[300\]; for \(int k = 0; k < 300; k\+\+\) \{ em\[k\] = -k_inf\(\); ei\[k\] = 0; \}/);
      assert.match(src('vecmax', 300), /if \(fk > em\[k\]\) \{ em\[k\] = fk; ei\[k\] = s; \}/);
      assert.match(src('veckmin', 300), /T kv\[900\]; keopsc_i64 ki\[900\];/);
      const lse = src('veclse', 768);
      assert.match(lse, /T m = -k_inf\(\); T ls\[768\];/);
      assert.match(lse, /ls\[k\] = ls\[k\] \* e \+ fk;/);
      assert.match(src('vecsoftmax', 65), /T ls\[66\];[\s\S]*ls\[0\] = ls\[0\] \* e \+ \(T\)1;[\s\S]*ls\[k \+ 1\] = ls\[k \+ 1\] \* e \+ fk;[\s\S]*a\.out0\[row \* 65 \+ k - 1\] = ls\[k\] \/ ls\[0\];/);
      // the component's reduction-side lanes: the staged tile (whole), else global memory
      assert.match(src('veclse', 65), /= sh\[\(0 \+ k\) \* bd \+ q\];/);
      assert.match(src('grad', 768), /= a\.in1\[s \* 768 \+ k\];/);
      // short results stay unrolled (the same code as before)
      assert.doesNotMatch(src('vecsum', 3), /acc\[/);
    });

    it('launch with the layout of their unrolled form (the staging does not change)', () => {
      for (const { name, plan: p } of vectorPlans([64, 65, 300, 768]))
        for (const dtype of ['float32', 'float64'] as const) {
          assert.ok(p.fLoop || p.gLoop, name);
          assert.deepEqual(cudaLayout(p, { dtype }), cudaLayout(withoutComponentLoops(p), { dtype }), `${name} ${dtype}`);
        }
      // the three stagings occur
      const modes = new Set(vectorPlans([65, 768]).map((p) => cudaLayout(p.plan, { dtype: 'float32' }).staging));
      assert.deepEqual([...modes].sort(), ['chunked', 'direct', 'whole']);
    });
  });

  describe('the printed kernels run on the CPU (test/helpers/cuda-emu.ts: one thread per block)', function () {
    this.timeout(600_000);
    before(function () {
      try {
        execFileSync(process.env['CXX'] || 'g++', ['--version'], { stdio: 'pipe' });
      } catch (e) {
        console.log(`      skipped: no host C++ compiler (${(e as Error).message.split('\n')[0]})`);
        this.skip();
      }
    });

    type Case = { name: string; run: EmuRun; ref: RunResult };

    /** Emulated runs of `formulas` (over the variables of vectorDecls) at D, and the reference's outputs. */
    function cases(formulas: Record<string, (D: number) => string>, D: number, dtype: 'float32' | 'float64', opts: { ranges?: boolean; sumScheme?: 'direct' } = {}): Case[] {
      const M = 7, N = 37;
      // block-sparse: two clusters on each side, with gaps (see test/dims.test.ts)
      const R = { ranges_i: Int32Array.of(0, 3, 3, 7), slices_i: Int32Array.of(1, 3), redranges_j: Int32Array.of(0, 10, 5, 20, 25, 37), ranges_j: Int32Array.of(0, 10, 10, 37), slices_j: Int32Array.of(1, 2), redranges_i: Int32Array.of(0, 2, 3, 7) };
      return Object.entries(formulas).flatMap(([n, f]) => {
        const k = compile(`${vectorDecls(D)}k = ${f(D)}`);
        if (opts.sumScheme && k.plan.reduction.family !== 'sum') return [];
        const r = rng(D + n.length);
        const inputs = new Map<number, Float64Array>();
        const args = Object.fromEntries(
          k.args.map((a) => {
            const data = Float64Array.from({ length: (a.cat === 0 ? M : a.cat === 1 ? N : 1) * a.dim }, () => 2 * r() - 1);
            inputs.set(a.index, dtype === 'float32' ? Float64Array.from(Float32Array.from(data)) : data);
            return [a.name, { data: inputs.get(a.index)!, shape: a.cat === 2 ? [a.dim] : [a.cat === 0 ? M : N, a.dim] }];
          }),
        );
        const tag = k.plan.tag;
        const ref = k.run(args, { backend: 'ref', ...(opts.ranges ? { ranges: R } : {}) });
        const ranges = opts.ranges ? (tag === 0 ? { out: R.ranges_i, slices: R.slices_i, red: R.redranges_j } : { out: R.ranges_j, slices: R.slices_j, red: R.redranges_i }) : undefined;
        const run: EmuRun = { plan: k.plan, dtype, inputs, M, N, ...(ranges ? { ranges } : {}), ...(opts.sumScheme ? { sumScheme: opts.sumScheme } : {}) };
        return [{ name: `${n} D=${D} ${dtype}${opts.ranges ? ' ranges' : ''}${opts.sumScheme ? ` ${opts.sumScheme}` : ''}`, run, ref }];
      });
    }

    /** Every case's emulated outputs against the reference: values within 1e-5 (float32) or 1e-12
     * relative, indices equal (float64 only: float32 values may tie where float64 ones do not). */
    function check(all: Case[]): void {
      const got = emulateCuda(all.map((c) => c.run));
      all.forEach((c, n) => {
        const tol = c.run.dtype === 'float32' ? 1e-5 : 1e-12;
        c.ref.outputs.forEach((o, q) => {
          const want = Array.from(o.data as ArrayLike<number | bigint>, Number);
          const mine = got[n]![q]!;
          assert.equal(mine.length, want.length, `${c.name} ${o.name}`);
          if (o.name === 'indices') {
            if (c.run.dtype === 'float64') assert.deepEqual(mine, want, `${c.name} indices`);
            return;
          }
          want.forEach((w, i) => assert.ok(Object.is(w, mine[i]) || Math.abs(w - mine[i]!) <= tol * (1 + Math.abs(w)), `${c.name} ${o.name}[${i}]: ${mine[i]} instead of ${w}`));
        });
      });
    }

    it('vector-valued results agree with the reference at D = 3, 65, 768: float64 and float32, dense and block-sparse, block and direct sums', () => {
      const all = [3, 65, 768].flatMap((D) => [...cases(VECTOR_FORMULAS, D, 'float64'), ...cases(VECTOR_FORMULAS, D, 'float32'), ...cases(VECTOR_FORMULAS, D, 'float64', { ranges: true }), ...cases(VECTOR_FORMULAS, D, 'float32', { sumScheme: 'direct' })]);
      assert.equal(all.filter((c) => c.run.plan.fLoop || c.run.plan.gLoop).length, all.filter((c) => !c.name.includes('D=3 ')).length);
      check(all);
    });

    it('loops over components with the reduction side staged whole, in chunks and not at all agree with the reference at D = 65, 300, 768', () => {
      const F: Record<string, (D: number) => string> = {
        gauss: (D) => `Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * b, 0)`,
        argkmin: () => 'ArgKMin_Reduction(SqDist(x, y), 10, 0)',
        scalprod: (D) => `Sum_Reduction(Exp(-Abs((x | y) - (p | y)) / ${D}) * Norm2(x - p), 1)`,
        weighted: (D) => `Max_Reduction(Sum(Square(x - y) * Exp(-Abs(x) * b)) / ${D} + Sum(y * p), 0)`,
        lse: (D) => `LogSumExp_Reduction(-SqDist(x, y) / ${D} + (x | p), 0)`,
        nested: (D) => `Sum_Reduction(Sum(Exp(y * (x | y) / ${D})), 0)`,
      };
      const all = [65, 300, 768].flatMap((D) => [...cases(F, D, 'float64'), ...cases(F, D, 'float32'), ...cases(F, D, 'float64', { ranges: true })]);
      assert.deepEqual([...new Set(all.map((c) => cudaLayout(c.run.plan, { dtype: c.run.dtype }).staging))].sort(), ['chunked', 'direct', 'whole']);
      check(all);
    });
  });

  it('matches the snapshot of Gaussian Sum, ArgKMin, LogSumExp, a float16-storage Gaussian Sum and two vector-valued results (KEOPSC_BLESS=1 re-blesses)', () => {
    const snap = [
      ['gauss', 'Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)', 'float32'],
      ['argkmin', 'ArgKMin_Reduction(SqDist(x, y), 3, 0)', 'float64'],
      ['lse', 'LogSumExp_Reduction(-SqDist(x, y), 1)', 'float32'],
    ] as const;
    const text = [
      ...snap.map(([n, t, d]) => `==== ${n} (${d}): ${t}\n${emit(n, t, d).source}`),
      // float16 storage: a parameter, an i-variable and a tiled j-variable, block-sparse too
      `==== gauss_half (float32, float16 storage): Sum_Reduction(Exp(-SqDist(x, y) * Elem(p, 0)) * b, 0)\n${emit('gauss_half', 'Sum_Reduction(Exp(-SqDist(x, y) * Elem(p, 0)) * b, 0)', 'float32', 'float16').source}`,
      // vector-valued results: loops over the components of the result (a Sum with a loop statement, and
      // the log-sum-exp family with a 65-dim weight), the reduction side staged whole
      ...([['grad', 64, 'float32'], ['vecsoftmax', 65, 'float64']] as const).map(([n, D, dtype]) => `==== ${n}_${D} (${dtype}): ${VECTOR_FORMULAS[n]!(D)}\n${printCuda(compile(`${vectorDecls(D)}${n} = ${VECTOR_FORMULAS[n]!(D)}`).plan, { dtype }).source}`),
    ].join('\n');
    matchSnapshot('cuda.snap.txt', text);
  });
});
