import { lseOutputSlots, lseWeightTerms, planLoops, unrolledPlan, type KernelPlan, type ReductionPlan } from '../lower/plan.js';
import { blockLoopLines, bodyLines, extremumAccumulator, extremumUpdate, INFIX, kminAccumulator, kminInsert, loopLines, lseAccumulator, lseUpdate, printUpdate, scalarRef, scalarStatement, type AccumulatorLines, type CodeOptions, type CSyntax, type LoopSyntax, type Spellings } from './common.js';
import { bodyStatements, type ScalarFn, type SExpr } from '../lower/scalar.js';
import { DEP_I, DEP_J } from '../ir/types.js';

/** @deprecated the code options are target-neutral: use {@link CodeOptions}. */
export type JsCodeOptions = CodeOptions;

/**
 * The JS target: prints a kernel plan as the body of a factory that returns
 * `kernel(A, O, M, N, r0, r1, R)`, computing output rows [r0, r1):
 * - `A[index]` is the typed array of input variable `index` (row-major);
 * - `O[0]` receives the values (or the indices of Arg reductions), `O[1]` the indices of
 *   two-output reductions; index outputs are Float64Arrays holding integers;
 * - `R` is null (dense) or `{ out, slices, red }`, the ranges triplet of the kernel's tag.
 * The source is self-contained (no closure), so worker threads compile it too.
 */
export function printJs(plan: KernelPlan, opts: CodeOptions): string {
  return new JsPrinter(planLoops(plan).longest <= JS_UNROLL_MAX ? unrolledPlan(plan) : plan, opts).print();
}

/**
 * The JS target prints loops (sums over components and vector results) once one has more than this many
 * components, and unrolls shorter ones: at D = 64 the unrolled Gaussian sum with its row blocks runs
 * about twice as fast as the loop in V8, while at D = 128 the unrolled function is too large for
 * V8's optimising compiler and runs ten times slower than the loop (one thread, measured 2026-12).
 */
export const JS_UNROLL_MAX = 64;

/** C round and C pow, as in src/ir/ops/util.ts (the reference semantics). */
const PRELUDE = `function cRound(x) {
  if (!Number.isFinite(x)) return x;
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}
function cPow(x, y) {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}`;

/**
 * exp for float32 kernels (`tExp`): a table-driven exp in float64 (x = (64n + j) ln2/64 + r, |r| <=
 * ln2/128, Cody-Waite reduction, 2^(j/64) from a table, a degree-6 polynomial), within 2 ulp of Math.exp
 * on [-708, 709] and Math.exp itself outside (NaN, infinities, overflow, subnormal results). A float32
 * kernel rounds each term to float32 (24 bits), so the terms are those of Math.exp except in the rare
 * case where the double lies within 2 ulp of a float32 rounding boundary (none in 1e7 samples on
 * [-20, 0]: test/js-target.test.ts). It is inlined by the JIT, where Math.exp is a call that spills
 * every live register; float64 kernels keep Math.exp.
 */
export const JS_EXP_PRELUDE = `const EXP_T = new Float64Array(64), EXP_P = new Float64Array(2046);
for (let k = 0; k < 64; k++) EXP_T[k] = Math.pow(2, k / 64);
for (let k = 0; k < 2046; k++) EXP_P[k] = Math.pow(2, k - 1022);
function tExp(x) {
  if (!(x > -708 && x < 709)) return Math.exp(x);
  const kf = x * 92.33248261689366 + 6755399441055744 - 6755399441055744;
  const k = kf | 0;
  const r = x - kf * 0.01083042469326756 - kf * 2.9815858269852933e-12;
  const q = r * (1 + r * (0.5 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720))))));
  const t = EXP_T[k & 63];
  return (t + t * q) * EXP_P[(k >> 6) + 1022];
}`;

/** The JS spelling of each scalar function (Math.*; cRound/cPow are the C semantics, see scalar.ts). */
const JS_SPELLINGS: Spellings = {
  ...INFIX,
  exp: (a) => `Math.exp(${a[0]})`,
  log: (a) => `Math.log(${a[0]})`,
  sin: (a) => `Math.sin(${a[0]})`,
  cos: (a) => `Math.cos(${a[0]})`,
  asin: (a) => `Math.asin(${a[0]})`,
  acos: (a) => `Math.acos(${a[0]})`,
  atan: (a) => `Math.atan(${a[0]})`,
  sqrt: (a) => `Math.sqrt(${a[0]})`,
  abs: (a) => `Math.abs(${a[0]})`,
  floor: (a) => `Math.floor(${a[0]})`,
  atan2: (a) => `Math.atan2(${a[0]}, ${a[1]})`,
  rsqrt: (a) => `(${a[0]} === 0 ? 0 : 1 / Math.sqrt(${a[0]}))`,
  round: (a) => `cRound(${a[0]})`,
  pow: (a) => `cPow(${a[0]}, ${a[1]})`,
  lt: (a) => `(${a[0]} < ${a[1]} ? 1 : 0)`,
  le: (a) => `(${a[0]} <= ${a[1]} ? 1 : 0)`,
  eq: (a) => `(${a[0]} === ${a[1]} ? 1 : 0)`,
  ne: (a) => `(${a[0]} !== ${a[1]} ? 1 : 0)`,
  select: (a) => `(${a[0]} !== 0 ? ${a[1]} : ${a[2]})`,
};

/** Output rows per block of the JS target's dense loop at most (see JsPrinter.blockRows). */
const JS_ROW_BLOCK = 8;
/** The row-dependent values (loads, accumulators) that a block of rows may keep in registers. */
const JS_ROW_REGISTERS = 40;

/** The head of a JS loop over k in [0, n) (the loops of the scalar IR and the shared updates' array sets). */
const jsForHead = (k: string, n: number) => `for (let ${k} = 0; ${k} < ${n}; ${k}++) {`;

class JsPrinter {
  private readonly f32: boolean;
  private readonly red: ReductionPlan;
  /** The spellings of this kernel: float32 kernels spell exp `tExp` (see JS_EXP_PRELUDE). */
  private readonly spell: Spellings;
  /** Whether the printed code calls tExp (then the source starts with JS_EXP_PRELUDE). */
  private usesExp = false;
  constructor(
    private readonly plan: KernelPlan,
    private readonly opts: CodeOptions,
  ) {
    this.f32 = opts.dtype === 'float32';
    this.red = plan.reduction;
    this.spell = this.f32 ? { ...JS_SPELLINGS, exp: (a) => this.tExp(a[0]!) } : JS_SPELLINGS;
  }

  /** A call of tExp (float32 kernels), noting that the source needs JS_EXP_PRELUDE. */
  private tExp(x: string): string {
    this.usesExp = true;
    return `tExp(${x})`;
  }

  /** Round an accumulator value. */
  private FA(e: string): string {
    return this.f32 && this.opts.accDtype === 'float32' ? `Math.fround(${e})` : e;
  }

  private lit(v: number): string {
    const x = this.f32 ? Math.fround(v) : v;
    if (Number.isNaN(x)) return 'NaN';
    if (x === Infinity) return 'Infinity';
    if (x === -Infinity) return '-Infinity';
    if (Object.is(x, -0)) return '-0';
    return x < 0 ? `(${x})` : String(x);
  }

  /** The name (or literal) of a scalar node. */
  private ref(n: SExpr): string {
    return scalarRef(n, (v) => this.lit(v));
  }

  /** A statement as lines: one `const`, or a `loop` (a sum over components) as a for loop. */
  private stmt(n: SExpr): string[] {
    if (n.fn === 'loop') return loopLines(n, this.ref(n), this.loopSyntax((x) => this.ref(x), 'r'));
    return [scalarStatement(n, (v) => this.lit(v), this.spell, (t, e) => `const ${t} = ${e};`)];
  }

  /** JS's spelling of loops (src/targets/common.ts): nodes outside the body named by `ref`, lanes of
   * the output row's variables read at row `row`, of the reduction side at `s`, of parameters directly. */
  private loopSyntax(ref: (n: SExpr) => string, row: string): LoopSyntax {
    const dims = new Map(this.plan.kernel.args.map((a) => [a.index, a.dim]));
    const redBit = this.plan.tag === 0 ? DEP_J : DEP_I;
    return {
      mutable: (name, init) => `let ${name} = ${init};`,
      constant: (name, e) => `const ${name} = ${e};`,
      forHead: jsForHead,
      zero: '0',
      spell: this.spell,
      ref,
      lane: (n, k) => {
        const { index, comp } = n.input!;
        const at = `${comp ? `${comp} + ` : ''}${k}`;
        if (n.input!.cat === 2) return `A${index}[${at}]`;
        return `A${index}[${n.deps & redBit ? 's' : row} * ${dims.get(index)!} + ${at}]`;
      },
      prefix: 'u',
      unroll: 4,
    };
  }

  /** Load statements for the input components of a stage, reading row `idx`. */
  private loads(stage: 'param' | 'outer' | 'inner', idx: string, sfx = ''): string[] {
    const dims = new Map(this.plan.kernel.args.map((a) => [a.index, a.dim]));
    return this.plan.loads[stage].map((n) => {
      const { index, comp } = n.input!;
      const d = dims.get(index)!;
      const at = stage === 'param' ? `${comp}` : d === 1 ? idx : `${idx} * ${d} + ${comp}`;
      return `const x${index}_${comp}${sfx} = A${index}[${at}];`;
    });
  }

  print(): string {
    const { plan, red } = this;
    const bodies = [...[...plan.stmts.param, ...plan.stmts.outer, ...plan.stmts.inner].filter((n) => n.fn === 'loop').map((n) => n.loop!.body), ...[plan.fLoop, plan.gLoop].flatMap((c) => (c ? [c.body] : []))];
    const lanes = bodies.flatMap((b) => bodyStatements(b).filter((x) => x.fn === 'lane'));
    const used = [...new Set([...plan.loads.param, ...plan.loads.outer, ...plan.loads.inner, ...lanes].map((n) => n.input!.index))].sort((a, b) => a - b);
    // float32 kernels compute each term in float64 and round it to float32 before the reduction
    const rounded = (xs: SExpr[], p: string) => xs.map((x, k) => (this.f32 && x.fn !== 'const' ? { name: `${p}${k}`, line: `const ${p}${k} = Math.fround(${this.ref(x)});` } : { name: this.ref(x), line: '' }));
    const fr = rounded(plan.f, 'f');
    const gr = rounded(plan.g, 'g');
    const acc = plan.fLoop || plan.gLoop
      ? this.loopAccumulator(fr.map((x) => x.name))
      : this.accumulator(
          fr.map((x) => x.name),
          gr.map((x) => x.name),
        );
    // with a component loop, the loop computes (and rounds) the components
    const roundLines = [...(plan.fLoop ? [] : fr), ...(plan.gLoop ? [] : gr)].map((x) => x.line).filter(Boolean);
    const body = (sFrom: string, sTo: string): string[] => {
      const fold = (into: 'acc' | 'tmp') => [...this.loads('inner', 's'), ...plan.stmts.inner.flatMap((n) => this.stmt(n)), ...roundLines, ...acc.fold(into)];
      if (acc.block) {
        return [
          `for (let s0 = ${sFrom}; s0 < ${sTo}; s0 += P) {`,
          `  const s1 = Math.min(${sTo}, s0 + P);`,
          ...acc.initTmp.map((l) => `  ${l}`),
          `  for (let s = s0; s < s1; s++) {`,
          ...fold('tmp').map((l) => `    ${l}`),
          '  }',
          ...acc.merge.map((l) => `  ${l}`),
          '}',
        ];
      }
      return [`for (let s = ${sFrom}; s < ${sTo}; s++) {`, ...fold('acc').map((l) => `  ${l}`), '}'];
    };
    const row = (inner: string[]): string[] => [
      ...this.loads('outer', 'r'),
      ...plan.stmts.outer.flatMap((n) => this.stmt(n)),
      ...acc.init,
      ...inner,
      ...acc.finalize,
    ];
    const indent = (ls: string[], n: number) => ls.map((l) => `${' '.repeat(n)}${l}`);
    const blocked = this.rowBlock();
    const ranged = ['for (let l = la; l < lb; l++) {', '  const sa = Rred[2 * l], sb = Rred[2 * l + 1];', '  SPAN sa sb', '}'];
    const NR = plan.tag === 0 ? 'N' : 'M';
    const lines: string[] = [
      '"use strict";',
      PRELUDE,
      `// kernel ${plan.kernel.name}: ${red.name}_Reduction, tag ${plan.tag}, ${this.opts.dtype}, sum scheme ${this.opts.sumScheme}, accumulator ${this.opts.accDtype}`,
      'return function kernel(A, O, M, N, r0, r1, R) {',
      ...used.map((i) => `  const A${i} = A[${i}];`),
      '  const O0 = O[0], O1 = O[1];',
      `  const NR = ${NR};`,
      '  const P = NR < 10 ? 100 : Math.floor(Math.sqrt(NR));',
      ...indent(acc.decl, 2),
    ];
    if (plan.zero) {
      lines.push(`  O0.fill(0, r0 * ${red.D}, r1 * ${red.D});`, '};');
      return lines.join('\n');
    }
    lines.push(
      ...indent(this.loads('param', '0'), 2),
      ...indent(plan.stmts.param.flatMap((n) => this.stmt(n)), 2),
      ...indent(blocked.decl, 2),
      '  if (R === null) {',
      '    let r = r0;',
      ...indent(blocked.loop('r1', ['SPAN 0 NR']), 4),
      '    for (; r < r1; r++) {',
      ...indent(row(body('0', 'NR')), 6),
      '    }',
      '    return;',
      '  }',
      '  const Rout = R.out, Rsl = R.slices, Rred = R.red;',
      '  // rows that no range covers get the neutral value',
      '  for (let r = r0; r < r1; r++) {',
      ...indent([...acc.init, ...acc.finalize], 4),
      '  }',
      '  const nc = Rout.length >> 1;',
      '  for (let c = 0; c < nc; c++) {',
      '    const ra = Math.max(Rout[2 * c], r0), rb = Math.min(Rout[2 * c + 1], r1);',
      '    if (ra >= rb) continue;',
      '    const la = c === 0 ? 0 : Rsl[c - 1], lb = Rsl[c];',
      '    let r = ra;',
      ...indent(blocked.loop('rb', ranged), 4),
      '    for (; r < rb; r++) {',
      ...indent(row(expandSpans(ranged, body)), 6),
      '    }',
      '  }',
      '};',
    );
    if (this.usesExp) lines.splice(2, 0, JS_EXP_PRELUDE);
    return lines.join('\n');
  }

  /**
   * Rows per block of the dense loop (see {@link rowBlock}), from measurements on Gaussian, SqDist,
   * Min_ArgMin, ArgKMin and LogSumExp kernels (D = 3): {@link JS_ROW_BLOCK} when the pair loop calls
   * library functions such as Math.exp (each call spills the registers; more rows spread the cost) or
   * none (1.4-1.5x the one-row loop); 2 when the pair formula inlines tExp (its code takes the registers
   * that more rows would need; 2x); none (1) for a float32 log-sum-exp update, whose tExp sits in
   * branches, where blocks gained nothing; fewer rows when their own values (loads, accumulators) would
   * not fit in registers, and none for wide rows or a vector-valued result printed as a component loop
   * (plan.fLoop / plan.gLoop: its array states take the one-row loop).
   */
  private blockRows(): number {
    const { plan, red } = this;
    if (plan.fLoop || plan.gLoop) return 1;
    if (this.f32 && red.family === 'logsumexp' && this.opts.accDtype === 'float32') return 1;
    const inlinedExp = this.f32 && plan.stmts.inner.some((n) => n.fn === 'exp' || (n.fn === 'loop' && bodyStatements(n.loop!.body).some((x) => x.fn === 'exp')));
    const state = red.family === 'sum' || red.family === 'extremum' ? 2 * red.D : red.family === 'kmin' ? 2 : 1 + lseWeightTerms(red, new Array<string>(red.E).fill('')).length;
    const perRow = plan.loads.outer.length + plan.stmts.outer.length + state;
    return Math.min(inlinedExp ? 2 : JS_ROW_BLOCK, Math.floor(JS_ROW_REGISTERS / perRow));
  }

  /**
   * The loop over blocks of {@link blockRows} rows (every reduction family), dense or over the
   * reduction intervals of a range: each reduction-side value is loaded and computed once for the rows
   * of the block, and each row keeps its own accumulator (names suffixed `_q`, declared once by
   * `decl`), so every row folds the same terms in the same order as the one-row loop that takes the
   * remaining rows, and gets the same value. `loop(end, reduce)` takes rows from `r` while a whole
   * block fits below `end`; `reduce` holds the loop over the reduction index, where a line
   * `SPAN from to` stands for the loop over [from, to).
   */
  private rowBlock(): { decl: string[]; loop: (end: string, reduce: string[]) => string[] } {
    const { plan } = this;
    const nb = this.blockRows();
    if (nb < 2) return { decl: [], loop: () => [] };
    const qs = Array.from({ length: nb }, (_, q) => q);
    // the values that depend on the output row: its loads, and what is computed from them
    const dep = new Set<SExpr>([...plan.loads.outer, ...plan.stmts.outer]);
    const rowBit = plan.tag === 0 ? DEP_I : DEP_J; // a loop's lanes are not among its args
    for (const n of plan.stmts.inner) if (n.args.some((x) => dep.has(x)) || (n.fn === 'loop' && n.deps & rowBit)) dep.add(n);
    const name = (n: SExpr, q: number) => (dep.has(n) ? `${this.ref(n)}_${q}` : this.ref(n));
    const stmt = (n: SExpr, q: number): string[] => {
      if (n.fn === 'loop') return loopLines(n, name(n, q), this.loopSyntax((x) => name(x, q), `(r + ${q})`));
      const a = n.args.map((x) => name(x, q));
      return [`const ${name(n, q)} = ${this.spell[n.fn as ScalarFn](a, a)};`];
    };
    // float32 kernels round each term to float32 (as in print)
    const terms = (xs: SExpr[], p: string, q: number) => xs.map((x, k) => (this.f32 && x.fn !== 'const' ? { name: `${p}${k}_${q}`, line: `const ${p}${k}_${q} = Math.fround(${name(x, q)});` } : { name: name(x, q), line: '' }));
    const fg = qs.map((q) => [...terms(plan.f, 'f', q), ...terms(plan.g, 'g', q)]);
    const accs = qs.map((q) => this.accumulator(fg[q]!.slice(0, plan.f.length).map((t) => t.name), fg[q]!.slice(plan.f.length).map((t) => t.name), `_${q}`, `(r + ${q})`));
    const all = (pick: (q: number) => string[]) => qs.flatMap(pick);
    const depStmts = plan.stmts.inner.filter((n) => dep.has(n));
    const termLines = (q: number) => [...fg[q]!.map((t) => t.line).filter(Boolean), ...accs[q]!.fold('tmp')];
    // a loop that depends on the row is one loop for the rows of the block (sharing its reduction-side
    // loads); then the row-dependent statements are printed statement by statement
    const loopSyntaxes = qs.map((q) => this.loopSyntax((x) => name(x, q), `(r + ${q})`));
    const rowStmts = depStmts.some((n) => n.fn === 'loop')
      ? [...depStmts.flatMap((n) => (n.fn === 'loop' ? blockLoopLines(n, qs.map((q) => name(n, q)), loopSyntaxes, (x) => (x.deps & rowBit) !== 0) : all((q) => stmt(n, q)))), ...all(termLines)]
      : all((q) => [...depStmts.flatMap((n) => stmt(n, q)), ...termLines(q)]);
    const fold = [...this.loads('inner', 's'), ...plan.stmts.inner.filter((n) => !dep.has(n)).flatMap((n) => stmt(n, 0)), ...rowStmts];
    const span = (from: string, to: string) =>
      accs[0]!.block
        ? [`for (let s0 = ${from}; s0 < ${to}; s0 += P) {`, `  const s1 = Math.min(${to}, s0 + P);`, ...all((q) => accs[q]!.initTmp).map((l) => `  ${l}`), '  for (let s = s0; s < s1; s++) {', ...fold.map((l) => `    ${l}`), '  }', ...all((q) => accs[q]!.merge).map((l) => `  ${l}`), '}']
        : [`for (let s = ${from}; s < ${to}; s++) {`, ...fold.map((l) => `  ${l}`), '}'];
    return {
      decl: [`// blocks of ${nb} rows share the reduction-side loads and values`, ...all((q) => accs[q]!.decl)],
      loop: (end, reduce) => [
        `for (; r + ${nb} <= ${end}; r += ${nb}) {`,
        ...all((q) => [...this.loads('outer', `(r + ${q})`, `_${q}`), ...plan.stmts.outer.flatMap((n) => stmt(n, q))]).map((l) => `  ${l}`),
        ...all((q) => accs[q]!.init).map((l) => `  ${l}`),
        ...expandSpans(reduce, span).map((l) => `  ${l}`),
        ...all((q) => accs[q]!.finalize).map((l) => `  ${l}`),
        '}',
      ],
    };
  }

  /** JS's spelling of the shared accumulators (src/targets/common.ts) for output row `row`: indices are
   * kept as floats. */
  private syntax(row = 'r'): CSyntax {
    const { red } = this;
    return {
      inf: 'Infinity',
      zero: '0',
      one: '1',
      ne: '!==',
      eq: '===',
      exp: (x) => (this.f32 && this.opts.accDtype === 'float32' ? this.tExp(x) : `Math.exp(${x})`),
      log: (x) => `Math.log(${x})`,
      acc: (e) => this.FA(e),
      float: (n, init) => `let ${n} = ${init};`,
      index: (n, init) => `let ${n} = ${init};`,
      constant: (n, e) => `const ${n} = ${e};`,
      floats: (n, len) => `const ${n} = new Float64Array(${len});`,
      indices: (n, len) => `const ${n} = new Float64Array(${len});`,
      int: (n) => `${n}`,
      counter: (n, init) => `let ${n} = ${init};`,
      decrement: (n) => `${n}--;`,
      loop: (q, len, body) => `for (let ${q} = 0; ${q} < ${len}; ${q}++) { ${body} }`,
      forHead: jsForHead,
      // the values are O0; the indices are O1 after values, else O0
      out: (which, w, col) => `O${which === 'indices' && red.writesValues ? 1 : 0}[${row} * ${w} + ${col}]`,
      used: () => '',
    };
  }

  /**
   * The accumulator of a plan with a component loop (plan.fLoop: Sum, extremum and KMin families;
   * plan.gLoop: the log-sum-exp family, whose scalar f is `fv[0]`): array states, folded and written by
   * loops over the components, computing what {@link accumulator} computes component by component.
   */
  private loopAccumulator(fv: string[]): ReturnType<JsPrinter['accumulator']> {
    const { plan, red } = this;
    const S = this.syntax();
    const FA = (e: string) => this.FA(e);
    const none = { block: false, initTmp: [] as string[], merge: [] as string[] };
    const loop = (plan.fLoop ?? plan.gLoop)!;
    const n = loop.n;
    const over = (body: string[]) => [jsForHead('k', n), ...body.map((l) => `  ${l}`), '}'];
    // the loop over the components: the body at k, rounded to float32 for float32 data, as `fk`
    const head = () => {
      const { lines, root } = bodyLines(loop.body, 'k', this.loopSyntax((x) => this.ref(x), 'r'));
      return [...lines, `const fk = ${this.f32 ? `Math.fround(${root})` : root};`];
    };
    const component = (fold: string[]) => over([...head(), ...fold]);
    switch (red.family) {
      case 'sum': {
        // acc, comp, part: the sums, Kahan compensations and block partial sums (not sa/sb: the ranges' bounds)
        const scheme = this.opts.sumScheme;
        const decl = [`const acc = new Float64Array(${n})${scheme === 'kahan' ? `, comp = new Float64Array(${n})` : ''}${scheme === 'block' ? `, part = new Float64Array(${n})` : ''};`];
        const init = [`acc.fill(0);${scheme === 'kahan' ? ' comp.fill(0);' : ''}`];
        const finalize = over([`O0[r * ${n} + k] = acc[k];`]);
        if (scheme === 'kahan') return { decl, init, fold: () => component([`const y = ${FA('fk - comp[k]')}; const t = ${FA('acc[k] + y')}; comp[k] = ${FA(`${FA('t - acc[k]')} - y`)}; acc[k] = t;`]), finalize, ...none };
        if (scheme === 'block') return { decl, init, fold: () => component([`part[k] = ${FA('part[k] + fk')};`]), finalize, block: true, initTmp: ['part.fill(0);'], merge: over([`acc[k] = ${FA('acc[k] + part[k]')};`]) };
        return { decl, init, fold: () => component([`acc[k] = ${FA('acc[k] + fk')};`]), finalize, ...none };
      }
      case 'extremum': {
        const start = red.max ? '-Infinity' : 'Infinity';
        return {
          decl: [`const em = new Float64Array(${n}), ei = new Float64Array(${n});`],
          init: [`em.fill(${start}); ei.fill(0);`],
          fold: () => component(printUpdate(S, extremumUpdate(red, S, 'em[k]', 'ei[k]', 'fk', 's'))),
          finalize: over([...(red.writesValues ? [`${S.out('values', n, 'k')} = em[k];`] : []), ...(red.writesIndices ? [`${S.out('indices', n, 'k')} = ei[k];`] : [])]),
          ...none,
        };
      }
      case 'kmin': {
        // the states, reset and writes of kminAccumulator; the insertion of component k in a loop
        const lines = kminAccumulator(red, [], S);
        return { decl: lines.decl, init: lines.reset, fold: () => component([kminInsert(S, red.K, n, 'fk', 's', 'kv', 'ki', 'k')]), finalize: lines.finalize, ...none };
      }
      case 'logsumexp':
        break;
    }
    // the log-sum-exp family with a weight g of n components: lseAccumulator's states with the sums in
    // `ls` (ls[0] the unweighted one for the 'one+g' weights, then one per component of g), folded by the
    // shared update with the sums of g's components in one loop over k (component k of g computed in it)
    const f = fv[0]!;
    const ones = lseWeightTerms(red, [], S.one); // ['1'] for 'one+g', [] for 'g'
    const off = ones.length;
    const W = off + n;
    const slots = lseOutputSlots(red);
    const value = (slot: (typeof slots)[number], k: string) => (slot.kind === 'max' ? 'm' : slot.kind === 'sum' ? `ls[${k}]` : slot.kind === 'logsum' ? `m + Math.log(ls[${k}])` : `ls[${k}] / ls[0]`);
    const first = slots[0]!.kind === 'max' ? [`${S.out('values', slots.length, '0')} = m;`] : [];
    const rest = slots.slice(first.length);
    const k0 = (rest[0] as { k: number }).k;
    // output column c + first.length holds sum k0 + c
    const d = first.length - k0;
    const finalize = [...first, `for (let k = ${k0}; k < ${W}; k++) ${S.out('values', slots.length, d === 0 ? 'k' : d > 0 ? `k + ${d}` : `k - ${-d}`)} = ${value(rest[0]!, 'k')};`];
    const g = { k: 'k', n, s: `ls[${off ? 'k + 1' : 'k'}]`, w: 'fk', head: head() };
    return {
      decl: [`let m = -Infinity; const ls = new Float64Array(${W});`],
      init: ['m = -Infinity; ls.fill(0);'],
      fold: () => printUpdate(S, lseUpdate(S, 'm', ones.map((_, k) => `ls[${k}]`), f, ones, false, g)),
      finalize,
      ...none,
    };
  }

  /** Init / fold / merge / finalise of the reduction, as JS lines. */
  private accumulator(f: string[], g: string[], sfx = '', row = 'r'): { decl: string[]; init: string[]; fold: (into: 'acc' | 'tmp') => string[]; block: boolean; initTmp: string[]; merge: string[]; finalize: string[] } {
    const { red } = this;
    const D = red.D;
    const ks = Array.from({ length: D }, (_, k) => k);
    const FA = (e: string) => this.FA(e);
    const none = { block: false, initTmp: [] as string[], merge: [] as string[] };
    switch (red.family) {
      case 'sum': {
        const scheme = this.opts.sumScheme;
        // a, c, b: the sums, Kahan compensations and block partial sums (suffixed per row of a row block)
        const [a, c, b] = ['a', 'c', 'b'].map((v) => (k: number) => `${v}${k}${sfx}`) as [(k: number) => string, (k: number) => string, (k: number) => string];
        const decl = ks.map((k) => `let ${a(k)} = 0${scheme === 'kahan' ? `, ${c(k)} = 0` : ''}${scheme === 'block' ? `, ${b(k)} = 0` : ''};`);
        const init = ks.map((k) => `${a(k)} = 0;${scheme === 'kahan' ? ` ${c(k)} = 0;` : ''}`);
        const finalize = ks.map((k) => `O0[${row} * ${D} + ${k}] = ${a(k)};`);
        if (scheme === 'kahan') {
          const fold = () => ks.map((k) => `{ const y = ${FA(`${f[k]} - ${c(k)}`)}; const t = ${FA(`${a(k)} + y`)}; ${c(k)} = ${FA(`${FA(`t - ${a(k)}`)} - y`)}; ${a(k)} = t; }`);
          return { decl, init, fold, finalize, ...none };
        }
        if (scheme === 'block') {
          const fold = () => ks.map((k) => `${b(k)} = ${FA(`${b(k)} + ${f[k]}`)};`);
          return { decl, init, fold, finalize, block: true, initTmp: ks.map((k) => `${b(k)} = 0;`), merge: ks.map((k) => `${a(k)} = ${FA(`${a(k)} + ${b(k)}`)};`) };
        }
        return { decl, init, fold: () => ks.map((k) => `${a(k)} = ${FA(`${a(k)} + ${f[k]}`)};`), finalize, ...none };
      }
      case 'extremum':
      case 'kmin': {
        const lines = suffixed((red.family === 'extremum' ? extremumAccumulator : kminAccumulator)(red, f, this.syntax(row)), sfx);
        return { decl: lines.decl, init: lines.reset, fold: () => lines.fold, finalize: lines.finalize, ...none };
      }
      case 'logsumexp':
        break; // the online update below
    }
    // the log-sum-exp family: online (max, sums) update; f is scalar
    const lse = suffixed(lseAccumulator(red, f[0]!, g, this.syntax(row)), sfx);
    return { decl: lse.decl, init: lse.reset, fold: () => lse.fold, finalize: lse.finalize, ...none };
  }
}

/** `lines` with each line `SPAN from to` replaced by `span(from, to)` (at that line's indentation). */
function expandSpans(lines: string[], span: (from: string, to: string) => string[]): string[] {
  return lines.flatMap((l) => {
    const m = /^(\s*)SPAN (\S+) (\S+)$/.exec(l);
    return m ? span(m[2]!, m[3]!).map((x) => `${m[1]}${x}`) : [l];
  });
}

/**
 * The accumulator lines of one row of a row block: every variable that `decl` declares (not a loop
 * counter) renamed with the suffix `sfx` (the block's row), so that the rows keep separate states.
 */
function suffixed(lines: AccumulatorLines, sfx: string): AccumulatorLines {
  if (!sfx) return lines;
  const names = lines.decl.flatMap((l) => [...l.matchAll(/(?<!\()\b(?:let|const) ([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!));
  if (!names.length) return lines;
  const re = new RegExp(`(?<![\\w$.])(${names.join('|')})(?![\\w$])`, 'g');
  const ren = (ls: string[]) => ls.map((l) => l.replace(re, `$1${sfx}`));
  return { decl: ren(lines.decl), reset: ren(lines.reset), fold: ren(lines.fold), finalize: ren(lines.finalize) };
}
