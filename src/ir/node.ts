import { OPS } from './ops/index.js';
import { DEP_I, DEP_J, DEP_P, DimError, type Cat, type ExpandBuilder, type Node, type Param } from './types.js';

const table = new Map<string, Node>();
let nextId = 1;

function paramKey(p: Param): string {
  return typeof p === 'number' ? (Object.is(p, -0) ? '-0' : String(p)) : `[${p.join(',')}]`;
}

/**
 * Make (or find) the node `op(args; params)`. Runs the op's dimension rule, which throws DimError on
 * a mismatch. Nodes are hash-consed: equal inputs return the same object.
 */
export function mk(op: string, args: readonly Node[] = [], params: readonly Param[] = []): Node {
  const key = `${op}(${params.map(paramKey).join(',')};${args.map((a) => a.id).join(',')})`;
  const hit = table.get(key);
  if (hit) return hit;
  const def = OPS[op];
  if (!def) throw new Error(`internal: unknown op ${op}`);
  const dim = def.dim(
    args.map((a) => a.dim),
    params,
  );
  if (!Number.isInteger(dim) || dim < 1) throw new DimError(`${op} would have dimension ${dim}`);
  let deps = 0;
  let depth = 1;
  for (const a of args) depth = Math.max(depth, a.depth + 1);
  if (op === 'Var') deps = params[2] === 0 ? DEP_I : params[2] === 1 ? DEP_J : DEP_P;
  for (const a of args) deps |= a.deps;
  const node: Node = Object.freeze({ id: nextId++, op, args: Object.freeze([...args]), params: Object.freeze([...params]), dim, deps, key, depth });
  table.set(key, node);
  return node;
}

/** Whether `n` is the hash-consed node of its key (every node made by `mk` is; the IR verifier checks it). */
export function isInterned(n: Node): boolean {
  return table.get(n.key) === n;
}

// ---- constructors for the nodes every pass needs ----

/** Input variable number `index`, of dimension `dim` and category `cat` (0 = i, 1 = j, 2 = parameter). */
export const Var = (index: number, dim: number, cat: Cat): Node => mk('Var', [], [index, dim, cat]);
/** The zero vector of dimension d. */
export const Zero = (d: number): Node => mk('Zero', [], [d]);
/** An integer constant (0 becomes Zero(1)). */
export const IntCst = (n: number): Node => (n === 0 ? Zero(1) : mk('IntCst', [], [n]));
/** A float constant that is not an exact small rational. */
export const FloatCst = (v: number): Node => mk('Cst', [], [v]);

function gcd(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

/** An exact rational constant p/q, reduced; falls back to a float constant when p or q leaves the
 * safe-integer range. */
export function RatCst(p: number, q: number): Node {
  if (q === 0) throw new DimError('division by the constant zero', undefined, undefined, 'BadConstant');
  if (q < 0) [p, q] = [-p, -q];
  const g = gcd(p, q) || 1;
  p /= g;
  q /= g;
  if (!Number.isSafeInteger(p) || !Number.isSafeInteger(q)) return FloatCst(p / q);
  if (p === 0) return Zero(1);
  if (q === 1) return IntCst(p);
  return mk('RatCst', [], [p, q]);
}

/** The constructors macro expansions build with (OpDef.expand's B). */
export const EXPAND: ExpandBuilder = { mk, rat: RatCst };

/** The exact value of a rational constant node as [p, q], or undefined for any other node.
 * Zero(1) counts as 0/1. */
export function ratValue(n: Node): [number, number] | undefined {
  if (n.op === 'IntCst') return [n.params[0] as number, 1];
  if (n.op === 'RatCst') return [n.params[0] as number, n.params[1] as number];
  if (n.op === 'Zero' && n.dim === 1) return [0, 1];
  return undefined;
}

/** The numeric value of a scalar constant node (IntCst, RatCst, Cst, Zero(1)), or undefined. */
export function constValue(n: Node): number | undefined {
  const r = ratValue(n);
  if (r) return r[0] / r[1];
  if (n.op === 'Cst') return n.params[0] as number;
  return undefined;
}

/** Turn a decimal literal into a constant node, exactly when it is a small rational (0.5 → 1/2). */
export function numberLiteral(text: string, value: number): Node {
  if (text.startsWith('-')) {
    const pos = numberLiteral(text.slice(1), -value);
    const r = ratValue(pos);
    return r ? RatCst(-r[0], r[1]) : FloatCst(value);
  }
  const m = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m) {
    const intPart = m[1] ?? '';
    const frac = m[2] ?? '';
    const exp = Number(m[3] ?? '0') - frac.length;
    const digits = (intPart + frac).replace(/^0+(?=\d)/, '') || '0';
    const mant = Number(digits);
    if (Number.isSafeInteger(mant) && Math.abs(exp) <= 15) {
      if (exp >= 0) {
        const v = mant * 10 ** exp;
        if (Number.isSafeInteger(v)) return IntCst(v);
      } else return RatCst(mant, 10 ** -exp);
    }
  }
  return FloatCst(value);
}

/** Every node reachable from `roots`, children before parents, each once. */
export function topoOrder(roots: readonly Node[]): Node[] {
  const seen = new Set<Node>();
  const out: Node[] = [];
  const visit = (n: Node): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const a of n.args) visit(a);
    out.push(n);
  };
  for (const r of roots) visit(r);
  return out;
}

/** All Var nodes under `roots`, sorted by index. */
export function variablesOf(roots: readonly Node[]): Node[] {
  return topoOrder(roots)
    .filter((n) => n.op === 'Var')
    .sort((a, b) => (a.params[0] as number) - (b.params[0] as number));
}

/** Rebuild `n` bottom-up, replacing each node by `f(rebuilt node)`; shared subtrees are visited once. */
export function rewrite(n: Node, f: (n: Node) => Node, memo = new Map<Node, Node>()): Node {
  const hit = memo.get(n);
  if (hit) return hit;
  const args = n.args.map((a) => rewrite(a, f, memo));
  const same = args.every((a, k) => a === n.args[k]);
  const rebuilt = same ? n : mk(n.op, args, n.params);
  const out = f(rebuilt);
  memo.set(n, out);
  return out;
}
