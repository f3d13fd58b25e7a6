import { lseOutputSlots, lseSlotValue, lseWeightTerms, type KernelPlan, type ReductionPlan } from '../lower/plan.js';
import { bodyLines, callK, extremumAccumulator, extremumUpdate, INFIX, kminAccumulator, kminInsert, lseAccumulator, lseUpdate, printUpdate, scalarRef, scalarStatement, type CSyntax, type LoopSyntax, type Spellings } from './common.js';
import { loopBody, type SExpr } from '../lower/scalar.js';
import { componentLaneSource, copiedRowSlots, gpuStaging, type GpuStaging } from './gpu-loops.js';

/** Options of the WGSL target. Everything here is fixed per device, never per problem size. */
export interface WgslCodeOptions {
  /** Summation scheme of Sum-type reductions: `block` (per-tile partial sums, the default),
   * `kahan` (compensated) or `direct`. */
  sumScheme: 'block' | 'kahan' | 'direct';
  /** Invocations per workgroup (= output rows per workgroup = the tile length); at most the device's
   * `maxComputeInvocationsPerWorkgroup` and `maxComputeWorkgroupSizeX`. Default 256 (128 for KMin-type). */
  workgroupSize: number;
  /** Bytes of workgroup memory the device allows (`maxComputeWorkgroupStorageSize`, default 16384, the
   * WebGPU minimum). The workgroup size shrinks so the tile fits; if even 32 rows do not fit, the kernel
   * stages chunks of components for the loops over components, or else reads the reduction-side inputs
   * straight from the storage buffer (no tile). */
  maxWorkgroupStorage: number;
  /** `float16`: the inputs are stored as f16 (needs the `shader-f16` feature); the arithmetic and the
   * accumulators stay f32. */
  storage: 'float32' | 'float16';
  /** Stage the reduction side through workgroup memory (KeOps's scheme; the default). `false` reads it
   * from the storage buffer in every invocation (no barriers; SwiftShader creates such pipelines faster). */
  tile: boolean;
}

/** One binding of the shader's bind group 0. */
export interface WgslBinding {
  binding: number;
  name: string;
  /** WGSL declaration, e.g. `var<storage, read> inp: array<f32>`. */
  type: string;
  /** What it holds and how big it must be. */
  doc: string;
}

/** A printed shader: the WGSL code and everything a caller needs to dispatch it. */
export interface WgslShader {
  code: string;
  /** Entry points: `dense` (one invocation per output row), `ranges` (block-sparse: one workgroup per
   * block of rows of one cluster, sharing tiles) and `ranges_rows` (block-sparse: one invocation per
   * row, any cluster, reading the reduction side from the storage buffer; for small clusters) and
   * `dense_batched` (batch dims: the workgroups of every batch entry in one grid, each variable read
   * at its entry's offset from the table in `rng`). */
  entryPoints: { dense: string; ranges: string; rangesRows: string; denseBatched: string };
  workgroupSize: number;
  /** Whether the reduction-side inputs are staged through workgroup memory (whole or in chunks). */
  tiled: boolean;
  /** How (see {@link printWgsl}): whole vectors for a tile of `workgroupSize` indices, chunks of
   * `chunk.dims` components for tiles of `chunk.rows` indices, or not at all (`direct`). */
  staging: 'whole' | 'chunked' | 'direct';
  chunk?: { rows: number; dims: number };
  bindings: WgslBinding[];
  /** The u32 fields of the uniform block `P`, in order (16-byte padded). */
  params: string[];
  /** Input variables in the packed input buffer: index, dim, rows ('M', 'N' or 1). */
  inputs: { index: number; dim: number; rows: 'M' | 'N' | 1 }[];
  /** Output arrays: values (f32) and/or indices (u32), with their width per output row. */
  outputs: { name: 'values' | 'indices'; binding: number; width: number }[];
  /** Bytes per input element in the packed input buffer (4, or 2 for float16 storage). */
  elementBytes: 2 | 4;
}

/** Default options: the WebGPU minimum limits, the block sum scheme, f32 storage. */
export const WGSL_DEFAULTS: WgslCodeOptions = { sumScheme: 'block', workgroupSize: 256, maxWorkgroupStorage: 16384, storage: 'float32', tile: true };

/**
 * The WGSL target: KeOps's 1D scheme for WebGPU. One invocation per output row; the reduction index
 * runs in tiles of `workgroupSize` indices whose reduction-side inputs the workgroup loads into
 * `var<workgroup>` memory, then (after a barrier) every invocation folds the tile into accumulators
 * held in registers. The `ranges` entry point runs one workgroup per block of a host-made table
 * (cluster, first row, end row), so rows that no cluster covers get the neutral value and overlapping
 * clusters resolve as on the CPU (the later cluster wins). Sizes, offsets and counts live in a uniform
 * block, so one pipeline serves every M and N. float32 only (WGSL has no f64).
 *
 * Sums over vector components (the plan's `loop` statements) print as `for` loops, so the shader does not
 * grow with the dimension (about 13 KB for ArgKMin at D = 768 and 4096; 730 KB and 4 MB unrolled). The
 * reduction side is staged as the CUDA target stages it (`GpuStaging` in src/targets/gpu-loops.ts), within
 * `maxWorkgroupStorage`: whole vectors for a tile of `workgroupSize` indices while 32 rows fit (16 KiB:
 * up to 128 f32 per reduction index), else chunks (tiles of 32 indices x 32 components per staged
 * variable, 4 KiB each, the per-invocation partial sums of each reduction-side loop in a private
 * array of 32), else the storage buffer. The row's own components that the loops read are copied into a
 * private array (per chunk, or once per row up to GPU_ROW_COPY components).
 *
 * Vector results with a component loop (plan.fLoop: a Sum, extremum or KMin over a long f; plan.gLoop:
 * the log-sum-exp family with a long weight g) are folded by one `for` loop over their components: each
 * invocation keeps its states in private arrays sized to the result (Sum: `va`, with the block scheme's
 * `vb` and `vc` or Kahan's compensations `vc`; extremum: values `em` and indices `ei`; KMin: K x D values
 * and indices; log-sum-exp: the maximum `m` and the sums `ls`), each reduction index computes
 * component k and updates element k with the shared update (extremumUpdate, kminInsert, lseUpdate), and
 * a loop writes the outputs: the arithmetic and order of the unrolled fold, in a shader that does not
 * grow with D. The loop reads the reduction side's components from the staged tile (`whole`), else from
 * the storage buffer, and the row's own from its private copy where there is one.
 */
export function printWgsl(plan: KernelPlan, options: Partial<WgslCodeOptions> = {}): WgslShader {
  return new WgslPrinter(plan, { ...WGSL_DEFAULTS, ...options }).print();
}

/** Helpers every shader gets: C round and pow, and comparisons as 0/1 (WGSL's built-ins differ). */
const PRELUDE = `fn k_inf() -> f32 { return bitcast<f32>(P.inf_bits); }
fn k_one() -> f32 { return bitcast<f32>(P.one_bits); }
fn k_nan() -> f32 { return bitcast<f32>(P.nan_bits); }
fn k_round(x: f32) -> f32 { let t = trunc(x); return select(t, t + sign(x), abs(x - t) >= 0.5); }
fn k_rsqrt(x: f32) -> f32 { return select(inverseSqrt(x), 0.0, x == 0.0); }
fn k_pow(x: f32, y: f32) -> f32 {
  if (x == 1.0 || y == 0.0 || (x == -1.0 && abs(y) == k_inf())) { return 1.0; }
  if (x < 0.0) {
    if (floor(y) != y) { return k_nan(); }
    let p = pow(-x, y);
    return select(p, -p, abs(y % 2.0) == 1.0);
  }
  if (x == 0.0) { return select(0.0, k_inf(), y < 0.0); }
  return pow(x, y);
}
fn k_b(c: bool) -> f32 { return select(0.0, 1.0, c); }
// IEEE results where WGSL leaves them undefined (negative or zero arguments)
fn k_log(x: f32) -> f32 { if (x == 0.0) { return -k_inf(); } return select(log(x), k_nan(), !(x >= 0.0)); }
fn k_sqrt(x: f32) -> f32 { return select(sqrt(x), k_nan(), x < 0.0); }
fn k_asin(x: f32) -> f32 { return select(asin(x), k_nan(), abs(x) > 1.0); }
fn k_acos(x: f32) -> f32 { return select(acos(x), k_nan(), abs(x) > 1.0); }
// sin and cos to about 1 ulp (WGSL only promises an absolute error of 2^-11): reduction by pi/2 in three
// parts (Cody-Waite), minimax polynomials on [-pi/4, pi/4], the quadrant picks the result
fn k_sincos(x: f32, want_cos: bool) -> f32 {
  if (!(abs(x) <= 65536.0)) { return select(select(sin(x), cos(x), want_cos), k_nan(), abs(x) == k_inf() || x != x); }
  let qf = round(x * 0.636619772);
  let r = ((x - qf * 1.5703125) - qf * 4.83751297e-4) - qf * 7.54978995e-8;
  let z = r * r;
  let s = r + r * z * (-1.66666546e-1 + z * (8.33216087e-3 + z * (-1.95152959e-4)));
  let c = 1.0 - 0.5 * z + z * z * (4.16666456e-2 + z * (-1.38873163e-3 + z * 2.44331571e-5));
  let q = (i32(qf) + select(0, 1, want_cos)) & 3;
  if (q == 0) { return s; }
  if (q == 1) { return c; }
  if (q == 2) { return -s; }
  return -c;
}
fn k_sin(x: f32) -> f32 { return k_sincos(x, false); }
fn k_cos(x: f32) -> f32 { return k_sincos(x, true); }`;

/** The WGSL spelling of each scalar function: built-ins where WGSL's meaning is C's, else the `k_*`
 * helpers of the printed prelude. */
const WGSL_SPELLINGS: Spellings = {
  ...INFIX,
  ...callK(['log', 'sin', 'cos', 'asin', 'acos', 'sqrt', 'rsqrt', 'round', 'pow']),
  exp: (a) => `exp(${a[0]})`,
  atan: (a) => `atan(${a[0]})`,
  abs: (a) => `abs(${a[0]})`,
  floor: (a) => `floor(${a[0]})`,
  atan2: (a) => `atan2(${a[0]}, ${a[1]})`,
  lt: (a) => `k_b(${a[0]} < ${a[1]})`,
  le: (a) => `k_b(${a[0]} <= ${a[1]})`,
  eq: (a) => `k_b(${a[0]} == ${a[1]})`,
  ne: (a) => `k_b(${a[0]} != ${a[1]})`,
  select: (a) => `select(${a[2]}, ${a[1]}, ${a[0]} != 0.0)`,
};

class WgslPrinter {
  private readonly red: ReductionPlan;
  private readonly dims: Map<number, number>;
  private readonly staging: GpuStaging;
  constructor(
    private readonly plan: KernelPlan,
    private readonly opts: WgslCodeOptions,
  ) {
    this.red = plan.reduction;
    this.dims = new Map(plan.kernel.args.map((a) => [a.index, a.dim]));
    const wg = opts.workgroupSize;
    if (!Number.isInteger(wg) || wg < 1 || wg > 1024) throw new RangeError(`workgroupSize must be an integer in [1, 1024], got ${wg}`);
    // the tile holds the staged f32 values of WG invocations; shrink the workgroup (by halves, not below
    // 32) until it fits, else stage chunks of components, else read the storage buffer
    const heavy = plan.reduction.family === 'kmin';
    this.staging = gpuStaging(plan, { valueBytes: 4, budget: opts.maxWorkgroupStorage, rows: Math.max(1, Math.min(wg, heavy ? 128 : 256)), shrink: (r) => Math.max(32, r >> 1), tile: opts.tile });
  }

  private lit(v: number): string {
    const x = Math.fround(v);
    if (Number.isNaN(x)) return 'k_nan()';
    if (x === Infinity) return 'k_inf()';
    if (x === -Infinity) return '(-k_inf())';
    if (Object.is(x, -0)) return '(-0.0)';
    // a float32 value prints exactly with 9 significant digits; WGSL float literals need a '.' or an exponent
    const [mant, exp] = Math.abs(x).toPrecision(9).split('e') as [string, string | undefined];
    const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '.0') : `${mant}.0`;
    const t = exp ? `${m}e${exp}` : m;
    return x < 0 ? `(-${t})` : t;
  }

  private ref(n: SExpr): string {
    return scalarRef(n, (v) => this.lit(v));
  }

  /** Where variable k starts in `inp`: P.o<k>, or (batched) its entry's start o<k>. */
  private O = (k: number): string => `P.o${k}`;

  /** A load of element `at` of `inp` (f16 storage: converted to f32). */
  private ld(at: string): string {
    return this.opts.storage === 'float16' ? `f32(inp[${at}])` : `inp[${at}]`;
  }

  /** Where a reduction-side loop reads component `comp` (+ k: `c`) of variable `index`. */
  private innerLane: (index: number, comp: number, c: string) => string = () => {
    throw new Error('internal: no reduction-side lane reader here');
  };

  /** Where a reduction-side loop reads the row's component `comp` (+ k) of variable `index` when a
   * private copy holds it (see GpuStaging.rowSlots); undefined: from the storage buffer. */
  private rowLane: (index: number, comp: number) => string | undefined = () => undefined;

  /** A statement `let t<id>: f32 = ...;`, or a loop (`var t<id>: f32 = init; for (k in [from, to)) ...`,
   * the body's statements named t<id> in the loop's scope, t<id> += body in the order of k). */
  private stmt(n: SExpr, range?: { from: string; to: string; init: string }): string {
    if (n.fn !== 'loop') return scalarStatement(n, (v) => this.lit(v), WGSL_SPELLINGS, (t, e) => `let ${t}: f32 = ${e};`);
    const body = loopBody(n).map((b) => {
      if (b.fn !== 'lane') return this.stmt(b);
      const { index, comp } = b.input!;
      const c = comp ? `${comp}u + k` : 'k';
      const stage = this.staging.bodyStage.get(b);
      const row = () => (this.staging.chunk.loops.includes(n) ? this.rowLane(index, comp) : undefined) ?? this.ld(`${this.O(index)} + r * ${this.dims.get(index)!}u + ${c}`);
      const at = stage === 'param' ? this.ld(`${this.O(index)} + ${c}`) : stage === 'outer' ? row() : this.innerLane(index, comp, c);
      return `let t${b.id}: f32 = ${at};`;
    });
    const r = range ?? { from: '0u', to: `${n.loop!.n}u`, init: '0.0' };
    return `var t${n.id}: f32 = ${r.init}; for (var k: u32 = ${r.from}; k < ${r.to}; k = k + 1u) { ${body.join(' ')} t${n.id} = t${n.id} + ${this.ref(n.loop!.body)}; }`;
  }

  print(): WgslShader {
    const { plan, red, opts } = this;
    const name = plan.kernel.name;
    const half = opts.storage === 'float16';
    const elemBytes = half ? 2 : 4;
    const outs = red.outputs.map((o) => ({ name: o.name, width: o.rowShape.reduce((p, x) => p * x, 1), index: o.kind === 'index' }));
    const valuesOut = outs.find((o) => !o.index);
    const indexOut = outs.find((o) => o.index);
    const lanes = [...this.staging.bodyStage.keys()].filter((n) => n.fn === 'lane');
    const used = [...new Set([...plan.loads.param, ...plan.loads.outer, ...plan.loads.inner, ...lanes].map((n) => n.input!.index))].sort((a, b) => a - b);
    const args = plan.kernel.args.filter((a) => used.includes(a.index));
    const st = this.staging;
    // whole tile: variable v occupies dims(v) rows of WG values (structure of arrays)
    const shOff = st.whole.offset;
    const perRow = st.whole.perRow;
    const acc = this.accumulator();
    const wg = st.rows;
    const tiled = st.mode === 'whole' && perRow > 0;
    const chunked = st.mode === 'chunked';

    const params = ['M', 'N', 'g0', 'inf_bits', 'nan_bits', 'one_bits', 'n_blocks', 'r_out', 'r_slices', 'r_red', 'r_table', 'n_batch', ...args.map((a) => `o${a.index}`)];
    while (params.length % 4) params.push(`pad${params.length}`);
    const bindings: WgslBinding[] = [
      { binding: 0, name: 'P', type: 'var<uniform> P: Params', doc: 'sizes and offsets (struct Params below), 4 bytes a field' },
      { binding: 1, name: 'inp', type: `var<storage, read> inp: array<${half ? 'f16' : 'f32'}>`, doc: 'every input variable, row-major, packed; variable k starts at element P.o<k>' },
      { binding: 2, name: 'outv', type: 'var<storage, read_write> outv: array<f32>', doc: valuesOut ? `the values: ${valuesOut.width} per output row` : 'unused by this kernel (bind any buffer of 4 bytes or more)' },
      { binding: 3, name: 'outi', type: 'var<storage, read_write> outi: array<u32>', doc: indexOut ? `the indices: ${indexOut.width} per output row` : 'unused by this kernel (bind any buffer of 4 bytes or more)' },
      { binding: 4, name: 'rng', type: 'var<storage, read> rng: array<i32>', doc: 'ranges entry point only: the ranges triplet of the tag and the block table, packed (offsets P.r_*); dense: bind any buffer of 4 bytes or more' },
    ];
    const NR = plan.tag === 0 ? 'P.M' : 'P.N';
    const NRED = plan.tag === 0 ? 'P.N' : 'P.M';
    const ld = (at: string) => this.ld(at);
    // where variable k starts: P.o<k>, or (batched) its entry's start o<k> = P.o<k> + its batch offset
    const O = (k: number) => this.O(k);
    const loadsParamOf = () => plan.loads.param.map((n) => `let x${n.input!.index}_${n.input!.comp}: f32 = ${ld(`${O(n.input!.index)} + ${n.input!.comp}u`)};`);
    const loadsOuterOf = () =>
      plan.loads.outer.map((n) => {
        const { index, comp } = n.input!;
        return `let x${index}_${comp}: f32 = ${ld(`${O(index)} + r * ${this.dims.get(index)!}u + ${comp}u`)};`;
      });
    // reduction-side loads: from the workgroup's tile, or straight from the storage buffer
    const loadsTile = plan.loads.inner.map((n) => `let x${n.input!.index}_${n.input!.comp}: f32 = sh[${shOff.get(n.input!.index)! + n.input!.comp}u * WG + q];`);
    const loadsDirectOf = () =>
      plan.loads.inner.map((n) => {
        const { index, comp } = n.input!;
        return `let x${index}_${comp}: f32 = ${ld(`${O(index)} + s * ${this.dims.get(index)!}u + ${comp}u`)};`;
      });
    // the variables that loops read are copied by a loop over components, the others unrolled
    const looped = new Set([...st.chunk.slots.map((x) => x.index), ...st.componentVars]);
    const tileLoadOf = () =>
      st.whole.vars.flatMap((v) => {
        const d = this.dims.get(v)!;
        if (looped.has(v)) return [`for (var c: u32 = 0u; c < ${d}u; c = c + 1u) { sh[(${shOff.get(v)!}u + c) * WG + lid] = ${ld(`${O(v)} + jj * ${d}u + c`)}; }`];
        return Array.from({ length: d }, (_, c) => `sh[${shOff.get(v)! + c}u * WG + lid] = ${ld(`${O(v)} + jj * ${d}u + ${c}u`)};`);
      });
    let loadsParam = loadsParamOf();
    let loadsOuter = loadsOuterOf();
    let loadsDirect = loadsDirectOf();
    let tileLoad = tileLoadOf();
    const I = (ls: string[], n: number) => ls.map((l) => `${' '.repeat(n)}${l}`);
    // the reduction over [a, b) in tiles of WG indices; tiled: the workgroup loads each tile (all
    // invocations, so the barriers stay in uniform control flow), untiled: live rows read the inputs
    const tileBody = (loads: string[]) => [
      ...acc.tileInit,
      'for (var q: u32 = 0u; q < cnt; q = q + 1u) {',
      '  let s = j0 + q;',
      ...I([...loads, ...plan.stmts.inner.map((n) => this.stmt(n)), ...acc.fold], 2),
      '}',
      ...acc.tileMerge,
    ];
    const loop = (a: string, b: string, useTile: boolean): string[] => {
      if (useTile && chunked) return this.chunkedTile(a, b, acc);
      this.foldReadsTile = useTile;
      this.rowLane = copiedLane;
      this.innerLane = useTile ? (index, comp) => `sh[(${shOff.get(index)! + comp}u + k) * WG + q]` : (index, _comp, c) => ld(`${O(index)} + s * ${this.dims.get(index)!}u + ${c}`);
      const head = [`for (var j0: u32 = ${a}; j0 < ${b}; j0 = j0 + WG) {`, `  let cnt = min(WG, ${b} - j0);`];
      if (!useTile) return ['if (live) {', ...I([...head, ...I(tileBody(loadsDirect), 2), '}'], 2), '}'];
      const load = ['if (lid < cnt) {', '  let jj = j0 + lid;', ...I(tileLoad, 2), '}', 'workgroupBarrier();'];
      return [...head, ...I([...load, 'if (live) {', ...I(tileBody(loadsTile), 2), '}', 'workgroupBarrier();'], 2), '}'];
    };
    // the intervals of cluster c, each reduced by `body`
    const clusterLoop = (body: (a: string, b: string) => string[]) => [
      'let la = select(0u, u32(rng[P.r_slices + u32(c) - 1u]), c > 0);',
      'let lb = u32(rng[P.r_slices + u32(c)]);',
      'for (var l: u32 = la; l < lb; l = l + 1u) {',
      '  let sa = u32(rng[P.r_red + 2u * l]);',
      '  let sb = u32(rng[P.r_red + 2u * l + 1u]);',
      ...(plan.zero ? ['  _ = sa; _ = sb;'] : I(body('sa', 'sb'), 2)),
      '}',
    ];
    // whole, direct: the row-side vectors the loops read, copied once per row into private arrays
    const copied = copiedRowSlots(this.staging);
    const rowCopyOf = () => copied.map((x) => `var xr${x.k}: array<f32, ${x.n}>; for (var u: u32 = 0u; u < ${x.n}u; u = u + 1u) { xr${x.k}[u] = ${ld(`${O(x.index)} + r * ${this.dims.get(x.index)!}u + ${x.comp}u + u`)}; }`);
    const copiedLane = (index: number, comp: number) => {
      const x = copied.find((y) => y.index === index && y.comp === comp);
      return x && `xr${x.k}[k]`;
    };
    const rowPre = ['let r = select(0u, row, live);', ...loadsOuter, ...plan.stmts.outer.map((n) => this.stmt(n)), ...acc.decl, ...rowCopyOf()];
    // the batched dense entry: the same code reading each variable at its batch entry's start
    const denseBody = [
      ...I(loadsParam, 2),
      ...I(plan.stmts.param.map((n) => this.stmt(n)), 2),
      ...I(rowPre, 2),
      ...(plan.zero ? [] : I(loop('0u', NRED, tiled || chunked), 2)),
      '  if (live) {',
      ...I(acc.finalize, 4),
      '  }',
      '}',
    ];
    this.O = (k: number) => `o${k}`;
    [loadsParam, loadsOuter, loadsDirect, tileLoad] = [loadsParamOf(), loadsOuterOf(), loadsDirectOf(), tileLoadOf()];
    const batchedBody = [
      '  let bt = g / P.n_blocks;',
      '  let tb = select(0u, bt, bt < P.n_batch);',
      '  let lrow = (g % P.n_blocks) * WG + lid;',
      `  let live = bt < P.n_batch && lrow < ${NR};`,
      `  let row = tb * ${NR} + lrow;`,
      ...args.map((a, k) => `  let o${a.index} = P.o${a.index} + u32(rng[tb * ${args.length}u + ${k}u]);`),
      ...I(loadsParam, 2),
      ...I(plan.stmts.param.map((n) => this.stmt(n)), 2),
      ...I(['let r = select(0u, lrow, live);', ...loadsOuter, ...plan.stmts.outer.map((n) => this.stmt(n)), ...acc.decl, ...rowCopyOf()], 2),
      ...(plan.zero ? [] : I(loop('0u', NRED, tiled || chunked), 2)),
      '  if (live) {',
      ...I(acc.finalize, 4),
      '  }',
      '}',
    ];
    this.O = (k: number) => `P.o${k}`;
    [loadsParam, loadsDirect, tileLoad] = [loadsParamOf(), loadsDirectOf(), tileLoadOf()];
    const head = (entry: string) => [
      '@compute @workgroup_size(WG)',
      `fn ${entry}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {`,
      '  let g = P.g0 + wid.y * nwg.x + wid.x;',
    ];
    const rowTag = plan.tag === 0 ? 'i (M rows), reduced over j (N)' : 'j (N rows), reduced over i (M)';
    const doc = [
      `// keopsc WGSL kernel '${name}': ${red.name}_Reduction, tag ${plan.tag}, output rows indexed by ${rowTag}.`,
      `// float32 arithmetic and accumulators${half ? ', float16 input storage (needs the shader-f16 feature)' : ''}; sum scheme ${opts.sumScheme}.`,
      '// Generated by keopsc (src/targets/wgsl.ts): KeOps 1D scheme, one invocation per output row,',
      tiled
        ? `// reduction-side inputs staged in workgroup memory in tiles of ${wg}.`
        : chunked
          ? `// reduction-side vectors staged in workgroup memory in tiles of ${st.chunk.tileRows} indices x chunks of ${st.chunk.dims} components.`
          : '// reduction-side inputs read from the storage buffer (they do not fit workgroup memory).',
      '//',
      '// Bind group 0:',
      ...bindings.map((b) => `//   @binding(${b.binding}) ${b.type}: ${b.doc}`),
      '// Params (all u32): M, N = rows of the i- and j-variables; g0 = first workgroup of this dispatch;',
      '//   inf_bits = 0x7f800000, nan_bits = 0x7fc00000, one_bits = 0x3f800000; n_blocks = blocks in the block table (ranges);',
      '//   r_out, r_slices, r_red, r_table = element offsets in rng of the ranges of the output rows (pairs),',
      '//   their slices, the reduction ranges (pairs) and the block table (triples cluster, first row, end row;',
      '//   cluster -1 = rows with no reduction); o<k> = element offset of variable k in inp;',
      '//   n_batch = batch entries (dense_batched).',
      `// Inputs: ${args.map((a) => `o${a.index}: ${a.name} (${a.cat === 2 ? `${a.dim} values` : `${a.cat === 0 ? 'M' : 'N'} x ${a.dim}`})`).join(', ') || 'none'}.`,
      `// Dispatch: dense: ceil(rows / ${wg}) workgroups (rows = ${plan.tag === 0 ? 'M' : 'N'}), as (x, y) with x <= 65535, g = g0 + y * nx + x;`,
      '// ranges: one workgroup per block of the table. ranges_rows: as dense, with r_table the offset in rng of',
      '//   a map from output row to cluster (-1: none). Idle invocations (past the end) are masked.',
      `// dense_batched: n_blocks = ceil(rows / ${wg}) workgroups per batch entry, n_batch entries; entry t reads`,
      `//   variable k of the inputs (in the order ${args.map((a) => `o${a.index}`).join(', ') || '-'}) from P.o<k> + rng[t * ${args.length} + k] and writes rows t * rows + r.`,
    ];
    const lines: string[] = [
      ...doc,
      '',
      ...(half ? ['enable f16;', ''] : []),
      'struct Params {',
      ...params.map((p) => `  ${p}: u32,`),
      '}',
      ...bindings.map((b) => `@group(0) @binding(${b.binding}) ${b.type};`),
      `const WG: u32 = ${wg}u;`,
      ...(tiled || chunked ? [`var<workgroup> sh: array<f32, ${st.sharedValues}>;`] : []),
      PRELUDE,
      '',
      ...head('dense'),
      '  let row = g * WG + lid;',
      `  let live = row < ${NR};`,
      ...denseBody,
      '',
      ...head('dense_batched'),
      ...batchedBody,
      '',
      ...head('ranges'),
      '  let blk = P.r_table + 3u * g;',
      '  let c = rng[blk];',
      '  let row = u32(rng[blk + 1u]) + lid;',
      '  let live = g < P.n_blocks && row < u32(rng[blk + 2u]);',
      ...I(loadsParam, 2),
      ...I(plan.stmts.param.map((n) => this.stmt(n)), 2),
      ...I(rowPre, 2),
      '  if (g < P.n_blocks && c >= 0) {',
      ...I(clusterLoop((a, b) => loop(a, b, tiled || chunked)), 4),
      '  }',
      '  if (live) {',
      ...I(acc.finalize, 4),
      '  }',
      '}',
      '',
      ...head('ranges_rows'),
      '  let row = g * WG + lid;',
      `  let live = row < ${NR};`,
      ...I(loadsParam, 2),
      ...I(plan.stmts.param.map((n) => this.stmt(n)), 2),
      ...I(rowPre, 2),
      '  if (live) {',
      '    let c = rng[P.r_table + r];',
      '    if (c >= 0) {',
      ...I(clusterLoop((a, b) => loop(a, b, false)), 6),
      '    }',
      ...I(acc.finalize, 4),
      '  }',
      '}',
      '',
    ];
    const inputs = args.map((a) => ({ index: a.index, dim: a.dim, rows: (a.cat === 0 ? 'M' : a.cat === 1 ? 'N' : 1) as 'M' | 'N' | 1 }));
    return {
      code: lines.join('\n'),
      entryPoints: { dense: 'dense', ranges: 'ranges', rangesRows: 'ranges_rows', denseBatched: 'dense_batched' },
      workgroupSize: wg,
      tiled: tiled || chunked,
      staging: tiled || st.mode !== 'whole' ? st.mode : 'direct',
      ...(chunked ? { chunk: { rows: st.chunk.tileRows, dims: st.chunk.dims } } : {}),
      bindings,
      params,
      inputs,
      outputs: outs.map((o) => ({ name: o.name, binding: o.index ? 3 : 2, width: o.width })),
      elementBytes: elemBytes,
    };
  }

  /**
   * The reduction over [a, b) in the chunked mode (see `GpuStaging` in src/targets/gpu-loops.ts), in tiles of TJ indices: the
   * partial sums p<l>[q] of the reduction-side loops; per chunk [kc, kc + dims) of components: the workgroup stages the
   * chunk of every slot (slot-major, then index, then component), barrier, each live invocation adds
   * the chunk's terms for each index of the tile, barrier; then the fold of the tile, the loops' values
   * read from p<l>[q] and the other reduction-side components from the storage buffer.
   */
  private chunkedTile(a: string, b: string, acc: { tileInit: string[]; tileMerge: string[]; fold: string[] }): string[] {
    const { tileRows: TJ, dims: CH, slots, loops, maxN, pre, fold } = this.staging.chunk;
    this.foldReadsTile = false; // a vector result's loop reads the reduction side from the storage buffer
    const I = (ls: string[], n: number) => ls.map((l) => `${' '.repeat(n)}${l}`);
    const slotAt = new Map(slots.map((x, k) => [`${x.index}:${x.comp}`, k * TJ * CH]));
    const direct = (n: SExpr) => {
      const { index, comp } = n.input!;
      return `let x${index}_${comp}: f32 = ${this.ld(`${this.O(index)} + s * ${this.dims.get(index)!}u + ${comp}u`)};`;
    };
    const stage = slots.map((x) => {
      const d = this.dims.get(x.index)!;
      return `for (var e: u32 = lid; e < cnt * ${CH}u; e = e + WG) { let q = e / ${CH}u; let u = e % ${CH}u; if (kc + u < ${x.n}u) { sh[${slotAt.get(`${x.index}:${x.comp}`)!}u + e] = ${this.ld(`${this.O(x.index)} + (j0 + q) * ${d}u + ${x.comp}u + kc + u`)}; } }`;
    });
    // the lanes of the loops read the staged chunk: component comp + k of index q is at k - kc
    this.innerLane = (index, comp) => `sh[${slotAt.get(`${index}:${comp}`)!}u + q * ${CH}u + (k - kc)]`;
    // the chunk of the row-side vectors the loops read, in private arrays
    const rowSlots = this.staging.rowSlots;
    const rowCopy = rowSlots.map((x, k) => `var xr${k}: array<f32, ${CH}>; for (var u: u32 = 0u; u < ${CH}u; u = u + 1u) { if (kc + u < ${x.n}u) { xr${k}[u] = ${this.ld(`${this.O(x.index)} + r * ${this.dims.get(x.index)!}u + ${x.comp}u + kc + u`)}; } }`);
    this.rowLane = (index, comp) => `xr${rowSlots.findIndex((y) => y.index === index && y.comp === comp)}[k - kc]`;
    const chunkLoops = loops.map((l, k) => `{ ${this.stmt(l, { from: 'kc', to: `min(kc + ${CH}u, ${l.loop!.n}u)`, init: `p${k}[q]` })} p${k}[q] = t${l.id}; }`);
    // the fold: what f and g need, the loops' values from p<l>[q]
    const loopIdx = new Map(loops.map((l, k) => [l, k]));
    const folded = [
      ...fold.map((n) => (n.fn === 'input' ? direct(n) : n.fn !== 'loop' ? this.stmt(n) : `let t${n.id}: f32 = p${loopIdx.get(n)!}[q];`)),
      ...acc.fold,
    ];
    return [
      `for (var j0: u32 = ${a}; j0 < ${b}; j0 = j0 + ${TJ}u) {`,
      `  let cnt = min(${TJ}u, ${b} - j0);`,
      ...loops.map((_, k) => `  var p${k}: array<f32, ${TJ}>;`),
      `  for (var q: u32 = 0u; q < ${TJ}u; q = q + 1u) { ${loops.map((_, k) => `p${k}[q] = 0.0;`).join(' ')} }`,
      `  for (var kc: u32 = 0u; kc < ${maxN}u; kc = kc + ${CH}u) {`,
      ...I(stage, 4),
      '    workgroupBarrier();',
      '    if (live) {',
      ...I(rowCopy, 6),
      '      for (var q: u32 = 0u; q < cnt; q = q + 1u) {',
      '        let s = j0 + q;',
      ...I([...pre.map((n) => (n.fn === 'input' ? direct(n) : this.stmt(n))), ...chunkLoops], 8),
      '      }',
      '    }',
      '    workgroupBarrier();',
      '  }',
      '  if (live) {',
      ...I(acc.tileInit, 4),
      '    for (var q: u32 = 0u; q < cnt; q = q + 1u) {',
      '      let s = j0 + q;',
      ...I(folded, 6),
      '    }',
      ...I(acc.tileMerge, 4),
      '  }',
      '}',
    ];
  }

  /** WGSL's spelling of the shared GPU accumulators (src/targets/common.ts). */
  private syntax(outIdx: (w: number, k: number | string) => string): CSyntax {
    return {
      inf: 'k_inf()',
      zero: '0.0',
      one: '1.0',
      ne: '!=',
      eq: '==',
      exp: (x) => `exp(${x})`,
      log: (x) => `k_log(${x})`,
      acc: (e) => e,
      float: (n, init) => `var ${n}: f32 = ${init};`,
      index: (n, init) => `var ${n}: u32 = ${init};`,
      constant: (n, e) => `let ${n} = ${e};`,
      floats: (n, len) => `var ${n}: array<f32, ${len}>;`,
      indices: (n, len) => `var ${n}: array<u32, ${len}>;`,
      int: (n) => `${n}u`,
      counter: (n, init) => `var ${n}: u32 = ${init};`,
      decrement: (n) => `${n} = ${n} - 1u;`,
      loop: (q, len, body) => `for (var ${q}: u32 = 0u; ${q} < ${len}u; ${q} = ${q} + 1u) { ${body} }`,
      out: (which, w, col) => `${which === 'values' ? 'outv' : 'outi'}[${outIdx(w, col)}]`,
      used: () => '',
    };
  }

  /** Per-invocation accumulator: declaration+init, per-tile init/merge, fold (index `s`), finalise (row `r`). */
  private accumulator(): { decl: string[]; tileInit: string[]; tileMerge: string[]; fold: string[]; finalize: string[]; heavy: boolean } {
    const { plan, red } = this;
    if (plan.fLoop || plan.gLoop) return this.loopAccumulator();
    const D = red.D;
    const ks = Array.from({ length: D }, (_, k) => k);
    const f = plan.f.map((x) => this.ref(x));
    const g = plan.g.map((x) => this.ref(x));
    const plain = { tileInit: [] as string[], tileMerge: [] as string[], heavy: false };
    const outIdx = (w: number, k: number | string) => `row * ${w}u + ${typeof k === 'number' ? `${k}u` : k}`;
    switch (red.family) {
      case 'sum': {
        const scheme = this.opts.sumScheme;
        const finalize = ks.map((k) => `outv[${outIdx(D, k)}] = a${k};`);
        if (scheme === 'kahan')
          return {
            decl: ks.map((k) => `var a${k}: f32 = 0.0; var c${k}: f32 = 0.0;`),
            // the product by P's 1.0 (opaque to the compiler) keeps drivers that reassociate floating-point
            // arithmetic (Mesa's llvmpipe does) from simplifying the compensation (t - a) - y to zero
            fold: ks.map((k) => `{ let y = ${f[k]} - c${k}; let t = (a${k} + y) * k_one(); c${k} = (t - a${k}) - y; a${k} = t; }`),
            finalize,
            ...plain,
          };
        if (scheme === 'block')
          // three levels: the terms of a tile (b), 16 tile sums (c), the running total (a)
          return {
            decl: ['var nt: u32 = 0u;', ...ks.map((k) => `var a${k}: f32 = 0.0; var b${k}: f32 = 0.0; var c${k}: f32 = 0.0;`)],
            tileInit: ks.map((k) => `b${k} = 0.0;`),
            fold: ks.map((k) => `b${k} = b${k} + ${f[k]};`),
            tileMerge: [...ks.map((k) => `c${k} = c${k} + b${k};`), 'nt = nt + 1u;', `if (nt == 16u) { nt = 0u;${ks.map((k) => ` a${k} = a${k} + c${k}; c${k} = 0.0;`).join('')} }`],
            finalize: ks.map((k) => `outv[${outIdx(D, k)}] = a${k} + c${k};`),
            heavy: false,
          };
        return { decl: ks.map((k) => `var a${k}: f32 = 0.0;`), fold: ks.map((k) => `a${k} = a${k} + ${f[k]};`), finalize, ...plain };
      }
      case 'extremum':
        return { ...extremumAccumulator(red, f, this.syntax(outIdx)), ...plain };
      case 'kmin':
        return { ...kminAccumulator(red, f, this.syntax(outIdx)), ...plain, heavy: true };
      case 'logsumexp':
        return { ...lseAccumulator(red, f[0]!, g, this.syntax(outIdx)), ...plain };
    }
  }

  /** Component comp + k of the lane `n` of a component loop of `len` components, the fold reading the
   * staged tile or not (see componentLaneSource). */
  private componentLane(n: SExpr, k: string, len: number, tile: boolean): string {
    const { index, comp } = n.input!;
    const c = comp ? `${comp}u + ${k}` : k;
    const d = this.dims.get(index)!;
    const src = componentLaneSource(this.staging, n, len, tile);
    switch (src.from) {
      case 'param':
        return this.ld(`${this.O(index)} + ${c}`);
      case 'rowCopy':
        return `xr${src.k}[${src.skip ? `${src.skip}u + ` : ''}${k}]`;
      case 'row':
        return this.ld(`${this.O(index)} + r * ${d}u + ${c}`);
      case 'tile':
        return `sh[(${src.offset}u + ${c}) * WG + q]`;
      case 'reduction':
        return this.ld(`${this.O(index)} + s * ${d}u + ${c}`);
    }
  }

  /** Whether the fold being printed reads the staged tile (set by the tile loops before they print the fold). */
  private foldReadsTile = false;

  /**
   * The accumulator of a vector result printed as a loop over its `n` components (plan.fLoop: Sum,
   * extremum and KMin families; plan.gLoop: the log-sum-exp family with a weight of n components):
   * private arrays sized to the result, folded by a loop over k that computes component k (`fk`) and
   * updates element k with the shared update, and written by a loop. The same arithmetic, in the same
   * order, as the unrolled {@link accumulator}. The fold is printed lazily (a getter) because where it
   * reads the reduction side (tile or storage buffer) depends on the loop that prints it.
   */
  private loopAccumulator(): ReturnType<WgslPrinter['accumulator']> {
    const { plan, red } = this;
    const outIdx = (w: number, k: number | string) => `row * ${w}u + ${typeof k === 'number' ? `${k}u` : k}`;
    const S = this.syntax(outIdx);
    const loop = (plan.fLoop ?? plan.gLoop)!;
    const n = loop.n;
    const plain = { tileInit: [] as string[], tileMerge: [] as string[], heavy: false };
    const over = (body: string[], from = 0, to = n) => [`for (var k: u32 = ${from}u; k < ${to}u; k = k + 1u) {`, ...body.map((l) => `  ${l}`), '}'];
    const L: LoopSyntax = {
      mutable: (name, init) => `var ${name}: f32 = ${init};`,
      constant: (name, e) => `let ${name}: f32 = ${e};`,
      forHead: (k, len) => `for (var ${k}: u32 = 0u; ${k} < ${len}u; ${k} = ${k} + 1u) {`,
      zero: '0.0',
      spell: WGSL_SPELLINGS,
      ref: (x) => this.ref(x),
      lane: (x, k) => this.componentLane(x, k, n, this.foldReadsTile),
      prefix: 'u',
    };
    // component k as `fk`, then `fold`
    const head = () => {
      const { lines, root } = bodyLines(loop.body, 'k', L);
      return [...lines, `let fk: f32 = ${root};`];
    };
    const component = (fold: string[]) => over([...head(), ...fold]);
    const lazyFold = <T extends object>(o: T, fold: () => string[]): T & { fold: string[] } =>
      Object.defineProperty(o, 'fold', { get: fold, enumerable: true }) as T & { fold: string[] };
    switch (red.family) {
      case 'sum': {
        const scheme = this.opts.sumScheme;
        const arrays = (names: string[]) => names.map((a) => `var ${a}: array<f32, ${n}>;`);
        if (scheme === 'kahan')
          return lazyFold({ decl: arrays(['va', 'vc']), finalize: over([`outv[${outIdx(n, 'k')}] = va[k];`]), ...plain }, () =>
            // the product by P's 1.0 keeps drivers that reassociate from simplifying the compensation (see accumulator)
            component(['let y = fk - vc[k];', 'let t = (va[k] + y) * k_one();', 'vc[k] = (t - va[k]) - y;', 'va[k] = t;']),
          );
        if (scheme === 'block')
          // three levels: the terms of a tile (b), 16 tile sums (c), the running total (a)
          return lazyFold(
            {
              decl: ['var nt: u32 = 0u;', ...arrays(['va', 'vb', 'vc'])],
              tileInit: over(['vb[k] = 0.0;']),
              tileMerge: [...over(['vc[k] = vc[k] + vb[k];']), 'nt = nt + 1u;', 'if (nt == 16u) {', ...over(['va[k] = va[k] + vc[k];', 'vc[k] = 0.0;']).map((l) => `  ${l}`), '}'],
              finalize: over([`outv[${outIdx(n, 'k')}] = va[k] + vc[k];`]),
              heavy: false,
            },
            () => component(['vb[k] = vb[k] + fk;']),
          );
        return lazyFold({ decl: arrays(['va']), finalize: over([`outv[${outIdx(n, 'k')}] = va[k];`]), ...plain }, () => component(['va[k] = va[k] + fk;']));
      }
      case 'extremum': {
        const start = red.max ? `-${S.inf}` : S.inf;
        return lazyFold(
          {
            decl: [`var em: array<f32, ${n}>; var ei: array<u32, ${n}>;`, ...over([`em[k] = ${start};`])],
            finalize: over([...(red.writesValues ? [`${S.out('values', n, 'k')} = em[k];`] : []), ...(red.writesIndices ? [`${S.out('indices', n, 'k')} = ei[k];`] : [])]),
            ...plain,
          },
          () => component(printUpdate(S, extremumUpdate(red, S, 'em[k]', 'ei[k]', 'fk', 's'))),
        );
      }
      case 'kmin': {
        // the states and writes of kminAccumulator (K x n interleaved); the insertion of component k in the loop
        const lines = kminAccumulator(red, [], S);
        return lazyFold({ decl: lines.decl, finalize: lines.finalize, ...plain, heavy: true }, () => component([kminInsert(S, red.K, n, 'fk', 's', 'kv', 'ki', 'k')]));
      }
      case 'logsumexp':
        break;
    }
    // the log-sum-exp family with a weight g of n components: lseUpdate with the sums in `ls` (ls[0] the
    // unweighted sum of the 'one+g' weights, then one per component of g), updated in one loop over k
    const f = this.ref(plan.f[0]!);
    const ones = lseWeightTerms(red, [], S.one); // [1] for 'one+g', [] for 'g'
    const W = ones.length + n;
    const slots = lseOutputSlots(red);
    const first = slots[0]!.kind === 'max' ? [`${S.out('values', slots.length, '0u')} = m;`] : [];
    const rest = slots[first.length]! as Exclude<(typeof slots)[number], { kind: 'max' }>;
    const d = first.length - rest.k;
    const value = lseSlotValue(rest, { m: 'm', s: (j) => (j === rest.k ? 'ls[k]' : `ls[${j}]`), log: (x) => S.log(x) });
    return lazyFold(
      {
        decl: [`var m: f32 = -${S.inf}; var ls: array<f32, ${W}>;`],
        finalize: [...first, ...over([`${S.out('values', slots.length, d === 0 ? 'k' : d > 0 ? `k + ${d}u` : `k - ${-d}u`)} = ${value};`], rest.k, W)],
        ...plain,
      },
      () => {
        const g = { k: 'k', n, s: `ls[${ones.length ? 'k + 1u' : 'k'}]`, w: 'fk', head: head() };
        return printUpdate({ ...S, forHead: L.forHead }, lseUpdate(S, 'm', ones.map((_, k) => `ls[${k}]`), f, ones, false, g));
      },
    );
  }

}
