import { expect } from 'chai';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compile, type CompiledKernel } from '../src/index.js';
import { CPP_FAST_FLAGS, printCpp, type CppCodeOptions } from '../src/targets/cpp.js';
import { KERNEL_INFO_DECLS } from '../src/targets/abi.js';
import { expectClose, rng } from './helpers/data.js';
import { matchSnapshot } from './helpers/snapshot.js';

/**
 * The C++ target against the reference evaluator: every reduction (both tags, vector f, KMin with K
 * larger than the set, weights, -inf and NaN terms, ties), float32 and float64, the sum schemes, dense
 * and with block-sparse ranges (uncovered rows, empty clusters, empty and duplicate intervals in any
 * order, an overlapping cluster). Each kernel is printed with printCpp, compiled to a shared library,
 * and run by a small C++ driver (below) that calls keopsc_run on two row blocks. Skipped when no g++.
 */

const run = promisify(execFile);

/** The test driver: `driver k.so --info` prints keopsc_info() as JSON; `driver k.so in out [in out ...]` runs
 * each input file (format written by `encodeInput`) and writes the outputs, concatenated. */
const DRIVER = String.raw`
#include <dlfcn.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>
struct keopsc_call {
  const void* const* in; void* const* out; int64_t M, N; int64_t r0, r1;
  const int32_t* ranges_out; const int32_t* slices; const int32_t* red; int64_t n_clusters, n_red;
};
${KERNEL_INFO_DECLS}
static void printInfo(const keopsc_kernel_info* I) {
  std::printf("{\"abi\":%d,\"name\":\"%s\",\"dtype\":\"%s\",\"tag\":%d,\"args\":[", I->abi, I->name, I->f64 ? "float64" : "float32", I->tag);
  for (int a = 0; a < I->n_args; a++) std::printf("%s{\"index\":%d,\"dim\":%d,\"cat\":%d}", a ? "," : "", I->args[a].index, I->args[a].dim, I->args[a].cat);
  std::printf("],\"outputs\":[");
  for (int o = 0; o < I->n_outputs; o++) std::printf("%s{\"name\":\"%s\",\"kind\":\"%s\",\"width\":%d}", o ? "," : "", I->outputs[o].name, I->outputs[o].kind ? "index" : "float", I->outputs[o].width);
  std::printf("],\"key\":\"%s\"}", I->key);
}
static std::vector<char> slurp(const char* path) {
  std::vector<char> b; FILE* f = std::fopen(path, "rb"); if (!f) return b;
  char tmp[65536]; size_t n; while ((n = std::fread(tmp, 1, sizeof tmp, f)) > 0) b.insert(b.end(), tmp, tmp + n);
  std::fclose(f); return b;
}
struct Reader {
  const char* p;
  int64_t i64() { int64_t v; std::memcpy(&v, p, 8); p += 8; return v; }
  std::vector<char> bytes(int64_t n) { std::vector<char> v(p, p + n); p += n; return v; }
};
int main(int argc, char** argv) {
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) { std::fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
  auto info = reinterpret_cast<const keopsc_kernel_info* (*)()>(dlsym(h, "keopsc_info"));
  auto runk = reinterpret_cast<int (*)(const keopsc_call*)>(dlsym(h, "keopsc_run"));
  if (!info || !runk) { std::fprintf(stderr, "missing symbols\n"); return 2; }
  if (argc == 3 && std::strcmp(argv[2], "--info") == 0) { printInfo(info()); return 0; }
  for (int a = 2; a + 1 < argc; a += 2) {
    std::vector<char> file = slurp(argv[a]);
    Reader rd{file.data()};
    const int64_t M = rd.i64(), N = rd.i64(), rows = rd.i64(), split = rd.i64(), nin = rd.i64();
    std::vector<std::vector<char>> ins(nin);
    std::vector<const void*> inp(nin, nullptr);
    for (int64_t k = 0; k < nin; ++k) { ins[k] = rd.bytes(rd.i64()); if (!ins[k].empty()) inp[k] = ins[k].data(); }
    const int64_t nout = rd.i64();
    std::vector<std::vector<char>> outs(nout);
    std::vector<void*> outp(nout);
    for (int64_t k = 0; k < nout; ++k) { outs[k].assign(rd.i64(), static_cast<char>(0x7f)); outp[k] = outs[k].data(); }
    keopsc_call c{inp.data(), outp.data(), M, N, 0, 0, nullptr, nullptr, nullptr, 0, 0};
    std::vector<char> ro, sl, re;
    if (rd.i64() == 1) {
      c.n_clusters = rd.i64(); c.n_red = rd.i64();
      ro = rd.bytes(8 * c.n_clusters); sl = rd.bytes(4 * c.n_clusters); re = rd.bytes(8 * c.n_red);
      static const int32_t dummy[2] = {0, 0};
      c.ranges_out = c.n_clusters ? reinterpret_cast<const int32_t*>(ro.data()) : dummy;
      c.slices = c.n_clusters ? reinterpret_cast<const int32_t*>(sl.data()) : dummy;
      c.red = c.n_red ? reinterpret_cast<const int32_t*>(re.data()) : dummy;
    }
    c.r0 = 0; c.r1 = split; if (runk(&c) != 0) return 3;
    c.r0 = split; c.r1 = rows; if (runk(&c) != 0) return 3;
    FILE* f = std::fopen(argv[a + 1], "wb");
    for (auto& o : outs) std::fwrite(o.data(), 1, o.size(), f);
    std::fclose(f);
  }
  return 0;
}
`;

/** Program that checks the generated polynomial exp against the C library over a sweep of inputs. */
const EXP_CHECK = String.raw`
#include <cstdio>
typedef float F16 __attribute__((vector_size(64)));
typedef double D8 __attribute__((vector_size(64)));
static int64_t ulps32(float a, float b) {
  if (a != a || b != b) return (a != a && b != b) ? 0 : 1 << 30;
  if (a == b) return 0;
  int32_t x, y; std::memcpy(&x, &a, 4); std::memcpy(&y, &b, 4);
  if ((x < 0) != (y < 0)) return 1 << 30;
  return x > y ? x - y : y - x;
}
static int64_t ulps64(double a, double b) {
  if (a != a || b != b) return (a != a && b != b) ? 0 : int64_t(1) << 40;
  if (a == b) return 0;
  int64_t x, y; std::memcpy(&x, &a, 8); std::memcpy(&y, &b, 8);
  if ((x < 0) != (y < 0)) return int64_t(1) << 40;
  return x > y ? x - y : y - x;
}
int main() {
  int64_t worst32 = 0, worst64 = 0; float at32 = 0; double at64 = 0; long n32 = 0, n64 = 0;
  auto check32 = [&](float x) {
    F16 v = {}; v[3] = x; const F16 r = fexpf(v);
    const int64_t u = ulps32(r[3], static_cast<float>(std::exp(static_cast<double>(x))));
    if (u > worst32) { worst32 = u; at32 = x; } ++n32;
  };
  auto check64 = [&](double x) {
    D8 v = {}; v[5] = x; const D8 r = fexpd(v);
    const int64_t u = ulps64(r[5], static_cast<double>(std::exp(static_cast<long double>(x))));
    if (u > worst64) { worst64 = u; at64 = x; } ++n64;
  };
  // every 61st float of [-110, 95]: down the negative bit patterns to -0, then up the positive ones
  for (float x = -110.0f; x < 95.0f;) {
    check32(x);
    uint32_t b; std::memcpy(&b, &x, 4);
    if (b >= 0x80000000u) b = b - 0x80000000u < 61 ? 0 : b - 61; else b += 61;
    std::memcpy(&x, &b, 4);
  }
  const float sp32[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 88.72283f, 88.72284f, -87.33654f, -103.97208f, -103.9721f, -104.0f, -1e30f, 1e30f,
                        std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  for (float x : sp32) check32(x);
  // double: a deterministic pseudo-random sweep of [-750, 712] plus specials
  uint64_t s = 88172645463325252ull;
  for (int k = 0; k < 3000000; ++k) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; check64(-750.0 + 1462.0 * static_cast<double>(s >> 11) * 0x1p-53); }
  for (int k = 0; k < 1000000; ++k) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; check64(-1.0 + 2.0 * static_cast<double>(s >> 11) * 0x1p-53); }
  const double sp64[] = {0.0, -0.0, 1e-300, -1e-300, 709.782712893384, 709.7827128933841, -708.3964185322641, -745.1332191019411, -745.1332191019412, -746.0, -1e300, 1e300,
                         std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
  for (double x : sp64) check64(x);
  std::printf("{\"worst32\":%lld,\"at32\":%.9g,\"n32\":%ld,\"worst64\":%lld,\"at64\":%.17g,\"n64\":%ld}", (long long)worst32, at32, n32, (long long)worst64, at64, n64);
  return 0;
}
`;

const DECLS = 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 2)\nc = Vi(3, 2)\np = Pm(4, 2)\n';

interface KernelCase {
  name: string;
  /** the reduction (uses x, y, b, c, p) */
  text: string;
  /** only float64 (rounding-sensitive ops such as Floor, or tie-heavy values) */
  f64only?: boolean;
  /** rows of the i-variables and of the j-variables */
  M?: number;
  N?: number;
  /** option variants (default: the defaults of the JS backend, fast math) */
  variants?: Partial<CppCodeOptions>[];
}

const MATH =
  'Concat(Sqrt(Abs(x - y)), Concat(Log(1 + SqDist(x, y)), Concat(Sin(x * y) + Cos(x - y), Concat(Atan(x - y) + Atan2(x, y), ' +
  'Concat(Floor(x * 3 - y) + Round(x - y * 2, 0), Concat(Powf(Abs(x) + 1, y) + Pow(x - y, 3), Concat(Rsqrt(Step(x - y) * Abs(x)), ' +
  'Concat(IfElse(x - y, Sign(x), ReLU(y)) + LessThan(x, y) + Equal(Round(x, 1), Round(y, 1)) + NotEqual(x, y) + LessOrEqual(x, y), ' +
  'Concat(Asin(x * y / 9) + Acos(x / 3), Concat(Mod(x, y + 3, 1) + Clamp(x, y, 1) + XLogX(Abs(y)) + SinXDivX(x), Inv(2 + x * y)))))))))))';

const KERNELS: KernelCase[] = [
  { name: 'gauss', text: 'Sum_Reduction(Exp(-SqDist(x, y) * Elem(p, 0) * Elem(p, 0)) * Exp(b), 0)', variants: [{}, { fastMath: false }, { dtype: 'float32', sumScheme: 'kahan' }, { dtype: 'float64', sumScheme: 'kahan' }, { dtype: 'float32', sumScheme: 'direct' }] },
  { name: 'gauss_acc64', text: 'Sum_Reduction(Exp(-SqDist(x, y) / 2) * Exp(b), 0)', variants: [{ dtype: 'float32', accDtype: 'float64' }, { dtype: 'float32', accDtype: 'float64', sumScheme: 'kahan' }] },
  { name: 'sum_tag1', text: 'Sum_Reduction(Exp(-SqDist(x, y) / 2 + Elem(p, 1)) * Exp(c) + Square(Elem(y, 2)), 1)', M: 700, N: 90 },
  { name: 'sum_math', text: `Sum_Reduction(${MATH}, 0)`, f64only: true, M: 40, N: 300, variants: [{}, { fastMath: false }] },
  { name: 'sum_rowonly', text: 'Sum_Reduction(Exp(x) + Sqrt(Abs(Elem(p, 0))) * Atan2(Elem(p, 1), Elem(p, 0)), 0)', M: 30, N: 1 },
  { name: 'sum_redonly', text: 'Sum_Reduction(Exp(x), 1)', M: 300, N: 1 },
  { name: 'sum_zero', text: 'Sum_Reduction(0 * Exp(x - y), 0)' },
  { name: 'max', text: 'Max_Reduction(Concat(-SqDist(x, y), Elem(y, 0) - Elem(c, 1) + Atan2(Elem(p, 1), Elem(y, 1))), 0)' },
  { name: 'min_tag1', text: 'Min_Reduction(SqDist(x, y) + c, 1)', M: 700, N: 90 },
  { name: 'argmax_ties', text: 'ArgMax_Reduction(Floor(x * y * 2), 1)', f64only: true, M: 700, N: 90 },
  { name: 'argmin', text: 'ArgMin_Reduction(SqDist(x, y) - Elem(b, 0), 0)' },
  { name: 'min_argmin_ties', text: 'Min_ArgMin_Reduction(Concat(Floor(SqDist(x, y) * 2), Round(Elem(y, 1), 0)), 0)', f64only: true },
  { name: 'max_argmax_tag1', text: 'Max_ArgMax_Reduction(Elem(x, 0) * Elem(y, 1) - c, 1)', M: 700, N: 90 },
  { name: 'kmin', text: 'KMin_Reduction(SqDist(x, y), 3, 0)' },
  { name: 'argkmin_ties_tag1', text: 'ArgKMin_Reduction(Floor(SqDist(x, y)), 4, 1)', f64only: true, M: 500, N: 70 },
  { name: 'kmin_argkmin_bigK', text: 'KMin_ArgKMin_Reduction(Concat(SqDist(x, y), Elem(y, 0)), 40, 0)', M: 50, N: 23 },
  { name: 'kmin_argkmin_vec', text: 'KMin_ArgKMin_Reduction(x - y, 5, 0)' },
  { name: 'lse', text: 'LogSumExp_Reduction(-SqDist(x, y) * 3, 0)', variants: [{}, { fastMath: false }, { dtype: 'float32', accDtype: 'float64' }] },
  { name: 'lse_neginf', text: 'LogSumExp_Reduction(Log(ReLU(Elem(x, 0) - Elem(y, 0) - 0.5)), 0)' },
  { name: 'shiftexp_tag1', text: 'Max_SumShiftExp_Reduction(Elem(x, 0) * Elem(y, 1) * 3, 1)', M: 700, N: 90 },
  { name: 'lse_nan_tag1', text: 'LogSumExp_Reduction(Log(Elem(x, 0) - Elem(y, 0) + 0.8) * 3, 1)', f64only: true, M: 700, N: 90 },
  // NaN terms: m is the max of the other terms and s is NaN (as KeOps, the JS target and the reference)
  { name: 'shiftexp_nan_tag1', text: 'Max_SumShiftExp_Reduction(Log(Elem(x, 0) - Elem(y, 0) + 0.8) * 3, 1)', f64only: true, M: 700, N: 90 },
  // N = 10 < one vector: lanes that see only NaN terms must still poison s
  { name: 'shiftexp_nanlanes', text: 'Max_SumShiftExp_Reduction(Log(Elem(y, 0)) + Elem(x, 0), 0)', N: 10 },
  { name: 'shiftexp_weight', text: 'Max_SumShiftExpWeight_Reduction(Elem(x, 1) * Elem(y, 2) * 4, 0, Concat(b, Elem(c, 0) + 2))' },
  { name: 'lse_weight', text: 'LogSumExpWeight_Reduction(-SqDist(x, y), 0, Exp(b))' },
  { name: 'softmax_tag1', text: 'SumSoftMaxWeight_Reduction(-SqDist(x, y) * 2, 1, Concat(c, Elem(x, 0)))', M: 700, N: 90, variants: [{}, { dtype: 'float32', accDtype: 'float64' }] },
  { name: 'kmin_hugeK', text: 'ArgKMin_Reduction(SqDist(x, y), 2000, 0)', f64only: true, M: 9, N: 2100 },
  // the lane mask of candidates over many vectors, and a large K with ties (stable insertion of the candidate lanes)
  { name: 'argkmin_lanes', text: 'ArgKMin_Reduction(SqDist(x, y), 10, 0)', M: 60, N: 1000 },
  { name: 'kmin_argkmin_ties_K24', text: 'KMin_ArgKMin_Reduction(Floor(SqDist(x, y) * 2), 24, 0)', f64only: true, M: 60, N: 300 },
];

/** Random block-sparse ranges for `rows` output rows and a reduction of length `NR`: gaps (uncovered
 * rows), clusters with no interval, empty and duplicate intervals in random order, long and short
 * intervals, and a last cluster that overlaps an earlier one (it wins). */
function randomRanges(rows: number, NR: number, seed: number): { out: number[]; slices: number[]; red: number[] } {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const out: number[] = [], slices: number[] = [], red: number[] = [];
  let a = 0;
  while (a < rows) {
    const b = Math.min(rows, a + 1 + int(Math.max(1, rows / 3)));
    if (r() < 0.8) {
      out.push(a, b);
      const k = r() < 0.15 ? 0 : 1 + int(4);
      for (let l = 0; l < k; l++) {
        const s = int(NR + 1);
        const len = r() < 0.3 ? int(20) : r() < 0.2 ? 0 : int(NR - s + 1);
        red.push(s, Math.min(NR, s + len));
        if (r() < 0.15) red.push(s, Math.min(NR, s + len)); // duplicate: visited twice
      }
      slices.push(red.length / 2);
    }
    a = b;
  }
  if (rows > 2) {
    out.push(Math.floor(rows / 3), Math.floor((2 * rows) / 3));
    red.push(Math.floor(NR / 2), NR, 0, Math.floor(NR / 3));
    slices.push(red.length / 2);
  }
  return { out, slices, red };
}

function i64(v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(v));
  return b;
}
function bytesOf(a: Float32Array | Float64Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

type Arrays = Map<number, Float32Array | Float64Array>;

function encodeInput(k: CompiledKernel, arrays: Arrays, M: number, N: number, split: number, outBytes: number[], ranges?: { out: number[]; slices: number[]; red: number[] }): Buffer {
  const rows = k.tag === 0 ? M : N;
  const nin = Math.max(...k.args.map((a) => a.index)) + 1;
  const parts: Buffer[] = [i64(M), i64(N), i64(rows), i64(split), i64(nin)];
  for (let i = 0; i < nin; i++) {
    const a = arrays.get(i);
    parts.push(i64(a ? a.byteLength : 0));
    if (a) parts.push(bytesOf(a));
  }
  parts.push(i64(outBytes.length), ...outBytes.map(i64));
  if (!ranges) parts.push(i64(0));
  else {
    parts.push(i64(1), i64(ranges.out.length / 2), i64(ranges.red.length / 2));
    parts.push(bytesOf(Int32Array.from(ranges.out)), bytesOf(Int32Array.from(ranges.slices)), bytesOf(Int32Array.from(ranges.red)));
  }
  return Buffer.concat(parts);
}

interface Variant {
  id: string;
  kc: KernelCase;
  kernel: CompiledKernel;
  opts: CppCodeOptions;
  flags: string[];
  so: string;
  compileS?: number;
  error?: string;
}

describe('C++ target (printCpp): the printed source', () => {
  it('prints a header comment and the ABI entry points', () => {
    const k = compile(`${DECLS}gauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)`);
    const src = printCpp(k.plan, { dtype: 'float32', sumScheme: 'block', accDtype: 'float32', fastMath: true });
    expect(src.startsWith("// keopsc kernel 'gauss'")).to.equal(true);
    expect(src).to.include('g++ -O3 -shared -fPIC k.cpp -o k.so');
    expect(src).to.include('extern "C" __attribute__((visibility("default"))) int keopsc_run(const keopsc_call* call)');
    expect(src).to.include('extern "C" __attribute__((visibility("default"))) const keopsc_kernel_info* keopsc_info(void)');
    for (const h of src.match(/#include <[^>]+>/g)!) expect(['<algorithm>', '<cmath>', '<cstdint>', '<cstring>', '<limits>']).to.include(h.slice(9));
  });

  it('matches the snapshots of the C++ and JS kernels of a Gaussian Sum and a Min_ArgMin (KEOPSC_BLESS=1 re-blesses)', () => {
    const cases = [
      ['gauss', 'Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)'],
      ['minargmin', 'Min_ArgMin_Reduction(SqDist(x, y), 1)'],
    ] as const;
    const kernels = cases.map(([n, t]) => [n, t, compile(`${DECLS}${n} = ${t}`)] as const);
    matchSnapshot('cpp.snap.txt', kernels.map(([n, t, k]) => `==== ${n} (float32, fastMath): ${t}\n${printCpp(k.plan, { dtype: 'float32', sumScheme: 'block', accDtype: 'float32', fastMath: true })}`).join('\n'));
    matchSnapshot('js.snap.txt', kernels.map(([n, t, k]) => `==== ${n} (float64): ${t}\n${k.jsSource({ dtype: 'float64' })}`).join('\n'));
  });
});

describe('C++ target (printCpp) vs the reference evaluator', function () {
  this.timeout(900000);
  let dir = '';
  let driver = '';
  const variants: Variant[] = [];

  before(async function () {
    try {
      execFileSync('g++', ['--version'], { stdio: 'ignore' });
    } catch {
      console.log('    (skipped: no C++ compiler `g++` on the PATH)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'keopsc-cpp-'));
    writeFileSync(join(dir, 'driver.cpp'), DRIVER);
    driver = join(dir, 'driver');
    const driverBuild = run('g++', ['-O1', '-std=c++17', join(dir, 'driver.cpp'), '-o', driver, '-ldl']);
    // every kernel × dtype × options, printed and compiled in parallel (two at a time)
    const PLAIN = ['-O3', '-Wall', '-Werror'];
    const FAST = [...CPP_FAST_FLAGS, '-Wall', '-Werror'];
    for (const kc of KERNELS) {
      const kernel = compile(`${DECLS}${kc.name} = ${kc.text}`);
      for (const dtype of kc.f64only ? (['float64'] as const) : (['float32', 'float64'] as const)) {
        for (const v of kc.variants ?? [{}]) {
          if (v.dtype && v.dtype !== dtype) continue;
          const opts: CppCodeOptions = { dtype, sumScheme: kernel.ir.reduction.name === 'Sum' ? 'block' : 'direct', accDtype: dtype, fastMath: true, ...v };
          const id = `${kc.name}-${dtype}-${opts.sumScheme}-acc${opts.accDtype.slice(5)}-${opts.fastMath ? 'fast' : 'std'}`;
          // the plain build (no -march, default math flags) for a few kernels, the fast flags for all
          const flagSets = kc.name === 'gauss' && v === kc.variants?.[0] ? [PLAIN, FAST] : [FAST];
          flagSets.forEach((flags, q) => variants.push({ id: q === 0 && flagSets.length > 1 ? `${id}-plain` : id, kc, kernel, opts, flags, so: '' }));
        }
      }
    }
    let next = 0;
    const t0 = performance.now();
    const worker = async () => {
      while (next < variants.length) {
        const v = variants[next++]!;
        const src = join(dir, `${v.id}.cpp`);
        v.so = join(dir, `${v.id}.so`);
        writeFileSync(src, printCpp(v.kernel.plan, v.opts));
        const t = performance.now();
        try {
          await run('g++', [...v.flags, '-shared', '-fPIC', src, '-o', v.so]);
        } catch (e) {
          v.error = String((e as { stderr?: string }).stderr ?? e).slice(0, 4000);
        }
        v.compileS = (performance.now() - t) / 1000;
      }
    };
    await Promise.all([worker(), worker(), driverBuild]);
    const times = variants.map((v) => v.compileS!).sort((a, b) => a - b);
    console.log(
      `    compiled ${variants.length} kernels in ${((performance.now() - t0) / 1000).toFixed(1)} s (2 at a time); per kernel: ` +
        `min ${times[0]!.toFixed(2)} s, median ${times[times.length >> 1]!.toFixed(2)} s, max ${times[times.length - 1]!.toFixed(2)} s`,
    );
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('compiles every kernel without warnings (-Wall -Werror, plain and fast flags)', () => {
    const bad = variants.filter((v) => v.error);
    expect(bad.map((v) => `${v.id} [${v.flags.join(' ')}]:\n${v.error}`).join('\n\n')).to.equal('');
  });

  it('keopsc_info describes the kernel (the struct of native/ABI.md)', async () => {
    for (const v of variants.filter((x) => !x.error && x.id.endsWith('fast'))) {
      const { stdout } = await run(driver, [v.so, '--info']);
      const info = JSON.parse(stdout) as unknown;
      const M = 5, N = 7;
      expect(info, v.id).to.deep.equal({
        abi: 2,
        name: v.kernel.name,
        dtype: v.opts.dtype,
        tag: v.kernel.tag,
        args: v.kernel.args.map((a) => ({ index: a.index, dim: a.dim, cat: a.cat })),
        outputs: v.kernel.outputShapes(M, N).map((o) => ({ name: o.name, kind: o.kind, width: o.shape.slice(1).reduce((a, b) => a * b, 1) })),
        key: '', // built without -DKEOPSC_KEY (the kernel cache defines it)
      });
    }
  });

  it('the polynomial exp is within 2 ulp of the C library (float and double, specials exact)', async () => {
    const v = variants.find((x) => !x.error && x.id.startsWith('gauss-float32'));
    if (!v) throw new Error('no compiled gauss kernel');
    const src = join(dir, 'expcheck.cpp');
    writeFileSync(src, `#include "${join(dir, `${v.id}.cpp`)}"\n${EXP_CHECK}`);
    await run('g++', ['-O2', '-march=native', '-std=c++17', src, '-o', join(dir, 'expcheck')]);
    const { stdout } = await run(join(dir, 'expcheck'));
    const r = JSON.parse(stdout) as { worst32: number; at32: number; worst64: number; at64: number; n32: number; n64: number };
    expect(r.n32).to.be.greaterThan(1e6);
    expect(r.worst32, `float exp: ${r.worst32} ulp at ${r.at32}`).to.be.at.most(2);
    expect(r.worst64, `double exp: ${r.worst64} ulp at ${r.at64}`).to.be.at.most(2);
  });

  for (const kc of KERNELS) {
    it(`computes ${kc.name} as the reference (dense and ranges, every dtype and variant)`, async () => {
      const mine = variants.filter((v) => v.kc === kc);
      expect(mine.length).to.be.greaterThan(0);
      for (const v of mine) {
        if (v.error) throw new Error(`${v.id} did not compile:\n${v.error}`);
        await checkVariant(v, dir, driver);
      }
    });
  }
});

async function checkVariant(v: Variant, dir: string, driver: string): Promise<void> {
  const k = v.kernel;
  const f32 = v.opts.dtype === 'float32';
  const hasI = k.args.some((a) => a.cat === 0), hasJ = k.args.some((a) => a.cat === 1);
  const M = hasI ? (v.kc.M ?? 90) : 1;
  const N = hasJ ? (v.kc.N ?? 1100) : 1;
  const r = rng(v.id.length * 7919 + 13);
  const arrays: Arrays = new Map();
  const named: Record<string, { data: Float32Array | Float64Array; shape: number[] }> = {};
  for (const a of k.args) {
    const rows = a.cat === 0 ? M : a.cat === 1 ? N : 1;
    const n = rows * a.dim;
    const data = f32 ? Float32Array.from({ length: n }, () => 2 * r() - 1) : Float64Array.from({ length: n }, () => 2 * r() - 1);
    arrays.set(a.index, data);
    named[a.name] = { data, shape: a.cat === 2 ? [a.dim] : [rows, a.dim] };
  }
  const rows = k.tag === 0 ? M : N;
  const NR = k.tag === 0 ? N : M;
  const split = Math.floor(rows * 0.4) + 1;
  const shapes = k.outputShapes(M, N);
  const outBytes = shapes.map((s) => s.shape.reduce((a, b) => a * b, 1) * (s.kind === 'index' ? 8 : f32 ? 4 : 8));
  const ranges = randomRanges(rows, NR, v.id.length + 101);
  const empty = new Int32Array(0);
  const tri = { out: Int32Array.from(ranges.out), slices: Int32Array.from(ranges.slices), red: Int32Array.from(ranges.red) };
  const refRanges = k.tag === 0
    ? { ranges_i: tri.out, slices_i: tri.slices, redranges_j: tri.red, ranges_j: empty, slices_j: empty, redranges_i: empty }
    : { ranges_i: empty, slices_i: empty, redranges_j: empty, ranges_j: tri.out, slices_j: tri.slices, redranges_i: tri.red };
  const cases = [
    { what: 'dense', ref: k.run(named, { backend: 'ref' }), input: encodeInput(k, arrays, M, N, split, outBytes) },
    { what: 'ranges', ref: k.run(named, { backend: 'ref', ranges: refRanges }), input: encodeInput(k, arrays, M, N, split, outBytes, ranges) },
  ];
  const argv = [v.so];
  cases.forEach((c, q) => {
    const inF = join(dir, `${v.id}.${q}.in`);
    writeFileSync(inF, c.input);
    argv.push(inF, join(dir, `${v.id}.${q}.out`));
  });
  await run(driver, argv);
  cases.forEach((c, q) => {
    const buf = readFileSync(join(dir, `${v.id}.${q}.out`));
    let off = 0;
    c.ref.outputs.forEach((o, s) => {
      const bytes = Uint8Array.prototype.slice.call(buf, off, off + outBytes[s]!);
      off += outBytes[s]!;
      const what = `${v.id} ${c.what} ${o.name}`;
      const want = Array.from(o.data as ArrayLike<number | bigint>, Number);
      if (o.name === 'indices') {
        const got = Array.from(new BigInt64Array(bytes.buffer), Number);
        if (!f32) expectClose(got, want, 0, 0, what);
        else for (const g of got) expect(Number.isInteger(g) && g >= 0 && g < Math.max(1, NR), `${what}: index ${g}`).to.equal(true);
      } else {
        const got = f32 ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
        if (f32) expectClose(got, want, 2e-5, 1e-6, what);
        else expectClose(got, want, 1e-12, 1e-12, what);
      }
    });
  });
}
