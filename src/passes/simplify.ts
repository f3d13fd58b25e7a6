import { constValue, IntCst, mk, numberLiteral, RatCst, ratValue, rewrite, Zero } from '../ir/node.js';
import { floatText } from '../ir/print.js';
import { OPS } from '../ir/ops/index.js';
import type { Kernel } from '../ir/kernel.js';
import { DimError, type Node, type Param } from '../ir/types.js';

/**
 * The simplification pass: KeOps's construction-time rewrite rules (keops-reference.md §1.11), with
 * exact rational constant folding. `smart(op, args, params)` is the simplifying constructor: it
 * returns a node equal in value to `mk(op, args, params)`, of the same dimension, after the rules.
 * Later passes (autodiff) build their output through it so that it stays compact.
 */
export function simplify(kernel: Kernel): Kernel {
  const memo = new Map<Node, Node>();
  const f = (n: Node): Node => smart(n.op, n.args, n.params);
  const out: Kernel = { ...kernel, formula: rewrite(kernel.formula, f, memo) };
  if (kernel.formula2) out.formula2 = rewrite(kernel.formula2, f, memo);
  return out;
}

/** Simplifying constructor. The result always has the dimension `mk(op, args, params)` would have. */
export function smart(op: string, args: readonly Node[], params: readonly Param[] = []): Node {
  const plain = (): Node => mk(op, args, params);
  const rule = RULES[op];
  let out = rule ? rule(args, params) : undefined;
  if (!out) out = foldConstant(op, args, params);
  if (!out) return plain();
  const want = plain().dim;
  return out.dim === want ? out : plain();
}

type Rule = (args: readonly Node[], params: readonly Param[]) => Node | undefined;

const isZero = (n: Node): boolean => n.op === 'Zero';
const isConst = (n: Node): boolean => constValue(n) !== undefined;
const isOne = (n: Node): boolean => constValue(n) === 1;
const dimOf = (...ns: Node[]): number => Math.max(...ns.map((n) => n.dim));

/** `n` broadcast to dimension d, when that can be written without an op (n of dim d, or a zero). */
function bcast(n: Node, d: number): Node | undefined {
  if (n.dim === d) return n;
  if (isZero(n)) return Zero(d);
  return undefined;
}

/** Exact arithmetic on constants: rational when both are rational, float otherwise. */
function cstOp(a: Node, b: Node, op: '+' | '-' | '*' | '/'): Node | undefined {
  const ra = ratValue(a);
  const rb = ratValue(b);
  if (ra && rb) {
    const [p, q] = ra;
    const [r, s] = rb;
    const exact = { '+': [p * s + r * q, q * s], '-': [p * s - r * q, q * s], '*': [p * r, q * s], '/': [p * s, q * r] }[op];
    if (op === '/' && r === 0) return undefined;
    if (exact.every(Number.isSafeInteger)) return RatCst(exact[0]!, exact[1]!);
  }
  const va = constValue(a);
  const vb = constValue(b);
  if (va === undefined || vb === undefined) return undefined;
  const v = { '+': va + vb, '-': va - vb, '*': va * vb, '/': va / vb }[op];
  return Number.isFinite(v) ? numberCst(v) : undefined;
}

/** A constant node for a float64 value: the node its shortest literal parses to (an exact rational
 * when that literal is a small decimal), so that printed formulas parse back to the same node. */
function numberCst(v: number): Node {
  return numberLiteral(floatText(v), v);
}

/** Split `c * x` with c a scalar constant into [c, x]; anything else is [1, x]. */
function coeff(n: Node): [Node, Node] {
  if (n.op === 'Mult' && isConst(n.args[0]!)) return [n.args[0]!, n.args[1]!];
  return [IntCst(1), n];
}

const add = (a: Node, b: Node): Node => smart('Add', [a, b]);
const sub = (a: Node, b: Node): Node => smart('Subtract', [a, b]);
const mul = (a: Node, b: Node): Node => smart('Mult', [a, b]);
const neg = (a: Node): Node => smart('Minus', [a]);

/** Shared-factor rules a·b ± a·c → a·(b ± c) (any position of the shared factor). */
function factorOut(a: Node, b: Node, combine: (x: Node, y: Node) => Node): Node | undefined {
  if (a.op !== 'Mult' || b.op !== 'Mult') return undefined;
  const [a0, a1] = a.args as [Node, Node];
  const [b0, b1] = b.args as [Node, Node];
  if (a0 === b0) return mul(a0, combine(a1, b1));
  if (a1 === b1) return mul(combine(a0, b0), a1);
  if (a0 === b1) return mul(a0, combine(a1, b0));
  if (a1 === b0) return mul(a1, combine(a0, b1));
  return undefined;
}

const RULES: Record<string, Rule> = {
  IntCst(_args, [n]) {
    return n === 0 ? Zero(1) : undefined;
  },
  RatCst(_args, [p, q]) {
    return RatCst(p as number, q as number);
  },
  Add([a, b]) {
    const d = dimOf(a!, b!);
    if (isZero(a!)) return bcast(b!, d);
    if (isZero(b!)) return bcast(a!, d);
    if (isConst(a!) && isConst(b!)) return cstOp(a!, b!, '+');
    if (isConst(b!)) return add(b!, a!); // constants to the left
    if (isConst(a!) && b!.op === 'Add' && isConst(b!.args[0]!)) return add(add(a!, b!.args[0]!), b!.args[1]!);
    if (a!.op === 'Minus' && b!.op === 'Minus') return neg(add(a!.args[0]!, b!.args[0]!));
    if (b!.op === 'Minus') return sub(a!, b!.args[0]!);
    if (b!.op === 'Mult' && (constValue(b!.args[0]!) ?? 0) < 0 && !isConst(a!)) return sub(a!, mul(neg(b!.args[0]!), b!.args[1]!)); // x + (-c)·y → x − c·y
    if (a!.op === 'Minus') return sub(b!, a!.args[0]!);
    const [ca, xa] = coeff(a!);
    const [cb, xb] = coeff(b!);
    if (xa === xb) return mul(add(ca, cb), xa); // x + x → 2·x, n·x + x → (n+1)·x
    return factorOut(a!, b!, add);
  },
  Subtract([a, b]) {
    const d = dimOf(a!, b!);
    if (isZero(b!)) return bcast(a!, d);
    if (isZero(a!)) {
      const nb = bcast(b!, d);
      return nb && neg(nb);
    }
    if (isConst(a!) && isConst(b!)) return cstOp(a!, b!, '-');
    if (a === b) return Zero(d);
    if (b!.op === 'Minus') return add(a!, b!.args[0]!);
    if (a!.op === 'Minus') return neg(add(a!.args[0]!, b!));
    const [ca, xa] = coeff(a!);
    const [cb, xb] = coeff(b!);
    if (xa === xb) return mul(sub(ca, cb), xa);
    return factorOut(a!, b!, sub);
  },
  Minus([a]) {
    if (isZero(a!)) return a;
    if (a!.op === 'Minus') return a!.args[0];
    if (isConst(a!)) return cstOp(IntCst(0), a!, '-');
    if (a!.op === 'Mult' && isConst(a!.args[0]!)) return mul(neg(a!.args[0]!), a!.args[1]!);
    return undefined;
  },
  Mult([a, b]) {
    const d = dimOf(a!, b!);
    if (isZero(a!) || isZero(b!)) return Zero(d);
    if (isConst(a!) && isConst(b!)) return cstOp(a!, b!, '*');
    if (isConst(b!)) return mul(b!, a!); // constants to the left
    if (isConst(a!)) {
      if (isOne(a!)) return b;
      if (constValue(a!) === -1) return neg(b!);
      if (b!.op === 'Mult' && isConst(b!.args[0]!)) return mul(mul(a!, b!.args[0]!), b!.args[1]!);
      if (b!.op === 'Minus') return mul(neg(a!), b!.args[0]!);
      return undefined;
    }
    if (b!.op === 'Mult' && isConst(b!.args[0]!)) return mul(b!.args[0]!, mul(a!, b!.args[1]!));
    if (a!.op === 'Mult' && isConst(a!.args[0]!)) return mul(a!.args[0]!, mul(a!.args[1]!, b!));
    if (a!.op === 'Minus' && b!.op === 'Minus') return mul(a!.args[0]!, b!.args[0]!);
    if (a!.op === 'Minus') return neg(mul(a!.args[0]!, b!));
    if (b!.op === 'Minus') return neg(mul(a!, b!.args[0]!));
    if (a === b) return smart('Square', [a!]);
    // SumT(s, d) is s broadcast to dimension d: multiply by the scalar instead
    if (b!.op === 'SumT' && a!.dim === b!.dim) return mul(b!.args[0]!, a!);
    if (a!.op === 'SumT' && b!.dim === a!.dim) return mul(a!.args[0]!, b!);
    if (a!.op === 'Exp' && b!.op === 'Exp') return smart('Exp', [add(a!.args[0]!, b!.args[0]!)]);
    if (a!.op === 'Exp') return mul(b!, a!); // Exp factors to the right
    return undefined;
  },
  Divide([a, b]) {
    const d = dimOf(a!, b!);
    if (isZero(b!)) throw new DimError('division by the constant zero', undefined, 1, 'BadConstant');
    if (isZero(a!)) return Zero(d);
    const rb = ratValue(b!);
    if (rb) return mul(RatCst(rb[1], rb[0]), a!); // x/n → (1/n)·x, x/(p/q) → (q/p)·x
    if (isConst(a!) && isConst(b!)) return cstOp(a!, b!, '/');
    if (isOne(a!)) return smart('Inv', [b!]);
    return undefined;
  },
  Inv([a]) {
    if (isZero(a!)) return undefined; // 1/0 = inf at run time, as KeOps
    const r = ratValue(a!);
    if (r) return RatCst(r[1], r[0]);
    if (a!.op === 'Inv') return a!.args[0];
    return undefined;
  },
  Square([a]) {
    if (isZero(a!)) return a;
    if (isConst(a!)) return cstOp(a!, a!, '*');
    if (a!.op === 'Minus') return smart('Square', [a!.args[0]!]);
    return undefined;
  },
  Pow([a], [n]) {
    if (n === 1) return a;
    if (n === 2) return smart('Square', [a!]);
    if (n === 0 && a!.dim === 1) return IntCst(1);
    const r = ratValue(a!);
    if (r && typeof n === 'number' && n > 0) {
      const p = r[0] ** n;
      const q = r[1] ** n;
      if (Number.isSafeInteger(p) && Number.isSafeInteger(q)) return RatCst(p, q);
    }
    return undefined;
  },
  Exp([a]) {
    if (isZero(a!) && a!.dim === 1) return IntCst(1);
    return undefined;
  },
  Sum([a]) {
    if (a!.dim === 1) return a;
    if (isZero(a!)) return Zero(1);
    if (a!.op === 'Minus') return neg(smart('Sum', [a!.args[0]!]));
    if (a!.op === 'Mult') {
      const [x, y] = a!.args as [Node, Node];
      if (x.dim === 1) return mul(x, smart('Sum', [y]));
      if (y.dim === 1) return mul(y, smart('Sum', [x]));
      return smart('Scalprod', [x, y]);
    }
    return undefined;
  },
  Scalprod([a, b]) {
    if (isZero(a!) || isZero(b!)) return Zero(1);
    if (a!.op === 'ElemT') return mul(a!.args[0]!, smart('Elem', [b!], [a!.params[1]!]));
    if (b!.op === 'ElemT') return mul(b!.args[0]!, smart('Elem', [a!], [b!.params[1]!]));
    if (a!.op === 'SumT') return mul(a!.args[0]!, smart('Sum', [b!]));
    if (b!.op === 'SumT') return mul(b!.args[0]!, smart('Sum', [a!]));
    if (a!.dim === 1) return mul(a!, b!);
    if (a === b) return smart('Sum', [smart('Square', [a!])]);
    if (a!.op === 'Minus') return neg(smart('Scalprod', [a!.args[0]!, b!]));
    if (b!.op === 'Minus') return neg(smart('Scalprod', [a!, b!.args[0]!]));
    if (a!.op === 'Mult' && a!.args[0]!.dim === 1 && a!.args[1]!.dim === a!.dim) return mul(a!.args[0]!, smart('Scalprod', [a!.args[1]!, b!]));
    if (b!.op === 'Mult' && b!.args[0]!.dim === 1 && b!.args[1]!.dim === b!.dim) return mul(b!.args[0]!, smart('Scalprod', [a!, b!.args[1]!]));
    if (a!.op === 'Mult' && a!.args[1]!.dim === 1 && a!.args[0]!.dim === a!.dim) return mul(a!.args[1]!, smart('Scalprod', [a!.args[0]!, b!]));
    if (b!.op === 'Mult' && b!.args[1]!.dim === 1 && b!.args[0]!.dim === b!.dim) return mul(b!.args[1]!, smart('Scalprod', [a!, b!.args[0]!]));
    return undefined;
  },
  SumT([a], [d]) {
    if (isZero(a!)) return Zero(d as number);
    return undefined;
  },
  Elem([a], [m]) {
    if (isZero(a!)) return Zero(1);
    const k = m as number;
    const el = (x: Node): Node => (x.dim === 1 ? x : smart('Elem', [x], [k]));
    switch (a!.op) {
      case 'ElemT':
        return a!.params[1] === k ? a!.args[0] : Zero(1);
      case 'SumT':
        return a!.args[0];
      case 'Add':
      case 'Subtract':
      case 'Mult':
      case 'Divide':
        return smart(a!.op, [el(a!.args[0]!), el(a!.args[1]!)]);
      case 'Minus':
        return neg(el(a!.args[0]!));
    }
    return undefined;
  },
};

/** Ops whose value on constants is folded to a float64 constant (exact ops are handled by the rules). */
const FOLDABLE = new Set(['math', 'compare']);

/** Fold a scalar op whose arguments are all scalar constants, when the result is finite. */
function foldConstant(op: string, args: readonly Node[], params: readonly Param[]): Node | undefined {
  const def = OPS[op];
  if (!def?.eval || !FOLDABLE.has(def.group) || args.length === 0) return undefined;
  if (!args.every((a) => a.dim === 1 && isConst(a))) return undefined;
  const out = new Float64Array(1);
  def.eval(
    args.map((a) => Float64Array.of(constValue(a)!)),
    params,
    out,
  );
  return Number.isFinite(out[0]!) ? numberCst(out[0]!) : undefined;
}
