import { lseOutputSlots, lseSlotValue, lseWeightTerms, printedOnce, type KernelPlan, type ReductionPlan, type Stage } from '../lower/plan.js';
import { bodyStatements, type SExpr } from '../lower/scalar.js';
import { DEP_I, DEP_J } from '../ir/types.js';
import { printKernel } from '../ir/print.js';
import { callK, extremumUpdate, kminInsert, lseUpdate, printUpdate, type CodeOptions, type CSyntax, type Spellings } from './common.js';
import { KERNEL_ABI, KERNEL_INFO_DECLS, printKernelInfo, type KernelInfo } from './abi.js';
import { GEMM_CANCEL, gemmProducts, type GemmProduct } from '../lower/gemm.js';

/** Options that change the generated C++ (they are part of the cache key): the shared code options
 * (in C++ every formula is evaluated in `dtype`; the JS target evaluates in float64 and rounds f) and fastMath. */
export interface CppCodeOptions extends CodeOptions {
  /** Use the generated vectorisable polynomial exp (measured ≤ 1 ulp from the correctly rounded value,
   * float and double; NaN, ±inf, overflow and the subnormal range handled) instead of std::exp in the
   * inner loop. Every other function is the <cmath> one. */
  fastMath: boolean;
  /** Compute the plan's products over long vectors (`gemmProducts`: scalar products and square
   * distances of a row-side and a reduction-side vector, 64 components or more) as register-blocked
   * matrix products, the square distance expanded as ‖x‖² + ‖y‖² − 2⟨x, y⟩ (default true; false keeps
   * the direct loop, whose rounding does not depend on the norms of x and y). */
  gemm?: boolean;
}

/** Compiler flags that make the generated code fast: explicit vector types need nothing else to
 * vectorise, and these two let g++ vectorise sqrt, floor, ... (the code never reads errno or FP flags).
 * Never add -ffast-math, -fassociative-math or -ffinite-math-only: Kahan sums, NaN/inf handling and
 * signed zeros depend on IEEE semantics. */
export const CPP_FAST_FLAGS: readonly string[] = ['-O3', '-march=native', '-fno-math-errno', '-fno-trapping-math'];

/**
 * The C++ target: prints a kernel plan as a standalone C++17 translation unit implementing the kernel
 * ABI of native/ABI.md (`keopsc_run`, `keopsc_info`), computing what the JS target computes.
 *
 * Strategy (dense and ranges alike): output rows are processed in chunks of CH rows whose reduction
 * states live on the stack. The reduction index sequence (one interval when dense, the cluster's
 * intervals in order with ranges) is cut into tiles of TILE indices; the reduction-side inputs of a tile
 * are copied once into a structure-of-arrays buffer, padded to a multiple of the vector width. Blocks of
 * RB rows then sweep the tile with explicit GCC vector types (V lanes of 64 bytes): row-side values
 * are scalars, reduction-side values are vectors, each accumulator has one lane per vector position,
 * and the last partial vector masks f with the reduction's neutral term. Lanes are merged in an order
 * that reproduces the sequential semantics: first-visited index on ties for Min/Max/Arg (lane
 * positions), stable insertion for KMin (scalar insertion, filtered by a vector compare), the online
 * log-sum-exp update per lane merged with the same rule, and per-tile partial sums for the block sum.
 * The extremum, KMin and log-sum-exp updates and merges are the shared ones of src/targets/common.ts,
 * printed lane-wise on the vectors (selects) and on scalars for the merges.
 * With matrix products (`gemm`, src/lower/gemm.ts), the block functions first accumulate the scalar
 * products of RB rows × CV vectors of the tile over their components (register-blocked fused
 * multiply-adds), and derive the square distances from them and the rows' and tile's norms.
 */
export function printCpp(plan: KernelPlan, opts: CppCodeOptions): string {
  return new CppPrinter(plan, opts).print();
}

/** {@link printCpp}, printed once per (plan, options). */
export function cppSource(plan: KernelPlan, opts: CppCodeOptions): string {
  return printedOnce(plan, `cpp|${opts.dtype}|${opts.sumScheme}|${opts.accDtype}|${opts.fastMath}|${opts.gemm !== false}`, () => printCpp(plan, opts));
}

/** The fixed part of every translation unit: types, vector helpers, math. `T`, `A`, `V` come first. */
function prelude(fastMath: boolean): string {
  const expVec = fastMath
    ? `template <class X> inline X k_exp(const X& x) {
  if constexpr (sizeof(x[0]) == 4) return fexpf(x);
  else return fexpd(x);
}`
    : `template <class X> inline X k_exp(const X& v) { X r = v; for (int l = 0; l < KL(v); ++l) r[l] = std::exp(v[l]); return r; }`;
  return `#define KL(v) (static_cast<int>(sizeof(v) / sizeof((v)[0])))

// broadcast, load, convert
inline VT bT(T x) { return x - VT{}; } // x - 0 keeps the sign of -0
inline VT ldT(const T* p) { VT v = {}; std::memcpy(&v, p, sizeof v); return v; }
inline VI bI(int x) { return x - VI{}; }
template <class X> inline bool k_any(const X& m) { auto o = m[0]; for (int l = 1; l < KL(m); ++l) o |= m[l]; return o != 0; }

// Polynomial exp, vectorisable (no tables, no calls). x = k ln2 + r, |r| <= ln2/2 (Cody-Waite), then
// 2^k in two exact factors so that overflow gives +inf and the subnormal range rounds once.
// float: Cephes expf polynomial, <= 1 ulp from std::exp; double: Taylor to r^13, <= 1 ulp. NaN -> NaN,
// -inf -> 0, +inf -> +inf.
template <class X> inline X fexpf(const X& x) {
  typedef decltype(x < x) I;
  X xc = x < -104.0f ? X{} - 104.0f : x;
  xc = xc > 89.0f ? X{} + 89.0f : xc;
  const X t = xc * 1.44269504088896341f + 12582912.0f;
  const X k = t - 12582912.0f;
  I ki = {}; std::memcpy(&ki, &t, sizeof ki); ki -= 0x4b400000;
  X r = xc - k * 0.693359375f;
  r = r + k * 2.12194440e-4f;
  const X z = r * r;
  const X p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * z + r + 1.0f;
  const I k1 = ki >> 1, k2 = ki - k1;
  const I b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23;
  X s1 = {}, s2 = {}; std::memcpy(&s1, &b1, sizeof s1); std::memcpy(&s2, &b2, sizeof s2);
  const X res = p * s1 * s2;
  return x == x ? res : x;
}
template <class X> inline X fexpd(const X& x) {
  typedef decltype(x < x) I;
  X xc = x < -746.0 ? X{} - 746.0 : x;
  xc = xc > 710.0 ? X{} + 710.0 : xc;
  const X t = xc * 1.4426950408889634 + 6755399441055744.0;
  const X k = t - 6755399441055744.0;
  I ki = {}; std::memcpy(&ki, &t, sizeof ki); ki -= 0x4338000000000000LL;
  X r = xc - k * 6.93147180369123816490e-01;
  r = r - k * 1.90821492927058770002e-10;
  const X p = 1.0 + r * (1.0 + r * (0.5 + r * (1.6666666666666666e-1 + r * (4.1666666666666664e-2 + r * (8.3333333333333332e-3 + r * (1.3888888888888889e-3 + r * (1.9841269841269841e-4 + r * (2.4801587301587302e-5 + r * (2.7557319223985893e-6 + r * (2.7557319223985888e-7 + r * (2.5052108385441720e-8 + r * (2.0876756987868100e-9 + r * 1.6059043836821613e-10))))))))))));
  const I k1 = ki >> 1, k2 = ki - k1;
  const I b1 = (k1 + 1023) << 52, b2 = (k2 + 1023) << 52;
  X s1 = {}, s2 = {}; std::memcpy(&s1, &b1, sizeof s1); std::memcpy(&s2, &b2, sizeof s2);
  const X res = p * s1 * s2;
  return x == x ? res : x;
}

// math: scalars call <cmath> (C semantics: round = halves away from zero, pow(1, y) = 1, ...);
// vectors apply it lane by lane (g++ vectorises sqrt, floor, ... with -fno-math-errno -fno-trapping-math)
#define KEOPSC_UNARY(NAME, F) \\
  inline float NAME(float a) { return F(a); } \\
  inline double NAME(double a) { return F(a); } \\
  template <class X> inline X NAME(const X& v) { X r = v; for (int l = 0; l < KL(v); ++l) r[l] = F(v[l]); return r; }
#define KEOPSC_BINARY(NAME, F) \\
  inline float NAME(float a, float b) { return F(a, b); } \\
  inline double NAME(double a, double b) { return F(a, b); } \\
  template <class X> inline X NAME(const X& u, const X& v) { X r = v; for (int l = 0; l < KL(v); ++l) r[l] = F(u[l], v[l]); return r; }
KEOPSC_UNARY(k_log, std::log)
KEOPSC_UNARY(k_sin, std::sin)
KEOPSC_UNARY(k_cos, std::cos)
KEOPSC_UNARY(k_asin, std::asin)
KEOPSC_UNARY(k_acos, std::acos)
KEOPSC_UNARY(k_atan, std::atan)
KEOPSC_UNARY(k_sqrt, std::sqrt)
KEOPSC_UNARY(k_abs, std::fabs)
KEOPSC_UNARY(k_floor, std::floor)
KEOPSC_UNARY(k_round, std::round)
KEOPSC_BINARY(k_atan2, std::atan2)
KEOPSC_BINARY(k_pow, std::pow)
inline float k_exp(float a) { return std::exp(a); }
inline double k_exp(double a) { return std::exp(a); }
${expVec}
// 1/sqrt(a), 0 at 0 (KeOps); comparisons give 1 or 0; select: c != 0 ? a : b (scalars and vectors)
template <class X> inline X k_rsqrt(const X& a) { return a == 0 ? X{} : (X{} + 1.0f) / k_sqrt(a); }
template <class X> inline X k_lt(const X& a, const X& b) { return a < b ? X{} + 1.0f : X{}; }
template <class X> inline X k_le(const X& a, const X& b) { return a <= b ? X{} + 1.0f : X{}; }
template <class X> inline X k_eq(const X& a, const X& b) { return a == b ? X{} + 1.0f : X{}; }
template <class X> inline X k_ne(const X& a, const X& b) { return a != b ? X{} + 1.0f : X{}; }
template <class X> inline X k_sel(const X& c, const X& a, const X& b) { return c != 0 ? a : b; }`;
}

/** Per-reduction pieces of the generated code. */
interface RedGen {
  /** Fields of the per-row state struct St. */
  st: string[];
  /** Bytes of St (for the chunk size). */
  stBytes: number;
  /** Vector registers of lane state per row (for the row block size). */
  laneVecs: number;
  /** Body of `init(St& s)`. */
  init: string[];
  /** Body of `fin(const Prm& P, const St& s, int64_t r)`: writes output row r. */
  fin: string[];
  /** Lane state declarations of row q at the start of a block. */
  laneInit: (q: number) => string[];
  /** The fold of row q, given the vector names of f and g. */
  fold: (q: number, F: string[], G: string[]) => string[];
  /** Merge / store of row q's lanes at the end of a block. */
  laneEnd: (q: number) => string[];
  /** The value f takes in masked lanes (a term that changes nothing). */
  neutral: string;
  /** The tile records the reduction index of each position. */
  needJ: boolean;
  /** The vector loop needs the lane positions `pos`. */
  needPos: boolean;
  /** With a component loop (plan.fLoop, plan.gLoop), the fold of row q instead of `fold`: `F` holds the
   * vector f when it is not the looped one (log-sum-exp), `component(name)` prints component k of the
   * looped result as the vector `name` (inside the fold's loop over k). */
  foldLoop?: (q: number, F: string[], component: (name: string) => string[]) => string[];
}

/** The C++ spelling of each scalar function: the `k_*` helpers of the printed prelude, called on the
 * `wide` arguments (scalars broadcast where the statement is a vector one). */
const CPP_SPELLINGS: Spellings = {
  add: (a) => `${a[0]} + ${a[1]}`,
  sub: (a) => `${a[0]} - ${a[1]}`,
  mul: (a) => `${a[0]} * ${a[1]}`,
  div: (a) => `${a[0]} / ${a[1]}`,
  neg: (a) => `-${a[0]}`,
  ...callK(['exp', 'log', 'sin', 'cos', 'asin', 'acos', 'atan', 'sqrt', 'abs', 'floor', 'round', 'rsqrt', 'atan2', 'pow', 'lt', 'le', 'eq', 'ne'], true),
  select: (_a, w) => `k_sel(${w[0]}, ${w[1]}, ${w[2]})`,
};

/** The shared facts of one printed C++ kernel (see CppPrinter.layout). */
type CppLayout = ReturnType<CppPrinter['layout']>;

class CppPrinter {
  private readonly f32: boolean;
  private readonly red: ReductionPlan;
  private readonly T: string;
  private readonly A: string;
  private readonly V: number;
  private readonly stage = new Map<SExpr, Stage>();
  private readonly rowBit: number;
  private readonly dims: Map<number, number>;
  /** The statements of loop bodies (named `b<id>` inside their loop). */
  private readonly inBody = new Set<SExpr>();
  /** The variables whose components loops on the reduction side read: staged whole in the tile. */
  private readonly laneVars: number[];
  /** The inner loops computed as register-blocked matrix products (empty with `gemm: false`). */
  private readonly gemm: GemmProduct[];
  /** The distinct scalar products the matrix products need (a square distance and a scalar product of
   * the same operands share one), and the one of each product. */
  private readonly dots: Pick<GemmProduct, 'row' | 'red' | 'n'>[] = [];
  private readonly dotOf: number[] = [];

  constructor(
    private readonly plan: KernelPlan,
    private readonly opts: CppCodeOptions,
  ) {
    this.f32 = opts.dtype === 'float32';
    this.red = plan.reduction;
    this.T = this.f32 ? 'float' : 'double';
    this.A = opts.accDtype === 'float32' ? 'float' : 'double';
    this.V = this.f32 ? 16 : 8;
    for (const s of ['param', 'outer', 'inner'] as const) {
      for (const n of plan.loads[s]) this.stage.set(n, s);
      for (const n of plan.stmts[s]) this.stage.set(n, s);
    }
    this.rowBit = plan.tag === 0 ? DEP_I : DEP_J;
    this.dims = new Map(plan.kernel.args.map((a) => [a.index, a.dim]));
    const redBit = plan.tag === 0 ? DEP_J : DEP_I;
    const laneVars = new Set<number>();
    const bodies = [...(['param', 'outer', 'inner'] as const).flatMap((s) => plan.stmts[s].filter((n) => n.fn === 'loop').map((n) => n.loop!.body)), ...[plan.fLoop, plan.gLoop].flatMap((c) => (c ? [c.body] : []))];
    {
      for (const body of bodies) {
        for (const b of bodyStatements(body)) {
          const st: Stage = b.deps & redBit ? 'inner' : b.deps & this.rowBit ? 'outer' : 'param';
          this.stage.set(b, st);
          this.inBody.add(b);
          if (b.fn === 'lane' && st === 'inner') laneVars.add(b.input!.index);
        }
      }
    }
    this.laneVars = [...laneVars].sort((a, b) => a - b);
    this.gemm = opts.gemm === false ? [] : gemmProducts(plan);
    const key = (g: Pick<GemmProduct, 'row' | 'red' | 'n'>) => `${g.row.index}:${g.row.comp}:${g.red.index}:${g.red.comp}:${g.n}`;
    for (const g of this.gemm) {
      let a = this.dots.findIndex((d) => key(d) === key(g));
      if (a < 0) a = this.dots.push({ row: g.row, red: g.red, n: g.n }) - 1;
      this.dotOf.push(a);
    }
  }

  private get accSame(): boolean {
    return this.T === this.A;
  }

  /** A literal of the data type T (exact: the shortest decimal of the float or double value). */
  private lit(v: number): string {
    const x = this.f32 ? Math.fround(v) : v;
    if (Number.isNaN(x)) return 'std::numeric_limits<T>::quiet_NaN()';
    if (x === Infinity) return 'std::numeric_limits<T>::infinity()';
    if (x === -Infinity) return '(-std::numeric_limits<T>::infinity())';
    if (Object.is(x, -0)) return this.f32 ? '(-0.0f)' : '(-0.0)';
    let s = String(x);
    if (!/[.e]/.test(s)) s += '.0';
    if (this.f32) s += 'f';
    return x < 0 ? `(${s})` : s;
  }

  /** Convert a T vector expression to the accumulator vector type. */
  private cvA(e: string): string {
    return this.accSame ? e : `__builtin_convertvector(${e}, VA)`;
  }

  // ------------------------------------------------------------------------------------------
  // naming: param values `p<id>` (P.v<id> inside keopsc_run), row values `o<id>_<q>`, reduction-side
  // vectors `u<id>` (no row dependence) or `t<id>_<q>`.

  private isRowDep(n: SExpr): boolean {
    return (n.deps & this.rowBit) !== 0;
  }

  /** The name of node n for row q; `run` names params as fields of P. */
  private ref(n: SExpr, q: number, run = false): string {
    if (n.fn === 'const') return this.lit(n.value);
    if (this.inBody.has(n)) return `b${n.id}`;
    const st = this.stage.get(n);
    if (st === undefined) throw new Error(`internal: node ${n.id} (${n.fn}) has no stage`);
    if (st === 'param') return run ? `P.v${n.id}` : `p${n.id}`;
    if (st === 'outer') return `o${n.id}_${q}`;
    return this.isRowDep(n) ? `t${n.id}_${q}` : `u${n.id}`;
  }

  private isVec(n: SExpr): boolean {
    return this.stage.get(n) === 'inner';
  }

  /** The expression computing node n (a statement), for row q, in vector form when `vec`. */
  private expr(n: SExpr, q: number, vec: boolean, run = false): string {
    const a = n.args.map((x) => this.ref(x, q, run));
    // function arguments must all be vectors in vector form
    const v = (k: number) => (vec && !this.isVec(n.args[k]!) ? `bT(${a[k]})` : a[k]!);
    if (n.fn === 'loop') return this.loop(n, q, vec, run);
    if (n.fn === 'const' || n.fn === 'input' || n.fn === 'lane') throw new Error(`internal: a ${n.fn} node is not a statement`);
    return CPP_SPELLINGS[n.fn](a, n.args.map((_, k) => v(k)));
  }

  /**
   * A `loop` statement as an immediately called lambda: `s = 0`, then for k in [0, n): the body's
   * statements (`b<id>`, lanes read at component c + k: a parameter's element, row r + q's element, or
   * the tile's component-major copy of the reduction side) and `s = s + body`, as the unrolled chain.
   */
  private loop(n: SExpr, q: number, vec: boolean, run: boolean): string {
    const body = this.bodyLines(n.loop!.body, q, run);
    const root = this.ref(n.loop!.body, q, run);
    return `[&] { ${vec ? 'VT' : 'T'} s = ${vec ? 'bT(0)' : 'T(0)'}; for (int k = 0; k < ${n.loop!.n}; ++k) { ${body.join(' ')} s = s + ${root}; } return s; }()`;
  }

  /** The statements of a loop body at loop index `k` for row q (`b<id>`, lanes read at component c + k:
   * a parameter's element, row r + q's element, or the tile's component-major copy of the reduction side). */
  private bodyLines(root: SExpr, q: number, run = false): string[] {
    const body: string[] = [];
    for (const b of bodyStatements(root)) {
      const st = this.stage.get(b)!;
      const ty = st === 'inner' ? 'VT' : 'T';
      if (b.fn === 'lane') {
        const { index, comp } = b.input!;
        const c = comp ? `${comp} + k` : 'k';
        const at = st === 'param' ? `P.in${index}[${c}]` : st === 'outer' ? `P.in${index}[(r + ${q}) * ${this.dims.get(index)!} + ${c}]` : `ldT(tl.L${index} + (${c}) * TILE + jb)`;
        body.push(`const ${ty} b${b.id} = ${at};`);
      } else body.push(`const ${ty} b${b.id} = ${this.expr(b, q, st === 'inner', run)};`);
    }
    return body;
  }

  /**
   * Component k of the component loop `which` (plan.fLoop or plan.gLoop) for row q, inside a loop over
   * k: the body's statements, then the component as the vector `name` (f masked with the reduction's
   * neutral value in the masked tail).
   */
  private component(which: 'f' | 'g', q: number, name: string, masked: boolean, neutral: string): string[] {
    const loop = (which === 'f' ? this.plan.fLoop : this.plan.gLoop)!;
    const v = this.isVec(loop.body) ? this.ref(loop.body, q) : `bT(${this.ref(loop.body, q)})`;
    return [...this.bodyLines(loop.body, q), `const VT ${name} = ${masked && which === 'f' ? `mk ? ${v} : bT(${neutral})` : v};`];
  }

  /** The load of an input node for row q (param: element comp; outer: row r + q). */
  private load(n: SExpr, stage: 'param' | 'outer', q: number): string {
    const { index, comp } = n.input!;
    const d = this.dims.get(index)!;
    if (stage === 'param') return `P.in${index}[${comp}]`;
    return `P.in${index}[(r + ${q}) * ${d} + ${comp}]`;
  }

  /** Name of the tile buffer of an inner load. */
  private buf(n: SExpr): string {
    return `y${n.input!.index}_${n.input!.comp}`;
  }

  // ------------------------------------------------------------------------------------------

  print(): string {
    const L = this.layout();
    return [...this.header(L), ...this.state(L), ...this.fill(L), ...this.blocks(L), ...this.driver(L), ...this.entryPoints(L)].join('\n');
  }

  /** What the parts of the source share: the reduction's pieces, the inputs used, and the sizes of the
   * row blocks (RB), chunks (CH) and tiles (TILE). */
  private layout() {
    const { plan, red, V } = this;
    const gen = this.reduction();
    const laneIdx = [...this.inBody].filter((n) => n.fn === 'lane').map((n) => n.input!.index);
    const usedIdx = [...new Set([...[...plan.loads.param, ...plan.loads.outer, ...plan.loads.inner].map((n) => n.input!.index), ...laneIdx])].sort((a, b) => a - b);
    const innerLoads = plan.loads.inner;
    const innerRowStmts = plan.stmts.inner.filter((n) => this.isRowDep(n)).length;
    // rows per block: enough to share the tile loads, few enough for the registers (measured: 1 to 8
    // rows give the same speed on exp-bound kernels, 4 is best on cheap ones); rows per chunk: about
    // 64 KiB of row states on the stack (KMin with a large K falls to 1 row)
    const big = gen.stBytes * 4 > 65536;
    let RB = !big && gen.laneVecs <= 4 && innerRowStmts <= 48 ? 4 : !big && gen.laneVecs <= 8 && innerRowStmts <= 120 ? 2 : 1;
    // matrix products (this.gemm): RB rows x CV vectors of accumulators per scalar product, about 16
    // registers; the reduction side's vectors are read once per RB rows, so RB is as large as fits
    // (a formula with much work per pair keeps its row block: the block's code grows with RB x CV)
    const G = this.dots.length;
    let CV = 1;
    if (G > 0) {
      CV = innerRowStmts <= 48 && G <= 2 ? 2 : 1;
      if (RB === 4) RB = Math.max(1, Math.floor(16 / (G * CV)));
    }
    // more rows per chunk with matrix products: the tile (all D components) is filled once per chunk
    const chMax = G > 0 ? 256 : 64;
    const CH = Math.max(RB, Math.min(chMax, Math.floor(65536 / Math.max(1, gen.stBytes) / RB) * RB));
    const laneComps = this.laneVars.reduce((s, i) => s + this.dims.get(i)!, 0);
    const sqdists = this.gemm.filter((g) => g.kind === 'sqdist').length; // their ‖y‖² are in the tile
    const loadBytes = (innerLoads.length + laneComps + sqdists) * (this.f32 ? 4 : 8) + (gen.needJ ? 8 : 0);
    let TILE = 1024;
    while (TILE > Math.max(2 * V, CV * V) && TILE * loadBytes > (G > 0 ? 262144 : 24576)) TILE /= 2;
    const NR = plan.tag === 0 ? 'N' : 'M';
    const rows = plan.tag === 0 ? 'M' : 'N';
    const outs = red.outputs.map((o) => ({ ...o, width: o.rowShape.reduce((a, b) => a * b, 1) }));

    const kernelInfo: KernelInfo = {
      name: plan.kernel.name,
      dtype: this.opts.dtype,
      tag: plan.tag,
      args: plan.kernel.args.map((a) => ({ index: a.index, dim: a.dim, cat: a.cat })),
      outputs: outs.map((o) => ({ name: o.name, kind: o.kind, width: o.width })),
    };
    const info = JSON.stringify({ abi: KERNEL_ABI, ...kernelInfo });
    return { gen, usedIdx, innerLoads, RB, CV, CH, TILE, loadBytes, NR, rows, outs, info, kernelInfo };
  }

  /** The comment that documents the kernel, the includes, the call struct and the type definitions. */
  private header(L: CppLayout): string[] {
    const { plan, red, T, A, V } = this;
    const k = plan.kernel;
    const { gen, CH, CV, TILE, loadBytes, rows, outs, info } = L;
    // ---- header
    const lines: string[] = [];
    lines.push(
      `// keopsc kernel '${k.name}': ${red.name}_Reduction, output rows indexed by ${plan.tag === 0 ? 'i (M rows), reduced over j (N)' : 'j (N rows), reduced over i (M)'}.`,
      `// Generated by keopsc's C++ target (src/targets/cpp.ts): ${this.opts.dtype} data, sum scheme ${this.opts.sumScheme}, accumulator ${this.opts.accDtype}, ${this.opts.fastMath ? 'polynomial exp' : 'std::exp'}.`,
      '//',
      ...printKernel(k).split('\n').map((l) => `//   ${l}`),
      '//',
      '// Build:  g++ -O3 -shared -fPIC k.cpp -o k.so',
      `//   fast: add ${CPP_FAST_FLAGS.slice(1).join(' ')} (without -march the 64-byte vectors fall back to SSE2,`,
      '//   several times slower); never -ffast-math: Kahan sums, NaN/inf and signed zeros rely on IEEE semantics',
      '// Call (native/ABI.md): fill a keopsc_call and call keopsc_run(&call); it computes output rows [r0, r1),',
      '// is thread-safe on disjoint row blocks and never allocates (it uses about ' + `${Math.ceil((CH * gen.stBytes + TILE * loadBytes) / 1024) + 8} KiB of stack).`,
      '// keopsc_info() returns a keopsc_kernel_info struct holding the metadata below.',
      '//   in[k]       input array of variable index k (nullptr where unused), row-major, element type',
      `//               ${T}; rows: M for i-variables (cat 0), N for j-variables (cat 1), 1 for parameters (cat 2)`,
      ...outs.map((o, q) => `//   out[${q}]      ${o.name}: ${o.width} ${o.kind === 'index' ? 'int64_t indices' : `${T} values`} per output row (${rows} rows)`),
      '//   M, N        rows of the i- and j-variables',
      `//   r0, r1      the output rows to compute, 0 <= r0 <= r1 <= ${rows}`,
      '//   ranges_out, slices, red, n_clusters, n_red: the block-sparse ranges triplet of this tag',
      `//               (${plan.tag === 0 ? 'ranges_i, slices_i, redranges_j' : 'ranges_j, slices_j, redranges_i'}), or nullptr/0 for a dense reduction; rows that no`,
      '//               cluster covers get the neutral value; with overlapping clusters the later one wins',
      `// keopsc_info: ${info}`,
      '',
      '#pragma GCC diagnostic ignored "-Wpsabi"',
      '#include <algorithm>',
      '#include <cmath>',
      '#include <cstdint>',
      '#include <cstring>',
      '#include <limits>',
      ...(red.family === 'kmin' || this.gemm.length > 0 ? ['#ifdef __AVX512F__', '#include <immintrin.h> // the KMin lane mask, fused multiply-adds', '#endif'] : []),
      '',
      'struct keopsc_call {',
      '  const void* const* in;',
      '  void* const* out;',
      '  int64_t M, N;',
      '  int64_t r0, r1;',
      '  const int32_t* ranges_out;',
      '  const int32_t* slices;',
      '  const int32_t* red;',
      '  int64_t n_clusters, n_red;',
      '};',
      KERNEL_INFO_DECLS,
      '',
      'namespace {',
      '',
      `typedef ${T} T; // data`,
      `typedef ${A} A; // accumulator of sum-like reductions`,
      `constexpr int V = ${V}; // vector lanes (64 bytes of T)`,
      `constexpr int TILE = ${TILE}; // reduction indices per tile (a multiple of V)`,
      `constexpr int CH = ${CH}; // output rows per chunk (their states live on the stack)`,
      'typedef T VT __attribute__((vector_size(V * sizeof(T))));',
      'typedef A VA __attribute__((vector_size(V * sizeof(A))));',
      'typedef decltype(VT{} < VT{}) VI;',
      `const VI IOTA = {${Array.from({ length: V }, (_, l) => l).join(', ')}};`,
      '',
      prelude(this.opts.fastMath),
      '',
      ...(this.gemm.length > 0 ? this.gemmPrelude(CV) : []),
    );

    return lines;
  }

  /** The parameters, the tile and the row state, with the state's init and finalisation. */
  private state(L: CppLayout): string[] {
    const { plan, red } = this;
    const { gen, usedIdx, innerLoads, outs } = L;
    const lines: string[] = [];
    // ---- params, tile, state
    const paramVals = [...plan.loads.param, ...plan.stmts.param];
    lines.push(
      '// inputs, outputs and the values computed once per call',
      'struct Prm {',
      ...usedIdx.map((i) => `  const T* in${i};`),
      ...outs.map((o, q) => `  ${o.kind === 'index' ? 'int64_t' : 'T'}* out${q};`),
      '  int64_t M, N;',
      ...paramVals.map((n) => `  T v${n.id};`),
      '};',
      '',
      '// one tile of the reduction side, structure of arrays',
      'struct Tile {',
      ...innerLoads.map((n) => `  alignas(64) T ${this.buf(n)}[TILE];`),
      ...this.laneVars.map((i) => `  alignas(64) T L${i}[${this.dims.get(i)!} * TILE]; // all components, component-major (read by loops)`),
      ...(gen.needJ ? ['  alignas(64) int64_t J[TILE]; // the reduction index at each position'] : []),
      ...this.gemm.flatMap((g, p) => (g.kind === 'sqdist' ? [`  alignas(64) T Q${p}[TILE]; // ‖y‖² of the square distance t${g.node.id}`] : [])),
      ...(innerLoads.length === 0 && this.laneVars.length === 0 && !gen.needJ ? ['  char unused;'] : []),
      '};',
      '',
      '// the reduction state of one output row',
      'struct St {',
      ...gen.st.map((l) => `  ${l}`),
      ...this.gemm.flatMap((g, p) => (g.kind === 'sqdist' ? [`  T gx${p}; // ‖x‖² of the square distance t${g.node.id}`] : [])),
      '};',
      '',
      ...(this.gemm.length > 0 ? [...this.gemmRows(), ...this.gemmSquares()] : []),
      'inline void init(St& s) {',
      ...gen.init.map((l) => `  ${l}`),
      '}',
      '',
      'inline void fin([[maybe_unused]] const Prm& P, const St& s, const int64_t r) {',
      ...gen.fin.map((l) => `  ${l}`),
      '}',
      '',
    );
    if (red.family === 'kmin') lines.push(...this.kminHelper());

    return lines;
  }

  /** `fill`: a run of reduction indices copied into the tile. */
  private fill(L: CppLayout): string[] {
    const { gen, innerLoads } = L;
    const lines: string[] = [];
    // ---- copy a run of reduction indices into the tile
    lines.push(
      '// copy the reduction-side inputs of indices [j0, j0 + cnt) to tile positions [at, at + cnt)',
      'inline void fill([[maybe_unused]] const Prm& P, [[maybe_unused]] Tile& tl, const int at, const int64_t j0, const int cnt) {',
      '  for (int t = 0; t < cnt; ++t) {',
      '    [[maybe_unused]] const int64_t j = j0 + t;',
      ...innerLoads.map((n) => {
        const d = this.dims.get(n.input!.index)!;
        return `    tl.${this.buf(n)}[at + t] = P.in${n.input!.index}[${d === 1 ? 'j' : `j * ${d} + ${n.input!.comp}`}];`;
      }),
      ...this.laneVars.map((i) => `    for (int c = 0; c < ${this.dims.get(i)!}; ++c) tl.L${i}[c * TILE + at + t] = P.in${i}[j * ${this.dims.get(i)!} + c];`),
      ...(gen.needJ ? ['    tl.J[at + t] = j;'] : []),
      '  }',
      '}',
      '',
    );

    return lines;
  }

  /** The row-block functions `blk<nb>`. */
  private blocks(L: CppLayout): string[] {
    const { gen, RB, CV } = L;
    const lines: string[] = [];
    // ---- the row blocks
    const blocks = RB > 1 ? [RB, 1] : [1];
    for (const nb of blocks) lines.push(...(this.gemm.length > 0 ? this.gemmBlock(nb, CV, gen) : this.block(nb, gen)), '');

    return lines;
  }

  /** `run_tile` and `process`: the tiles of a chunk of rows over a sequence of reduction intervals. */
  private driver(L: CppLayout): string[] {
    const { gen, innerLoads, RB } = L;
    const lines: string[] = [];
    lines.push(
      '// one tile for rows [ra, ra + nr) of a chunk: pad to whole vectors (with position 0), then row blocks',
      'inline void run_tile(const Prm& P, Tile& tl, const int n, St* const st, const int64_t ra, const int nr) {',
      `  for (int t = n; t < ((n + ${this.gemm.length > 0 ? 'VB' : 'V'} - 1) & ~(${this.gemm.length > 0 ? 'VB' : 'V'} - 1)); ++t) {`,
      ...innerLoads.map((n) => `    tl.${this.buf(n)}[t] = tl.${this.buf(n)}[0];`),
      ...this.laneVars.map((i) => `    for (int c = 0; c < ${this.dims.get(i)!}; ++c) tl.L${i}[c * TILE + t] = tl.L${i}[c * TILE];`),
      ...(gen.needJ ? ['    tl.J[t] = tl.J[0];'] : []),
      '  }',
      ...this.gemmColumns(),
      '  int q = 0;',
      ...(RB > 1 ? [`  for (; q + ${RB} <= nr; q += ${RB}) blk${RB}(P, tl, n, st + q, ra + q);`] : []),
      '  for (; q < nr; ++q) blk1(P, tl, n, st + q, ra + q);',
      '}',
      '',
      '// rows [ra, rb) (at most CH) reduced over the index sequence of the intervals iv[0..niv), or over',
      '// [0, nr_dense) when iv is nullptr',
      '[[maybe_unused]] void process(const Prm& P, const int64_t ra, const int64_t rb, const int32_t* iv, const int64_t niv, const int64_t nr_dense) {',
      '  St st[CH];',
      '  const int nr = static_cast<int>(rb - ra);',
      `  for (int q = 0; q < nr; ++q) init(st[q]);${this.gemm.length > 0 ? ' for (int q = 0; q < nr; ++q) gemm_rows(P, st[q], ra + q);' : ''}`,
      '  Tile tl;',
      '  int n = 0;',
      '  for (int64_t l = 0; l < (iv ? niv : 1); ++l) {',
      '    int64_t a = iv ? iv[2 * l] : 0;',
      '    const int64_t b = iv ? iv[2 * l + 1] : nr_dense;',
      '    while (a < b) {',
      '      const int cnt = static_cast<int>(std::min<int64_t>(b - a, TILE - n));',
      '      fill(P, tl, n, a, cnt);',
      '      n += cnt;',
      '      a += cnt;',
      '      if (n == TILE) {',
      '        run_tile(P, tl, n, st, ra, nr);',
      '        n = 0;',
      '      }',
      '    }',
      '  }',
      '  if (n > 0) run_tile(P, tl, n, st, ra, nr);',
      '  for (int q = 0; q < nr; ++q) fin(P, st[q], ra + q);',
      '}',
      '',
      '} // namespace',
      '',
    );

    return lines;
  }

  /** `keopsc_info` and `keopsc_run` (native/ABI.md): dense, or the clusters of the ranges. */
  private entryPoints(L: CppLayout): string[] {
    const { plan, red } = this;
    const { usedIdx, NR, outs, kernelInfo } = L;
    const lines: string[] = [];
    // ---- entry points
    lines.push(
      printKernelInfo(kernelInfo),
      '',
      'extern "C" __attribute__((visibility("default"))) int keopsc_run(const keopsc_call* call) {',
      '  Prm P;',
      ...usedIdx.map((i) => `  P.in${i} = static_cast<const T*>(call->in[${i}]);`),
      ...outs.map((o, q) => `  P.out${q} = static_cast<${o.kind === 'index' ? 'int64_t' : 'T'}*>(call->out[${q}]);`),
      '  P.M = call->M;',
      '  P.N = call->N;',
      '  const int64_t r0 = call->r0, r1 = call->r1;',
    );
    if (plan.zero) {
      lines.push(`  std::fill(P.out0 + r0 * ${red.D}, P.out0 + r1 * ${red.D}, T(0));`, '  return 0;', '}', '');
      return lines;
    }
    lines.push(
      ...plan.loads.param.map((n) => `  P.v${n.id} = ${this.load(n, 'param', 0)};`),
      ...plan.stmts.param.map((n) => `  P.v${n.id} = ${this.expr(n, 0, false, true)};`),
      '  if (call->ranges_out == nullptr) {',
      `    for (int64_t c0 = r0; c0 < r1; c0 += CH) process(P, c0, std::min<int64_t>(r1, c0 + CH), nullptr, 0, P.${NR});`,
      '    return 0;',
      '  }',
      '  // rows that no cluster covers get the neutral value',
      '  for (int64_t r = r0; r < r1; ++r) {',
      '    St s;',
      '    init(s);',
      '    fin(P, s, r);',
      '  }',
      '  for (int64_t c = 0; c < call->n_clusters; ++c) {',
      '    const int64_t ra = std::max<int64_t>(call->ranges_out[2 * c], r0), rb = std::min<int64_t>(call->ranges_out[2 * c + 1], r1);',
      '    if (ra >= rb) continue;',
      '    const int64_t la = c == 0 ? 0 : call->slices[c - 1], lb = call->slices[c];',
      '    for (int64_t c0 = ra; c0 < rb; c0 += CH) process(P, c0, std::min<int64_t>(rb, c0 + CH), call->red + 2 * la, lb - la, 0);',
      '  }',
      '  return 0;',
      '}',
      '',
    );
    return lines;
  }

  /** The block function `blk<nb>`: nb rows over one tile. */
  private block(nb: number, gen: RedGen): string[] {
    const { L, body } = this.blockParts(nb, gen, () => []);
    L.push(
      '  const int nv = n & ~(V - 1);',
      '  int jb = 0;',
      '  for (; jb < nv; jb += V) {',
      ...body(false).map((l) => `    ${l}`),
      '  }',
      '  if (jb < n) {',
      '    const VI mk = (IOTA + jb) < n;',
      ...body(true).map((l) => `    ${l}`),
      '  }',
    );
    for (let q = 0; q < nb; q++) L.push(...gen.laneEnd(q).map((l) => `  ${l}`));
    L.push('}');
    return L;
  }

  /**
   * What every block function shares: its head (signature, parameters, the rows' outer values and lane
   * states) and the body of one vector position `jb` for every row (`masked`: the last, partial one),
   * with `defs(q)` printed first for row q (the values the matrix products give).
   */
  private blockParts(nb: number, gen: RedGen, defs: (q: number) => string[]) {
    const { plan } = this;
    const qs = Array.from({ length: nb }, (_, q) => q);
    // param values referenced by row or reduction-side code
    const usedParams = new Set<SExpr>();
    const loopNodes = [plan.fLoop, plan.gLoop].flatMap((c) => (c ? [...c.args, ...bodyStatements(c.body)] : []));
    for (const n of [...plan.stmts.outer, ...plan.stmts.inner, ...(plan.fLoop ? [] : plan.f), ...(plan.gLoop ? [] : plan.g), ...loopNodes]) {
      for (const x of n.fn === 'input' || n.fn === 'const' ? [n] : [n, ...n.args]) if (this.stage.get(x) === 'param' && !this.inBody.has(x)) usedParams.add(x);
    }
    const L: string[] = [
      `[[maybe_unused]] __attribute__((noinline, noclone)) void blk${nb}([[maybe_unused]] const Prm& P, [[maybe_unused]] const Tile& tl, const int n, St* const S, [[maybe_unused]] const int64_t r) {`,
      ...[...usedParams].map((n) => `  const T p${n.id} = P.v${n.id};`),
    ];
    for (const q of qs) {
      L.push(...plan.loads.outer.map((n) => `  const T ${this.ref(n, q)} = ${this.load(n, 'outer', q)};`));
      L.push(...plan.stmts.outer.map((n) => `  const T ${this.ref(n, q)} = ${this.expr(n, q, false)};`));
    }
    for (const q of qs) L.push(...gen.laneInit(q).map((l) => `  ${l}`));
    const body = (masked: boolean): string[] => {
      const B: string[] = [];
      if (gen.needPos) B.push('const VI pos = IOTA + jb;');
      B.push(...plan.loads.inner.map((n) => `const VT ${this.ref(n, 0)} = ldT(tl.${this.buf(n)} + jb);`));
      const indep = plan.stmts.inner.filter((n) => !this.isRowDep(n));
      const gemmNodes = new Set(this.gemm.map((g) => g.node));
      const dep = plan.stmts.inner.filter((n) => this.isRowDep(n) && !gemmNodes.has(n));
      B.push(...indep.map((n) => `const VT ${this.ref(n, 0)} = ${this.expr(n, 0, true)};`));
      for (const q of qs) {
        B.push(...defs(q));
        B.push(...dep.map((n) => `const VT ${this.ref(n, q)} = ${this.expr(n, q, true)};`));
        const vecOf = (x: SExpr) => (this.isVec(x) ? this.ref(x, q) : `bT(${this.ref(x, q)})`);
        if (gen.foldLoop) {
          // a component loop: the reduction folds component k in a loop over k
          const F = plan.fLoop ? [] : plan.f.map((x) => (masked ? `(mk ? ${vecOf(x)} : bT(${gen.neutral}))` : vecOf(x)));
          B.push(...gen.foldLoop(q, F, (name) => this.component(plan.fLoop ? 'f' : 'g', q, name, masked, gen.neutral)));
          continue;
        }
        const F = plan.f.map((x, k) => {
          const name = `F${q}_${k}`;
          B.push(`const VT ${name} = ${masked ? `mk ? ${vecOf(x)} : bT(${gen.neutral})` : vecOf(x)};`);
          return name;
        });
        const G = plan.g.map((x, k) => {
          const name = `G${q}_${k}`;
          B.push(`const VT ${name} = ${vecOf(x)};`);
          return name;
        });
        B.push(...gen.fold(q, F, G));
      }
      return B;
    };
    return { L, body };
  }

  // ------------------------------------------------------------------------------------------
  // matrix products (this.gemm, see src/lower/gemm.ts): scalar product a (this.dots) of row q and
  // vector c of a VB-wide column block is the accumulator d<a>_<q>_<c>; square distance p is
  // ‖x‖² (St::gx<p>, once per row and chunk) + ‖y‖² (Tile::Q<p>, once per tile) − 2⟨x, y⟩.

  /** `VB`, the sizes of the scalar products and the fused multiply-add of vectors. */
  private gemmPrelude(CV: number): string[] {
    return [
      `constexpr int VB = ${CV} * V; // reduction indices per column block of the matrix products`,
      ...this.dots.map((g, a) => `constexpr int GN${a} = ${g.n}, GS${a} = ${this.dims.get(g.row.index)!}; // scalar product ${a}: components, row stride of x`),
      '// a * b + c rounded once (the matrix products): one instruction on AVX-512, a lane loop elsewhere',
      'inline VT k_fma(const VT& a, const VT& b, const VT& c) {',
      '#ifdef __AVX512F__',
      '  if constexpr (sizeof(T) == 4) { const __m512 v = _mm512_fmadd_ps(reinterpret_cast<const __m512&>(a), reinterpret_cast<const __m512&>(b), reinterpret_cast<const __m512&>(c)); return reinterpret_cast<const VT&>(v); }',
      '  else { const __m512d v = _mm512_fmadd_pd(reinterpret_cast<const __m512d&>(a), reinterpret_cast<const __m512d&>(b), reinterpret_cast<const __m512d&>(c)); return reinterpret_cast<const VT&>(v); }',
      '#else',
      '  VT r = c;',
      '  for (int l = 0; l < V; ++l) r[l] = std::fma(a[l], b[l], c[l]);',
      '  return r;',
      '#endif',
      '}',
      '',
    ];
  }

  /** `gemm_rows`: the row-side norms ‖x‖² of the square distances, once per row and chunk. */
  private gemmRows(): string[] {
    const L = ['// the row-side norms of the square distances, once per row and chunk', 'inline void gemm_rows([[maybe_unused]] const Prm& P, [[maybe_unused]] St& s, [[maybe_unused]] const int64_t r) {'];
    this.gemm.forEach((g, p) => {
      if (g.kind !== 'sqdist') return;
      const a = this.dotOf[p]!;
      L.push(
        `  { const T* const x = P.in${g.row.index} + r * GS${a} + ${g.row.comp};`,
        '    VT a = {};',
        '    int k = 0;',
        `    for (; k + V <= GN${a}; k += V) { const VT v = ldT(x + k); a = k_fma(v, v, a); }`,
        '    T t = 0;',
        '    for (int l = 0; l < V; ++l) t += a[l];',
        `    for (; k < GN${a}; ++k) t = std::fma(x[k], x[k], t);`,
        `    s.gx${p} = t; }`,
      );
    });
    L.push('}', '');
    return L;
  }

  /**
   * `gemm_sq<p>`: square distance p of row r and the tile's vector at jb from the scalar product d:
   * ‖x‖² + ‖y‖² − 2d; where that is below (‖x‖² + ‖y‖²) / GEMM_CANCEL (its error bound more than
   * 2·GEMM_CANCEL times the direct form's) or not a number (inf − inf), the direct form instead, the
   * loop statement printed as the block functions of gemm: false print it (`gemm_direct<p>`).
   */
  private gemmSquares(): string[] {
    return this.gemm.flatMap((g, p) =>
      g.kind !== 'sqdist'
        ? []
        : [
            `// t${g.node.id} in the direct form, for the pairs where the expanded form cancels`,
            `__attribute__((noinline)) VT gemm_direct${p}(const Prm& P, const Tile& tl, const int jb, const int64_t r) {`,
            `  return ${this.loop(g.node, 0, true, false)};`,
            '}',
            `// t${g.node.id} from the scalar product d`,
            `__attribute__((always_inline)) inline VT gemm_sq${p}(const VT& d, const Prm& P, const Tile& tl, const int jb, const int64_t r, const T gx) {`,
            `  const VT nn = bT(gx) + ldT(tl.Q${p} + jb);`,
            '  const VT e = nn - (d + d);',
            `  if (const VI near = (e * ${this.lit(GEMM_CANCEL)} >= nn) == 0; __builtin_expect(k_any(near), 0)) return near ? gemm_direct${p}(P, tl, jb, r) : e;`,
            '  return e;',
            '}',
            '',
          ],
    );
  }

  /** In run_tile, after the padding: the reduction-side norms ‖y‖² of the square distances. */
  private gemmColumns(): string[] {
    return this.gemm.flatMap((g, p) =>
      g.kind !== 'sqdist'
        ? []
        : [
            `  for (int t = 0; t < n; t += V) { // ‖y‖² of t${g.node.id}`,
            `    const T* const y = tl.L${g.red.index} + ${g.red.comp} * TILE + t;`,
            '    VT a = {};',
            `    for (int k = 0; k < GN${this.dotOf[p]!}; ++k) { const VT v = ldT(y + k * TILE); a = k_fma(v, v, a); }`,
            `    std::memcpy(tl.Q${p} + t, &a, sizeof a);`,
            '  }',
          ],
    );
  }

  /**
   * The block function `blk<nb>` of a plan with matrix products: for each column block of VB = CV·V
   * reduction indices, the products of the nb rows are accumulated over their components (one
   * broadcast x[k] per row, one vector of y per column vector, nb·CV fused multiply-adds), then the
   * rest of f and the fold run on each of the CV vectors as in {@link block}.
   */
  private gemmBlock(nb: number, CV: number, gen: RedGen): string[] {
    const qs = Array.from({ length: nb }, (_, q) => q);
    const cs = Array.from({ length: CV }, (_, c) => c);
    let c = 0; // the column vector whose products `defs` names
    const defs = (q: number) =>
      this.gemm.map((g, p) => {
        const d = `d${this.dotOf[p]!}_${q}_${c}`;
        const name = this.ref(g.node, q);
        return `const VT ${name} = ${g.kind === 'dot' ? d : `gemm_sq${p}(${d}, P, tl, jb, r + ${q}, S[${q}].gx${p})`};`;
      });
    const { L, body } = this.blockParts(nb, gen, defs);
    this.dots.forEach((g, p) => {
      for (const q of qs) L.push(`  const T* const x${p}_${q} = P.in${g.row.index} + (r + ${q}) * GS${p} + ${g.row.comp};`);
    });
    L.push('  for (int j0 = 0; j0 < n; j0 += VB) {');
    this.dots.forEach((g, p) => {
      L.push(
        ...qs.flatMap((q) => cs.map((c) => `    VT d${p}_${q}_${c} = {};`)),
        `    for (int k = 0; k < GN${p}; ++k) {`,
        `      const T* const y = tl.L${g.red.index} + (${g.red.comp} + k) * TILE + j0;`,
        ...cs.map((c) => `      const VT y${c} = ldT(y${c ? ` + ${c * this.V}` : ''});`),
        ...qs.flatMap((q) => [`      const VT x${q} = bT(x${p}_${q}[k]);`, ...cs.map((c) => `      d${p}_${q}_${c} = k_fma(x${q}, y${c}, d${p}_${q}_${c});`)]),
        '    }',
      );
    });
    for (c = 0; c < CV; c++) {
      L.push(
        `    if (const int jb = j0${c ? ` + ${c * this.V}` : ''}; jb + V <= n) {`,
        ...body(false).map((l) => `      ${l}`),
        `    } else if (jb < n) {`,
        '      const VI mk = (IOTA + jb) < n;',
        ...body(true).map((l) => `      ${l}`),
        '    }',
      );
    }
    L.push('  }');
    for (const q of qs) L.push(...gen.laneEnd(q).map((l) => `  ${l}`));
    L.push('}');
    return L;
  }

  /** Stable insertion of one vector of candidates into a row's K smallest (component k). */
  private kminHelper(): string[] {
    const { K, D } = this.red;
    return [
      '// bit l set where f[l] < t (false for NaN): one mask compare on AVX-512, a lane loop elsewhere',
      '#ifdef __AVX512F__',
      'inline uint32_t k_ltmask(const VT& f, const T t) {',
      '  if constexpr (sizeof(T) == 4) return _mm512_cmp_ps_mask(reinterpret_cast<const __m512&>(f), _mm512_set1_ps(t), _CMP_LT_OQ);',
      '  else return _mm512_cmp_pd_mask(reinterpret_cast<const __m512d&>(f), _mm512_set1_pd(t), _CMP_LT_OQ);',
      '}',
      '#else',
      'inline uint32_t k_ltmask(const VT& f, const T t) {',
      '  const VI m = f < t;',
      '  uint32_t b = 0;',
      '  for (int l = 0; l < V; ++l) b |= static_cast<uint32_t>(m[l] & 1) << l;',
      '  return b;',
      '}',
      '#endif',
      '',
      '// insert the lanes of f set in b (in lane order) into the K smallest kv[l * D] (stable: strict <),',
      '// indices ki; each lane is compared again with the K-th value, which the earlier lanes may lower',
      '__attribute__((noinline)) void kmin_push(T* const kv, int64_t* const ki, const VT& f, const int64_t* const J, uint32_t b) {',
      '  do {',
      '    const int lane = __builtin_ctz(b);',
      '    b &= b - 1;',
      '    const T v = f[lane];',
      `    ${kminInsert({ int: (n) => `${n}`, counter: (n, init) => `int ${n} = ${init};`, decrement: (n) => `--${n};` }, K, D, 'v', 'J[lane]', 'kv', 'ki', 0)}`,
      '  } while (b != 0);',
      '}',
      '',
    ];
  }

  /**
   * The reduction's pieces for a plan with a component loop (plan.fLoop: Sum, extremum and KMin
   * families over a long vector f; plan.gLoop: the log-sum-exp family with a long weight g): the same
   * states and arithmetic as {@link reduction}, with the per-component lines made loops over k, so the
   * source does not grow with the dimension. Lane states live in arrays local to the row block.
   */
  private loopReduction(): RedGen {
    const { red } = this;
    const D = red.D;
    const sT = this.f32 ? 4 : 8;
    const sA = this.A === 'float' ? 4 : 8;
    const V = this.V;
    const widen = this.accSame ? 1 : 2;
    const over = (n: number, body: string) => `for (int k = 0; k < ${n}; ++k) { ${body} }`;
    const loopFold = (n: number, comp: string[], fold: string[]) => [`for (int k = 0; k < ${n}; ++k) {`, ...comp.map((l) => `  ${l}`), ...fold.map((l) => `  ${l}`), '}'];
    const common = { laneVecs: 0, needJ: false, needPos: false, fold: () => [] as string[] };
    if (red.family === 'sum') {
      const scheme = this.opts.sumScheme;
      if (scheme === 'block') {
        return {
          ...common,
          st: [`A a[${D}];`],
          stBytes: D * sA,
          laneVecs: D * widen,
          init: [over(D, 's.a[k] = 0;')],
          fin: [over(D, `P.out0[r * ${D} + k] = static_cast<T>(s.a[k]);`)],
          laneInit: (q) => [`VA a${q}[${D}] = {};`],
          foldLoop: (q, _F, comp) => loopFold(D, comp(`F${q}`), [`a${q}[k] += ${this.cvA(`F${q}`)};`]),
          // the tile's partial sum (lanes in order), merged into the row's sum: KeOps's block scheme
          laneEnd: (q) => [over(D, `A b = a${q}[k][0]; for (int l = 1; l < V; ++l) b += a${q}[k][l]; S[${q}].a[k] += b;`)],
          neutral: this.lit(0),
        };
      }
      const kahan = scheme === 'kahan';
      return {
        ...common,
        st: [`alignas(64) A l[${D}][V];`, ...(kahan ? [`alignas(64) A c[${D}][V];`] : [])],
        stBytes: D * V * sA * (kahan ? 2 : 1),
        laneVecs: D * widen * (kahan ? 2 : 1),
        init: [`for (int k = 0; k < ${D}; ++k) for (int l = 0; l < V; ++l) { s.l[k][l] = 0;${kahan ? ' s.c[k][l] = 0;' : ''} }`],
        // finalisation: the lanes in order (Kahan: compensated, each lane contributing sum - compensation)
        fin: kahan
          ? [
              `for (int k = 0; k < ${D}; ++k) {`,
              '  A a = 0, c = 0;',
              '  for (int l = 0; l < V; ++l) {',
              '    const A xs[2] = {s.l[k][l], -s.c[k][l]};',
              '    for (const A x : xs) { const A y = x - c; const A t = a + y; c = (t - a) - y; a = t; }',
              '  }',
              `  P.out0[r * ${D} + k] = static_cast<T>(a);`,
              '}',
            ]
          : [over(D, `A a = 0; for (int l = 0; l < V; ++l) a += s.l[k][l]; P.out0[r * ${D} + k] = static_cast<T>(a);`)],
        laneInit: (q) => [`VA a${q}[${D}];`, `std::memcpy(a${q}, S[${q}].l, sizeof a${q});`, ...(kahan ? [`VA c${q}[${D}];`, `std::memcpy(c${q}, S[${q}].c, sizeof c${q});`] : [])],
        foldLoop: (q, _F, comp) =>
          loopFold(D, comp(`F${q}`), [kahan ? `const VA y = ${this.cvA(`F${q}`)} - c${q}[k]; const VA t = a${q}[k] + y; c${q}[k] = (t - a${q}[k]) - y; a${q}[k] = t;` : `a${q}[k] += ${this.cvA(`F${q}`)};`]),
        laneEnd: (q) => [`std::memcpy(S[${q}].l, a${q}, sizeof a${q});`, ...(kahan ? [`std::memcpy(S[${q}].c, c${q}, sizeof c${q});`] : [])],
        neutral: this.lit(0),
      };
    }
    if (red.family === 'extremum') {
      const [sc, vec] = [this.syntax(false), this.syntax(true)];
      const start = red.max ? '(-std::numeric_limits<T>::infinity())' : 'std::numeric_limits<T>::infinity()';
      const fin = !red.writesValues ? `P.out0[r * ${D} + k] = s.i[k];` : !red.writesIndices ? `P.out0[r * ${D} + k] = s.m[k];` : `P.out0[r * ${D} + k] = s.m[k]; P.out1[r * ${D} + k] = s.i[k];`;
      return {
        ...common,
        st: [`T m[${D}];`, `int64_t i[${D}];`],
        stBytes: D * (sT + 8),
        laneVecs: 2 * D,
        init: [over(D, `s.m[k] = ${start}; s.i[k] = 0;`)],
        fin: [over(D, fin)],
        // lane values and positions (TILE = none yet)
        laneInit: (q) => [`VT m${q}[${D}];`, `VI p${q}[${D}];`, over(D, `m${q}[k] = bT(${start}); p${q}[k] = bI(TILE);`)],
        // the shared extremum update, lane-wise, with the tile positions as indices (as reduction())
        foldLoop: (q, _F, comp) => loopFold(D, comp(`F${q}`), printUpdate(vec, extremumUpdate(red, vec, `m${q}[k]`, `p${q}[k]`, `F${q}`, 'pos'))),
        // the tile's best over the lanes (first position on ties), then the update of the row's state
        laneEnd: (q) => {
          const lanes = printUpdate(sc, extremumUpdate(red, sc, 'bm', 'bp', 'v', 'p', true)).join(' ');
          const row = printUpdate(sc, extremumUpdate(red, sc, `S[${q}].m[k]`, red.writesIndices ? `S[${q}].i[k]` : null, 'bm', 'tl.J[bp]')).join(' ');
          return [over(D, `T bm = m${q}[k][0]; int bp = static_cast<int>(p${q}[k][0]); for (int l = 1; l < V; ++l) { const T v = m${q}[k][l]; const int p = static_cast<int>(p${q}[k][l]); ${lanes} } ${row}`)];
        },
        neutral: start,
        needJ: red.writesIndices,
        needPos: true,
      };
    }
    if (red.family === 'kmin') {
      // the states, init and finalisation of the unrolled form are loops already; only the fold differs
      const gen = this.reduction(false);
      return {
        ...gen,
        foldLoop: (q, _F, comp) =>
          loopFold(D, comp(`F${q}`), [`if (const uint32_t b = k_ltmask(F${q}, S[${q}].kv[${(red.K - 1) * D} + k]); __builtin_expect(b != 0, 0)) kmin_push(S[${q}].kv + k, S[${q}].ki + k, F${q}, tl.J + jb, b);`]),
      };
    }
    if (red.family === 'logsumexp') {
      // lseWeightTerms: 1 for the 'one+g' weights (sum 0 unweighted), then one sum per component of g
      const E = red.E;
      const off = lseWeightTerms(red, []).length;
      const W = off + E;
      const slots = lseOutputSlots(red);
      const first = slots[0]!.kind === 'max' ? [`P.out0[r * ${slots.length}] = static_cast<T>(m);`] : [];
      const rest = slots[first.length]!;
      const k0 = (rest as { k: number }).k;
      // slot k of the kind of the slots after the max: sum k, m + log(sum k) or sum k / sum 0 (the -1 marks k)
      const value = lseSlotValue({ ...rest, k: -1 } as typeof rest, { m: 'm', s: (k) => (k === -1 ? 'sm[k]' : `sm[${k}]`), log: (x) => `std::log(${x})` });
      const d = first.length - k0;
      // the states and their init of the unrolled form; the writes, lane states and fold as loops
      return {
        ...this.reduction(false),
        // merge the lanes in order (the sums in an array), then write the slots in a loop
        fin: [
          ...this.lseLaneMerge(W, true),
          ...first,
          `for (int k = ${k0}; k < ${W}; ++k) P.out0[r * ${slots.length} + k${d === 0 ? '' : d > 0 ? ` + ${d}` : ` - ${-d}`}] = static_cast<T>(${value});`,
        ],
        laneInit: (q) => [`VA m${q};`, `std::memcpy(&m${q}, S[${q}].m, sizeof(VA));`, `VA s${q}[${W}];`, `std::memcpy(s${q}, S[${q}].s, sizeof s${q});`],
        // the shared online update, lane-wise, with the sums of g's components in one loop over k (component
        // k of g computed at its start)
        foldLoop: (q, F, comp) => {
          const vec = this.syntax(true);
          const ones = lseWeightTerms(red, [], vec.one);
          const g = { k: 'k', n: E, s: `s${q}[k${off ? ' + 1' : ''}]`, w: 'w', head: [...comp(`G${q}`), `const VA w = ${this.cvA(`G${q}`)};`] };
          const u = lseUpdate(vec, `m${q}`, ones.map((_, k) => `s${q}[${k}]`), 'fv', ones, false, g);
          return [`{ const VA fv = ${this.cvA(F[0]!)};`, ...printUpdate(vec, u).map((l) => `  ${l}`), '}'];
        },
        laneEnd: (q) => [`std::memcpy(S[${q}].m, &m${q}, sizeof(VA));`, `std::memcpy(S[${q}].s, s${q}, sizeof s${q});`],
      };
    }
    throw new Error(`internal: no C++ for reduction ${red.name}`);
  }

  /** The C++ spelling of the shared accumulator updates (src/targets/common.ts): on scalars of the
   * accumulator type (the lane merges), or `lanes`-wise on vectors (the folds: selects per lane). */
  private syntax(lanes: boolean): Pick<CSyntax, 'inf' | 'one' | 'ne' | 'eq' | 'exp' | 'acc' | 'constant' | 'mask' | 'forHead'> {
    const decl = (n: string, e: string) => `const auto ${n} = ${e};`;
    const forHead = (k: string, n: number) => `for (int ${k} = 0; ${k} < ${n}; ++${k}) {`;
    return { inf: 'std::numeric_limits<A>::infinity()', one: 'A(1)', ne: '!=', eq: '==', exp: (x) => `k_exp(${x})`, acc: (e) => e, constant: decl, forHead, ...(lanes ? { mask: decl } : {}) };
  }

  /**
   * The log-sum-exp finalisation's merge of the V lanes of a row state `s` (m[V], s[W][V]) into `m` and
   * the sums (`sm<k>`, or with `loop` the array `sm[W]` updated in one loop over k), in lane order, by
   * the shared update's merge: a lane is a partial state (m2, its sums); one that saw only NaN terms
   * (m2 = -inf, sums NaN) still poisons the sums.
   */
  private lseLaneMerge(W: number, loop: boolean): string[] {
    const sc = this.syntax(false);
    const ws = Array.from({ length: W }, (_, k) => k);
    const NEG = '(-std::numeric_limits<A>::infinity())';
    const u = loop
      ? lseUpdate(sc, 'm', [], 'm2', [], true, { k: 'k', n: W, s: 'sm[k]', w: 's.s[k][l]' })
      : lseUpdate(sc, 'm', ws.map((k) => `sm${k}`), 'm2', ws.map((k) => `s.s[${k}][l]`), true);
    return [
      loop ? `A m = ${NEG}, sm[${W}] = {};` : `A m = ${NEG};${ws.map((k) => ` A sm${k} = 0;`).join('')}`,
      'for (int l = 0; l < V; ++l) {',
      '  const A m2 = s.m[l];',
      ...printUpdate(sc, u).map((l) => `  ${l}`),
      '}',
    ];
  }

  /** The reduction's pieces (see RedGen); with `loops` (the default), those of loopReduction for a plan
   * with a component loop. */
  private reduction(loops = true): RedGen {
    if (loops && (this.plan.fLoop || this.plan.gLoop)) return this.loopReduction();
    const { red } = this;
    const D = red.D;
    const ks = Array.from({ length: D }, (_, k) => k);
    const sT = this.f32 ? 4 : 8;
    const sA = this.A === 'float' ? 4 : 8;
    const V = this.V;
    const widen = this.accSame ? 1 : 2;
    if (red.family === 'sum') {
      const scheme = this.opts.sumScheme;
      if (scheme === 'block') {
        return {
          st: [`A a[${D}];`],
          stBytes: D * sA,
          laneVecs: D * widen,
          init: ks.map((k) => `s.a[${k}] = 0;`),
          fin: ks.map((k) => `P.out0[r * ${D} + ${k}] = static_cast<T>(s.a[${k}]);`),
          laneInit: (q) => ks.map((k) => `VA a${q}_${k} = {};`),
          fold: (q, F) => ks.map((k) => `a${q}_${k} += ${this.cvA(F[k]!)};`),
          // the tile's partial sum (lanes in order), merged into the row's sum: KeOps's block scheme
          laneEnd: (q) => ks.map((k) => `{ A b = a${q}_${k}[0]; for (int l = 1; l < V; ++l) b += a${q}_${k}[l]; S[${q}].a[${k}] += b; }`),
          neutral: this.lit(0),
          needJ: false,
          needPos: false,
        };
      }
      const kahan = scheme === 'kahan';
      const laneInit = (q: number) =>
        ks.flatMap((k) => [
          `VA a${q}_${k};`,
          `std::memcpy(&a${q}_${k}, S[${q}].l[${k}], sizeof(VA));`,
          ...(kahan ? [`VA c${q}_${k};`, `std::memcpy(&c${q}_${k}, S[${q}].c[${k}], sizeof(VA));`] : []),
        ]);
      const laneEnd = (q: number) =>
        ks.flatMap((k) => [`std::memcpy(S[${q}].l[${k}], &a${q}_${k}, sizeof(VA));`, ...(kahan ? [`std::memcpy(S[${q}].c[${k}], &c${q}_${k}, sizeof(VA));`] : [])]);
      const fold = (q: number, F: string[]) =>
        ks.map((k) =>
          kahan
            ? `{ const VA y = ${this.cvA(F[k]!)} - c${q}_${k}; const VA t = a${q}_${k} + y; c${q}_${k} = (t - a${q}_${k}) - y; a${q}_${k} = t; }`
            : `a${q}_${k} += ${this.cvA(F[k]!)};`,
        );
      // finalisation: the lanes in order (Kahan: compensated, each lane contributing sum - compensation)
      const fin = kahan
        ? ks.flatMap((k) => [
            `{ A a = 0, c = 0;`,
            `  for (int l = 0; l < V; ++l) {`,
            `    const A xs[2] = {s.l[${k}][l], -s.c[${k}][l]};`,
            `    for (const A x : xs) { const A y = x - c; const A t = a + y; c = (t - a) - y; a = t; }`,
            `  }`,
            `  P.out0[r * ${D} + ${k}] = static_cast<T>(a); }`,
          ])
        : ks.map((k) => `{ A a = 0; for (int l = 0; l < V; ++l) a += s.l[${k}][l]; P.out0[r * ${D} + ${k}] = static_cast<T>(a); }`);
      return {
        st: [`alignas(64) A l[${D}][V];`, ...(kahan ? [`alignas(64) A c[${D}][V];`] : [])],
        stBytes: D * V * sA * (kahan ? 2 : 1),
        laneVecs: D * widen * (kahan ? 2 : 1),
        init: [`for (int k = 0; k < ${D}; ++k) for (int l = 0; l < V; ++l) { s.l[k][l] = 0;${kahan ? ' s.c[k][l] = 0;' : ''} }`],
        fin,
        laneInit,
        fold,
        laneEnd,
        neutral: this.lit(0),
        needJ: false,
        needPos: false,
      };
    }
    if (red.family === 'extremum') {
      const [sc, vec] = [this.syntax(false), this.syntax(true)];
      const start = red.max ? '(-std::numeric_limits<T>::infinity())' : 'std::numeric_limits<T>::infinity()';
      const withIdx = red.writesIndices;
      const fin = ks.flatMap((k) => {
        if (!red.writesValues) return [`P.out0[r * ${D} + ${k}] = s.i[${k}];`];
        if (!red.writesIndices) return [`P.out0[r * ${D} + ${k}] = s.m[${k}];`];
        return [`P.out0[r * ${D} + ${k}] = s.m[${k}];`, `P.out1[r * ${D} + ${k}] = s.i[${k}];`];
      });
      return {
        st: [`T m[${D}];`, `int64_t i[${D}];`],
        stBytes: D * (sT + 8),
        laneVecs: 2 * D,
        init: [`for (int k = 0; k < ${D}; ++k) { s.m[k] = ${start}; s.i[k] = 0; }`],
        fin,
        // lane values and positions (TILE = none yet)
        laneInit: (q) => ks.flatMap((k) => [`VT m${q}_${k} = bT(${start});`, `VI p${q}_${k} = bI(TILE);`]),
        // the shared extremum update, lane-wise, with the tile positions as indices
        fold: (q, F) => ks.flatMap((k) => printUpdate(vec, extremumUpdate(red, vec, `m${q}_${k}`, `p${q}_${k}`, F[k]!, 'pos'))),
        // the tile's best over the lanes (the merge: first position on ties), then the update of the row's
        // state from the earlier tiles (strict)
        laneEnd: (q) =>
          ks.map((k) => {
            const lanes = printUpdate(sc, extremumUpdate(red, sc, 'bm', 'bp', 'v', 'p', true)).join(' ');
            const row = printUpdate(sc, extremumUpdate(red, sc, `S[${q}].m[${k}]`, withIdx ? `S[${q}].i[${k}]` : null, 'bm', 'tl.J[bp]')).join(' ');
            return `{ T bm = m${q}_${k}[0]; int bp = static_cast<int>(p${q}_${k}[0]); for (int l = 1; l < V; ++l) { const T v = m${q}_${k}[l]; const int p = static_cast<int>(p${q}_${k}[l]); ${lanes} } ${row} }`;
          }),
        neutral: start,
        needJ: withIdx,
        needPos: true,
      };
    }
    if (red.family === 'kmin') {
      const K = red.K;
      const w = K * D;
      const fin =
        !red.writesIndices
          ? [`for (int q = 0; q < ${w}; ++q) P.out0[r * ${w} + q] = s.kv[q];`]
          : !red.writesValues
            ? [`for (int q = 0; q < ${w}; ++q) P.out0[r * ${w} + q] = s.ki[q];`]
            : [`for (int q = 0; q < ${w}; ++q) { P.out0[r * ${w} + q] = s.kv[q]; P.out1[r * ${w} + q] = s.ki[q]; }`];
      return {
        st: [`T kv[${w}];`, `int64_t ki[${w}];`],
        stBytes: w * (sT + 8),
        laneVecs: 0,
        init: [`for (int q = 0; q < ${w}; ++q) { s.kv[q] = std::numeric_limits<T>::infinity(); s.ki[q] = 0; }`],
        fin,
        laneInit: () => [],
        // a vector compare with the current K-th value gives the bit mask of the candidate lanes (rare after
        // the first tiles); only those are inserted, scalar and in lane order
        fold: (q, F) => ks.map((k) => `if (const uint32_t b = k_ltmask(${F[k]}, S[${q}].kv[${(K - 1) * D + k}]); __builtin_expect(b != 0, 0)) kmin_push(S[${q}].kv + ${k}, S[${q}].ki + ${k}, ${F[k]}, tl.J + jb, b);`),
        laneEnd: () => [],
        neutral: 'std::numeric_limits<T>::infinity()',
        needJ: true,
        needPos: false,
      };
    }
    if (red.family === 'logsumexp') {
      const vec = this.syntax(true);
      const W = lseWeightTerms(red, Array.from({ length: red.E }, () => '')).length;
      const ws = Array.from({ length: W }, (_, k) => k);
      const NEG = '(-std::numeric_limits<A>::infinity())';
      const slots = lseOutputSlots(red);
      const fin = slots.map((slot, c) => `P.out0[r * ${slots.length} + ${c}] = static_cast<T>(${lseSlotValue(slot, { m: 'm', s: (k) => `sm${k}`, log: (x) => `std::log(${x})` })});`);
      return {
        st: ['alignas(64) A m[V];', `alignas(64) A s[${W}][V];`],
        stBytes: (1 + W) * V * sA,
        laneVecs: (1 + W) * widen,
        init: [`for (int l = 0; l < V; ++l) { s.m[l] = ${NEG}; for (int k = 0; k < ${W}; ++k) s.s[k][l] = 0; }`],
        // the lanes merged in order by the shared update
        fin: [...this.lseLaneMerge(W, false), ...fin],
        laneInit: (q) => [`VA m${q};`, `std::memcpy(&m${q}, S[${q}].m, sizeof(VA));`, ...ws.flatMap((k) => [`VA s${q}_${k};`, `std::memcpy(&s${q}_${k}, S[${q}].s[${k}], sizeof(VA));`])],
        // the shared online update, lane-wise (one exp per lane)
        fold: (q, F, G) => [
          `{ const VA fv = ${this.cvA(F[0]!)};${G.map((g, k) => ` const VA g${k} = ${this.cvA(g)};`).join('')}`,
          ...printUpdate(vec, lseUpdate(vec, `m${q}`, ws.map((k) => `s${q}_${k}`), 'fv', lseWeightTerms(red, G.map((_, k) => `g${k}`), vec.one))).map((l) => `  ${l}`),
          '}',
        ],
        laneEnd: (q) => [`std::memcpy(S[${q}].m, &m${q}, sizeof(VA));`, ...ws.map((k) => `std::memcpy(S[${q}].s[${k}], &s${q}_${k}, sizeof(VA));`)],
        neutral: '(-std::numeric_limits<T>::infinity())',
        needJ: false,
        needPos: false,
      };
    }
    throw new Error(`internal: no C++ for reduction ${red.name}`);
  }
}
