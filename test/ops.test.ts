import { expect } from 'chai';
import { EXPAND, FloatCst, IntCst, mk, RatCst, Var } from '../src/ir/node.js';
import { OP_LIST, OPS } from '../src/ir/ops/index.js';
import { DimError, type Node, type Param } from '../src/ir/types.js';
import { OP_CASES, W, X14, type DimSpec, type ValueCase } from './helpers/op-cases.js';

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
      const e = def.expand(n.args, n.params, EXPAND);
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

/** Per op: accepted and rejected dims (test/helpers/op-cases.ts). */
const DIMS: Record<string, DimSpec> = Object.fromEntries(Object.entries(OP_CASES).map(([name, c]) => [name, c.dims]));

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

type EvalCase = readonly [op: string, ...ValueCase];

/** Per op: hand-computed or golden values (test/helpers/op-cases.ts). */
const EVALS: readonly EvalCase[] = Object.entries(OP_CASES).flatMap(([op, c]) => (c.values ?? []).map((v): EvalCase => [op, ...v]));

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
      Factorize: [[mk('Exp', [mk('Subtract', [x, y])]), mk('Subtract', [x, y])], []],
      AutoFactorize: [[mk('Exp', [x])], []],
    };
    for (const def of OP_LIST.filter((d) => d.expand)) {
      const c = cases[def.name];
      expect(c, `expansion case for ${def.name}`).to.not.equal(undefined);
      const [args, params] = c!;
      const node = mk(def.name, args, params);
      const e = def.expand!(args, params, EXPAND);
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
    expect(OPS.SqNorm2!.expand!([x], [], EXPAND)).to.equal(sq(x));
    expect(OPS.SqDist!.expand!([x, y], [], EXPAND)).to.equal(sq(mk('Subtract', [x, y])));
    expect(OPS.SqDist!.expand!([x, x], [], EXPAND)).to.equal(sq(mk('Subtract', [x, x])));
    expect(OPS.Norm2!.expand!([x], [], EXPAND)).to.equal(mk('Sqrt', [mk('Scalprod', [x, x])]));
    expect(OPS.Normalize!.expand!([x], [], EXPAND)).to.equal(mk('Mult', [mk('Rsqrt', [sq(x)]), x]));
    expect(OPS.SqNormIso!.expand!([s, x], [], EXPAND)).to.equal(mk('Mult', [s, sq(x)]));
    expect(OPS.WeightedSqNorm!.expand!([s, x], [], EXPAND)).to.equal(mk('Mult', [s, sq(x)]));
    expect(OPS.WeightedSqNorm!.expand!([y, x], [], EXPAND)).to.equal(mk('Sum', [mk('Mult', [y, mk('Square', [x])])]));
    expect(OPS.ComplexAbs!.expand!([Var(5, 4, 0)], [], EXPAND)).to.equal(mk('Sqrt', [mk('ComplexSquareAbs', [Var(5, 4, 0)])]));
    expect(OPS.IntInv!.expand!([], [4], EXPAND)).to.equal(RatCst(1, 4));
    expect(OPS.Factorize!.expand!([mk('Exp', [x]), x], [], EXPAND)).to.equal(mk('Exp', [x]));
    expect(OPS.AutoFactorize!.expand!([mk('Exp', [x])], [], EXPAND)).to.equal(mk('Exp', [x]));
    expect(OPS.Kron!.expand!([x, Var(4, 2, 1)], [[3], [2]], EXPAND)).to.equal(mk('TensorDot', [x, Var(4, 2, 1)], [[3], [2], [], [], [0, 1]]));
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
