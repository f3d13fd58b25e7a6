import { DEP_I, DEP_J, DEP_P, type Cat } from './types.js';

/**
 * The scalar kernel IR: what every op lowers to and every target prints. A formula of dimension d
 * becomes d scalar expressions over input components and constants, built from the functions below.
 * Scalar expressions are hash-consed per builder, so a subexpression shared by several components or
 * ops is one node, printed once.
 *
 * Every function has one exact meaning, given by `SCALAR_FNS[fn].eval` in float64 (C semantics where
 * KeOps follows C). Targets print them (JS with Math.*, C++ with <cmath>, WGSL and CUDA built-ins,
 * with small helper functions where the target's built-in differs).
 */
export type ScalarFn =
  | 'add' | 'sub' | 'mul' | 'div' | 'neg'
  | 'exp' | 'log' | 'sin' | 'cos' | 'asin' | 'acos' | 'atan' | 'atan2'
  | 'sqrt' | 'rsqrt' | 'abs' | 'floor' | 'round' | 'pow'
  | 'lt' | 'le' | 'eq' | 'ne' | 'select';

/** C `round`: halves go away from zero (2.5 → 3, −2.5 → −3), unlike Math.round. */
export function cRound(x: number): number {
  if (!Number.isFinite(x)) return x;
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

/** C `pow`: like Math.pow except pow(1, y) = 1 and pow(−1, ±inf) = 1 (JS gives NaN). */
export function cPow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

/** What the scalar kernel IR knows of a scalar function. */
export interface ScalarFnSpec {
  /** How many arguments it takes. */
  arity: number;
  /** The float64 meaning. */
  eval: (...xs: number[]) => number;
  /** One line of documentation. */
  doc: string;
}

/** Arity and float64 meaning of each scalar function. */
export const SCALAR_FNS: Record<ScalarFn, ScalarFnSpec> = {
  add: { arity: 2, eval: (a, b) => a! + b!, doc: 'a + b' },
  sub: { arity: 2, eval: (a, b) => a! - b!, doc: 'a - b' },
  mul: { arity: 2, eval: (a, b) => a! * b!, doc: 'a * b' },
  div: { arity: 2, eval: (a, b) => a! / b!, doc: 'a / b' },
  neg: { arity: 1, eval: (a) => -a!, doc: '-a' },
  exp: { arity: 1, eval: Math.exp, doc: 'e^a' },
  log: { arity: 1, eval: Math.log, doc: 'natural log' },
  sin: { arity: 1, eval: Math.sin, doc: 'sine' },
  cos: { arity: 1, eval: Math.cos, doc: 'cosine' },
  asin: { arity: 1, eval: Math.asin, doc: 'arcsine' },
  acos: { arity: 1, eval: Math.acos, doc: 'arccosine' },
  atan: { arity: 1, eval: Math.atan, doc: 'arctangent' },
  atan2: { arity: 2, eval: Math.atan2, doc: 'atan2(y, x), C argument order' },
  sqrt: { arity: 1, eval: Math.sqrt, doc: 'square root' },
  rsqrt: { arity: 1, eval: (a) => (a === 0 ? 0 : 1 / Math.sqrt(a!)), doc: '1/sqrt(a), 0 at 0 (KeOps convention)' },
  abs: { arity: 1, eval: Math.abs, doc: '|a|' },
  floor: { arity: 1, eval: Math.floor, doc: 'floor' },
  round: { arity: 1, eval: cRound, doc: 'C round: halves away from zero' },
  pow: { arity: 2, eval: cPow, doc: 'C pow(a, b)' },
  lt: { arity: 2, eval: (a, b) => (a! < b! ? 1 : 0), doc: '1 if a < b else 0 (0 when either is NaN)' },
  le: { arity: 2, eval: (a, b) => (a! <= b! ? 1 : 0), doc: '1 if a <= b else 0' },
  eq: { arity: 2, eval: (a, b) => (a === b ? 1 : 0), doc: '1 if a == b else 0' },
  ne: { arity: 2, eval: (a, b) => (a !== b ? 1 : 0), doc: '1 if a != b else 0 (1 when either is NaN)' },
  select: { arity: 3, eval: (c, a, b) => (c !== 0 ? a! : b!), doc: 'c != 0 ? a : b (c is a 0/1 comparison result)' },
};

/** One scalar expression node. */
export interface SExpr {
  readonly id: number;
  readonly fn: ScalarFn | 'const' | 'input' | 'lane' | 'loop';
  /** The operands; of a `loop`, the loop-invariant nodes its body reads (computed before it). */
  readonly args: readonly SExpr[];
  /** The value of a `const` node. */
  readonly value: number;
  /** The input component of an `input` node: variable `index`, component `comp`, category `cat`; of a
   * `lane` node (only in a loop body): component `comp + k` at loop index k. */
  readonly input?: { readonly index: number; readonly comp: number; readonly cat: Cat };
  /** DEP_I | DEP_J | DEP_P: which categories it depends on. */
  readonly deps: number;
  /** A `loop` node: the sum over k in [0, n) of `body` at k, from 0, left to right: exactly the value of
   * the unrolled `((0 + body(0)) + body(1)) + ...`. The body's leaves are constants, `lane` nodes and
   * the loop's `args`. */
  readonly loop?: { readonly n: number; readonly body: SExpr };
}

/** Sums of at least this many terms that are one expression shifted over input components become
 * `loop` nodes (printed as loops), so code size does not grow with the dimension. */
export const LOOP_MIN_TERMS = 32;

/**
 * Builds hash-consed scalar expressions, folding functions of constants and the identities that are
 * exact in IEEE arithmetic (x*1, x/1, -(-x), select on a constant condition).
 */
export class ScalarBuilder {
  private readonly table = new Map<string, SExpr>();
  private nextId = 1;

  /** @param loops whether `sumOf` may build `loop` nodes (false: every sum is unrolled). */
  constructor(readonly loops = true) {}

  private intern(key: string, make: (id: number) => SExpr): SExpr {
    let n = this.table.get(key);
    if (!n) {
      n = make(this.nextId++);
      this.table.set(key, n);
    }
    return n;
  }

  /** A constant. */
  c(value: number): SExpr {
    const key = Object.is(value, -0) ? 'c:-0' : `c:${value}`;
    return this.intern(key, (id) => ({ id, fn: 'const', args: [], value, deps: 0 }));
  }

  /** Component `comp` of input variable `index` (category 0 = i, 1 = j, 2 = parameter). */
  input(index: number, comp: number, cat: Cat): SExpr {
    const deps = cat === 0 ? DEP_I : cat === 1 ? DEP_J : DEP_P;
    return this.intern(`in:${index}:${comp}`, (id) => ({ id, fn: 'input', args: [], value: NaN, input: { index, comp, cat }, deps }));
  }

  /** `fn(args...)`. */
  op(fn: ScalarFn, ...args: SExpr[]): SExpr {
    const spec = SCALAR_FNS[fn];
    if (args.length !== spec.arity) throw new Error(`internal: scalar ${fn} takes ${spec.arity} arguments, got ${args.length}`);
    if (args.every((a) => a.fn === 'const')) return this.c(spec.eval(...args.map((a) => a.value)));
    const [a, b] = args as [SExpr, SExpr | undefined];
    const isC = (n: SExpr | undefined, v: number) => n !== undefined && n.fn === 'const' && Object.is(n.value, v);
    if (fn === 'mul' && isC(b, 1)) return a;
    if (fn === 'mul' && isC(a, 1)) return b!;
    if (fn === 'div' && isC(b, 1)) return a;
    if (fn === 'neg' && a.fn === 'neg') return a.args[0]!;
    if (fn === 'select' && a.fn === 'const') return a.value !== 0 ? args[1]! : args[2]!;
    let deps = 0;
    for (const x of args) deps |= x.deps;
    return this.intern(`${fn}(${args.map((x) => x.id).join(',')})`, (id) => ({ id, fn, args, value: NaN, deps }));
  }

  /** Component `comp + k` of input variable `index` at index k of the enclosing loop (loop bodies only). */
  lane(index: number, comp: number, cat: Cat): SExpr {
    const deps = cat === 0 ? DEP_I : cat === 1 ? DEP_J : DEP_P;
    return this.intern(`lane:${index}:${comp}`, (id) => ({ id, fn: 'lane', args: [], value: NaN, input: { index, comp, cat }, deps }));
  }

  /**
   * `((0 + xs[0]) + xs[1]) + ...`: a `loop` node when there are at least LOOP_MIN_TERMS terms that are
   * one expression over input components shifted by the term's position (x[c + k], y[c' + k], ...), the
   * unrolled chain otherwise. Both have the same value, bit for bit.
   */
  sumOf(xs: readonly SExpr[]): SExpr {
    if (this.loops && xs.length >= LOOP_MIN_TERMS) {
      const l = this.loopOf(xs);
      if (l) return l;
    }
    return xs.reduce((s, x) => this.add(s, x), this.c(0));
  }

  /** The loop of sumOf, or undefined when the terms are not one shifted expression. */
  private loopOf(xs: readonly SExpr[]): SExpr | undefined {
    const sh = this.shifted(xs);
    if (!sh) return undefined;
    const n = xs.length;
    return this.intern(`loop(${n},${sh.body.id})`, (id) => ({ id, fn: 'loop', args: sh.args, value: NaN, deps: sh.deps, loop: { n, body: sh.body } }));
  }

  /**
   * The terms `xs` as one expression over input components shifted by the term's position: `body`,
   * whose `lane` leaves read component `comp + k` at position k, such that xs[k] is the body at k for
   * every k (x[c + k], y[c' + k], ...); `args` are the nodes the body reads that do not depend on k
   * (computed before a loop over k), `deps` what the body depends on. Undefined when the terms are not
   * of that form (fewer than 2 terms, a term that does not move with k, or terms that differ).
   */
  shifted(xs: readonly SExpr[]): { body: SExpr; args: SExpr[]; deps: number } | undefined {
    if (xs.length < 2) return undefined;
    // the body: xs[0] with the inputs that move by one component from xs[0] to xs[1] made lanes
    const memo = new Map<SExpr, SExpr | null>();
    const tmpl = (a: SExpr, b: SExpr): SExpr | null => {
      if (a === b) return a;
      let r = memo.get(a);
      if (r !== undefined) return r;
      r = null;
      if (a.fn === 'input' && b.fn === 'input' && a.input!.index === b.input!.index && b.input!.comp === a.input!.comp + 1) {
        r = this.lane(a.input!.index, a.input!.comp, a.input!.cat);
      } else if (a.fn === b.fn && a.fn !== 'const' && a.fn !== 'input' && a.fn !== 'lane' && a.fn !== 'loop' && a.args.length === b.args.length) {
        const args: SExpr[] = [];
        for (let k = 0; k < a.args.length && r === null; k++) {
          const t = tmpl(a.args[k]!, b.args[k]!);
          if (!t) break;
          args.push(t);
        }
        if (args.length === a.args.length) r = this.op(a.fn, ...args);
      }
      memo.set(a, r);
      return r;
    };
    const body = tmpl(xs[0]!, xs[1]!);
    if (!body) return undefined;
    const order = scalarOrder([body]);
    const varying = new Set<SExpr>();
    for (const n of order) if (n.fn === 'lane' || n.args.some((a) => varying.has(a))) varying.add(n);
    if (!varying.has(body)) return undefined;
    // every term must be the body at its index (hash-consing makes that an identity test)
    for (let k = 0; k < xs.length; k++) {
      const at = new Map<SExpr, SExpr>();
      for (const n of order) {
        if (!varying.has(n)) continue;
        at.set(n, n.fn === 'lane' ? this.input(n.input!.index, n.input!.comp + k, n.input!.cat) : this.op(n.fn as ScalarFn, ...n.args.map((a) => at.get(a) ?? a)));
      }
      if (at.get(body) !== xs[k]) return undefined;
    }
    const ext = new Set<SExpr>();
    let deps = 0;
    for (const n of order) {
      if (!varying.has(n)) continue;
      if (n.fn === 'lane') deps |= n.deps;
      for (const a of n.args) {
        if (varying.has(a) || a.fn === 'const') continue;
        ext.add(a);
        deps |= a.deps;
      }
    }
    return { body, args: [...ext], deps };
  }

  // shorthands
  /** a + b */
  add = (a: SExpr, b: SExpr): SExpr => this.op('add', a, b);
  /** a - b */
  sub = (a: SExpr, b: SExpr): SExpr => this.op('sub', a, b);
  /** a * b */
  mul = (a: SExpr, b: SExpr): SExpr => this.op('mul', a, b);
  /** a / b */
  div = (a: SExpr, b: SExpr): SExpr => this.op('div', a, b);
  /** -a */
  neg = (a: SExpr): SExpr => this.op('neg', a);
  /** c != 0 ? a : b */
  select = (c: SExpr, a: SExpr, b: SExpr): SExpr => this.op('select', c, a, b);
  /** a sum of several terms, left to right (0 for none). */
  sum = (xs: readonly SExpr[]): SExpr => (xs.length === 0 ? this.c(0) : xs.slice(1).reduce((s, x) => this.add(s, x), xs[0]!));
}

/** Every node reachable from `roots`, children first, each once (iterative: any depth is safe). */
export function scalarOrder(roots: readonly SExpr[]): SExpr[] {
  const seen = new Set<SExpr>();
  const out: SExpr[] = [];
  const stack: [SExpr, boolean][] = roots.map((r) => [r, false] as [SExpr, boolean]).reverse();
  while (stack.length) {
    const [n, expanded] = stack.pop()!;
    if (expanded) {
      out.push(n);
      continue;
    }
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push([n, true]);
    for (let k = n.args.length - 1; k >= 0; k--) if (!seen.has(n.args[k]!)) stack.push([n.args[k]!, false]);
  }
  return out;
}

/** The statements of a loop body in order (its nodes that depend on the loop index; `lane` nodes
 * included), after which the body's other nodes are the loop's args or constants. */
export function loopBody(loop: SExpr): SExpr[] {
  return bodyStatements(loop.loop!.body);
}

/** The statements of a shifted body (see ScalarBuilder.shifted) in order: its nodes that depend on the
 * loop index, `lane` nodes included. */
export function bodyStatements(body: SExpr): SExpr[] {
  const varying = new Set<SExpr>();
  for (const n of scalarOrder([body])) if (n.fn === 'lane' || n.args.some((a) => varying.has(a))) varying.add(n);
  return [...varying];
}

/** Evaluate scalar expressions in float64, given a value for each input node (for tests and checks). */
export function evalScalars(roots: readonly SExpr[], input: (index: number, comp: number, cat: Cat) => number): number[] {
  const val = new Map<SExpr, number>();
  const evalNode = (n: SExpr, get: (a: SExpr) => number, k = 0): number => {
    if (n.fn === 'const') return n.value;
    if (n.fn === 'input' || n.fn === 'lane') return input(n.input!.index, n.input!.comp + (n.fn === 'lane' ? k : 0), n.input!.cat);
    if (n.fn === 'loop') {
      const body = loopBody(n);
      let s = 0;
      for (let i = 0; i < n.loop!.n; i++) {
        const local = new Map<SExpr, number>();
        const at = (a: SExpr): number => local.get(a) ?? get(a);
        for (const b of body) local.set(b, evalNode(b, at, i));
        s += local.get(n.loop!.body)!;
      }
      return s;
    }
    return SCALAR_FNS[n.fn].eval(...n.args.map(get));
  };
  const get = (a: SExpr): number => (a.fn === 'const' ? a.value : val.get(a)!);
  for (const n of scalarOrder(roots)) val.set(n, evalNode(n, get));
  return roots.map((r) => val.get(r)!);
}
