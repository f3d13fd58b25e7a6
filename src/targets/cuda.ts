import { printedOnce, type KernelPlan, type ReductionPlan, unrolledPlan } from '../lower/plan.js';
import { callK, extremumAccumulator, INFIX, kminAccumulator, lseAccumulator, scalarRef, scalarStatement, type CSyntax, type Spellings } from './common.js';
import type { SExpr } from '../lower/scalar.js';
import { LimitError } from '../diagnostics/diagnostic.js';

/** Options of the CUDA target. */
export interface CudaCodeOptions {
  dtype: 'float32' | 'float64';
  /** Sum-type reductions: `block` (default: each tile of blockDim.x terms is summed apart, then added
   * to the total, as KeOps's block_sum) or `direct` (one running sum). */
  sumScheme?: 'block' | 'direct';
  /** Accumulator type of Sum-type reductions (default: the dtype; `float64` for float32 data). */
  accDtype?: 'float32' | 'float64';
  /** The prefix of every C symbol (default `keopsc_<kernel name>`): the namespace, the kernels
   * `<symbol>_dense`, `_fill`, `_ranges` and the host functions `<symbol>_launch`, `_block_rows`,
   * `_block_table`. A C identifier. */
  symbol?: string;
  /** How the input arrays are stored on the device: `float32` (default: the dtype) or `float16`
   * (float32 data only): every input is an array of IEEE half bits (`unsigned short`), converted to
   * float when loaded (shared-memory tiles hold the converted floats); arithmetic, accumulators and the
   * outputs stay float32. */
  storage?: 'float32' | 'float16';
}

/** Whether the options ask for float16 storage; float16 storage of float64 data throws an Error. */
function halfStorage(opts: CudaCodeOptions): boolean {
  const s = opts.storage ?? 'float32';
  if (s !== 'float32' && s !== 'float16') throw new Error(`CUDA storage must be 'float32' or 'float16', got '${String(s)}'`);
  if (s === 'float16' && opts.dtype !== 'float32') throw new Error(`CUDA storage 'float16' is for float32 data (float16 inputs, float32 arithmetic), not ${opts.dtype}`);
  return s === 'float16';
}

/** The symbol prefix of a plan's CUDA code (see {@link CudaCodeOptions.symbol}). */
function cudaSymbol(plan: KernelPlan, opts: CudaCodeOptions): string {
  const sym = opts.symbol ?? `keopsc_${plan.kernel.name}`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(sym)) throw new Error(`CUDA symbol prefix '${sym}' is not a C identifier`);
  return sym;
}

/**
 * The CUDA target: prints a kernel plan as a standalone `.cu` with KeOps's GPU 1D scheme (one thread
 * per output row, the reduction index in tiles of blockDim.x staged in shared memory, accumulators in
 * registers), a ranges variant (one block per (cluster, chunk of rows) from a block table built on the
 * host, see `blockTable` in runtime/ranges), a neutral-fill kernel and an `extern "C"` host launcher. The
 * device part needs no header, so NVRTC compiles it too (runtime/cuda does, for the `cuda` backend);
 * the host launcher is compiled only outside NVRTC (`#ifndef __CUDACC_RTC__`).
 */
export function printCuda(plan: KernelPlan, opts: CudaCodeOptions): { source: string; header: string } {
  return new CudaPrinter(unrolledPlan(plan), opts).print();
}

/** The `.cu` source of {@link printCuda} (what the cuda backend compiles), printed once per (plan, options). */
export function cudaSource(plan: KernelPlan, opts: CudaCodeOptions): string {
  return printedOnce(plan, `cuda|${opts.dtype}|${opts.sumScheme}|${opts.accDtype}|${opts.storage ?? 'float32'}|${opts.symbol ?? ''}`, () => printCuda(plan, opts).source);
}

/** Static shared memory CUDA guarantees per block without opting in (the launcher never asks for more). */
export const CUDA_SHARED_BYTES = 49152;

/**
 * What a launcher of the printed kernels must know (the `cuda` backend uses it with the driver API; the
 * printed host launcher has the same numbers built in). The kernels take one struct `Args` by value:
 * `nIn` input pointers (`in0 ... in{nIn-1}`, null where unused), one pointer per output, then `M` and
 * `N` as int64: `(nIn + outputs.length + 2)` 8-byte fields, no padding.
 */
export interface CudaLayout {
  name: string;
  dtype: 'float32' | 'float64';
  /** How the inputs are stored: `float32`/`float64` arrays of the dtype, or `float16`: uint16 half bits
   * (float32 dtype only; the outputs stay float32). */
  storage: 'float32' | 'float16';
  tag: 0 | 1;
  /** Input pointer slots of `Args` (max variable index + 1). */
  nIn: number;
  /** The inputs the kernels read, by variable index; cat 0 = i (M rows), 1 = j (N rows), 2 = parameter. */
  args: { index: number; dim: number; cat: 0 | 1 | 2 }[];
  /** The outputs in `Args` order: values of the dtype, or int64 indices; width = values per output row. */
  outputs: { name: 'values' | 'indices'; kind: 'float' | 'index'; width: number }[];
  /** Threads per block = output rows per block (also the tile length of the reduction index). */
  blockRows: number;
  /** Dynamic shared memory per block, in bytes (blockRows x the reduction-side values per row x sizeof T). */
  sharedBytes: number;
  /** The `extern "C"` kernel names: dense, the neutral fill, the ranges variant, and the batched dense
   * kernel (batch dims: `(Args a, const int64* boff, int64 b0)`, grid (row blocks, batch entries): entry
   * t = b0 + blockIdx.y reads input k from `in<k> + boff[t * nIn + k]` and writes rows t·rows + r). */
  kernels: { dense: string; fill: string; ranges: string; denseBatched: string };
}

/**
 * The launch layout of a plan's CUDA kernels (see {@link CudaLayout}). The block size is 256 threads
 * (128 for the KMin family, whose per-thread arrays use many registers), lowered by steps of 32 until the
 * shared tile fits in 48 KiB. Throws an Error when even 32 rows do not fit (reduction-side variables of
 * more than 384 float32 or 192 float64 values per row).
 */
export function cudaLayout(loopPlan: KernelPlan, opts: CudaCodeOptions): CudaLayout {
  const plan = unrolledPlan(loopPlan);
  const sizeofT = opts.dtype === 'float32' ? 4 : 8;
  const half = halfStorage(opts);
  const dims = new Map(plan.kernel.args.map((a) => [a.index, a.dim]));
  const innerVars = [...new Set(plan.loads.inner.map((n) => n.input!.index))];
  const perRow = innerVars.reduce((s, v) => s + dims.get(v)!, 0);
  const usedLoads = [...plan.loads.param, ...plan.loads.outer, ...plan.loads.inner];
  const used = [...new Set(usedLoads.map((n) => n.input!.index))].sort((a, b) => a - b);
  const nIn = Math.max(0, ...plan.kernel.args.map((a) => a.index + 1), ...used.map((u) => u + 1));
  const heavy = plan.reduction.family === 'kmin';
  let blockRows = heavy ? 128 : 256;
  while (blockRows > 32 && blockRows * perRow * sizeofT > CUDA_SHARED_BYTES) blockRows -= 32;
  const sharedBytes = blockRows * perRow * sizeofT;
  if (sharedBytes > CUDA_SHARED_BYTES)
    throw new LimitError(`kernel '${plan.kernel.name}': its reduction-side variables hold ${perRow} ${opts.dtype} values per row, more than fit in 48 KiB of shared memory for 32 rows; split the formula`);
  const name = plan.kernel.name;
  const sym = cudaSymbol(plan, opts);
  const arg = (index: number) => {
    const a = plan.kernel.args.find((x) => x.index === index);
    if (!a) throw new Error(`internal: kernel '${name}' reads variable ${index}, which is not one of its arguments`);
    return { index, dim: a.dim, cat: a.cat as 0 | 1 | 2 };
  };
  return {
    name,
    dtype: opts.dtype,
    storage: half ? 'float16' : 'float32',
    tag: plan.tag,
    nIn,
    args: used.map(arg),
    outputs: plan.reduction.outputs.map((o) => ({ name: o.name, kind: o.kind, width: o.rowShape.reduce((p, x) => p * x, 1) })),
    blockRows,
    sharedBytes,
    kernels: { dense: `${sym}_dense`, fill: `${sym}_fill`, ranges: `${sym}_ranges`, denseBatched: `${sym}_dense_batched` },
  };
}

/** The CUDA spelling of each scalar function: the `k_*` device helpers of the printed prelude. */
const CUDA_SPELLINGS: Spellings = {
  ...INFIX,
  ...callK(['exp', 'log', 'sin', 'cos', 'asin', 'acos', 'atan', 'sqrt', 'abs', 'floor', 'round', 'rsqrt', 'atan2', 'pow', 'lt', 'le', 'eq', 'ne']),
  select: (a) => `(${a[0]} != (T)0 ? ${a[1]} : ${a[2]})`,
};

class CudaPrinter {
  private readonly f32: boolean;
  private readonly half: boolean;
  private readonly T: string;
  private readonly red: ReductionPlan;
  private readonly dims: Map<number, number>;
  constructor(
    private readonly plan: KernelPlan,
    private readonly opts: CudaCodeOptions,
  ) {
    this.f32 = opts.dtype === 'float32';
    this.half = halfStorage(opts);
    this.T = this.f32 ? 'float' : 'double';
    this.red = plan.reduction;
    this.dims = new Map(plan.kernel.args.map((a) => [a.index, a.dim]));
  }

  private lit(v: number): string {
    const x = this.f32 ? Math.fround(v) : v;
    if (Number.isNaN(x)) return 'k_nan()';
    if (x === Infinity) return 'k_inf()';
    if (x === -Infinity) return '(-k_inf())';
    if (Object.is(x, -0)) return this.f32 ? '(-0.0f)' : '(-0.0)';
    const s = x.toExponential();
    return x < 0 ? `(${s}${this.f32 ? 'f' : ''})` : `${s}${this.f32 ? 'f' : ''}`;
  }

  private ref(n: SExpr): string {
    return scalarRef(n, (v) => this.lit(v));
  }

  private stmt(n: SExpr): string {
    return scalarStatement(n, (v) => this.lit(v), CUDA_SPELLINGS, (t, e) => `const T ${t} = ${e};`);
  }

  print(): { source: string; header: string } {
    const { plan, red, T } = this;
    const name = plan.kernel.name;
    const sym = cudaSymbol(plan, this.opts);
    const outs = red.outputs.map((o) => ({ name: o.name, width: o.rowShape.reduce((p, x) => p * x, 1), index: o.name === 'indices' }));
    const innerVars = [...new Set(plan.loads.inner.map((n) => n.input!.index))].sort((a, b) => a - b);
    // shared layout: variable v occupies dims(v) rows of blockDim.x values (structure of arrays)
    const shOff = new Map<number, number>();
    let perThread = 0;
    for (const v of innerVars) {
      shOff.set(v, perThread);
      perThread += this.dims.get(v)!;
    }
    const layout = cudaLayout(plan, this.opts);
    const nIn = layout.nIn;
    const acc = this.accumulator();
    const rowTag = plan.tag === 0 ? 'i (M rows), reduced over j (N)' : 'j (N rows), reduced over i (M)';
    const NR = plan.tag === 0 ? 'a.M' : 'a.N';
    const NRED = plan.tag === 0 ? 'a.N' : 'a.M';
    const sizeofT = this.f32 ? 4 : 8;
    const argsDoc = [
      `// keopsc CUDA kernel '${name}': ${red.name}_Reduction, tag ${plan.tag}, output rows indexed by ${rowTag}; ${opts(this.opts)}.`,
      '// Generated by keopsc (src/targets/cuda.ts). GPU 1D scheme: one thread per output row; the reduction',
      '// index runs in tiles of blockDim.x whose reduction-side inputs are staged in shared memory.',
      '//',
      `// cudaError_t ${sym}_launch(d_in, d_out, M, N, use_ranges, d_slices, d_red, d_block_table, n_blocks, stream)`,
      ...(this.half
        ? [
            '//   d_in[k]        device array of input variable k (nullptr where unused), row-major uint16 half bits',
            '//                  (IEEE binary16, converted to float when loaded); rows: M for i-variables, N for',
            '//                  j-variables, 1 for parameters',
          ]
        : [
            `//   d_in[k]        device array of input variable k (nullptr where unused), row-major ${T}; rows: M for`,
            '//                  i-variables, N for j-variables, 1 for parameters',
          ]),
      ...outs.map((o, q) => `//   d_out[${q}]       ${o.name}: ${o.width} ${o.index ? 'int64 indices' : `${T} values`} per output row`),
      '//   M, N           rows of the i- and j-variables',
      '//   use_ranges     0: dense reduction (the four ranges arguments are ignored); 1: block-sparse',
      `//   d_slices       int32, per cluster the end (exclusive) of its intervals in d_red (${plan.tag === 0 ? 'slices_i' : 'slices_j'})`,
      `//   d_red          int32 pairs [start, end) of reduction indices (${plan.tag === 0 ? 'redranges_j' : 'redranges_i'})`,
      '//   d_block_table  int32 triples (cluster, first row, end row): one CUDA block per run of at most',
      `//                  ${sym}_block_rows() output rows of one cluster; ${sym}_block_table`,
      `//                  builds it on the host from the output ranges (${plan.tag === 0 ? 'ranges_i' : 'ranges_j'})`,
      '//   n_blocks       number of triples in d_block_table (0: every row gets the neutral value)',
      '//   stream         the CUDA stream; returns cudaGetLastError() after the launches',
      '// Rows no cluster covers get the neutral value (a fill kernel runs first); a row covered by several',
      '// clusters belongs to the last one (as on the CPU backends).',
      `// int ${sym}_block_rows(void) returns the block size (rows per block) the launcher uses.`,
      `// int64_t ${sym}_block_table(ranges_out, n_clusters, rows, table) writes the block table of`,
      '//   the host array ranges_out (n_clusters int32 pairs [start, end) of output rows) into table (host,',
      '//   3 int32 per block; null to only count) and returns the number of blocks.',
    ];
    // a load from an input array: half bits are converted to float (k_h2f)
    const ld = (e: string) => (this.half ? `k_h2f(${e})` : e);
    const loadsParam = plan.loads.param.map((n) => `const T x${n.input!.index}_${n.input!.comp} = ${ld(`a.in${n.input!.index}[${n.input!.comp}]`)};`);
    const loadsOuter = plan.loads.outer.map((n) => {
      const { index, comp } = n.input!;
      return `const T x${index}_${comp} = ${ld(`a.in${index}[r * ${this.dims.get(index)!} + ${comp}]`)};`;
    });
    const loadsInner = plan.loads.inner.map((n) => {
      const { index, comp } = n.input!;
      return `const T x${index}_${comp} = sh[${shOff.get(index)! + comp} * bd + q];`;
    });
    const tileLoad = innerVars.flatMap((v) => {
      const d = this.dims.get(v)!;
      return Array.from({ length: d }, (_, c) => `sh[${shOff.get(v)! + c} * bd + threadIdx.x] = ${ld(`a.in${v}[jj * ${d} + ${c}]`)};`);
    });
    const I = (ls: string[], n: number) => ls.map((l) => `${' '.repeat(n)}${l}`);
    const foldBody = [...loadsInner, ...plan.stmts.inner.map((n) => this.stmt(n)), ...acc.fold];
    // one tile [j0, j0 + cnt) of reduction indices: load, barrier, fold, barrier
    const tile = (j0: string, end: string) => [
      `for (keopsc_i64 j0 = ${j0}; j0 < ${end}; j0 += bd) {`,
      `  const keopsc_i64 cnt = (${end} - j0) < bd ? (${end} - j0) : bd;`,
      `  if (threadIdx.x < cnt) { const keopsc_i64 jj = j0 + threadIdx.x;${tileLoad.length ? '' : ' (void)jj;'}`,
      ...I(tileLoad, 4),
      '  }',
      '  __syncthreads();',
      '  if (active) {',
      ...I(acc.tileInit, 4),
      '    for (int q = 0; q < cnt; q++) {',
      '      const keopsc_i64 s = j0 + q; (void)s;',
      ...I(foldBody, 6),
      '    }',
      ...I(acc.tileMerge, 4),
      '  }',
      '  __syncthreads();',
      '}',
    ];
    const outArgs = outs.map((o, q) => `  ${o.index ? 'keopsc_i64' : 'T'}* out${q};`);
    const rowPre = ['const keopsc_i64 r = active ? row : 0;', ...loadsOuter, ...plan.stmts.outer.map((n) => this.stmt(n)), ...acc.decl];
    // the body of the dense kernels (after the signature): one thread per output row
    const denseBody = [
      `  using namespace ${sym};`,
      '  extern __shared__ unsigned char sh_raw[];',
      '  T* sh = reinterpret_cast<T*>(sh_raw); (void)sh;',
      '  const keopsc_i64 bd = blockDim.x;',
      `  const keopsc_i64 row = (keopsc_i64)blockIdx.x * bd + threadIdx.x;`,
      `  const bool active = row < ${NR};`,
      ...I(loadsParam, 2),
      ...I(plan.stmts.param.map((n) => this.stmt(n)), 2),
      ...I(rowPre, 2),
      ...(plan.zero ? [] : I(tile('0', NRED), 2)),
      '  if (active) {',
      ...I(acc.finalize.map((l) => l.replaceAll('[r ', '[row ')), 4),
      '  }',
      '}',
    ];
    const src: string[] = [
      ...argsDoc,
      '',
      '// the device code names no header type: NVRTC compiles it as it is',
      'typedef long long keopsc_i64;',
      'typedef int keopsc_i32;',
      '',
      `namespace ${sym} {`,
      `typedef ${T} T;`,
      ...(this.half
        ? [
            '// float16 storage: inputs are IEEE half bits, converted to float by inline PTX (no cuda_fp16.h)',
            'typedef unsigned short S;',
            '__device__ __forceinline__ float k_h2f(unsigned short h) { float r; asm("cvt.f32.f16 %0, %1;" : "=f"(r) : "h"(h)); return r; }',
          ]
        : []),
      '__device__ __forceinline__ T k_inf() { return (T)__longlong_as_double(0x7ff0000000000000LL); }',
      '__device__ __forceinline__ T k_nan() { return (T)__longlong_as_double(0x7ff8000000000000LL); }',
      ...['exp', 'log', 'sin', 'cos', 'asin', 'acos', 'atan', 'sqrt', 'floor', 'round'].map((f) => `__device__ __forceinline__ T k_${f}(T x) { return ${f}(x); }`),
      '__device__ __forceinline__ T k_abs(T x) { return fabs(x); }',
      '__device__ __forceinline__ T k_rsqrt(T x) { return x == (T)0 ? (T)0 : rsqrt(x); }',
      '__device__ __forceinline__ T k_atan2(T y, T x) { return atan2(y, x); }',
      '__device__ __forceinline__ T k_pow(T x, T y) { return pow(x, y); }',
      '__device__ __forceinline__ T k_lt(T x, T y) { return x < y ? (T)1 : (T)0; }',
      '__device__ __forceinline__ T k_le(T x, T y) { return x <= y ? (T)1 : (T)0; }',
      '__device__ __forceinline__ T k_eq(T x, T y) { return x == y ? (T)1 : (T)0; }',
      '__device__ __forceinline__ T k_ne(T x, T y) { return x != y ? (T)1 : (T)0; }',
      '',
      'struct Args {',
      ...Array.from({ length: nIn }, (_, k) => `  const ${this.half ? 'S' : 'T'}* __restrict__ in${k};`),
      ...outArgs,
      '  keopsc_i64 M, N;',
      '};',
      '',
      '// the neutral value of output row r (rows no cluster covers)',
      '__device__ __forceinline__ void neutral(const Args& a, keopsc_i64 r) {',
      ...I(acc.decl, 2),
      ...I(acc.finalize, 2),
      '}',
      '',
      '} // namespace',
      '',
      `extern "C" __global__ void ${sym}_dense(${sym}::Args a) {`,
      ...denseBody,
      '',
      `extern "C" __global__ void ${sym}_dense_batched(${sym}::Args a, const keopsc_i64* __restrict__ boff, keopsc_i64 b0) {`,
      '  // batch entry t: its inputs start at their offsets in the table, its outputs at row t * rows',
      '  const keopsc_i64 t = b0 + (keopsc_i64)blockIdx.y;',
      ...layout.args.map((v) => `  a.in${v.index} += boff[t * ${nIn} + ${v.index}];`),
      ...layout.outputs.map((o, q) => `  a.out${q} += t * ${NR} * ${o.width};`),
      ...denseBody,
      '',
      `extern "C" __global__ void ${sym}_fill(${sym}::Args a) {`,
      `  const keopsc_i64 row = (keopsc_i64)blockIdx.x * blockDim.x + threadIdx.x;`,
      `  if (row < ${NR}) ${sym}::neutral(a, row);`,
      '}',
      '',
      `extern "C" __global__ void ${sym}_ranges(${sym}::Args a, const keopsc_i32* __restrict__ slices, const keopsc_i32* __restrict__ redr, const keopsc_i32* __restrict__ table) {`,
      `  using namespace ${sym};`,
      '  extern __shared__ unsigned char sh_raw[];',
      '  T* sh = reinterpret_cast<T*>(sh_raw); (void)sh;',
      '  const keopsc_i64 bd = blockDim.x;',
      '  const int c = table[3 * blockIdx.x];',
      '  const keopsc_i64 row = (keopsc_i64)table[3 * blockIdx.x + 1] + threadIdx.x;',
      '  const bool active = row < (keopsc_i64)table[3 * blockIdx.x + 2];',
      ...I(loadsParam, 2),
      ...I(plan.stmts.param.map((n) => this.stmt(n)), 2),
      ...I(rowPre, 2),
      '  const int la = c == 0 ? 0 : slices[c - 1], lb = slices[c];',
      '  for (int l = la; l < lb; l++) {',
      '    const keopsc_i64 sa = redr[2 * l], sb = redr[2 * l + 1];',
      ...(plan.zero ? ['    (void)sa; (void)sb;'] : I(tile('sa', 'sb'), 4)),
      '  }',
      '  if (active) {',
      ...I(acc.finalize.map((l) => l.replaceAll('[r ', '[row ')), 4),
      '  }',
      '}',
      '',
      '#ifndef __CUDACC_RTC__',
      '#include <cstdint>',
      '#include <cuda_runtime.h>',
      '#include <vector>',
      '',
      `// ${layout.blockRows} rows per block; shared memory: ${perThread} values of ${sizeofT} bytes per row (${layout.sharedBytes} bytes per block)`,
      `static const int ${sym}_bs = ${layout.blockRows};`,
      `static const size_t ${sym}_shmem = ${layout.sharedBytes};`,
      '',
      `extern "C" int ${sym}_block_rows(void) { return ${sym}_bs; }`,
      '',
      `extern "C" int64_t ${sym}_block_table(const int32_t* ranges_out, int64_t n_clusters, int64_t rows, int32_t* table) {`,
      '  int64_t n = 0;',
      '  auto chunk = [&](int32_t c, int64_t s, int64_t e) {',
      `    for (int64_t r = s; r < e; r += ${sym}_bs) {`,
      `      if (table) { table[3 * n] = c; table[3 * n + 1] = (int32_t)r; table[3 * n + 2] = (int32_t)(e < r + ${sym}_bs ? e : r + ${sym}_bs); }`,
      '      n++;',
      '    }',
      '  };',
      '  bool disjoint = true;',
      '  for (int64_t c = 1; c < n_clusters && disjoint; c++) disjoint = ranges_out[2 * c] >= ranges_out[2 * c - 1];',
      '  if (disjoint) {',
      '    for (int64_t c = 0; c < n_clusters; c++) chunk((int32_t)c, ranges_out[2 * c], ranges_out[2 * c + 1]);',
      '    return n;',
      '  }',
      '  // overlapping clusters: each row belongs to the last cluster covering it',
      '  std::vector<int32_t> owner((size_t)rows, -1);',
      '  for (int64_t c = 0; c < n_clusters; c++)',
      '    for (int64_t r = ranges_out[2 * c]; r < ranges_out[2 * c + 1]; r++) owner[(size_t)r] = (int32_t)c;',
      '  for (int64_t r = 0; r < rows;) {',
      '    int64_t e = r + 1;',
      '    while (e < rows && owner[(size_t)e] == owner[(size_t)r]) e++;',
      '    if (owner[(size_t)r] >= 0) chunk(owner[(size_t)r], r, e);',
      '    r = e;',
      '  }',
      '  return n;',
      '}',
      '',
      `extern "C" cudaError_t ${sym}_launch(const void* const* d_in, void* const* d_out, int64_t M, int64_t N, int use_ranges, const int32_t* d_slices, const int32_t* d_red, const int32_t* d_block_table, int64_t n_blocks, cudaStream_t stream) {`,
      `  ${sym}::Args a;`,
      ...Array.from({ length: nIn }, (_, k) => `  a.in${k} = static_cast<const ${sym}::${this.half ? 'S' : 'T'}*>(d_in[${k}]);`),
      ...outs.map((o, q) => `  a.out${q} = static_cast<${o.index ? 'keopsc_i64' : `${sym}::T`}*>(d_out[${q}]);`),
      '  a.M = M; a.N = N;',
      `  const int bs = ${sym}_bs;`,
      `  const int64_t rows = ${plan.tag === 0 ? 'M' : 'N'};`,
      '  if (rows <= 0) return cudaGetLastError();',
      '  if (!use_ranges) {',
      `    ${sym}_dense<<<(unsigned)((rows + bs - 1) / bs), bs, ${sym}_shmem, stream>>>(a);`,
      '    return cudaGetLastError();',
      '  }',
      `  ${sym}_fill<<<(unsigned)((rows + 255) / 256), 256, 0, stream>>>(a);`,
      `  if (n_blocks > 0) ${sym}_ranges<<<(unsigned)n_blocks, bs, ${sym}_shmem, stream>>>(a, d_slices, d_red, d_block_table);`,
      '  return cudaGetLastError();',
      '}',
      '#endif // __CUDACC_RTC__',
      '',
    ];
    const guard = `${sym.toUpperCase()}_H`;
    const header = [
      ...argsDoc,
      `#ifndef ${guard}`,
      `#define ${guard}`,
      '#include <cstdint>',
      '#include <cuda_runtime.h>',
      `extern "C" int ${sym}_block_rows(void);`,
      `extern "C" int64_t ${sym}_block_table(const int32_t* ranges_out, int64_t n_clusters, int64_t rows, int32_t* table);`,
      `extern "C" cudaError_t ${sym}_launch(const void* const* d_in, void* const* d_out, int64_t M, int64_t N, int use_ranges, const int32_t* d_slices, const int32_t* d_red, const int32_t* d_block_table, int64_t n_blocks, cudaStream_t stream);`,
      `#endif // ${guard}`,
      '',
    ].join('\n');
    return { source: src.join('\n'), header };
  }

  /** CUDA C's spelling of the shared GPU accumulators (src/targets/common.ts). */
  private syntax(): CSyntax {
    const { red } = this;
    return {
      inf: 'k_inf()',
      zero: '(T)0',
      one: '(T)1',
      ne: '!=',
      eq: '==',
      exp: (x) => `k_exp(${x})`,
      log: (x) => `k_log(${x})`,
      acc: (e) => e,
      float: (n, init) => `T ${n} = ${init};`,
      index: (n, init) => `keopsc_i64 ${n} = ${init};`,
      constant: (n, e) => `const T ${n} = ${e};`,
      floats: (n, len) => `T ${n}[${len}];`,
      indices: (n, len) => `keopsc_i64 ${n}[${len}];`,
      int: (n) => `${n}`,
      counter: (n, init) => `int ${n} = ${init};`,
      decrement: (n) => `${n}--;`,
      loop: (q, len, body) => `for (int ${q} = 0; ${q} < ${len}; ${q}++) { ${body} }`,
      // the values are out0; the indices are out1 after values, else out0
      out: (which, w, col) => `a.out${which === 'indices' && red.writesValues ? 1 : 0}[r * ${w} + ${col}]`,
      used: (names) => names.map((n) => ` (void)${n};`).join(''),
    };
  }

  /** Per-thread accumulator: declaration+init, per-tile init/merge, fold, finalise (writes row r). */
  private accumulator(): { decl: string[]; tileInit: string[]; tileMerge: string[]; fold: string[]; finalize: string[] } {
    const { plan, red } = this;
    const D = red.D;
    const ks = Array.from({ length: D }, (_, k) => k);
    const f = plan.f.map((x) => this.ref(x));
    const g = plan.g.map((x) => this.ref(x));
    const plain = { tileInit: [] as string[], tileMerge: [] as string[] };
    switch (red.family) {
      case 'sum': {
        // the accumulator type: the dtype, or double for float32 data with accDtype float64
        const A = this.opts.accDtype === 'float64' ? 'double' : 'T';
        const cast = A === 'T' ? '' : '(T)';
        if (this.opts.sumScheme === 'direct')
          return {
            decl: [ks.map((k) => `${A} a${k} = (${A})0;`).join(' ')],
            fold: ks.map((k) => `a${k} += ${f[k]};`),
            finalize: ks.map((k) => `a.out0[r * ${D} + ${k}] = ${cast}a${k};`),
            ...plain,
          };
        return {
          decl: [ks.map((k) => `${A} a${k} = (${A})0;`).join(' ')],
          // the tile's partial sums live in the tile's `if (active)` block
          tileInit: ks.map((k) => `${A} b${k} = (${A})0;`),
          fold: ks.map((k) => `b${k} += ${f[k]};`),
          tileMerge: ks.map((k) => `a${k} += b${k};`),
          finalize: ks.map((k) => `a.out0[r * ${D} + ${k}] = ${cast}a${k};`),
        };
      }
      case 'extremum':
        return { ...extremumAccumulator(red, f, this.syntax()), ...plain };
      case 'kmin':
        return { ...kminAccumulator(red, f, this.syntax()), ...plain };
      case 'logsumexp':
        return { ...lseAccumulator(red, f[0]!, g, this.syntax()), ...plain };
    }
  }
}

function opts(o: CudaCodeOptions): string {
  const acc = o.accDtype ?? o.dtype;
  return `${o.dtype} data, ${acc === o.dtype ? `${acc} accumulators` : `${acc} accumulators of Sum-type reductions`}${o.sumScheme === 'direct' ? ', direct sums' : ''}${o.storage === 'float16' ? ', float16 storage (inputs are uint16 half bits)' : ''}`;
}
