import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KernelPlan } from '../../src/lower/plan.js';
import { cudaLayout, printCuda } from '../../src/targets/cuda.js';
import { blockTable } from '../../runtime/ranges/index.js';
import { deviceOnly } from './golden.js';

/**
 * The printed CUDA kernels' arithmetic on the CPU, for tests on machines without a GPU: the device part
 * of the `.cu` (what NVRTC compiles) is compiled by the host C++ compiler with a few definitions
 * (`__global__`, `threadIdx`, `__syncthreads`, ...), and every block runs with ONE thread, in order, so
 * that the barriers need no threads: a one-thread block stages its own tiles (or chunks) and reads
 * them back, through the same indexing as on a GPU. What this checks is the printed code: its loops,
 * its indices into the tiles and arrays, its accumulators and its outputs. It does not check what needs
 * many threads (the cooperative loads with blockDim.x > 1, races) nor the GPU's own rounding of exp/log.
 */
const SHIM = `#include <math.h>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
struct keopsc_dim3 { unsigned x, y, z; };
static keopsc_dim3 threadIdx = {0, 0, 0}, blockIdx = {0, 0, 0}, blockDim = {1, 1, 1};
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __shared__
static inline void __syncthreads() {}
static inline double __longlong_as_double(long long v) { double d; std::memcpy(&d, &v, 8); return d; }
static inline float rsqrt(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
alignas(16) unsigned char sh_raw[1 << 20];
`;

/** One emulated run: the kernels of `plan` in `dtype` (and `sumScheme`), the inputs by variable index
 * (float data), and block-sparse ranges (the output side's ranges, slices and reduction ranges) or none. */
export interface EmuRun {
  plan: KernelPlan;
  dtype: 'float32' | 'float64';
  sumScheme?: 'block' | 'direct';
  inputs: Map<number, ArrayLike<number>>;
  M: number;
  N: number;
  ranges?: { out: Int32Array; slices: Int32Array; red: Int32Array };
}

/**
 * Compile the CUDA kernels of every run into one host program (one C++ compilation) and run each: the
 * dense kernel, or the fill and ranges kernels with `ranges`. Returns each run's outputs as numbers.
 * Throws when the host compiler fails.
 */
export function emulateCuda(runs: readonly EmuRun[]): number[][][] {
  const dir = mkdtempSync(join(tmpdir(), 'keopsc-cuda-emu-'));
  try {
    const parts = runs.map((run, c) => {
      const sym = `keopsc_emu${c}`;
      const { plan, dtype } = run;
      const layout = cudaLayout(plan, { dtype, symbol: sym });
      const source = deviceOnly(printCuda(plan, { dtype, symbol: sym, ...(run.sumScheme ? { sumScheme: run.sumScheme } : {}) }).source);
      const rows = plan.tag === 0 ? run.M : run.N;
      const T = dtype === 'float32' ? 'float' : 'double';
      const at = (f: string) => `(d + "/${c}${f}").c_str()`;
      const main = [
        `static void run${c}(const std::string& d) {`,
        `  ${sym}::Args a;`,
        ...Array.from({ length: layout.nIn }, (_, k) => `  std::vector<char> i${k} = readf(${at(`in${k}`)}); a.in${k} = i${k}.empty() ? nullptr : (const ${T}*)i${k}.data();`),
        ...layout.outputs.map((o, q) => `  std::vector<${o.kind === 'index' ? 'long long' : T}> o${q}((size_t)${rows * o.width} + 1); a.out${q} = o${q}.data();`),
        `  a.M = ${run.M}; a.N = ${run.N};`,
        ...(run.ranges
          ? [
              `  for (unsigned b = 0; b < ${rows}; b++) { blockIdx.x = b; ${sym}_fill(a); }`,
              `  std::vector<char> sl = readf(${at('slices')}), rd = readf(${at('red')}), tb = readf(${at('table')});`,
              `  for (unsigned b = 0; b < tb.size() / 12; b++) { blockIdx.x = b; ${sym}_ranges(a, (const int*)sl.data(), (const int*)rd.data(), (const int*)tb.data()); }`,
            ]
          : [`  for (unsigned b = 0; b < ${rows}; b++) { blockIdx.x = b; ${sym}_dense(a); }`]),
        ...layout.outputs.map((o, q) => `  { FILE* f = std::fopen(${at(`out${q}`)}, "wb"); std::fwrite(o${q}.data(), sizeof o${q}[0], ${rows * o.width}, f); std::fclose(f); }`),
        '}',
      ];
      const F = dtype === 'float32' ? Float32Array : Float64Array;
      for (const [k, data] of run.inputs) writeFileSync(join(dir, `${c}in${k}`), new Uint8Array(F.from(data).buffer));
      if (run.ranges) {
        writeFileSync(join(dir, `${c}slices`), new Uint8Array(run.ranges.slices.buffer));
        writeFileSync(join(dir, `${c}red`), new Uint8Array(run.ranges.red.buffer));
        writeFileSync(join(dir, `${c}table`), new Uint8Array(blockTable(run.ranges.out, rows, 1).buffer));
      }
      return { source, main, layout, rows, F };
    });
    const program = [
      SHIM,
      ...parts.map((p) => p.source),
      'static std::vector<char> readf(const char* p) { FILE* f = std::fopen(p, "rb"); std::vector<char> v; if (!f) return v; char b[65536]; size_t n; while ((n = std::fread(b, 1, sizeof b, f)) > 0) v.insert(v.end(), b, b + n); std::fclose(f); return v; }',
      ...parts.flatMap((p) => p.main),
      'int main(int argc, char** argv) {',
      '  (void)argc; const std::string d = argv[1];',
      ...parts.map((_, c) => `  run${c}(d);`),
      '}',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'k.cc'), program);
    execFileSync(process.env['CXX'] || 'g++', ['-O1', '-std=c++17', '-w', '-o', join(dir, 'k'), join(dir, 'k.cc')], { stdio: 'pipe' });
    execFileSync(join(dir, 'k'), [dir], { stdio: 'pipe' });
    return parts.map((p, c) =>
      p.layout.outputs.map((o, q) => {
        const b = readFileSync(join(dir, `${c}out${q}`));
        const buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
        return o.kind === 'index' ? Array.from(new BigInt64Array(buf), Number) : Array.from(new p.F(buf));
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
