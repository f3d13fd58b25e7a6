import { expect } from 'chai';
import { OP_LIST, OPS } from '../src/ir/ops/index.js';
import { evalScalars, ScalarBuilder, scalarOrder, type SExpr } from '../src/ir/scalar.js';
import type { Cat, OpDef, Param } from '../src/ir/types.js';
import { rng } from './helpers/data.js';
import { OP_CASES, type Case } from './helpers/op-cases.js';

// Differential tests of the op lowerings (src/ir/ops/*.ts `lower`) against the float64 reference
// (`eval`): every op with eval, on argument dims its dim rule accepts (with scalar broadcasting and
// several parameter values), on seeded random inputs and edge values, with the arguments as input
// nodes, as constants (folded by the builder) and mixed. Results must be identical bit for bit
// (Object.is, or both NaN).

/** Per op with eval: argument dims and params accepted by its dim rule (test/helpers/op-cases.ts). */
const CASES: Record<string, readonly Case[]> = Object.fromEntries(Object.entries(OP_CASES).flatMap(([name, c]) => (c.lower ? [[name, c.lower]] : [])));

/** Edge values: signed zeros, halves (C round), ±1, extremes, subnormals, non-finite. */
const EDGES = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 2, 3, -3, 0.49999999999999994, 1e300, -1e300, 1e-300, 5e-324, NaN, Infinity, -Infinity];

/** A value: an edge value, a small integer (ties, exact bounds) or a random one of random scale. */
function draw(r: () => number, edgeBias: number): number {
  const u = r();
  if (u < edgeBias) return EDGES[Math.floor(r() * EDGES.length)]!;
  if (u < edgeBias + 0.2) return Math.floor(r() * 7) - 3;
  const scale = 10 ** (Math.floor(r() * 7) - 3);
  return (r() * 2 - 1) * 3 * scale;
}

/** Random argument values for an op (sorted knots for most BSpline draws, a positive gamma for most SoftDTW draws). */
function drawArgs(op: string, dims: readonly number[], r: () => number, edgeBias: number): number[][] {
  const args = dims.map((d) => Array.from({ length: d }, () => draw(r, edgeBias)));
  if (op === 'BSpline' && r() < 0.8) args[0]!.sort((a, b) => a - b);
  if (op === 'SoftDTW_SqDist' && r() < 0.8) args[2]![0] = Math.abs(args[2]![0]!);
  return args;
}

/** Every combination of edge values: argument j of n cycles through EDGES with period E^j. */
function gridArgs(n: number): number[][] {
  const E = EDGES.length;
  return Array.from({ length: n }, (_, j) => Array.from({ length: E ** n }, (_, k) => EDGES[Math.floor(k / E ** j) % E]!));
}

function evalRef(def: OpDef, args: readonly number[][], params: readonly Param[], dim: number): number[] {
  const out = new Float64Array(dim);
  def.eval!(args.map((a) => Float64Array.from(a)), params, out);
  return Array.from(out);
}

type Mode = 'inputs' | 'consts' | 'mixed';

/** Lower op(args; params) with each argument component an input node, a constant, or either. */
function lowerOp(def: OpDef, args: readonly number[][], params: readonly Param[], dim: number, mode: Mode, r: () => number): { out: SExpr[]; values: number[] } {
  const S = new ScalarBuilder();
  const sargs = args.map((a, k) =>
    a.map((v, c) => (mode === 'consts' || (mode === 'mixed' && r() < 0.5) ? S.c(v) : S.input(k, c, (k % 3) as Cat))),
  );
  const out = def.lower!(sargs, params, S, dim);
  expect(out.length, `${def.name}: number of components`).to.equal(dim);
  if (mode === 'consts') for (const o of out) expect(o.fn, `${def.name}: constant arguments fold`).to.equal('const');
  return { out, values: evalScalars(out, (index, comp) => args[index]![comp]!) };
}

const same = (a: number, b: number): boolean => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

function expectSame(actual: readonly number[], expected: readonly number[], what: () => string): void {
  expect(actual.length).to.equal(expected.length);
  for (let k = 0; k < expected.length; k++)
    if (!same(actual[k]!, expected[k]!)) expect.fail(`${what()}: component ${k}: lowered ${Object.is(actual[k], -0) ? '-0' : actual[k]}, eval ${Object.is(expected[k], -0) ? '-0' : expected[k]}`);
}

const show = (xs: readonly number[]): string => `[${xs.map((x) => (Object.is(x, -0) ? '-0' : String(x))).join(',')}]`;

function check(def: OpDef, args: number[][], params: readonly Param[], dim: number, r: () => number): void {
  const expected = evalRef(def, args, params, dim);
  for (const mode of ['inputs', 'consts', 'mixed'] as const) {
    const { values } = lowerOp(def, args, params, dim, mode, r);
    expectSame(values, expected, () => `${def.name}(${args.map(show).join(', ')}; ${JSON.stringify(params)}) [${mode}]`);
  }
}

const nf = (def: OpDef): number => def.sig.filter((s) => s[0] === 'f').length;

describe('op lowering', () => {
  it('has a lowering for exactly the ops with eval (Var, macros and autodiff ops have none)', () => {
    for (const def of OP_LIST) expect(Boolean(def.lower), `${def.name}: lower iff eval`).to.equal(Boolean(def.eval));
    expect(OPS.Var!.lower).to.equal(undefined);
  });

  it('has differential cases for every op with eval, accepted by its dim rule', () => {
    for (const def of OP_LIST) {
      if (!def.eval) continue;
      const cases = CASES[def.name];
      expect(cases, `${def.name}: no lowering cases`).to.not.equal(undefined);
      for (const [dims, params] of cases!) {
        expect(dims.length, `${def.name}: formula arguments`).to.equal(nf(def));
        expect(() => def.dim(dims, params), `${def.name}(${dims})`).to.not.throw();
      }
    }
  });

  describe('equals eval bit for bit', () => {
    for (const def of OP_LIST) {
      if (!def.eval || !def.lower) continue;
      it(def.name, () => {
        const r = rng(0x5eed ^ def.name.split('').reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7));
        for (const [dims, params] of CASES[def.name] ?? []) {
          const dim = def.dim(dims, params);
          for (let trial = 0; trial < 40; trial++) check(def, drawArgs(def.name, dims, r, trial < 10 ? 1 : 0.3), params, dim, r);
        }
        // element-wise ops: every combination of edge values
        if (def.group === 'math' || def.group === 'compare') {
          const n = nf(def);
          const seen = new Set<string>();
          for (const [, params] of CASES[def.name]!) {
            if (seen.has(JSON.stringify(params))) continue;
            seen.add(JSON.stringify(params));
            const args = gridArgs(n);
            const dims = args.map((a) => a.length);
            check(def, args, params, def.dim(dims, params), r);
          }
        }
      });
    }
  });

  it('matches the documented semantics on hand cases (Sign, IfElse, ArgMax ties and NaN, OneHot, Round, Sum of -0)', () => {
    const run = (op: string, args: number[][], params: Param[] = []): number[] => {
      const def = OPS[op]!;
      const dim = def.dim(args.map((a) => a.length), params);
      const expected = evalRef(def, args, params, dim);
      expectSame(lowerOp(def, args, params, dim, 'inputs', Math.random).values, expected, () => op);
      return expected;
    };
    expectSame(run('Sign', [[NaN, -0, 0, -2, 3]]), [0, 0, 0, -1, 1], () => 'Sign');
    expectSame(run('IfElse', [[NaN, -0, -1], [1], [2]]), [2, 1, 2], () => 'IfElse');
    expectSame(run('ArgMax', [[1, 3, 3, 2]]), [1], () => 'ArgMax tie');
    expectSame(run('ArgMax', [[1, NaN, 3]]), [2], () => 'ArgMax NaN skipped');
    expectSame(run('Max', [[NaN, 1, 3]]), [NaN], () => 'Max NaN first');
    expectSame(run('OneHot', [[1.4]], [3]), [0, 1, 0], () => 'OneHot');
    expectSame(run('OneHot', [[-0.9]], [3]), [1, 0, 0], () => 'OneHot trunc toward zero');
    expectSame(run('OneHot', [[2.5]], [3]), [0, 0, 0], () => 'OneHot out of range');
    expectSame(run('Round', [[2.5, -2.5, 0.49999999999999994]], [0]), [3, -3, 0], () => 'Round');
    expectSame(run('Sum', [[-0]]), [0], () => 'Sum(-0) = 0 + -0');
  });

  it('folds constant arguments', () => {
    const S = new ScalarBuilder();
    const e = OPS.Exp!.lower!([[S.c(1)]], [], S, 1);
    expect(e[0]!.fn).to.equal('const');
    expect(e[0]!.value).to.equal(Math.exp(1));
    const x = S.input(0, 0, 0);
    const m = OPS.Mult!.lower!([[S.c(1)], [x, S.c(2)]], [], S, 2);
    expect(m[0]).to.equal(x); // 1*x is x
    expect(m[1]!.fn).to.equal('const');
    const z = OPS.Zero!.lower!([], [3], S, 3);
    expect(z.map((n) => [n.fn, n.value])).to.deep.equal([['const', 0], ['const', 0], ['const', 0]]);
    expect(OPS.RatCst!.lower!([], [1, 3], S, 1)[0]!.value).to.equal(1 / 3);
  });

  it('shares subexpressions (hash-consing): the same lowering twice, Max and ArgMax on the same vector', () => {
    const S = new ScalarBuilder();
    const f = [0, 1, 2, 3, 4].map((c) => S.input(0, c, 1));
    expect(OPS.Exp!.lower!([f], [], S, 5)).to.deep.equal(OPS.Exp!.lower!([f], [], S, 5));
    const mx = OPS.Max!.lower!([f], [], S, 1);
    const am = OPS.ArgMax!.lower!([f], [], S, 1);
    const ops = (roots: SExpr[]): number => scalarOrder(roots).filter((n) => n.fn !== 'const' && n.fn !== 'input').length;
    expect(ops(mx)).to.equal(8); // 4 comparisons, 4 selects
    expect(ops([...mx, ...am])).to.equal(12); // the comparisons are shared
  });

  describe('stays small for moderately sized ops', () => {
    /** Non-leaf nodes reachable from the lowering of op on input variables. */
    /** (Unrolled: `loops` false; with loops, long sums are one `loop` statement.) */
    const size = (op: string, dims: number[], params: Param[] = [], loops = false): number => {
      const S = new ScalarBuilder(loops);
      const def = OPS[op]!;
      const out = def.lower!(
        dims.map((d, k) => Array.from({ length: d }, (_, c) => S.input(k, c, 0))),
        params,
        S,
        def.dim(dims, params),
      );
      return scalarOrder(out).filter((n) => n.fn !== 'const' && n.fn !== 'input').length;
    };
    it('TensorDot of 12x12 matrices: one multiply and one add per product', () => {
      expect(size('TensorDot', [144, 144], [[12, 12], [12, 12], [1], [0]])).to.be.at.most(2 * 12 ** 3);
      expect(size('TensorDot', [144, 144], [[12, 12], [12, 12], [0, 1], [0, 1]])).to.be.at.most(2 * 144);
      expect(size('TensorDot', [144, 12], [[12, 12], [12], [1], [0]])).to.be.at.most(2 * 144);
    });
    it('MatVecMult, VecMatMult, TensorProd, Scalprod, Sum', () => {
      expect(size('MatVecMult', [144, 12])).to.be.at.most(2 * 144);
      expect(size('VecMatMult', [12, 144])).to.be.at.most(2 * 144);
      expect(size('TensorProd', [12, 12])).to.equal(144);
      expect(size('Scalprod', [64, 64])).to.equal(128);
      expect(size('Sum', [64])).to.equal(64);
      // with loops: one loop statement each (issue 19)
      expect(size('Scalprod', [64, 64], [], true)).to.equal(1);
      expect(size('Sum', [64], [], true)).to.equal(1);
    });
    it('Max, ArgMin, OneHot, Round, element-wise ops', () => {
      expect(size('Max', [64])).to.equal(2 * 63);
      expect(size('ArgMin', [64])).to.equal(3 * 63 - 1); // the last running minimum is not needed
      expect(size('OneHot', [1], [16])).to.equal(7 + 16); // trunc(f + 0.5) once, then one comparison per component
      expect(size('Exp', [64])).to.equal(64);
      expect(size('Add', [64, 1])).to.equal(64);
      expect(size('Round', [1], [2])).to.equal(3);
    });
    it('SoftDTW_SqDist (unrolled dynamic programme) and BSpline (unrolled Cox-de Boor)', () => {
      expect(size('SoftDTW_SqDist', [8, 8, 1])).to.be.at.most(30 * 64);
      expect(size('BSpline', [12, 1], [3])).to.be.at.most(400);
    });
  });
});
