import { lseOutputSlots, lseSlotValue, lseWeightTerms, type ReductionPlan } from '../lower/plan.js';
import { bodyStatements, type ScalarFn, type SExpr } from '../lower/scalar.js';

/** The resolved code options of a run, shared by every target (each target's options extend them). */
export interface CodeOptions {
  /** The data type. A float32 kernel computes each term in float64 (JS) or float32 and accumulates in
   * `accDtype`. */
  dtype: 'float32' | 'float64';
  /** Summation scheme of Sum-like reductions (keops-reference §2). */
  sumScheme: 'block' | 'kahan' | 'direct';
  /** Accumulator type of Sum-like reductions (float64 for float32 data avoids most rounding). */
  accDtype: 'float32' | 'float64';
}

/**
 * Pieces every printer of the scalar kernel IR shares: the name of a scalar node (a literal for a
 * constant, `x<index>_<comp>` for an input component, `t<id>` for a statement), and the infix spelling
 * of the arithmetic functions, which is the same in JS, C++, CUDA and WGSL.
 */
export function scalarRef(n: SExpr, lit: (v: number) => string): string {
  if (n.fn === 'const') return lit(n.value);
  if (n.fn === 'input') return `x${n.input!.index}_${n.input!.comp}`;
  return `t${n.id}`;
}

/**
 * A target's spelling of every scalar function, from the names (or literals) of its arguments; the C++
 * printer also gets them `wide` (scalars broadcast to vectors where the statement is a vector one). A
 * `Record` over {@link ScalarFn}: a function a target cannot print is a compile-time error.
 */
export type Spellings = Readonly<Record<ScalarFn, (a: readonly string[], wide: readonly string[]) => string>>;

/** `a + b`, `a - b`, `a * b`, `a / b`, `-(a)`: the arithmetic, the same in JS, CUDA and WGSL. */
export const INFIX = {
  add: (a: readonly string[]) => `${a[0]} + ${a[1]}`,
  sub: (a: readonly string[]) => `${a[0]} - ${a[1]}`,
  mul: (a: readonly string[]) => `${a[0]} * ${a[1]}`,
  div: (a: readonly string[]) => `${a[0]} / ${a[1]}`,
  neg: (a: readonly string[]) => `-(${a[0]})`,
} as const satisfies Partial<Spellings>;

/** Spellings `k_<fn>(a, ...)` (the printed preludes' helper functions) for the functions `fns`, called
 * on the `wide` arguments when `wide` is set (C++). */
export function callK<F extends ScalarFn>(fns: readonly F[], wide = false): Record<F, Spellings[F]> {
  return Object.fromEntries(fns.map((fn) => [fn, (a: readonly string[], w: readonly string[]) => `k_${fn}(${(wide ? w : a).join(', ')})`])) as Record<F, Spellings[F]>;
}

/** A scalar statement of the JS, CUDA and WGSL printers: `decl('t<id>', expression)`, spelled by `spell`.
 * A `loop` node is several lines: print it with {@link loopLines}. */
export function scalarStatement(n: SExpr, lit: (v: number) => string, spell: Spellings, decl: (name: string, e: string) => string): string {
  if (n.fn === 'const' || n.fn === 'input' || n.fn === 'lane' || n.fn === 'loop') throw new Error(`internal: a ${n.fn} node is not a one-line statement (print loops with loopLines)`);
  const a = n.args.map((x) => scalarRef(x, lit));
  return decl(`t${n.id}`, spell[n.fn](a, a));
}

/**
 * How a C-like target (JS, CUDA C, WGSL) prints the loops of the scalar IR: `loop` statements (sums
 * over components, {@link loopLines}) and loops over the components of a result ({@link bodyLines}).
 * The body of a loop is a shifted expression (ScalarBuilder.shifted): its `lane` leaves read component
 * `comp + k` of an input at loop index `k`, its other leaves are constants and nodes computed before
 * the loop.
 */
export interface LoopSyntax {
  /** A mutable float at `init` (`let s = 0;`, `T s = 0;`, `var s: f32 = 0.0;`). */
  mutable(name: string, init: string): string;
  /** An immutable float (`const b = e;`, `const T b = e;`, `let b = e;`). */
  constant(name: string, e: string): string;
  /** The head of the loop over k in [0, n), ending with `{` (`for (let k = 0; k < 768; k++) {`). */
  forHead(k: string, n: number): string;
  /** The float zero that a sum starts from (`0`, `T(0)`, `0.0`). */
  zero: string;
  /** The spelling of the scalar functions. */
  spell: Spellings;
  /** The name (or literal) of a node computed before the loop, or of a constant. */
  ref(n: SExpr): string;
  /** The value of `lane` node `n` (component `n.input.comp + k` of its input) at loop index `k`. */
  lane(n: SExpr, k: string): string;
  /** The prefix of the body statements' names (`<prefix><id>`); `b` unless given. */
  prefix?: string;
  /** Print the body this many times per iteration (k, k + 1, ...; then a loop over the remainder),
   * adding the terms in the same order; 1 unless given. */
  unroll?: number;
}

/** The statements of a shifted body at loop index `k`, one line each, and the name of its root. */
export function bodyLines(body: SExpr, k: string, S: LoopSyntax): { lines: string[]; root: string } {
  const r = blockBodyLines(body, k, [S], () => false);
  return { lines: r.lines, root: r.roots[0]! };
}

/**
 * The statements of a shifted body for a block of rows: the statements for which `rowDep` holds once
 * per row q (named `<prefix><id>_<q>`, printed with `Ss[q]`), the others once (with `Ss[0]`), so that
 * the rows share the loads and values that do not depend on them; the roots are the body's value per row.
 */
export function blockBodyLines(body: SExpr, k: string, Ss: readonly LoopSyntax[], rowDep: (n: SExpr) => boolean): { lines: string[]; roots: string[] } {
  const stmts = bodyStatements(body);
  const inBody = new Set(stmts);
  const dep = new Set<SExpr>();
  for (const n of stmts) if (rowDep(n) || n.args.some((a) => dep.has(a))) dep.add(n);
  const perRow = Ss.length > 1;
  const name = (n: SExpr, q: number) => `${Ss[0]!.prefix ?? 'b'}${n.id}${perRow && dep.has(n) ? `_${q}` : ''}`;
  const ref = (n: SExpr, q: number) => (inBody.has(n) ? name(n, q) : Ss[q]!.ref(n));
  const stmt = (n: SExpr, q: number, S: LoopSyntax) => {
    if (n.fn === 'lane') return S.constant(name(n, q), S.lane(n, k));
    if (n.fn === 'const' || n.fn === 'input' || n.fn === 'loop') throw new Error(`internal: a ${n.fn} node in a loop body`);
    const a = n.args.map((x) => ref(x, q));
    return S.constant(name(n, q), S.spell[n.fn](a, a));
  };
  const lines = [...stmts.filter((n) => !dep.has(n)).map((n) => stmt(n, 0, Ss[0]!)), ...Ss.flatMap((S, q) => stmts.filter((n) => dep.has(n)).map((n) => stmt(n, q, S)))];
  return { lines, roots: Ss.map((_, q) => ref(body, q)) };
}

/** A `loop` statement named `name` as lines: `name = 0`, then for k in [0, n): the body and
 * `name = name + body`, the order of the unrolled sum (so the same value, bit for bit). */
export function loopLines(n: SExpr, name: string, S: LoopSyntax, k = 'k'): string[] {
  return blockLoopLines(n, [name], [S], () => false, k);
}

/** One `loop` statement for a block of rows (see {@link blockBodyLines}): the sums `names[q]` in one loop
 * over k, each in the order of the unrolled sum. */
export function blockLoopLines(n: SExpr, names: readonly string[], Ss: readonly LoopSyntax[], rowDep: (n: SExpr) => boolean, k = 'k'): string[] {
  if (n.fn !== 'loop') throw new Error(`internal: loopLines of a ${n.fn} node`);
  const S0 = Ss[0]!;
  const len = n.loop!.n;
  const U = Math.max(1, Math.min(S0.unroll ?? 1, Math.floor(len / 2)));
  const step = (at: string) => {
    const { lines, roots } = blockBodyLines(n.loop!.body, at, Ss, rowDep);
    return [...lines, ...names.map((nm, q) => `${nm} = ${nm} + ${roots[q]};`)];
  };
  const decl = names.map((nm, q) => Ss[q]!.mutable(nm, Ss[q]!.zero));
  if (U === 1) return [...decl, S0.forHead(k, len), ...step(k).map((l) => `  ${l}`), '}'];
  // U bodies per iteration, each in its own block, then the remainder from k = len - len % U
  const main = len - (len % U);
  const head = S0.forHead(k, main / U);
  const at = (u: number) => `${k} * ${U}${u ? ` + ${u}` : ''}`;
  return [
    ...decl,
    head,
    ...Array.from({ length: U }, (_, u) => [`  {`, ...step(at(u)).map((l) => `    ${l}`), '  }']).flat(),
    '}',
    ...(main < len ? [S0.forHead(k, len - main), ...step(`${main} + ${k}`).map((l) => `  ${l}`), '}'] : []),
  ];
}

/**
 * The spelling of a C-like language (JS, CUDA C, WGSL, C++), for the accumulators that the printers
 * share: the extremum family (Min, ArgMax, Min_ArgMin, ...), the KMin family and the log-sum-exp
 * family. The algorithms are written once below ({@link extremumUpdate}, {@link kminInsert},
 * {@link lseUpdate}); each printer supplies its syntax. The C++ target prints the same updates
 * lane-wise on GCC vectors (a syntax with `mask`, see {@link printUpdate}) and its lane merges with the
 * same functions on scalars.
 */
export interface CSyntax {
  /** +infinity (`k_inf()`, `Infinity`), 0 and 1 of the float type (`(T)0`, `0.0`, `0`). */
  inf: string;
  zero: string;
  one: string;
  /** `!=` and `==` (`!==`, `===` in JS). */
  ne: string;
  eq: string;
  /** exp and log as the target computes them in an accumulator. */
  exp(x: string): string;
  log(x: string): string;
  /** Rounds an accumulator expression to the accumulator type (JS float32: Math.fround), or keeps it. */
  acc(e: string): string;
  /** A mutable float (`T m0 = x;`, `var m0: f32 = x;`) and index (`keopsc_i64 i0 = 0;`, `var i0: u32 = 0u;`). */
  float(name: string, init: string): string;
  index(name: string, init: string): string;
  /** An immutable float (`const T v = e;`, `let v = e;`). */
  constant(name: string, e: string): string;
  /** Private arrays of floats and indices. */
  floats(name: string, n: number): string;
  indices(name: string, n: number): string;
  /** An integer literal for loop counters and array indices (`3`, `3u`). */
  int(n: number): string;
  /** A loop counter declaration and its decrement. */
  counter(name: string, init: string): string;
  decrement(name: string): string;
  /** `for (q in 0..n) body` (one line). */
  loop(q: string, n: number, body: string): string;
  /** Where output `which` of row `r` at column `col` (an expression) is written. */
  out(which: 'values' | 'indices', width: number, col: string): string;
  /** Statements that keep unused-variable warnings quiet (CUDA), or nothing. */
  used(names: string[]): string;
  /** Lane-wise syntaxes only (C++ on GCC vector types): the declaration of a lane mask `name = e`.
   * Guarded updates then print as selects (see {@link printUpdate}). */
  mask?(name: string, e: string): string;
  /** The head of a loop over k in [0, n), ending with `{` (as {@link LoopSyntax}'s): needed to print an
   * update with array sets (GuardedUpdate.each, the loop form of {@link lseUpdate}). */
  forHead?(k: string, n: number): string;
}

/**
 * A guarded update of an accumulator state: the first case whose condition holds (`when`; null: every
 * other case) makes its assignments. A value reads the state as it was before the update (no value reads
 * a target that any case assigns before it) and the case's `let`: the name `let.name` bound to
 * `let.of(arg)` with the case's `arg` (a case without one does not read it).
 *
 * With `each`, the cases' `each` assignments are array sets (`s[k] = ...` for k in [0, each.n), their
 * targets and values written with the loop counter `each.k`), printed inside one loop over k after the
 * masks and the `let` and before the scalar sets (`set`); `each.head` starts every iteration (the values
 * the array sets read at k, such as component k of a weight).
 */
export interface GuardedUpdate {
  let?: { name: string; of: (arg: string) => string };
  each?: { k: string; n: number; head?: readonly string[] };
  cases: { when: string | null; arg?: string; set: (readonly [target: string, value: string])[]; each?: (readonly [target: string, value: string])[] }[];
}

/** What {@link printUpdate} needs of a syntax: its constants, its lane masks (lane-wise syntaxes) and,
 * for an update with array sets, the head of a loop. */
export type UpdateSyntax = Pick<CSyntax, 'constant' | 'mask' | 'forHead'>;

/**
 * A guarded update as lines. On scalars: `if (c0) { ... } else if (c1) { ... } else { ... }`, a line per
 * case. Lane-wise (a syntax with `mask`): one block in which each lane takes its own case, with selects
 * (`c ? a : b`, lane by lane on GCC vectors): `{ c0 = ...; c1 = ...; e = of(c0 ? a0 : a1); t = c0 ? v0 :
 * (c1 ? v1 : t); ... }`, so that the `let` (an exp) is computed once per lane. An update with array sets
 * (`each`) prints its loop over k on lines of its own: in each case that has array sets on scalars, once
 * lane-wise.
 */
export function printUpdate(S: UpdateSyntax, u: GuardedUpdate): string[] {
  const bind = (arg: string | undefined) => (u.let && arg !== undefined ? [S.constant(u.let.name, u.let.of(arg))] : []);
  const each = u.each;
  // the loop over k of the array sets `sets` (none: no loop)
  const loop = (sets: readonly string[]): string[] => {
    if (!each || !sets.length) return [];
    if (!S.forHead) throw new Error('internal: an update with array sets needs a syntax with forHead');
    return [S.forHead(each.k, each.n), ...(each.head ?? []).map((l) => `  ${l}`), ...sets.map((l) => `  ${l}`), '}'];
  };
  const assign = ([t, v]: readonly [string, string]) => `${t} = ${v};`;
  if (!S.mask)
    return u.cases.flatMap((c, n) => {
      const head = `${n ? 'else ' : ''}${c.when === null ? '' : `if (${c.when}) `}{`;
      const body = loop((c.each ?? []).map(assign));
      if (!body.length) return [`${head} ${[...bind(c.arg), ...c.set.map(assign)].join(' ')} }`];
      return [head, ...[...bind(c.arg), ...body, ...c.set.map(assign)].map((l) => `  ${l}`), '}'];
    });
  const mask = S.mask;
  // the value of the first case whose condition holds, given each case's value (undefined: none)
  const pick = (vals: readonly (string | undefined)[], n = 0): string | undefined => {
    const v = vals[n];
    const rest = n + 1 < vals.length ? pick(vals, n + 1) : undefined;
    const c = u.cases[n]?.when;
    if (v === undefined || v === rest) return rest;
    return c === null || c === undefined || rest === undefined ? v : `c${n} ? ${v} : ${rest.includes('?') ? `(${rest})` : rest}`;
  };
  // a target no case sets keeps its value (the last value, when every case has a condition)
  const selects = (sets: (c: (typeof u.cases)[number]) => readonly (readonly [string, string])[]) =>
    [...new Set(u.cases.flatMap((c) => sets(c).map(([t]) => t)))].map((t) => `${t} = ${pick([...u.cases.map((c) => sets(c).find(([x]) => x === t)?.[1] ?? t), t])};`);
  const lines = [...u.cases.flatMap((c, n) => (c.when === null ? [] : [mask(`c${n}`, c.when)])), ...bind(pick(u.cases.map((c) => c.arg)))];
  const body = loop(selects((c) => c.each ?? []));
  if (!body.length) return [`{ ${[...lines, ...selects((c) => c.set)].join(' ')} }`];
  return ['{', ...[...lines, ...body, ...selects((c) => c.set)].map((l) => `  ${l}`), '}'];
}

/** @deprecated the syntax is not GPU-only: use {@link CSyntax}. */
export type GpuSyntax = CSyntax;

/**
 * An accumulator as lines: `decl` declares the state at its neutral value, `reset` sets it back there
 * (for printers that reuse one state across rows), `fold` takes the term(s) `f` at reduction index `s`,
 * `finalize` writes row `r`.
 */
export interface AccumulatorLines {
  decl: string[];
  reset: string[];
  fold: string[];
  finalize: string[];
}

/** Extremum family: running best value m_k and its index i_k per component, reduction index `s`. */
export function extremumAccumulator(red: ReductionPlan, f: readonly string[], S: CSyntax): AccumulatorLines {
  const D = red.D;
  const ks = Array.from({ length: D }, (_, k) => k);
  const start = red.max ? `-${S.inf}` : S.inf;
  return {
    decl: ks.map((k) => `${S.float(`m${k}`, start)} ${S.index(`i${k}`, S.int(0))}${S.used([`m${k}`, `i${k}`])}`),
    reset: ks.map((k) => `m${k} = ${start}; i${k} = ${S.int(0)};`),
    fold: ks.flatMap((k) => printUpdate(S, extremumUpdate(red, S, `m${k}`, `i${k}`, f[k]!, 's'))),
    finalize: ks.flatMap((k) => [
      ...(red.writesValues ? [`${S.out('values', D, S.int(k))} = m${k};`] : []),
      ...(red.writesIndices ? [`${S.out('indices', D, S.int(k))} = i${k};`] : []),
    ]),
  };
}

/**
 * The extremum update: the state (best value `m`, its index `i`, or no index) takes the candidate (`v`,
 * `j`) when v is strictly better (`<` for the Min forms, `>` for the Max forms; never NaN). The fold of a
 * term f at reduction index s is the update by (f, s); with `ties`, a candidate equal to m at an earlier
 * position (j < i) wins too: the merge of two partial states that saw interleaved positions (C++ lanes).
 */
export function extremumUpdate(red: Pick<ReductionPlan, 'max'>, S: Pick<CSyntax, 'eq'>, m: string, i: string | null, v: string, j: string, ties = false): GuardedUpdate {
  const cmp = red.max ? '>' : '<';
  const when = ties && i !== null ? `${v} ${cmp} ${m} || (${v} ${S.eq} ${m} && ${j} < ${i})` : `${v} ${cmp} ${m}`;
  return { cases: [{ when, set: [[m, v], ...(i === null ? [] : [[i, j] as const])] }] };
}

/** KMin family: the K smallest values (ascending) and their indices per component, kept by a stable
 * insertion (strict <: equal values stay after the ones already kept), in private arrays. */
export function kminAccumulator(red: ReductionPlan, f: readonly string[], S: CSyntax): AccumulatorLines {
  const { K, D } = red;
  const w = K * D;
  const ks = Array.from({ length: D }, (_, k) => k);
  const fold = ks.map((k) => `{ ${S.constant('v', f[k]!)} ${kminInsert(S, K, D, 'v', 's', 'kv', 'ki', k)} }`);
  const writes = [...(red.writesValues ? [`${S.out('values', w, 'q')} = kv[q];`] : []), ...(red.writesIndices ? [`${S.out('indices', w, 'q')} = ki[q];`] : [])];
  const reset = S.loop('q', w, `kv[q] = ${S.inf}; ki[q] = ${S.int(0)};`);
  return {
    decl: [`${S.floats('kv', w)} ${S.indices('ki', w)}`, reset],
    reset: [reset],
    fold,
    finalize: [S.loop('q', w, writes.join(' '))],
  };
}

/**
 * The KMin insertion, one line: value `v` with index `j` goes into the K smallest values `kv` (ascending,
 * component `k` of D interleaved: element l at `l * D + k`) and their indices `ki`, stable (strict <:
 * equal values stay after the ones already kept). Nothing happens when v is not below the K-th value.
 */
export function kminInsert(S: Pick<CSyntax, 'int' | 'counter' | 'decrement'>, K: number, D: number, v: string, j: string, kv: string, ki: string, k: number | string): string {
  // k: a component, or the name of a loop counter over the components
  const at = (l: string) => `${l} * ${S.int(D)} + ${typeof k === 'number' ? S.int(k) : k}`;
  const prev = at(`(l - ${S.int(1)})`);
  const cur = at('l');
  return `if (${v} < ${kv}[${typeof k === 'number' ? S.int((K - 1) * D + k) : `${S.int((K - 1) * D)} + ${k}`}]) { ${S.counter('l', S.int(K - 1))} while (l > ${S.int(0)} && ${v} < ${kv}[${prev}]) { ${kv}[${cur}] = ${kv}[${prev}]; ${ki}[${cur}] = ${ki}[${prev}]; ${S.decrement('l')} } ${kv}[${cur}] = ${v}; ${ki}[${cur}] = ${j}; }`;
}

/**
 * Sums of the log-sum-exp update that are the components k in [0, n) of arrays, updated in one loop over
 * the counter `k`: sum `s` (an expression in k, such as `s[k + 1]`) of weight (or partial sum, merging)
 * `w`, both read after the lines `head` (values at k, such as component k of a vector weight g).
 */
export interface LseArraySums {
  k: string;
  n: number;
  s: string;
  w: string;
  head?: readonly string[];
}

/**
 * The log-sum-exp update: the state (running maximum `m`, sums `s_k` = Σ exp(f − m)·w_k) takes a term
 * f = `m2` of weights `w_k` (lseWeightTerms; `S.one` for 1), or, with `merge`, a partial state (`m2`,
 * sums `w_k`). When m2 > m the sums are rescaled by exp(m − m2) and gain w_k, and m = m2; otherwise
 * (m2 ≠ −inf) each sum gains exp(m2 − m)·w_k. A term −inf changes nothing whatever its weight; a
 * partial state with m2 = −inf has sums +0 (nothing seen) or NaN (only NaN terms seen): the merge adds
 * them, so that NaN poisons the sums and +0 changes nothing (a sum is never −0). Every operation is
 * rounded by `S.acc`. `array`: more sums, the components of arrays, updated by the same rule in one loop
 * (see {@link LseArraySums}; printUpdate then needs a syntax with `forHead`), before the sums `s` and m.
 */
export function lseUpdate(S: Pick<CSyntax, 'inf' | 'one' | 'ne' | 'exp' | 'acc'>, m: string, s: readonly string[], m2: string, w: readonly string[], merge = false, array?: LseArraySums): GuardedUpdate {
  const A = (e: string) => S.acc(e);
  // each case's rule on one sum sk of weight wk
  const grow = (sk: string, wk: string) => A(`${A(`${sk} * e`)} + ${wk}`);
  const gain = (sk: string, wk: string) => A(`${sk} + ${wk === S.one ? 'e' : A(`e * ${wk}`)}`);
  const add = (sk: string, wk: string) => A(`${sk} + ${wk}`);
  const sets = (rule: (sk: string, wk: string) => string) => s.map((sk, k) => [sk, rule(sk, w[k]!)] as const);
  const each = (rule: (sk: string, wk: string) => string) => (array ? { each: [[array.s, rule(array.s, array.w)] as const] } : {});
  return {
    let: { name: 'e', of: (x) => A(S.exp(A(x))) },
    ...(array ? { each: { k: array.k, n: array.n, ...(array.head ? { head: array.head } : {}) } } : {}),
    cases: [
      { when: `${m2} > ${m}`, arg: `${m} - ${m2}`, set: [...sets(grow), [m, m2]], ...each(grow) },
      { when: `${m2} ${S.ne} -${S.inf}`, arg: `${m2} - ${m}`, set: sets(gain), ...each(gain) },
      ...(merge ? [{ when: null, set: sets(add), ...each(add) }] : []),
    ],
  };
}

/**
 * The log-sum-exp family: the online update ({@link lseUpdate}) of a running maximum m and sums s_k by
 * the term `fv` (f scalar) weighted by lseWeightTerms over the g components `g`. The outputs are
 * lseSlotValue of each slot.
 */
export function lseAccumulator(red: ReductionPlan, fv: string, g: readonly string[], S: CSyntax): AccumulatorLines {
  const weights = lseWeightTerms(red, g, S.one);
  const W = weights.map((_, k) => k);
  const slots = lseOutputSlots(red);
  return {
    decl: [`${S.float('m', `-${S.inf}`)}${W.map((k) => ` ${S.float(`s${k}`, S.zero)}`).join('')}`],
    reset: [`m = -${S.inf};${W.map((k) => ` s${k} = ${S.zero};`).join('')}`],
    fold: printUpdate(S, lseUpdate(S, 'm', W.map((k) => `s${k}`), fv, weights)),
    finalize: slots.map((slot, c) => `${S.out('values', slots.length, S.int(c))} = ${lseSlotValue(slot, { m: 'm', s: (k) => `s${k}`, log: (x) => S.log(x) })};`),
  };
}
