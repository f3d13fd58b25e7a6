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
  readonly fn: ScalarFn | 'const' | 'input';
  readonly args: readonly SExpr[];
  /** The value of a `const` node. */
  readonly value: number;
  /** The input component of an `input` node: variable `index`, component `comp`, category `cat`. */
  readonly input?: { readonly index: number; readonly comp: number; readonly cat: Cat };
  /** DEP_I | DEP_J | DEP_P: which categories it depends on. */
  readonly deps: number;
}

/**
 * Builds hash-consed scalar expressions, folding functions of constants and the identities that are
 * exact in IEEE arithmetic (x*1, x/1, -(-x), select on a constant condition).
 */
export class ScalarBuilder {
  private readonly table = new Map<string, SExpr>();
  private nextId = 1;

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

/** Evaluate scalar expressions in float64, given a value for each input node (for tests and checks). */
export function evalScalars(roots: readonly SExpr[], input: (index: number, comp: number, cat: Cat) => number): number[] {
  const val = new Map<SExpr, number>();
  for (const n of scalarOrder(roots)) {
    if (n.fn === 'const') val.set(n, n.value);
    else if (n.fn === 'input') val.set(n, input(n.input!.index, n.input!.comp, n.input!.cat));
    else val.set(n, SCALAR_FNS[n.fn].eval(...n.args.map((a) => val.get(a)!)));
  }
  return roots.map((r) => val.get(r)!);
}
