import { type KernelPlan, type ReductionPlan, unrolledPlan } from '../lower/plan.js';
import { extremumAccumulator, INFIX, kminAccumulator, lseAccumulator, scalarRef, scalarStatement, type CodeOptions, type CSyntax, type Spellings } from './common.js';
import type { ScalarFn, SExpr } from '../lower/scalar.js';

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
  return new JsPrinter(unrolledPlan(plan), opts).print();
}

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

/** Output rows per block of the JS target's dense Sum loop (see JsPrinter.rowBlock). */
const JS_ROW_BLOCK = 4;

class JsPrinter {
  private readonly f32: boolean;
  private readonly red: ReductionPlan;
  constructor(
    private readonly plan: KernelPlan,
    private readonly opts: CodeOptions,
  ) {
    this.f32 = opts.dtype === 'float32';
    this.red = plan.reduction;
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

  private stmt(n: SExpr): string {
    return scalarStatement(n, (v) => this.lit(v), JS_SPELLINGS, (t, e) => `const ${t} = ${e};`);
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
    const used = [...new Set([...plan.loads.param, ...plan.loads.outer, ...plan.loads.inner].map((n) => n.input!.index))].sort((a, b) => a - b);
    // float32 kernels compute each term in float64 and round it to float32 before the reduction
    const rounded = (xs: SExpr[], p: string) => xs.map((x, k) => (this.f32 && x.fn !== 'const' ? { name: `${p}${k}`, line: `const ${p}${k} = Math.fround(${this.ref(x)});` } : { name: this.ref(x), line: '' }));
    const fr = rounded(plan.f, 'f');
    const gr = rounded(plan.g, 'g');
    const acc = this.accumulator(
      fr.map((x) => x.name),
      gr.map((x) => x.name),
    );
    const roundLines = [...fr, ...gr].map((x) => x.line).filter(Boolean);
    const body = (sFrom: string, sTo: string): string[] => {
      const fold = (into: 'acc' | 'tmp') => [...this.loads('inner', 's'), ...plan.stmts.inner.map((n) => this.stmt(n)), ...roundLines, ...acc.fold(into)];
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
      ...plan.stmts.outer.map((n) => this.stmt(n)),
      ...acc.init,
      ...inner,
      ...acc.finalize,
    ];
    const indent = (ls: string[], n: number) => ls.map((l) => `${' '.repeat(n)}${l}`);
    const blocked = this.rowBlock();
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
      ...indent(plan.stmts.param.map((n) => this.stmt(n)), 2),
      '  if (R === null) {',
      '    let r = r0;',
      ...indent(blocked, 4),
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
      '    for (let r = ra; r < rb; r++) {',
      ...indent(row(['for (let l = la; l < lb; l++) {', '  const sa = Rred[2 * l], sb = Rred[2 * l + 1];', ...indent(body('sa', 'sb'), 2), '}']), 6),
      '    }',
      '  }',
      '};',
    );
    return lines.join('\n');
  }

  /**
   * The dense loop over blocks of {@link JS_ROW_BLOCK} rows (Sum family; nothing for the others): each
   * reduction-side value is loaded and computed once for the rows of the block, and each row keeps its
   * own sums (names suffixed `_q`), so every row adds the same terms in the same order as the one-row
   * loop that takes the remaining rows.
   */
  private rowBlock(): string[] {
    const { plan, red } = this;
    if (red.family !== 'sum') return [];
    const qs = Array.from({ length: JS_ROW_BLOCK }, (_, q) => q);
    // the values that depend on the output row: its loads, and what is computed from them
    const dep = new Set<SExpr>([...plan.loads.outer, ...plan.stmts.outer]);
    for (const n of plan.stmts.inner) if (n.args.some((x) => dep.has(x))) dep.add(n);
    const name = (n: SExpr, q: number) => (dep.has(n) ? `${this.ref(n)}_${q}` : this.ref(n));
    const stmt = (n: SExpr, q: number) => {
      const a = n.args.map((x) => name(x, q));
      return `const ${name(n, q)} = ${JS_SPELLINGS[n.fn as ScalarFn](a, a)};`;
    };
    const terms = (q: number) => plan.f.map((x, k) => (this.f32 && x.fn !== 'const' ? { name: `f${k}_${q}`, line: `const f${k}_${q} = Math.fround(${name(x, q)});` } : { name: name(x, q), line: '' }));
    const accs = qs.map((q) => this.accumulator(terms(q).map((t) => t.name), [], `_${q}`, `(r + ${q})`));
    const all = (pick: (q: number) => string[]) => qs.flatMap(pick);
    const fold = [
      ...this.loads('inner', 's'),
      ...plan.stmts.inner.filter((n) => !dep.has(n)).map((n) => stmt(n, 0)),
      ...all((q) => [...plan.stmts.inner.filter((n) => dep.has(n)).map((n) => stmt(n, q)), ...terms(q).map((t) => t.line).filter(Boolean), ...accs[q]!.fold('tmp')]),
    ];
    const inner = accs[0]!.block
      ? ['for (let s0 = 0; s0 < NR; s0 += P) {', '  const s1 = Math.min(NR, s0 + P);', ...all((q) => accs[q]!.initTmp).map((l) => `  ${l}`), '  for (let s = s0; s < s1; s++) {', ...fold.map((l) => `    ${l}`), '  }', ...all((q) => accs[q]!.merge).map((l) => `  ${l}`), '}']
      : ['for (let s = 0; s < NR; s++) {', ...fold.map((l) => `  ${l}`), '}'];
    return [
      `// blocks of ${JS_ROW_BLOCK} rows share the reduction-side loads and values`,
      `for (; r + ${JS_ROW_BLOCK} <= r1; r += ${JS_ROW_BLOCK}) {`,
      ...all((q) => [...this.loads('outer', `(r + ${q})`, `_${q}`), ...plan.stmts.outer.map((n) => stmt(n, q))]).map((l) => `  ${l}`),
      ...all((q) => [...accs[q]!.decl]).map((l) => `  ${l}`),
      ...inner.map((l) => `  ${l}`),
      ...all((q) => accs[q]!.finalize).map((l) => `  ${l}`),
      '}',
    ];
  }

  /** JS's spelling of the shared accumulators (src/targets/common.ts): indices are kept as floats. */
  private syntax(): CSyntax {
    const { red } = this;
    return {
      inf: 'Infinity',
      zero: '0',
      one: '1',
      ne: '!==',
      eq: '===',
      exp: (x) => `Math.exp(${x})`,
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
      // the values are O0; the indices are O1 after values, else O0
      out: (which, w, col) => `O${which === 'indices' && red.writesValues ? 1 : 0}[r * ${w} + ${col}]`,
      used: () => '',
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
        const lines = (red.family === 'extremum' ? extremumAccumulator : kminAccumulator)(red, f, this.syntax());
        return { decl: lines.decl, init: lines.reset, fold: () => lines.fold, finalize: lines.finalize, ...none };
      }
      case 'logsumexp':
        break; // the online update below
    }
    // the log-sum-exp family: online (max, sums) update; f is scalar
    const lse = lseAccumulator(red, f[0]!, g, this.syntax());
    return { decl: lse.decl, init: lse.reset, fold: () => lse.fold, finalize: lse.finalize, ...none };
  }
}
