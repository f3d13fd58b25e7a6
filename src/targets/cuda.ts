import { lseOutputSlots, lseSlotValue, lseWeightTerms, printedOnce, type KernelPlan, type ReductionPlan } from '../lower/plan.js';
import { bodyLines, callK, extremumAccumulator, extremumUpdate, INFIX, kminAccumulator, kminInsert, lseAccumulator, lseUpdate, printUpdate, scalarRef, scalarStatement, type CSyntax, type LoopSyntax, type Spellings } from './common.js';
import { bodyStatements, loopBody, type SExpr } from '../lower/scalar.js';
import { componentLaneSource, componentLoops, copiedRowSlots, gpuStaging, type GpuStaging } from './gpu-loops.js';

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
 *
 * Sums over vector components (the plan's `loop` statements) print as `for` loops, so the source does
 * not grow with the dimension (about 13 KB for ArgKMin at D = 768 and 4096, 490 KB and 2.7 MB
 * unrolled). The reduction side is staged as `cudaStaging` decides (see `GpuStaging` in src/targets/gpu-loops.ts):
 * - whole vectors of a tile of blockDim.x indices when they fit 48 KiB with at least 32 rows per block
 *   (reduction-side variables up to 384 float32 / 192 float64 values per row): KeOps's scheme, each
 *   value loaded once per block and read by every thread from shared memory;
 * - above that, chunks: tiles of 32 reduction indices, and per chunk of 32 components the block copies
 *   the 32 x 32 values of each staged (variable, first component) into shared memory (coalesced), then
 *   every thread adds that chunk's terms of each reduction-side loop, for the 32 indices, to 32 partial
 *   sums per loop held per thread; after the last chunk they are the loops' values (the same order of
 *   additions as the whole loop), and the fold runs over the tile. 256 threads per block (128 for KMin)
 *   and 4 KiB (float32) of shared memory per staged variable, whatever D is. The row's own x_i
 *   components that the loops read are copied by each thread into a private array per chunk (in the
 *   other modes: whole, once per row, up to GPU_ROW_COPY components; nvcc keeps a short one in
 *   registers), parameters are read from global memory (one address for every thread), and
 *   reduction-side components used outside loops (a gradient's y_j - x_i) one by one from global memory;
 * - no staging (`direct`) when a reduction-side loop needs another one's value (which chunks cannot
 *   order) or the staged slots do not fit even in chunks of 4: every read from global memory.
 *
 * Vector results with a component loop (plan.fLoop: a Sum, extremum or KMin over a long f; plan.gLoop:
 * the log-sum-exp family with a long weight g) are folded by one loop over their components: each
 * thread keeps its states in private arrays sized to the result (Sum: `acc[D]` and the block scheme's
 * tile sums `part[D]`; extremum: values `em[D]` and indices `ei[D]`; KMin: K x D values and indices;
 * log-sum-exp: the maximum `m` and the sums `ls[]`), each reduction index runs `for k` computing
 * component k and updating element k with the shared update (extremumUpdate, kminInsert, lseUpdate),
 * and a loop writes the outputs: the same arithmetic, in the same order, as the unrolled fold, and a
 * source that does not grow with D. The loop reads the reduction side's components from the staged
 * tile (`whole`), else from global memory, and the row's own from its private copy where there is one,
 * so the layout (`cudaLayout`) is the one of the unrolled fold.
 */
export function printCuda(plan: KernelPlan, opts: CudaCodeOptions): { source: string; header: string } {
  return new CudaPrinter(plan, opts).print();
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
  /** Dynamic shared memory per block, in bytes: `whole`: blockRows x the reduction-side values per row x
   * sizeof T; `chunked`: chunk.rows x chunk.dims x sizeof T per staged (variable, first component);
   * `direct`: 0. */
  sharedBytes: number;
  /** How the reduction side is staged (see {@link printCuda}): whole vectors for a tile of blockRows
   * indices, chunks of `chunk.dims` components for tiles of `chunk.rows` indices, or not at all. */
  staging: 'whole' | 'chunked' | 'direct';
  chunk?: { rows: number; dims: number };
  /** The `extern "C"` kernel names: dense, the neutral fill, the ranges variant, and the batched dense
   * kernel (batch dims: `(Args a, const int64* boff, int64 b0)`, grid (row blocks, batch entries): entry
   * t = b0 + blockIdx.y reads input k from `in<k> + boff[t * nIn + k]` and writes rows t·rows + r). */
  kernels: { dense: string; fill: string; ranges: string; denseBatched: string };
}

/** The shared-memory staging of a plan's CUDA kernels (see `GpuStaging` in src/targets/gpu-loops.ts): 256 threads per block
 * (128 for the KMin family, whose per-thread arrays use many registers); the whole tile when it fits 48
 * KiB with at least 32 rows (lowered by steps of 32), else chunks of components, else no staging. */
export function cudaStaging(plan: KernelPlan, opts: CudaCodeOptions): GpuStaging {
  return gpuStaging(plan, { valueBytes: opts.dtype === 'float32' ? 4 : 8, budget: CUDA_SHARED_BYTES, rows: plan.reduction.family === 'kmin' ? 128 : 256, shrink: (r) => r - 32, tile: true });
}

/**
 * The launch layout of a plan's CUDA kernels (see {@link CudaLayout}). The block size is 256 threads
 * (128 for the KMin family, whose per-thread arrays use many registers), lowered by steps of 32 until the
 * whole tile fits in 48 KiB; when even 32 rows do not fit (reduction-side variables of more than 384
 * float32 or 192 float64 values per row), the kernels stage chunks of components instead (`staging`
 * `chunked`, a few KiB whatever the dimension; see {@link printCuda}).
 */
export function cudaLayout(plan: KernelPlan, opts: CudaCodeOptions): CudaLayout {
  const sizeofT = opts.dtype === 'float32' ? 4 : 8;
  const half = halfStorage(opts);
  const st = cudaStaging(plan, opts);
  const laneIdx = [
    ...Object.values(plan.stmts).flatMap((ss) => ss.filter((n) => n.fn === 'loop').flatMap((n) => loopBody(n).filter((b) => b.fn === 'lane'))),
    ...componentLoops(plan).flatMap((c) => bodyStatements(c.body).filter((b) => b.fn === 'lane')),
  ];
  const usedLoads = [...plan.loads.param, ...plan.loads.outer, ...plan.loads.inner, ...laneIdx];
  const used = [...new Set(usedLoads.map((n) => n.input!.index))].sort((a, b) => a - b);
  const nIn = Math.max(0, ...plan.kernel.args.map((a) => a.index + 1), ...used.map((u) => u + 1));
  const blockRows = st.rows;
  const sharedBytes = st.sharedValues * sizeofT;
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
    staging: st.mode,
    ...(st.mode === 'chunked' ? { chunk: { rows: st.chunk.tileRows, dims: st.chunk.dims } } : {}),
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
  private readonly staging: GpuStaging;
  constructor(
    private readonly plan: KernelPlan,
    private readonly opts: CudaCodeOptions,
  ) {
    this.f32 = opts.dtype === 'float32';
    this.half = halfStorage(opts);
    this.T = this.f32 ? 'float' : 'double';
    this.red = plan.reduction;
    this.dims = new Map(plan.kernel.args.map((a) => [a.index, a.dim]));
    this.staging = cudaStaging(plan, opts);
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

  /** A load from an input array: half bits are converted to float (k_h2f). */
  private ld(e: string): string {
    return this.half ? `k_h2f(${e})` : e;
  }

  /** Where a reduction-side loop reads component `c` (an expression in k) of variable `index`. */
  private innerLane: (index: number, comp: number, c: string) => string = () => {
    throw new Error('internal: no reduction-side lane reader here');
  };

  /** Where a reduction-side loop reads the row's component `comp` (+ k: `c`) of variable `index` when a
   * private copy holds it (see GpuStaging.rowSlots); undefined: from global memory. */
  private rowLane: (index: number, comp: number) => string | undefined = () => undefined;

  /** A statement `const T t<id> = ...;`, or a loop (`T t<id> = init; for (k in [from, to)) ...`, the
   * body's statements named t<id> in the loop's scope, t<id> += body in the order of k). */
  private stmt(n: SExpr, range?: { from: string; to: string; init: string }): string {
    if (n.fn !== 'loop') return scalarStatement(n, (v) => this.lit(v), CUDA_SPELLINGS, (t, e) => `const T ${t} = ${e};`);
    const body = loopBody(n).map((b) => {
      if (b.fn !== 'lane') return this.stmt(b);
      const { index, comp } = b.input!;
      const c = comp ? `${comp} + k` : 'k';
      const stage = this.staging.bodyStage.get(b);
      const row = () => (this.staging.chunk.loops.includes(n) ? this.rowLane(index, comp) : undefined) ?? this.ld(`a.in${index}[r * ${this.dims.get(index)!} + ${c}]`);
      const at = stage === 'param' ? this.ld(`a.in${index}[${c}]`) : stage === 'outer' ? row() : this.innerLane(index, comp, c);
      return `const T t${b.id} = ${at};`;
    });
    const r = range ?? { from: '0', to: `${n.loop!.n}`, init: '(T)0' };
    return `T t${n.id} = ${r.init}; for (int k = ${r.from}; k < ${r.to}; k++) { ${body.join(' ')} t${n.id} = t${n.id} + ${this.ref(n.loop!.body)}; }`;
  }

  print(): { source: string; header: string } {
    const { plan, red, T } = this;
    const name = plan.kernel.name;
    const sym = cudaSymbol(plan, this.opts);
    const outs = red.outputs.map((o) => ({ name: o.name, width: o.rowShape.reduce((p, x) => p * x, 1), index: o.name === 'indices' }));
    const st = this.staging;
    // whole: variable v occupies dims(v) rows of blockDim.x values of the tile (structure of arrays)
    const shOff = st.whole.offset;
    const perThread = st.whole.perRow;
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
      ...(st.mode === 'whole'
        ? ['// index runs in tiles of blockDim.x whose reduction-side inputs are staged in shared memory.']
        : st.mode === 'chunked'
          ? [
              `// index runs in tiles of ${st.chunk.tileRows} whose reduction-side vectors are staged in shared memory in chunks of`,
              `// ${st.chunk.dims} components; each thread keeps the partial sums of the loops over components for the tile.`,
            ]
          : ['// index runs in tiles of blockDim.x; the reduction-side inputs are read from global memory.']),
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
    const ld = (e: string) => this.ld(e);
    const loadsParam = plan.loads.param.map((n) => `const T x${n.input!.index}_${n.input!.comp} = ${ld(`a.in${n.input!.index}[${n.input!.comp}]`)};`);
    const loadsOuter = plan.loads.outer.map((n) => {
      const { index, comp } = n.input!;
      return `const T x${index}_${comp} = ${ld(`a.in${index}[r * ${this.dims.get(index)!} + ${comp}]`)};`;
    });
    // reduction-side components read one by one: from the whole tile, else from global memory
    const loadInner = (n: SExpr) => {
      const { index, comp } = n.input!;
      return `const T x${index}_${comp} = ${st.mode === 'whole' ? `sh[${shOff.get(index)! + comp} * bd + q]` : ld(`a.in${index}[s * ${this.dims.get(index)!} + ${comp}]`)};`;
    };
    const loadsInner = plan.loads.inner.map(loadInner);
    this.innerLane = st.mode === 'whole' ? (index, _comp, c) => `sh[(${shOff.get(index)!} + ${c}) * bd + q]` : (index, _comp, c) => ld(`a.in${index}[s * ${this.dims.get(index)!} + ${c}]`);
    // whole: the variables that loops read are copied by a loop over components, the others unrolled
    const looped = new Set([...st.chunk.slots.map((x) => x.index), ...st.componentVars]);
    const tileLoad =
      st.mode !== 'whole'
        ? []
        : st.whole.vars.flatMap((v) => {
            const d = this.dims.get(v)!;
            if (looped.has(v)) return [`for (int c = 0; c < ${d}; c++) sh[(${shOff.get(v)!} + c) * bd + threadIdx.x] = ${ld(`a.in${v}[jj * ${d} + c]`)};`];
            return Array.from({ length: d }, (_, c) => `sh[${shOff.get(v)! + c} * bd + threadIdx.x] = ${ld(`a.in${v}[jj * ${d} + ${c}]`)};`);
          });
    const I = (ls: string[], n: number) => ls.map((l) => `${' '.repeat(n)}${l}`);
    // whole, direct: the row-side vectors the loops read, copied once per row into private arrays
    const copied = copiedRowSlots(this.staging);
    const rowCopy = copied.map((x) => `T xr${x.k}[${x.n}]; for (int u = 0; u < ${x.n}; u++) xr${x.k}[u] = ${ld(`a.in${x.index}[r * ${this.dims.get(x.index)!} + ${x.comp} + u]`)};`);
    this.rowLane = (index, comp) => {
      const x = copied.find((y) => y.index === index && y.comp === comp);
      return x && `xr${x.k}[k]`;
    };
    const foldBody = [...loadsInner, ...plan.stmts.inner.map((n) => this.stmt(n)), ...acc.fold];
    // one tile [j0, j0 + cnt) of reduction indices: load, barrier, fold, barrier
    const tileWhole = (j0: string, end: string) => [
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
    const tile = st.mode === 'chunked' ? (j0: string, end: string) => this.chunkedTile(j0, end, acc) : tileWhole;
    const outArgs = outs.map((o, q) => `  ${o.index ? 'keopsc_i64' : 'T'}* out${q};`);
    const rowPre = ['const keopsc_i64 r = active ? row : 0;', ...loadsOuter, ...plan.stmts.outer.map((n) => this.stmt(n)), ...acc.decl, ...rowCopy];
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
      st.mode === 'whole'
        ? `// ${layout.blockRows} rows per block; shared memory: ${perThread} values of ${sizeofT} bytes per row (${layout.sharedBytes} bytes per block)`
        : st.mode === 'chunked'
          ? `// ${layout.blockRows} rows per block; shared memory: ${st.chunk.slots.length} chunks of ${st.chunk.tileRows} x ${st.chunk.dims} values of ${sizeofT} bytes (${layout.sharedBytes} bytes per block)`
          : `// ${layout.blockRows} rows per block; no shared memory (the reduction side is read from global memory)`,
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

  /**
   * One tile [j0, j0 + TJ) of reduction indices in the chunked mode (see `GpuStaging` in src/targets/gpu-loops.ts): the
   * partial sums p<l>[q] of the reduction-side loops; per chunk [kc, kc + dims) of components: the block stages the
   * chunk of every slot (slot-major, then index, then component), barrier, each thread adds the chunk's
   * terms for each index of the tile, barrier; then the fold of the tile, the loops' values read from
   * p<l>[q] and the other reduction-side components from global memory.
   */
  private chunkedTile(j0: string, end: string, acc: { tileInit: string[]; tileMerge: string[]; fold: string[] }): string[] {
    const { tileRows: TJ, dims: CH, slots, loops, maxN, pre, fold } = this.staging.chunk;
    const I = (ls: string[], n: number) => ls.map((l) => `${' '.repeat(n)}${l}`);
    const slotAt = new Map(slots.map((x, k) => [`${x.index}:${x.comp}`, k * TJ * CH]));
    const global = (n: SExpr) => {
      const { index, comp } = n.input!;
      return `const T x${index}_${comp} = ${this.ld(`a.in${index}[s * ${this.dims.get(index)!} + ${comp}]`)};`;
    };
    const stage = slots.map((x) => {
      const d = this.dims.get(x.index)!;
      return `for (int e = threadIdx.x; e < cnt * ${CH}; e += bd) { const int q = e / ${CH}, u = e % ${CH}; sh[${slotAt.get(`${x.index}:${x.comp}`)!} + e] = kc + u < ${x.n} ? ${this.ld(`a.in${x.index}[(j0 + q) * ${d} + ${x.comp} + kc + u]`)} : (T)0; }`;
    });
    // the lanes of the loops read the staged chunk: component comp + k of index q is at k - kc
    this.innerLane = (index, comp) => `sh[${slotAt.get(`${index}:${comp}`)!} + q * ${CH} + (k - kc)]`;
    // the chunk of the row-side vectors the loops read, in private arrays
    const rowSlots = this.staging.rowSlots;
    const rowCopy = rowSlots.map((x, k) => `T xr${k}[${CH}]; for (int u = 0; u < ${CH}; u++) xr${k}[u] = kc + u < ${x.n} ? ${this.ld(`a.in${x.index}[r * ${this.dims.get(x.index)!} + ${x.comp} + kc + u]`)} : (T)0;`);
    this.rowLane = (index, comp) => `xr${rowSlots.findIndex((y) => y.index === index && y.comp === comp)}[k - kc]`;
    const chunkLoops = loops.map((l, k) => `{ ${this.stmt(l, { from: 'kc', to: `(kc + ${CH} < ${l.loop!.n} ? kc + ${CH} : ${l.loop!.n})`, init: `p${k}[q]` })} p${k}[q] = t${l.id}; }`);
    // the fold: what f and g need, the loops' values from p<l>[q]
    const loopIdx = new Map(loops.map((l, k) => [l, k]));
    const folded = [
      ...fold.map((n) => (n.fn === 'input' ? global(n) : n.fn !== 'loop' ? this.stmt(n) : `const T t${n.id} = p${loopIdx.get(n)!}[q];`)),
      ...acc.fold,
    ];
    return [
      `for (keopsc_i64 j0 = ${j0}; j0 < ${end}; j0 += ${TJ}) {`,
      `  const keopsc_i64 cnt = (${end} - j0) < ${TJ} ? (${end} - j0) : ${TJ};`,
      `  T ${loops.map((_, k) => `p${k}[${TJ}]`).join(', ')};`,
      `  for (int q = 0; q < ${TJ}; q++) { ${loops.map((_, k) => `p${k}[q] = (T)0;`).join(' ')} }`,
      `  for (int kc = 0; kc < ${maxN}; kc += ${CH}) {`,
      ...I(stage, 4),
      '    __syncthreads();',
      '    if (active) {',
      ...I(rowCopy, 6),
      '      for (int q = 0; q < cnt; q++) {',
      '        const keopsc_i64 s = j0 + q; (void)s;',
      ...I([...pre.map((n) => (n.fn === 'input' ? global(n) : this.stmt(n))), ...chunkLoops], 8),
      '      }',
      '    }',
      '    __syncthreads();',
      '  }',
      '  if (active) {',
      ...I(acc.tileInit, 4),
      '    for (int q = 0; q < cnt; q++) {',
      '      const keopsc_i64 s = j0 + q; (void)s;',
      ...I(folded, 6),
      '    }',
      ...I(acc.tileMerge, 4),
      '  }',
      '}',
    ];
  }

  /** Component comp + k of the lane `n` of a component loop of `len` components (see componentLaneSource). */
  private componentLane(n: SExpr, k: string, len: number): string {
    const { index, comp } = n.input!;
    const c = comp ? `${comp} + ${k}` : k;
    const d = this.dims.get(index)!;
    const src = componentLaneSource(this.staging, n, len, this.staging.mode === 'whole');
    switch (src.from) {
      case 'param':
        return this.ld(`a.in${index}[${c}]`);
      case 'rowCopy':
        return `xr${src.k}[${src.skip ? `${src.skip} + ` : ''}${k}]`;
      case 'row':
        return this.ld(`a.in${index}[r * ${d} + ${c}]`);
      case 'tile':
        return `sh[(${src.offset} + ${c}) * bd + q]`;
      case 'reduction':
        return this.ld(`a.in${index}[s * ${d} + ${c}]`);
    }
  }

  /**
   * The accumulator of a vector result printed as a loop over its `n` components (plan.fLoop: Sum,
   * extremum and KMin families; plan.gLoop: the log-sum-exp family with a weight of n components): per
   * thread arrays sized to the result (Sum: `acc[n]`, with the block scheme's tile sums `part[n]`;
   * extremum: values `em[n]` and indices `ei[n]`; KMin: K x n values and indices; log-sum-exp: the
   * maximum `m` and the sums `ls[]`), folded by a loop over k that computes component k (`fk`) and
   * updates element k with the shared update (extremumUpdate, kminInsert, lseUpdate), and written by a
   * loop. The same arithmetic, in the same order, as the unrolled {@link accumulator}.
   */
  private loopAccumulator(): ReturnType<CudaPrinter['accumulator']> {
    const { plan, red } = this;
    const S = this.syntax();
    const loop = (plan.fLoop ?? plan.gLoop)!;
    const n = loop.n;
    const plain = { tileInit: [] as string[], tileMerge: [] as string[] };
    const over = (body: string[], from = 0, to = n) => [`for (int k = ${from}; k < ${to}; k++) {`, ...body.map((l) => `  ${l}`), '}'];
    const L: LoopSyntax = {
      mutable: (name, init) => `T ${name} = ${init};`,
      constant: (name, e) => `const T ${name} = ${e};`,
      forHead: (k, len) => `for (int ${k} = 0; ${k} < ${len}; ${k}++) {`,
      zero: '(T)0',
      spell: CUDA_SPELLINGS,
      ref: (x) => this.ref(x),
      lane: (x, k) => this.componentLane(x, k, n),
      prefix: 'u',
    };
    // the loop over the components: component k as `fk`, then `fold`
    const head = () => {
      const { lines, root } = bodyLines(loop.body, 'k', L);
      return [...lines, `const T fk = ${root};`];
    };
    const component = (fold: string[]) => over([...head(), ...fold]);
    switch (red.family) {
      case 'sum': {
        const A = this.opts.accDtype === 'float64' ? 'double' : 'T';
        const cast = A === 'T' ? '' : '(T)';
        const decl = [`${A} acc[${n}]; for (int k = 0; k < ${n}; k++) acc[k] = (${A})0;`];
        const finalize = [`for (int k = 0; k < ${n}; k++) a.out0[r * ${n} + k] = ${cast}acc[k];`];
        if (this.opts.sumScheme === 'direct') return { decl, fold: component(['acc[k] += fk;']), finalize, ...plain };
        return {
          decl,
          // the tile's partial sums live in the tile's `if (active)` block
          tileInit: [`${A} part[${n}]; for (int k = 0; k < ${n}; k++) part[k] = (${A})0;`],
          fold: component(['part[k] += fk;']),
          tileMerge: [`for (int k = 0; k < ${n}; k++) acc[k] += part[k];`],
          finalize,
        };
      }
      case 'extremum': {
        const start = red.max ? `-${S.inf}` : S.inf;
        return {
          decl: [`T em[${n}]; keopsc_i64 ei[${n}]; for (int k = 0; k < ${n}; k++) { em[k] = ${start}; ei[k] = 0; }`],
          fold: component(printUpdate(S, extremumUpdate(red, S, 'em[k]', 'ei[k]', 'fk', 's'))),
          finalize: over([...(red.writesValues ? [`${S.out('values', n, 'k')} = em[k];`] : []), ...(red.writesIndices ? [`${S.out('indices', n, 'k')} = ei[k];`] : [])]),
          ...plain,
        };
      }
      case 'kmin': {
        // the states, reset and writes of kminAccumulator (K x n interleaved); the insertion of component k in the loop
        const lines = kminAccumulator(red, [], S);
        return { decl: lines.decl, fold: component([kminInsert(S, red.K, n, 'fk', 's', 'kv', 'ki', 'k')]), finalize: lines.finalize, ...plain };
      }
      case 'logsumexp':
        break;
    }
    // the log-sum-exp family with a weight g of n components: lseUpdate with the sums in `ls` (ls[0] the
    // unweighted sum of the 'one+g' weights, then one per component of g), the sums of g's components
    // updated in one loop over k that computes component k of g (`fk`)
    const f = this.ref(plan.f[0]!);
    const ones = lseWeightTerms(red, [], S.one); // [1] for 'one+g', [] for 'g'
    const W = ones.length + n;
    const g = { k: 'k', n, s: `ls[${ones.length ? 'k + 1' : 'k'}]`, w: 'fk', head: head() };
    const fold = printUpdate({ ...S, forHead: L.forHead }, lseUpdate(S, 'm', ones.map((_, k) => `ls[${k}]`), f, ones, false, g));
    // the outputs: the maximum first (the raw form), then sums k0, ... of one kind, output column k + d
    const slots = lseOutputSlots(red);
    const first = slots[0]!.kind === 'max' ? [`${S.out('values', slots.length, '0')} = m;`] : [];
    const rest = slots[first.length]! as Exclude<(typeof slots)[number], { kind: 'max' }>;
    const d = first.length - rest.k;
    const value = lseSlotValue(rest, { m: 'm', s: (j) => (j === rest.k ? 'ls[k]' : `ls[${j}]`), log: (x) => S.log(x) });
    return {
      decl: [`T m = -${S.inf}; T ls[${W}]; for (int k = 0; k < ${W}; k++) ls[k] = ${S.zero};`],
      fold,
      finalize: [...first, ...over([`${S.out('values', slots.length, d === 0 ? 'k' : d > 0 ? `k + ${d}` : `k - ${-d}`)} = ${value};`], rest.k, W)],
      ...plain,
    };
  }

  /** Per-thread accumulator: declaration+init, per-tile init/merge, fold, finalise (writes row r). */
  private accumulator(): { decl: string[]; tileInit: string[]; tileMerge: string[]; fold: string[]; finalize: string[] } {
    const { plan, red } = this;
    if (plan.fLoop || plan.gLoop) return this.loopAccumulator();
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
