import { expect } from 'chai';
import { FloatCst, IntCst, mk, RatCst, Var } from '../src/ir/node.js';
import { OP_LIST, OPS } from '../src/ir/ops/index.js';
import { DimError, type Node, type Param } from '../src/ir/types.js';

// ---------------------------------------------------------------------------------------------
// a tiny tree evaluator: OPS[op].eval, macros through their expansion, Var values from a map

function evaluate(root: Node, env: ReadonlyMap<number, readonly number[]>): Float64Array {
  const memo = new Map<Node, Float64Array>();
  const go = (n: Node): Float64Array => {
    const hit = memo.get(n);
    if (hit) return hit;
    let out: Float64Array;
    const def = OPS[n.op]!;
    if (n.op === 'Var') {
      const v = env.get(n.params[0] as number);
      if (!v || v.length !== n.dim) throw new Error(`no value of dim ${n.dim} for ${n.key}`);
      out = Float64Array.from(v);
    } else if (def.eval) {
      out = new Float64Array(n.dim);
      def.eval(n.args.map(go), n.params, out);
    } else if (def.expand) {
      const e = def.expand(n.args, n.params);
      expect(e.dim, `expansion of ${n.op} keeps the dimension`).to.equal(n.dim);
      out = go(e);
    } else throw new Error(`${n.op} has neither eval nor expand`);
    memo.set(n, out);
    return out;
  };
  return go(root);
}

/** op(args; params), the args being i-variables 0, 1, ... with the given values. */
function evalOp(op: string, args: readonly (readonly number[])[], params: readonly Param[] = []): number[] {
  const vars = args.map((a, k) => Var(k, a.length, 0));
  const env = new Map(args.map((a, k) => [k, a] as const));
  return Array.from(evaluate(mk(op, vars, params), env));
}

function expectClose(actual: readonly number[], expected: readonly number[], tol = 1e-12, label = ''): void {
  expect(actual.length, `${label} length`).to.equal(expected.length);
  expected.forEach((e, k) => {
    const a = actual[k]!;
    const where = `${label}[${k}]: got ${a}, expected ${e}`;
    if (Number.isNaN(e)) expect(Number.isNaN(a), where).to.equal(true);
    else if (!Number.isFinite(e)) expect(a, where).to.equal(e);
    else expect(Math.abs(a - e) <= tol, where).to.equal(true);
  });
}

function expectDimError(fn: () => unknown, kind: DimError['kind']): DimError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(DimError);
    expect((e as DimError).kind).to.equal(kind);
    expect((e as DimError).message.length).to.be.greaterThan(0);
    return e as DimError;
  }
  throw new Error('expected a DimError');
}

// ---------------------------------------------------------------------------------------------
// dimension rules: for every op, accepted (dims, params) → output dim, and rejected ones

type DimCase = readonly [readonly number[], readonly Param[], number];
type BadCase = readonly [readonly number[], readonly Param[], DimError['kind']?];
interface DimSpec {
  ok: readonly DimCase[];
  bad?: readonly BadCase[];
}

const PR = 'ParamOutOfRange';
const BC = 'BadConstant';
const UNARY: DimSpec = { ok: [[[3], [], 3], [[1], [], 1]] };
const BINARY: DimSpec = {
  ok: [[[3, 3], [], 3], [[1, 3], [], 3], [[3, 1], [], 3], [[1, 1], [], 1]],
  bad: [[[3, 2], []], [[2, 3], []]],
};
const TERNARY: DimSpec = {
  ok: [[[3, 3, 3], [], 3], [[3, 1, 1], [], 3], [[1, 1, 4], [], 4]],
  bad: [[[3, 2, 3], []], [[3, 3, 2], []], [[1, 2, 3], []]],
};
const COMPLEX_BINARY: DimSpec = {
  ok: [[[4, 4], [], 4], [[2, 6], [], 6], [[6, 2], [], 6], [[2, 2], [], 2]],
  bad: [[[4, 6], []], [[3, 3], []], [[1, 2], []], [[2, 1], []]],
};
const COMPLEX_HALF: DimSpec = { ok: [[[4], [], 2], [[2], [], 1]], bad: [[[3], []]] };
const TO_COMPLEX: DimSpec = { ok: [[[3], [], 6], [[1], [], 2]] };

const DIMS: Record<string, DimSpec> = {
  Var: { ok: [[[], [0, 3, 0], 3], [[], [5, 1, 2], 1], [[], [-1, 2, 1], 2]], bad: [[[], [0, 0, 0], PR], [[], [0, 3, 3], PR], [[], [0, 2.5, 0], PR]] },
  IntCst: { ok: [[[], [7], 1], [[], [-2], 1]], bad: [[[], [1.5], PR]] },
  RatCst: { ok: [[[], [1, 3], 1]], bad: [[[], [1, 0], BC], [[], [0.5, 2], PR]] },
  Zero: { ok: [[[], [4], 4]], bad: [[[], [0], PR], [[], [-1], PR]] },
  Cst: { ok: [[[], [0.1], 1], [[], [Infinity], 1]], bad: [[[], [[1, 2]], BC]] },
  IntInv: { ok: [[[], [3], 1]], bad: [[[], [0], BC]] },
  Minus: UNARY,
  Add: BINARY,
  Subtract: BINARY,
  Mult: BINARY,
  Divide: BINARY,
  Inv: UNARY,
  Exp: UNARY,
  Log: UNARY,
  Sin: UNARY,
  Cos: UNARY,
  Asin: UNARY,
  Acos: UNARY,
  Atan: UNARY,
  Atan2: BINARY,
  Sqrt: UNARY,
  Rsqrt: UNARY,
  Square: UNARY,
  Pow: { ok: [[[3], [2], 3], [[1], [-1], 1], [[2], [0], 2]], bad: [[[3], [1.5], PR], [[3], [[2]], PR]] },
  Powf: BINARY,
  Abs: UNARY,
  Sign: UNARY,
  Step: UNARY,
  ReLU: UNARY,
  Floor: UNARY,
  Round: { ok: [[[3], [0], 3], [[3], [-2], 3]], bad: [[[3], [0.5], PR]] },
  XLogX: UNARY,
  SinXDivX: UNARY,
  Mod: TERNARY,
  Equal: BINARY,
  NotEqual: BINARY,
  LessThan: BINARY,
  LessOrEqual: BINARY,
  IfElse: TERNARY,
  Clamp: TERNARY,
  ClampInt: { ok: [[[3], [0, 1], 3]], bad: [[[3], [0, 0.5], PR]] },
  DiffClampInt: { ok: [[[3], [-1, 1], 3]], bad: [[[3], [0.5, 1], PR]] },
  Sum: { ok: [[[3], [], 1], [[1], [], 1]] },
  SumT: { ok: [[[1], [3], 3]], bad: [[[2], [3]], [[1], [0], PR]] },
  Max: { ok: [[[4], [], 1]] },
  Min: { ok: [[[4], [], 1]] },
  ArgMax: { ok: [[[4], [], 1]] },
  ArgMin: { ok: [[[4], [], 1]] },
  Scalprod: { ok: [[[3, 3], [], 1], [[1, 3], [], 1], [[3, 1], [], 1]], bad: [[[3, 2], []]] },
  SqNorm2: { ok: [[[3], [], 1]] },
  Norm2: { ok: [[[3], [], 1]] },
  Normalize: { ok: [[[3], [], 3]] },
  SqDist: { ok: [[[3, 3], [], 1], [[3, 1], [], 1]], bad: [[[3, 2], []]] },
  SqNormIso: { ok: [[[1, 3], [], 1]], bad: [[[2, 2], []]] },
  SqNormDiag: { ok: [[[3, 3], [], 1]], bad: [[[3, 2], []]] },
  SymSqNorm: { ok: [[[4, 2], [], 1], [[9, 3], [], 1]], bad: [[[3, 2], []], [[2, 2], []]] },
  WeightedSqNorm: { ok: [[[1, 2], [], 1], [[2, 2], [], 1], [[4, 2], [], 1]], bad: [[[3, 2], []]] },
  WeightedSqDist: { ok: [[[1, 2, 2], [], 1], [[4, 2, 2], [], 1], [[3, 3, 1], [], 1]], bad: [[[3, 2, 2], []], [[1, 2, 3], []]] },
  Elem: { ok: [[[3], [0], 1], [[3], [2], 1]], bad: [[[3], [3], PR], [[3], [-1], PR], [[3], [0.5], PR]] },
  ElemT: { ok: [[[1], [5, 2], 5]], bad: [[[1], [5, 5], PR], [[1], [5, -1], PR], [[2], [5, 1]], [[1], [0, 0], PR]] },
  Extract: { ok: [[[4], [1, 2], 2], [[4], [0, 4], 4]], bad: [[[4], [3, 2], PR], [[4], [-1, 2], PR], [[4], [0, 0], PR]] },
  ExtractT: { ok: [[[2], [3, 6], 6], [[2], [0, 2], 2]], bad: [[[2], [5, 6], PR], [[2], [-1, 6], PR]] },
  Concat: { ok: [[[1, 2], [], 3], [[3, 3], [], 6]] },
  OneHot: { ok: [[[1], [4], 4]], bad: [[[2], [4]], [[1], [0], PR]] },
  MatVecMult: { ok: [[[6, 2], [], 3], [[6, 6], [], 1], [[3, 1], [], 3]], bad: [[[5, 2], []]] },
  VecMatMult: { ok: [[[3, 6], [], 2], [[1, 4], [], 4]], bad: [[[4, 6], []]] },
  TensorProd: { ok: [[[2, 3], [], 6]] },
  TensorDot: {
    ok: [
      [[6, 3], [[2, 3], [3], [1], [0]], 2],
      [[4, 4], [[2, 2], [2, 2], [0, 1], [1, 0]], 1],
      [[2, 3], [[2], [3], [], []], 6],
      [[2, 3], [[2], [3], [], [], [1, 0]], 6],
    ],
    bad: [
      [[5, 3], [[2, 3], [3], [1], [0]]],
      [[6, 3], [[2, 3], [3], [0], [0]]],
      [[6, 3], [[2, 3], [3], [1], []], PR],
      [[6, 3], [[2, 3], [3], [2], [0]], PR],
      [[4, 4], [[2, 2], [2, 2], [0, 0], [0, 1]], PR],
      [[6, 3], [[2, 3], [3], [1], [0], [1]], PR],
      [[6, 3], [[2, 0], [3], [1], [0]], PR],
      [[6, 3], [3, [3], [1], [0]], PR],
    ],
  },
  Kron: { ok: [[[4, 2], [[2, 2], [2, 1]], 8]], bad: [[[4, 2], [[2, 2], [2]], PR], [[4, 2], [[2, 2], [3, 1]]]] },
  ComplexReal: COMPLEX_HALF,
  ComplexImag: COMPLEX_HALF,
  Real2Complex: TO_COMPLEX,
  Imag2Complex: TO_COMPLEX,
  Conj: { ok: [[[4], [], 4]], bad: [[[3], []]] },
  ComplexAbs: COMPLEX_HALF,
  ComplexSquareAbs: COMPLEX_HALF,
  ComplexAngle: COMPLEX_HALF,
  ComplexSum: { ok: [[[6], [], 2]], bad: [[[5], []]] },
  ComplexSumT: { ok: [[[2], [4], 4]], bad: [[[4], [4]], [[2], [3], PR], [[2], [0], PR]] },
  ComplexAdd: COMPLEX_BINARY,
  ComplexSubtract: COMPLEX_BINARY,
  ComplexMult: COMPLEX_BINARY,
  ComplexDivide: COMPLEX_BINARY,
  ComplexRealScal: { ok: [[[1, 4], [], 4], [[4, 1], [], 4]], bad: [[[2, 2], []], [[1, 3], []], [[1, 1], []]] },
  ComplexExp: { ok: [[[4], [], 4]], bad: [[[3], []]] },
  ComplexExp1j: TO_COMPLEX,
  Grad: { ok: [[[3, 2], [], 2], [[3, 2, 3], [], 2]], bad: [[[3, 2, 2], []]] },
  Diff: { ok: [[[3, 2, 2], [], 3]], bad: [[[3, 2, 3], []]] },
  Divergence: { ok: [[[3, 3], [], 1]], bad: [[[3, 2], []]] },
  Laplacian: { ok: [[[1, 3], [], 1]], bad: [[[2, 3], []]] },
  GradMatrix: { ok: [[[3, 2], [], 6]] },
  TraceOperator: { ok: [[[1, 3], [], 1], [[3, 3], [], 1]], bad: [[[2, 3], []]] },
  AdjointOperator: { ok: [[[2, 3, 2], [], 3]], bad: [[[2, 3, 3], []]] },
  SoftDTW_SqDist: { ok: [[[3, 2, 1], [], 1]], bad: [[[3, 2, 2], []]] },
  GradSoftDTW_SqDist: { ok: [[[3, 2, 1], [], 5], [[1, 1, 1], [], 2]], bad: [[[3, 2, 2], []]] },
  BSpline: { ok: [[[5, 1], [0], 4], [[5, 1], [3], 1]], bad: [[[5, 2], [0]], [[5, 1], [4], PR], [[5, 1], [-1], PR]] },
};

describe('op registry', () => {
  it('indexes every op by name, each once', () => {
    const names = OP_LIST.map((d) => d.name);
    expect(new Set(names).size).to.equal(names.length);
    for (const def of OP_LIST) {
      expect(OPS[def.name]).to.equal(def);
      for (const a of def.aliases ?? []) expect(OPS[a]).to.equal(def);
    }
  });

  it('has eval or expand for every op, or is an autodiff op (Var is a leaf)', () => {
    for (const def of OP_LIST) {
      if (def.name === 'Var') continue;
      expect(Boolean(def.eval || def.expand || def.group === 'autodiff'), def.name).to.equal(true);
      if (def.group === 'autodiff') expect(def.eval === undefined && def.expand === undefined, def.name).to.equal(true);
    }
  });

  it('has a valid signature and a one-line doc for every op', () => {
    for (const def of OP_LIST) {
      expect(def.doc, def.name).to.match(/^[^\n]+$/);
      def.sig.forEach((s, k) => {
        expect(['f', 'i', 'l', 'f?', 'i?', 'l?'], `${def.name} sig`).to.include(s);
        if (s.endsWith('?')) expect(def.sig.slice(k).every((t) => t.endsWith('?')), `${def.name}: optional only at the end`).to.equal(true);
      });
      const nf = def.sig.filter((s) => s[0] === 'f').length;
      expect(def.sig.slice(0, nf).every((s) => s[0] === 'f'), `${def.name}: formulas first`).to.equal(true);
    }
  });

  it('covers the ops of keops-reference §1.3–1.10', () => {
    const expected =
      'Var IntCst RatCst Zero IntInv Minus Add Subtract Mult Divide Inv Exp Log Sin Cos Asin Acos Atan Atan2 Sqrt Rsqrt Square Pow Powf Abs Sign Step ReLU Floor Round XLogX SinXDivX Mod ' +
      'Equal NotEqual LessThan LessOrEqual IfElse Clamp ClampInt DiffClampInt Sum SumT Max Min ArgMax ArgMin Scalprod SqNorm2 Norm2 Normalize SqDist SqNormIso SqNormDiag SymSqNorm ' +
      'WeightedSqNorm WeightedSqDist Elem ElemT Extract ExtractT Concat OneHot MatVecMult VecMatMult TensorProd TensorDot Kron GradMatrix ComplexReal ComplexImag Real2Complex Imag2Complex ' +
      'Conj ComplexAbs ComplexSquareAbs ComplexAngle ComplexSum ComplexSumT ComplexAdd ComplexSubtract ComplexMult ComplexDivide ComplexRealScal ComplexExp ComplexExp1j ' +
      'Grad Diff Divergence Laplacian TraceOperator AdjointOperator SoftDTW_SqDist BSpline Cst';
    for (const name of expected.split(' ')) expect(OPS[name], name).to.not.equal(undefined);
  });

  it('marks commutativity, printing and internal ops as KeOps', () => {
    const commutative = OP_LIST.filter((d) => d.commutative).map((d) => d.name).sort();
    expect(commutative).to.deep.equal(['Add', 'ComplexAdd', 'ComplexMult', 'Equal', 'Mult', 'NotEqual', 'Scalprod']);
    expect(OPS.Minus!.print).to.deep.equal({ symbol: '-', style: 'prefix', level: 2 });
    expect(OPS.Square!.print).to.deep.equal({ symbol: '**2', style: 'postfix', level: 1 });
    expect(OPS.Inv!.print).to.deep.equal({ symbol: '1/', style: 'prefix', level: 3 });
    for (const [op, sym] of [['Mult', '*'], ['Divide', '/']] as const) expect(OPS[op]!.print, op).to.deep.equal({ symbol: sym, style: 'infix', level: 3 });
    // '|' and the comparisons bind looser than '+' in Python: their levels keep printed formulas re-parseable
    expect(OPS.Scalprod!.print).to.deep.equal({ symbol: '|', style: 'infix', level: 5 });
    for (const [op, sym] of [['LessThan', '<'], ['LessOrEqual', '<='], ['Equal', '=='], ['NotEqual', '!=']] as const)
      expect(OPS[op]!.print, op).to.deep.equal({ symbol: sym, style: 'infix', level: 6 });
    for (const [op, sym] of [['Add', '+'], ['Subtract', '-']] as const) expect(OPS[op]!.print, op).to.deep.equal({ symbol: sym, style: 'infix', level: 4 });
    const internal = OP_LIST.filter((d) => d.internal).map((d) => d.name).sort();
    expect(internal).to.deep.equal(['AdjointOperator', 'ComplexSumT', 'Cst', 'DiffClampInt', 'GradSoftDTW_SqDist', 'RatCst', 'SumT', 'TraceOperator']);
  });
});

describe('op dimension rules', () => {
  it('has a dimension test for every op', () => {
    for (const def of OP_LIST) expect(DIMS[def.name], def.name).to.not.equal(undefined);
  });

  for (const [name, spec] of Object.entries(DIMS)) {
    it(name, () => {
      const def = OPS[name]!;
      for (const [dims, params, out] of spec.ok) expect(def.dim(dims, params), `${name}(${dims}; ${JSON.stringify(params)})`).to.equal(out);
      for (const [dims, params, kind] of spec.bad ?? []) expectDimError(() => def.dim(dims, params), kind ?? 'DimMismatch');
    });
  }

  it('writes short messages, hints with $k, and points at the argument', () => {
    const e = expectDimError(() => OPS.SqDist!.dim([3, 2], []), 'DimMismatch');
    expect(e.message).to.equal('SqDist needs equal dimensions, got 3 and 2');
    expect(e.hint).to.contain('$0').and.contain('$1');
    const el = expectDimError(() => OPS.Elem!.dim([3], [3]), 'ParamOutOfRange');
    expect(el.message).to.equal('Elem index 3 is out of range for a vector of dim 3');
    expect(el.arg).to.equal(1);
    const b = expectDimError(() => OPS.Add!.dim([3, 2], []), 'DimMismatch');
    expect(b.message).to.contain('3 and 2');
    expect(b.arg).to.equal(1);
  });

  it('is what mk runs (x + Concat(s,s) with dim x = 3 fails)', () => {
    const x = Var(0, 3, 0);
    const s = Var(1, 1, 1);
    expectDimError(() => mk('Add', [x, mk('Concat', [s, s])]), 'DimMismatch');
    expect(mk('Add', [x, s]).dim).to.equal(3);
  });
});

// ---------------------------------------------------------------------------------------------
// evaluation: goldens of keops-reference §7.3 (cases 14–22) and §1.8, hand values for the rest

type EvalCase = readonly [op: string, args: readonly (readonly number[])[], params: readonly Param[], expected: readonly number[], tol?: number];

const X14 = [0, -1, 2.5, -2.5, 0.49, 0.5, 1.5];
const W = [3, 7, 7, -1];
const A6 = [0, 1, 2, 3, 4, 5];
const { PI, E, SQRT2 } = Math;

const EVALS: readonly EvalCase[] = [
  // §1.3 constants
  ['IntCst', [], [7], [7]],
  ['RatCst', [], [1, 4], [0.25]],
  ['Zero', [], [3], [0, 0, 0]],
  ['Cst', [], [0.1], [0.1]],
  ['IntInv', [], [4], [0.25]],
  // §7.3 case 14 (5-digit goldens)
  ['Rsqrt', [X14], [], [0, NaN, 0.63246, NaN, 1.42857, 1.41421, 0.8165], 1e-5],
  ['SinXDivX', [X14], [], [1, 0.84147, 0.23939, 0.23939, 0.96046, 0.95885, 0.665], 1e-5],
  ['XLogX', [X14], [], [0, NaN, 2.29073, NaN, -0.34954, -0.34657, 0.6082], 1e-5],
  ['Sign', [X14], [], [0, -1, 1, -1, 1, 1, 1]],
  ['Step', [X14], [], [1, 0, 1, 0, 1, 1, 1]],
  ['Round', [X14], [0], [0, -1, 3, -3, 0, 1, 2]],
  ['Mod', [X14, [2], [0]], [], [0, 1, 0.5, 1.5, 0.49, 0.5, 1.5]],
  ['Clamp', [X14, [-1], [1]], [], [0, -1, 1, -1, 0.49, 0.5, 1]],
  ['IfElse', [X14, X14.map((x) => x + 1), X14.map((x) => x - 1)], [], [1, -2, 3.5, -3.5, 1.49, 1.5, 2.5]],
  ['Inv', [X14], [], [Infinity, -1, 0.4, -0.4, 2.04082, 2, 0.66667], 1e-5],
  // §1.4 hand values
  ['Minus', [[1, -2]], [], [-1, 2]],
  ['Add', [[1, 2], [10]], [], [11, 12]],
  ['Subtract', [[1], [1, 2, 3]], [], [0, -1, -2]],
  ['Mult', [[2, 3], [4, 5]], [], [8, 15]],
  ['Divide', [[1, 3], [2]], [], [0.5, 1.5]],
  ['Exp', [[0, 1]], [], [1, E]],
  ['Log', [[1, E, 0]], [], [0, 1, -Infinity]],
  ['Sin', [[0, PI / 2]], [], [0, 1]],
  ['Cos', [[0, PI]], [], [1, -1]],
  ['Asin', [[1, 0, 2]], [], [PI / 2, 0, NaN]],
  ['Acos', [[1, 0]], [], [0, PI / 2]],
  ['Atan', [[1, 0]], [], [PI / 4, 0]],
  ['Atan2', [[1, 0, -1], [0, -1, -1]], [], [PI / 2, PI, (-3 * PI) / 4]],
  ['Sqrt', [[4, 2, -1]], [], [2, SQRT2, NaN]],
  ['Rsqrt', [[4, -0]], [], [0.5, 0]],
  ['Square', [[-3, 0.5]], [], [9, 0.25]],
  ['Pow', [[2, -3]], [3], [8, -27]],
  ['Pow', [[2, 0]], [-1], [0.5, Infinity]],
  ['Pow', [[0, NaN]], [0], [1, 1]],
  ['Powf', [[4, 1, 2], [0.5, NaN, -1]], [], [2, 1, 0.5]],
  ['Powf', [[-1, 1], [Infinity]], [], [1, 1]],
  ['Abs', [[-2, 3]], [], [2, 3]],
  ['Sign', [[NaN, -0]], [], [0, 0]],
  ['Step', [[NaN]], [], [1]],
  ['ReLU', [[-1, 0, 2]], [], [0, 0, 2]],
  ['Floor', [[-1.5, 1.5, 2]], [], [-2, 1, 2]],
  ['Round', [[0.49999999999999994, -0.5, 1.5]], [0], [0, -1, 2]],
  ['Round', [[1.2345, 0.125]], [2], [1.23, 0.13]],
  ['Round', [[1250, -1249]], [-2], [1300, -1200]],
  ['XLogX', [[E]], [], [E]],
  ['SinXDivX', [[PI]], [], [Math.sin(PI) / PI]],
  ['Mod', [[-1, 7], [2], [0]], [], [1, 1]],
  ['Mod', [[5], [3], [-1]], [], [-1]],
  // §1.5
  ['Equal', [[1, 2, 3, NaN], [2]], [], [0, 1, 0, 0]],
  ['NotEqual', [[1, 2, 3, NaN], [2]], [], [1, 0, 1, 1]],
  ['LessThan', [[1, 2, 3], [2]], [], [1, 0, 0]],
  ['LessOrEqual', [[1, 2, 3], [2]], [], [1, 1, 0]],
  ['IfElse', [[NaN, 0], [1], [2]], [], [2, 1]],
  ['ClampInt', [[-2, 0.5, 3]], [0, 1], [0, 0.5, 1]],
  ['DiffClampInt', [[-2, 0.5, 3, 0, 1]], [0, 1], [0, 1, 0, 1, 1]],
  // §1.6, §7.3 cases 15, 17, 20
  ['Sum', [[1, 2, 3]], [], [6]],
  ['SumT', [[2]], [3], [2, 2, 2]],
  ['Max', [W], [], [7]],
  ['ArgMax', [W], [], [1]],
  ['Min', [W], [], [-1]],
  ['ArgMin', [W], [], [3]],
  ['ArgMin', [[1, 0, 0]], [], [1]],
  ['Scalprod', [[1, 2, 3], [4, 5, 6]], [], [32]],
  ['Scalprod', [[2], [1, 2, 3]], [], [12]],
  ['SqNorm2', [[1, 2, 3]], [], [14]],
  ['Norm2', [[3, 4]], [], [5]],
  ['Normalize', [[3, 4]], [], [0.6, 0.8]],
  ['Normalize', [[0, 0]], [], [0, 0]],
  ['SqDist', [[1, 2, 3], [3, 4, 5]], [], [12]],
  ['SqDist', [[1, 2, 3], [1]], [], [5]],
  ['SqNormIso', [[2], [1, 2]], [], [10]],
  ['SqNormDiag', [[1, 2], [3, 4]], [], [41]],
  ['SymSqNorm', [[1, 2, 2, 7], [1, 2]], [], [37]],
  ['WeightedSqNorm', [[3], [1, 2]], [], [15]],
  ['WeightedSqNorm', [[3, 5], [1, 2]], [], [23]],
  ['WeightedSqNorm', [[1, 2, 2, 7], [1, 2]], [], [37]],
  ['WeightedSqDist', [[3], [2, 3], [1, 1]], [], [15]],
  ['WeightedSqDist', [[3, 5], [2, 3], [1, 1]], [], [23]],
  ['WeightedSqDist', [[1, 2, 2, 7], [2, 3], [1, 1]], [], [37]],
  ['Elem', [W], [1], [7]],
  ['ElemT', [[7]], [5, 2], [0, 0, 7, 0, 0]],
  ['Extract', [W], [1, 2], [7, 7]],
  ['ExtractT', [[7, 7]], [3, 6], [0, 0, 0, 7, 7, 0]],
  ['Concat', [[1], [2, 3]], [], [1, 2, 3]],
  ['OneHot', [[0]], [4], [1, 0, 0, 0]],
  ['OneHot', [[1.49]], [4], [0, 1, 0, 0]],
  ['OneHot', [[1.5]], [4], [0, 0, 1, 0]],
  ['OneHot', [[2.6]], [4], [0, 0, 0, 1]],
  ['OneHot', [[3]], [4], [0, 0, 0, 1]],
  ['OneHot', [[3.5]], [4], [0, 0, 0, 0]],
  ['OneHot', [[-0.7]], [4], [1, 0, 0, 0]],
  ['OneHot', [[-1.6]], [4], [0, 0, 0, 0]],
  // §1.7, §7.3 cases 16, 18
  ['MatVecMult', [A6, [1, 10]], [], [10, 32, 54]],
  ['VecMatMult', [[1, 10, 100], A6], [], [420, 531]],
  ['TensorProd', [[1, 2], [1, 10, 100]], [], [1, 10, 100, 2, 20, 200]],
  ['TensorDot', [A6, [1, 10, 100]], [[2, 3], [3], [1], [0]], [210, 543]],
  ['TensorDot', [[1, 2, 3, 4], [5, 6, 7, 8]], [[2, 2], [2, 2], [0, 1], [0, 1]], [70]],
  ['TensorDot', [[1, 2, 3, 4], [5, 6, 7, 8]], [[2, 2], [2, 2], [0, 1], [1, 0]], [69]],
  ['TensorDot', [[1, 2], [1, 10, 100]], [[2], [3], [], []], [1, 10, 100, 2, 20, 200]],
  ['TensorDot', [[1, 2], [1, 10, 100]], [[2], [3], [], [], [1, 0]], [1, 2, 10, 20, 100, 200]],
  ['Kron', [[1, 2, 3, 4], [10, 100]], [[2, 2], [2, 1]], [10, 20, 100, 200, 30, 40, 300, 400]],
  // §1.8 goldens and hand values
  ['ComplexMult', [[1, 2], [3, -1]], [], [5, 5]],
  ['ComplexMult', [[1, 2], [0, 1, 1, 0]], [], [-2, 1, 1, 2]],
  ['ComplexDivide', [[1, 2], [3, -1]], [], [0.1, 0.7], 1e-15],
  ['ComplexExp1j', [[PI / 2]], [], [0, 1], 1e-15],
  ['ComplexAbs', [[1, 2]], [], [2.236068], 1e-6],
  ['ComplexAngle', [[1, 2]], [], [1.107149], 1e-6],
  ['ComplexReal', [[1, 2, 3, 4]], [], [1, 3]],
  ['ComplexImag', [[1, 2, 3, 4]], [], [2, 4]],
  ['Real2Complex', [[1, 2]], [], [1, 0, 2, 0]],
  ['Imag2Complex', [[1, 2]], [], [0, 1, 0, 2]],
  ['Conj', [[1, 2]], [], [1, -2]],
  ['ComplexSquareAbs', [[1, 2, 3, 4]], [], [5, 25]],
  ['ComplexSum', [[1, 2, 3, 4]], [], [4, 6]],
  ['ComplexSumT', [[1, 2]], [4], [1, 2, 1, 2]],
  ['ComplexAdd', [[1, 2], [3, 4, 5, 6]], [], [4, 6, 6, 8]],
  ['ComplexSubtract', [[1, 2, 3, 4], [1, 1]], [], [0, 1, 2, 3]],
  ['ComplexRealScal', [[2], [1, 2, 3, 4]], [], [2, 4, 6, 8]],
  ['ComplexRealScal', [[1, 2, 3, 4], [2]], [], [2, 4, 6, 8]],
  ['ComplexExp', [[0, PI, 1, 0]], [], [-1, Math.sin(PI), E, 0]],
  // §1.10, §7.3 cases 21, 22
  ['SoftDTW_SqDist', [[0, 1, 2], [0, 2], [1]], [], [0.12265356], 1e-8],
  ['SoftDTW_SqDist', [[1], [2], [1]], [], [1]],
  ['SoftDTW_SqDist', [[0, 1], [0, 1], [1]], [], [-Math.log(1 + 2 / E)]],
  ['GradSoftDTW_SqDist', [[1], [2], [1]], [], [-2, 2]], // d/dx (x - y)^2 and d/dy
  ...[0.5, 1.5, 2.25, 3.9, 4.0].map((t, k): EvalCase => ['BSpline', [[0, 1, 2, 3, 4], [t]], [0], [0, 1, 2, 3].map((j) => (j === k ? 1 : 0))]),
  ['BSpline', [[0, 1, 2, 3, 4], [0.5]], [1], [0.5, 0, 0]],
  ['BSpline', [[0, 1, 2, 3, 4], [1.5]], [1], [0.5, 0.5, 0]],
  ['BSpline', [[0, 1, 2, 3, 4], [2.25]], [1], [0, 0.75, 0.25]],
  ['BSpline', [[0, 1, 2, 3, 4], [3.9]], [1], [0, 0, 0.1], 1e-12],
  ['BSpline', [[0, 1, 2, 3, 4], [4.0]], [1], [0, 0, 0]],
  ['BSpline', [[0, 1, 2, 3, 4], [0.5]], [2], [0.125, 0]],
  ['BSpline', [[0, 1, 2, 3, 4], [1.5]], [2], [0.75, 0.125]],
  ['BSpline', [[0, 1, 2, 3, 4], [2.25]], [2], [0.28125, 0.6875]],
  ['BSpline', [[0, 1, 2, 3, 4], [3.9]], [2], [0, 0.005], 1e-12],
  ['BSpline', [[0, 1, 1, 2], [1.5]], [1], [0, 0.5]], // zero-width interval: ratio 0
];

describe('op evaluation', () => {
  it('has hand-computed or golden values for every op with eval or expand', () => {
    const tested = new Set(EVALS.map((c) => c[0]));
    for (const def of OP_LIST) if (def.eval || def.expand) expect(tested.has(def.name), def.name).to.equal(true);
  });

  for (const [op, args, params, expected, tol] of EVALS) {
    it(`${op}(${args.map((a) => `[${a.join(',')}]`).join(', ')}${params.length ? `; ${JSON.stringify(params)}` : ''})`, () => {
      expectClose(evalOp(op, args, params), expected, tol ?? 1e-12, op);
    });
  }

  it('evaluates the §7.3 case 14 formulas with constants (Mod(x,IntCst(2),IntCst(0)), IfElse(x,x+1,x-1), Clamp(x,-1,1))', () => {
    const x = Var(0, 7, 0);
    const env = new Map([[0, X14]]);
    const run = (n: Node): number[] => Array.from(evaluate(n, env));
    expectClose(run(mk('Mod', [x, IntCst(2), IntCst(0)])), [0, 1, 0.5, 1.5, 0.49, 0.5, 1.5], 1e-12);
    expectClose(run(mk('IfElse', [x, mk('Add', [x, IntCst(1)]), mk('Subtract', [x, IntCst(1)])])), [1, -2, 3.5, -3.5, 1.49, 1.5, 2.5], 1e-12);
    expectClose(run(mk('Clamp', [x, IntCst(-1), IntCst(1)])), [0, -1, 1, -1, 0.49, 0.5, 1]);
    expectClose(run(mk('Mult', [RatCst(1, 2), x])), X14.map((v) => v / 2));
    expectClose(run(mk('Add', [FloatCst(0.1), x])), X14.map((v) => v + 0.1));
  });

  it('evaluates ElemT(Elem(w,1),5,2) and ExtractT(Extract(w,1,2),3,6) (§7.3 case 20)', () => {
    const w = Var(0, 4, 1);
    const env = new Map([[0, W]]);
    expectClose(Array.from(evaluate(mk('ElemT', [mk('Elem', [w], [1])], [5, 2]), env)), [0, 0, 7, 0, 0]);
    expectClose(Array.from(evaluate(mk('ExtractT', [mk('Extract', [w], [1, 2])], [3, 6]), env)), [0, 0, 0, 7, 7, 0]);
  });

  it('Kron equals np.kron(...).ravel() on three axes', () => {
    const da = [2, 1, 3];
    const db = [1, 2, 2];
    const a = Array.from({ length: 6 }, (_, k) => k + 1);
    const b = Array.from({ length: 4 }, (_, k) => 10 ** k);
    // kron: out[(i0*db0+j0), (i1*db1+j1), (i2*db2+j2)] = a[i0,i1,i2] * b[j0,j1,j2]
    const outDims = da.map((d, k) => d * db[k]!);
    const expected = new Array<number>(24).fill(0);
    for (let ia = 0; ia < 6; ia++)
      for (let ib = 0; ib < 4; ib++) {
        const i = [Math.floor(ia / 3), 0, ia % 3];
        const j = [0, Math.floor(ib / 2), ib % 2];
        const o = i.map((x, k) => x * db[k]! + j[k]!);
        expected[(o[0]! * outDims[1]! + o[1]!) * outDims[2]! + o[2]!] = a[ia]! * b[ib]!;
      }
    expectClose(evalOp('Kron', [a, b], [da, db]), expected);
  });
});

// ---------------------------------------------------------------------------------------------
// macros: the expansion is made of ops with eval, not simplified, and gives the same numbers

describe('op expansion', () => {
  const x = Var(0, 3, 0);
  const y = Var(1, 3, 1);
  const s = Var(2, 1, 2);

  it('expands every macro into ops that all have eval', () => {
    const cases: Record<string, [Node[], Param[]]> = {
      IntInv: [[], [3]],
      SqNorm2: [[x], []],
      Norm2: [[x], []],
      Normalize: [[x], []],
      SqDist: [[x, y], []],
      SqNormIso: [[s, x], []],
      SqNormDiag: [[y, x], []],
      SymSqNorm: [[Var(3, 9, 2), x], []],
      WeightedSqNorm: [[Var(3, 9, 2), x], []],
      WeightedSqDist: [[y, x, y], []],
      Kron: [[x, Var(4, 2, 1)], [[3], [2]]],
      ComplexAbs: [[Var(5, 4, 0)], []],
      ComplexAngle: [[Var(5, 4, 0)], []],
      ComplexDivide: [[Var(5, 4, 0), Var(6, 2, 1)], []],
    };
    for (const def of OP_LIST.filter((d) => d.expand)) {
      const c = cases[def.name];
      expect(c, `expansion case for ${def.name}`).to.not.equal(undefined);
      const [args, params] = c!;
      const node = mk(def.name, args, params);
      const e = def.expand!(args, params);
      expect(e.dim, def.name).to.equal(node.dim);
      const walk = (n: Node): void => {
        if (n.op !== 'Var') expect(OPS[n.op]!.eval, `${def.name} expands into ${n.op}, which has no eval`).to.not.equal(undefined);
        n.args.forEach(walk);
      };
      walk(e);
    }
  });

  it('builds the KeOps formulas without simplifying them', () => {
    const sq = (f: Node): Node => mk('Sum', [mk('Square', [f])]);
    expect(OPS.SqNorm2!.expand!([x], [])).to.equal(sq(x));
    expect(OPS.SqDist!.expand!([x, y], [])).to.equal(sq(mk('Subtract', [x, y])));
    expect(OPS.SqDist!.expand!([x, x], [])).to.equal(sq(mk('Subtract', [x, x])));
    expect(OPS.Norm2!.expand!([x], [])).to.equal(mk('Sqrt', [mk('Scalprod', [x, x])]));
    expect(OPS.Normalize!.expand!([x], [])).to.equal(mk('Mult', [mk('Rsqrt', [sq(x)]), x]));
    expect(OPS.SqNormIso!.expand!([s, x], [])).to.equal(mk('Mult', [s, sq(x)]));
    expect(OPS.WeightedSqNorm!.expand!([s, x], [])).to.equal(mk('Mult', [s, sq(x)]));
    expect(OPS.WeightedSqNorm!.expand!([y, x], [])).to.equal(mk('Sum', [mk('Mult', [y, mk('Square', [x])])]));
    expect(OPS.ComplexAbs!.expand!([Var(5, 4, 0)], [])).to.equal(mk('Sqrt', [mk('ComplexSquareAbs', [Var(5, 4, 0)])]));
    expect(OPS.IntInv!.expand!([], [4])).to.equal(RatCst(1, 4));
    expect(OPS.Kron!.expand!([x, Var(4, 2, 1)], [[3], [2]])).to.equal(mk('TensorDot', [x, Var(4, 2, 1)], [[3], [2], [], [], [0, 1]]));
  });

  it('gives the numbers of the formula it replaces on random data', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 4 - 2;
    const vec = (n: number): number[] => Array.from({ length: n }, rnd);
    for (let trial = 0; trial < 20; trial++) {
      const [a, b, w1, w3, w9] = [vec(3), vec(3), vec(1), vec(3), vec(9)];
      const sqn = (v: number[]): number => v.reduce((t, z) => t + z * z, 0);
      const d = a.map((v, k) => v - b[k]!);
      const sym = (A: number[], v: number[]): number => v.reduce((t, vk, k) => t + v.reduce((u, vl, l) => u + A[k * 3 + l]! * vk * vl, 0), 0);
      const tol = 1e-12;
      expectClose(evalOp('SqNorm2', [a]), [sqn(a)], tol);
      expectClose(evalOp('Norm2', [a]), [Math.sqrt(sqn(a))], tol);
      expectClose(evalOp('Normalize', [a]), a.map((v) => v / Math.sqrt(sqn(a))), tol);
      expectClose(evalOp('SqDist', [a, b]), [sqn(d)], tol);
      expectClose(evalOp('SqNormIso', [w1, a]), [w1[0]! * sqn(a)], tol);
      expectClose(evalOp('SqNormDiag', [w3, a]), [a.reduce((t, v, k) => t + w3[k]! * v * v, 0)], tol);
      expectClose(evalOp('SymSqNorm', [w9, a]), [sym(w9, a)], tol);
      expectClose(evalOp('WeightedSqNorm', [w9, a]), [sym(w9, a)], tol);
      expectClose(evalOp('WeightedSqDist', [w9, a, b]), [sym(w9, d)], tol);
      expectClose(evalOp('WeightedSqDist', [w3, a, b]), [d.reduce((t, v, k) => t + w3[k]! * v * v, 0)], tol);
      const [zr, zi, gr, gi] = [a[0]!, a[1]!, b[0]!, b[1]!];
      const den = gr * gr + gi * gi;
      expectClose(evalOp('ComplexDivide', [[zr, zi], [gr, gi]]), [(zr * gr + zi * gi) / den, (zi * gr - zr * gi) / den], tol);
      expectClose(evalOp('ComplexAbs', [[zr, zi]]), [Math.hypot(zr, zi)], tol);
      expectClose(evalOp('ComplexAngle', [[zr, zi]]), [Math.atan2(zi, zr)], tol);
    }
  });
});
