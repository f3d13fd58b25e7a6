/**
 * Random well-typed formulas for the property tests (test/property.test.ts).
 *
 * A formula is generated as a plain-data `Spec` (so fast-check can shrink it and print it), then
 * turned into IR by `build`, which goes through the node constructors (`mk`, `Var`, `RatCst`). The
 * generator is type-directed: `formula(d)` only produces trees of dimension d, choosing argument
 * dimensions that the op's dimension rule accepts (scalar broadcasting included), so `build` never
 * meets a DimError. Values stay finite on inputs in [-2, 2]: divisions are only by non-zero
 * constants or by 1 + f², Exp only sees -f², Sin f or Cos f, and powers are at most 3.
 *
 * `evalTree` is a small tree-walker over `OPS[op].eval` that also returns, per component, a running
 * first-order bound of the rounding error in units of the machine epsilon (see `magnitude` below):
 * a plain relative tolerance is meaningless after a cancellation, so comparisons use both.
 */
import fc from 'fast-check';
import { mk, RatCst, Var } from '../../src/ir/node.js';
import { OPS } from '../../src/ir/ops/index.js';
import type { Cat, Node } from '../../src/ir/types.js';

// ---------------------------------------------------------------------------------------------
// specs

/** A formula as plain data: `C` is the rational constant p/q (built with RatCst: 0 → Zero(1),
 * integers → IntCst), `V` a variable by name, anything else `mk(op, args, params)`. */
export type Spec =
  | { op: 'C'; p: number; q: number }
  | { op: 'V'; name: VarName }
  | { op: string; args: Spec[]; params: number[] };

export type VarName = 'x' | 'y' | 's' | 't' | 'p';

/** The variables: name → [index, dim, cat]. */
export const VARS: Record<VarName, [number, number, Cat]> = {
  x: [0, 3, 0],
  y: [1, 3, 1],
  s: [2, 1, 0],
  t: [3, 1, 1],
  p: [4, 1, 2],
};
export const VAR_NAMES = Object.keys(VARS) as VarName[];
/** index → name, for printNode. */
export const NAMES: ReadonlyMap<number, string> = new Map(VAR_NAMES.map((n) => [VARS[n][0], n]));
/** The `.keo` declarations of the variables. */
export const DECLS = VAR_NAMES.map((n) => `${n} = ${['Vi', 'Vj', 'Pm'][VARS[n][2]]}(${VARS[n][0]}, ${VARS[n][1]})`).join('\n');

const C = (p: number, q = 1): Spec => ({ op: 'C', p, q });
const V = (name: VarName): Spec => ({ op: 'V', name });
const op = (name: string, args: Spec[], params: number[] = []): Spec => ({ op: name, args, params });

/** Build the IR of a spec (throws DimError if the spec is ill-typed, which the generator avoids). */
export function build(s: Spec): Node {
  if (s.op === 'C') {
    const c = s as { p: number; q: number };
    return RatCst(c.p, c.q);
  }
  if (s.op === 'V') {
    const [i, d, cat] = VARS[(s as { name: VarName }).name];
    return Var(i, d, cat);
  }
  const g = s as { op: string; args: Spec[]; params: number[] };
  return mk(g.op, g.args.map(build), g.params);
}

/** A compact text of a spec, for failure messages. */
export function specText(s: Spec): string {
  if (s.op === 'C') {
    const c = s as { p: number; q: number };
    return c.q === 1 ? `${c.p}` : `${c.p}/${c.q}`;
  }
  if (s.op === 'V') return (s as { name: VarName }).name;
  const g = s as { op: string; args: Spec[]; params: number[] };
  return `${g.op}(${[...g.args.map(specText), ...g.params.map(String)].join(',')})`;
}

// ---------------------------------------------------------------------------------------------
// generator

/** The constants of the spec: 0, 1, -1, 2, 1/2, -3 (and -2/3). */
export const CONSTANTS: readonly [number, number][] = [
  [0, 1],
  [1, 1],
  [-1, 1],
  [2, 1],
  [1, 2],
  [-3, 1],
  [-2, 3],
];
const NONZERO = CONSTANTS.filter(([p]) => p !== 0);

/** Dimensions the generator produces (2 and 4 only come from Concat and Zero). */
const DIMS = [1, 2, 3, 4] as const;
type Dim = (typeof DIMS)[number];

export interface GenOptions {
  /** Deepest nesting of generator steps (a sugar like Exp(-f²) counts as one step). */
  depth?: number;
  /** Include the macros SqNorm2 and SqDist (need the expand pass before evaluation). */
  macros?: boolean;
  /** Include Scalprod (the `|` operator). */
  scalprod?: boolean;
  /** Include the comparisons LessThan, LessOrEqual, Equal, NotEqual (discontinuous: not for value tests). */
  compare?: boolean;
}

/**
 * Type-directed generator: `formula(d)` gives formulas of dimension d whose nesting is at most
 * `depth` generator steps. Built bottom-up by depth, so nothing is recursive at sampling time.
 */
export function formulas(opts: GenOptions = {}): { formula: (d: Dim) => fc.Arbitrary<Spec> } {
  const maxDepth = opts.depth ?? 5;
  const macros = opts.macros ?? true;
  const scalprod = opts.scalprod ?? true;
  const compare = opts.compare ?? false;
  // withCrossShrink: a failing subtree can shrink to a leaf (the first alternative) of its dimension
  const oneof = (...arbs: fc.WeightedArbitrary<Spec>[]): fc.Arbitrary<Spec> => fc.oneof({ withCrossShrink: true }, ...arbs);
  // table[depth][dim]
  const table: Record<Dim, fc.Arbitrary<Spec>>[] = [];

  const constant = fc.constantFrom(...CONSTANTS).map(([p, q]) => C(p, q));
  const nonzero = fc.constantFrom(...NONZERO).map(([p, q]) => C(p, q));
  const leaf = (d: Dim): fc.Arbitrary<Spec> => {
    switch (d) {
      case 1:
        return fc.oneof(fc.constantFrom<VarName>('s', 't', 'p').map(V), constant);
      case 3:
        return fc.oneof({ arbitrary: fc.constantFrom<VarName>('x', 'y').map(V), weight: 4 }, { arbitrary: fc.constant(op('Zero', [], [3])), weight: 1 });
      case 2:
        return fc.oneof(fc.constant(op('Zero', [], [2])), fc.tuple(leaf(1), leaf(1)).map(([a, b]) => op('Concat', [a, b])));
      case 4:
        return fc.oneof(
          fc.constant(op('Zero', [], [4])),
          fc.tuple(leaf(3), leaf(1)).map(([a, b]) => op('Concat', [a, b])),
          fc.tuple(leaf(1), leaf(3)).map(([a, b]) => op('Concat', [a, b])),
        );
    }
  };
  table[0] = { 1: leaf(1), 2: leaf(2), 3: leaf(3), 4: leaf(4) };

  for (let depth = 1; depth <= maxDepth; depth++) {
    const sub = table[depth - 1]!;
    const row = {} as Record<Dim, fc.Arbitrary<Spec>>;
    for (const d of DIMS) {
      const f = sub[d];
      const s = sub[1];
      /** Two arguments whose broadcast dimension is d: (d, d), (d, 1) or (1, d). */
      const pair: fc.Arbitrary<[Spec, Spec]> = d === 1 ? fc.tuple(s, s) : fc.oneof(fc.tuple(f, f), fc.tuple(f, s), fc.tuple(s, f));
      const onePlusSquare = (a: fc.Arbitrary<Spec>): fc.Arbitrary<Spec> => a.map((x) => op('Add', [C(1), op('Square', [x])]));
      /** A denominator that cannot vanish, of dimension d or 1. */
      const denom = fc.oneof(nonzero, onePlusSquare(s), ...(d === 1 ? [] : [onePlusSquare(f)]));
      const ops: fc.WeightedArbitrary<Spec>[] = [
        { arbitrary: leaf(d), weight: depth === maxDepth ? 1 : 3 },
        { arbitrary: pair.map(([a, b]) => op('Add', [a, b])), weight: 3 },
        { arbitrary: pair.map(([a, b]) => op('Subtract', [a, b])), weight: 3 },
        { arbitrary: pair.map(([a, b]) => op('Mult', [a, b])), weight: 3 },
        { arbitrary: fc.tuple(f, denom).map(([a, b]) => op('Divide', [a, b])), weight: 2 },
        { arbitrary: fc.tuple(s, d === 1 ? denom : onePlusSquare(f)).map(([a, b]) => op('Divide', [a, b])), weight: 1 },
        { arbitrary: f.map((a) => op('Minus', [a])), weight: 2 },
        { arbitrary: f.map((a) => op('Square', [a])), weight: 2 },
        { arbitrary: fc.tuple(f, fc.integer({ min: 0, max: 3 })).map(([a, n]) => op('Pow', [a], [n])), weight: 1 },
        { arbitrary: f.map((a) => op('Exp', [op('Minus', [op('Square', [a])])])), weight: 1 },
        { arbitrary: f.map((a) => op('Exp', [op('Sin', [a])])), weight: 1 },
        { arbitrary: f.map((a) => op('Sin', [a])), weight: 1 },
        { arbitrary: f.map((a) => op('Cos', [a])), weight: 1 },
        { arbitrary: f.map((a) => op('Abs', [a])), weight: 1 },
        { arbitrary: onePlusSquare(f).map((a) => op('Inv', [a])), weight: 1 },
        ...(d === 1 ? [{ arbitrary: nonzero.map((c) => op('Inv', [c])), weight: 1 }] : []),
        { arbitrary: onePlusSquare(f).map((a) => op('Sqrt', [a])), weight: 1 },
      ];
      if (d === 1) {
        for (const k of DIMS) {
          const g = sub[k];
          ops.push({ arbitrary: g.map((a) => op('Sum', [a])), weight: 2 });
          ops.push({ arbitrary: fc.tuple(g, fc.integer({ min: 0, max: k - 1 })).map(([a, m]) => op('Elem', [a], [m])), weight: 1 });
          const dotPair = k === 1 ? fc.tuple(s, s) : fc.oneof({ arbitrary: fc.tuple(g, g), weight: 3 }, { arbitrary: fc.tuple(s, g), weight: 1 }, { arbitrary: fc.tuple(g, s), weight: 1 });
          if (scalprod) ops.push({ arbitrary: dotPair.map(([a, b]) => op('Scalprod', [a, b])), weight: 2 });
          if (macros) {
            ops.push({ arbitrary: g.map((a) => op('SqNorm2', [a])), weight: 1 });
            ops.push({ arbitrary: dotPair.map(([a, b]) => op('SqDist', [a, b])), weight: 1 });
          }
        }
      }
      if (compare) for (const c of ['LessThan', 'LessOrEqual', 'Equal', 'NotEqual']) ops.push({ arbitrary: pair.map(([a, b]) => op(c, [a, b])), weight: 1 });
      // Concat: d = d1 + d2
      for (const d1 of DIMS) {
        const d2 = d - d1;
        if ((DIMS as readonly number[]).includes(d2)) ops.push({ arbitrary: fc.tuple(sub[d1], sub[d2 as Dim]).map(([a, b]) => op('Concat', [a, b])), weight: 1 });
      }
      row[d] = oneof(...ops);
    }
    table[depth] = row;
  }
  return { formula: (d: Dim) => table[maxDepth]![d] };
}

/** A formula of any dimension 1..4 (mostly 1 and 3). */
export function anyFormula(opts: GenOptions = {}): fc.Arbitrary<Spec> {
  const g = formulas(opts);
  return fc.oneof({ withCrossShrink: true }, { arbitrary: g.formula(1), weight: 3 }, { arbitrary: g.formula(3), weight: 2 }, { arbitrary: g.formula(2), weight: 1 }, { arbitrary: g.formula(4), weight: 1 });
}

// ---------------------------------------------------------------------------------------------
// evaluation

/** Values of the variables by index (lengths = their dims). */
export type Env = ReadonlyMap<number, ArrayLike<number>>;

export interface Evaluated {
  value: Float64Array;
  /** Per component: a first-order bound of the accumulated rounding error, in units of eps. */
  mag: Float64Array;
}

/**
 * Evaluate a tree with `OPS[op].eval` (macros must have been expanded) and propagate a running
 * error bound: mag(f(a)) = |f(a)| + |f'(a)|·mag(a) for the unary functions, sums of magnitudes for
 * Add/Subtract/Sum, products for Mult/Scalprod. An op it does not know gets |value|.
 */
export function evalTree(root: Node, env: Env, memo = new Map<Node, Evaluated>()): Evaluated {
  const hit = memo.get(root);
  if (hit) return hit;
  const args = root.args.map((a) => evalTree(a, env, memo));
  const value = new Float64Array(root.dim);
  if (root.op === 'Var') {
    const src = env.get(root.params[0] as number);
    if (!src) throw new Error(`no value for variable ${root.params[0]}`);
    for (let k = 0; k < root.dim; k++) value[k] = src[k]!;
  } else {
    const def = OPS[root.op];
    if (!def?.eval) throw new Error(`evalTree: ${root.op} has no eval (expand macros first)`);
    def.eval(
      args.map((a) => a.value),
      root.params,
      value,
    );
  }
  const mag = magnitude(root, args, value);
  const out = { value, mag };
  memo.set(root, out);
  return out;
}

function magnitude(n: Node, args: Evaluated[], value: Float64Array): Float64Array {
  const m = new Float64Array(n.dim);
  const at = (e: Evaluated, k: number): [number, number] => {
    const j = e.value.length === 1 ? 0 : k;
    return [e.value[j]!, e.mag[j]!];
  };
  const [a, b] = args;
  for (let k = 0; k < n.dim; k++) {
    const v = Math.abs(value[k]!);
    let r: number;
    switch (n.op) {
      case 'Var':
      case 'IntCst':
      case 'RatCst':
      case 'Cst':
      case 'Zero':
        r = v;
        break;
      case 'Add':
      case 'Subtract':
        r = at(a!, k)[1] + at(b!, k)[1];
        break;
      case 'Mult':
        r = at(a!, k)[1] * at(b!, k)[1] + v;
        break;
      case 'Divide': {
        const [x, mx] = at(a!, k);
        const [y, my] = at(b!, k);
        r = mx / Math.abs(y) + (Math.abs(x) * my) / (y * y) + v;
        break;
      }
      case 'Minus':
      case 'Abs':
        r = at(a!, k)[1];
        break;
      case 'Square': {
        const [x, mx] = at(a!, k);
        r = v + 2 * Math.abs(x) * mx;
        break;
      }
      case 'Pow': {
        const p = n.params[0] as number;
        const [x, mx] = at(a!, k);
        r = p === 0 ? v : v + p * Math.abs(x) ** (p - 1) * mx;
        break;
      }
      case 'Exp':
        r = v * (1 + at(a!, k)[1]);
        break;
      case 'Sin':
      case 'Cos':
        r = v + at(a!, k)[1];
        break;
      case 'Sqrt': {
        const [x, mx] = at(a!, k);
        r = v + mx / (2 * Math.sqrt(Math.abs(x)) || 1);
        break;
      }
      case 'Inv': {
        const [x, mx] = at(a!, k);
        r = v + mx / (x * x);
        break;
      }
      case 'Sum':
        r = a!.mag.reduce((s, y) => s + y, 0);
        break;
      case 'Scalprod': {
        const sa = a!.value.length === 1 ? 0 : 1;
        const sb = b!.value.length === 1 ? 0 : 1;
        const len = Math.max(a!.value.length, b!.value.length);
        r = 0;
        for (let l = 0; l < len; l++) r += a!.mag[l * sa]! * b!.mag[l * sb]!;
        r += v;
        break;
      }
      case 'Elem':
        r = a!.mag[n.params[0] as number]!;
        break;
      case 'Concat':
        r = k < a!.mag.length ? a!.mag[k]! : b!.mag[k - a!.mag.length]!;
        break;
      default:
        r = v;
    }
    m[k] = Math.max(r, v);
  }
  return m;
}

/**
 * |actual - expected| <= rtol·max(1, |expected|) + etol·mag componentwise (mag: the error bound in
 * units of eps from evalTree). Returns undefined when close, else a description of the first miss.
 */
export function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, mag: ArrayLike<number>, rtol = 1e-9, etol = 1e-10): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`;
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k]!;
    const b = expected[k]!;
    if (Object.is(a, b) || a === b) continue;
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    const tol = rtol * Math.max(1, Math.abs(b)) + etol * mag[k]!;
    if (!(Math.abs(a - b) <= tol)) return `component ${k}: got ${a}, expected ${b} (|diff| ${Math.abs(a - b)} > tol ${tol})`;
  }
  return undefined;
}

/** A fixed-length array of finite doubles in [-2, 2]. */
export const doubles = (n: number): fc.Arbitrary<Float64Array> =>
  fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n }).map((xs) => Float64Array.from(xs));

/** Random values for every variable (one (i, j) pair). */
export const envArb: fc.Arbitrary<Env> = fc
  .tuple(...VAR_NAMES.map((n) => doubles(VARS[n][1])))
  .map((vals) => new Map(VAR_NAMES.map((n, k) => [VARS[n][0], vals[k]!])));

// ---------------------------------------------------------------------------------------------
// minimisation

/** The dimension of a spec, or undefined if it does not build. */
function dimOf(s: Spec): number | undefined {
  try {
    return build(s).dim;
  } catch {
    return undefined;
  }
}

function subSpecs(s: Spec): Spec[] {
  const out: Spec[] = [];
  const walk = (t: Spec): void => {
    out.push(t);
    if ('args' in t) t.args.forEach(walk);
  };
  if ('args' in s) s.args.forEach(walk);
  return out;
}

function size(s: Spec): number {
  return 'args' in s ? 1 + s.args.reduce((n, a) => n + size(a), 0) : 1;
}

/** Replace the subtree at `path` (indices into args) by `by`. */
function replaceAt(s: Spec, path: number[], by: Spec): Spec {
  if (path.length === 0) return by;
  const g = s as { op: string; args: Spec[]; params: number[] };
  const args = g.args.slice();
  args[path[0]!] = replaceAt(args[path[0]!]!, path.slice(1), by);
  return { ...g, args };
}

function paths(s: Spec, prefix: number[] = []): number[][] {
  const out = [prefix];
  if ('args' in s) s.args.forEach((a, k) => out.push(...paths(a, [...prefix, k])));
  return out;
}

function at(s: Spec, path: number[]): Spec {
  return path.reduce((t, k) => (t as { args: Spec[] }).args[k]!, s);
}

/**
 * Greedy minimisation of a failing spec (fast-check's shrinker cannot replace a node by one of its
 * children): repeatedly replace a subtree by a smaller subtree of the same dimension (one of its
 * descendants, a variable or the constants 0 and 1) while `fails` stays true.
 */
export function minimize(spec: Spec, fails: (s: Spec) => boolean, budget = 2000): Spec {
  let best = spec;
  let progress = true;
  while (progress && budget > 0) {
    progress = false;
    for (const path of paths(best)) {
      const node = at(best, path);
      const d = dimOf(node);
      const leaves: Spec[] = d === 1 ? [C(0), C(1), V('s')] : d === 3 ? [V('x'), op('Zero', [], [3])] : [op('Zero', [], [d ?? 1])];
      const candidates = [...leaves, ...subSpecs(node)].filter((c) => size(c) < size(node) && dimOf(c) === d);
      for (const c of candidates) {
        if (--budget <= 0) break;
        const next = replaceAt(best, path, c);
        let bad: boolean;
        try {
          bad = fails(next);
        } catch {
          bad = false;
        }
        if (bad) {
          best = next;
          progress = true;
          break;
        }
      }
      if (progress) break;
    }
  }
  return best;
}
