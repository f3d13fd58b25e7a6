import { expect } from 'chai';
import { compile, OP_LIST, REDUCTION_LIST } from '../src/index.js';
import { frontend } from '../src/passes/pipeline.js';
import { KeopsError } from '../src/diagnostics/index.js';
import { OP_CASES } from './helpers/op-cases.js';

/**
 * Every op of keops-reference.md §1.3–§1.10 and every reduction of §2, written as a user would,
 * must parse and type-check, with the dimension the reference states.
 */
const DECLS = `x = Vi(0, 3)
y = Vj(1, 3)
s = Vi(2, 1)
t = Vj(3, 1)
p = Pm(4, 1)
z = Vi(5, 2)
w = Vj(6, 2)
A = Pm(7, 6)
v = Pm(8, 2)
S = Pm(9, 9)
k = Pm(10, 5)
c = Vi(11, 4)
u = Vi(12, 3)
`;

/** [formula, expected dim] per op. */
const OP_EXAMPLES: Record<string, readonly (readonly [string, number])[]> = Object.fromEntries(Object.entries(OP_CASES).map(([name, c]) => [name, c.examples]));

describe('the language covers every op of keops-reference §1.3–§1.10', () => {
  for (const [op, examples] of Object.entries(OP_EXAMPLES)) {
    for (const [f, dim] of examples) {
      it(`${op}: ${f} has dim ${dim}`, () => {
        const { program } = frontend(`${DECLS}r = Sum_Reduction(${f}, 0)`);
        expect(program.kernels[0]!.formula.dim).to.equal(dim);
      });
    }
  }

  it('has an example for every op of the registry', () => {
    const missing = OP_LIST.map((d) => d.name).filter((n) => !(n in OP_EXAMPLES));
    expect(missing, 'ops without an example here').to.deep.equal([]);
  });
});

describe('every reduction parses, type-checks and reports its output shape', () => {
  const cases: [string, number[][]][] = [
    ['Sum_Reduction(x, 0)', [[3]]],
    ['Max_Reduction(x, 1)', [[3]]],
    ['Min_Reduction(x, 0)', [[3]]],
    ['ArgMax_Reduction(x, 0)', [[3]]],
    ['ArgMin_Reduction(x, 0)', [[3]]],
    ['Max_ArgMax_Reduction(x, 0)', [[3], [3]]],
    ['Min_ArgMin_Reduction(x, 0)', [[3], [3]]],
    ['KMin_Reduction(s, 4, 0)', [[4]]],
    ['KMin_Reduction(x, 4, 0)', [[4, 3]]],
    ['ArgKMin_Reduction(x, 2, 1)', [[2, 3]]],
    ['KMin_ArgKMin_Reduction(s, 2, 0)', [[2], [2]]],
    ['Max_SumShiftExp_Reduction(s, 0)', [[2]]],
    ['Max_SumShiftExpWeight_Reduction(s, 0, y)', [[4]]],
    ['LogSumExp_Reduction(s, 0)', [[1]]],
    ['LogSumExpWeight_Reduction(s, 0, y)', [[3]]],
    ['SumSoftMaxWeight_Reduction(s, 0, y)', [[3]]],
    ['Zero_Reduction(4, 1)', [[4]]],
  ];
  for (const [red, shapes] of cases) {
    it(red, () => {
      const k = compile(`${DECLS}r = ${red}`);
      const out = k.outputShapes(5, 7);
      const rows = k.tag === 0 ? 5 : 7;
      expect(out.map((o) => o.shape)).to.deep.equal(shapes.map((s) => [rows, ...s]));
    });
  }

  it('covers the whole reduction registry', () => {
    const names = cases.map(([r]) => r.slice(0, r.indexOf('_Reduction')));
    expect(REDUCTION_LIST.map((r) => r.name).filter((n) => !names.includes(n))).to.deep.equal([]);
  });
});

describe('modules', () => {
  it('accepts statements on lines, separated by ; and spanning lines inside brackets', () => {
    const { program } = frontend('x = Vi(0, 3); y = Vj(1, 3)\n# comment\nK = Exp(-SqDist(x,\n  y))\na = Sum_Reduction(K, 0); b = Max_Reduction(K,\n 1)\n');
    expect(program.kernels.map((k) => [k.name, k.tag])).to.deep.equal([
      ['a', 0],
      ['b', 1],
    ]);
  });

  it('gives Vi(dim) the next free index, skipping explicit ones', () => {
    const { program } = frontend('a = Vi(3)\nb = Vj(0, 3)\nc = Pm(1)\nk = Sum_Reduction(a + b + c, 0)');
    expect(program.kernels[0]!.args.map((a) => [a.name, a.index])).to.deep.equal([
      ['b', 0],
      ['a', 1],
      ['c', 2],
    ]);
  });

  it('accepts Vi/Vj/Pm inline, and Var(index, dim, cat) anywhere', () => {
    const k = compile('Sum_Reduction(Exp(-SqDist(Vi(0, 3), Vj(1, 3))) * Var(2, 1, 1), 0)');
    expect(k.args.map((a) => [a.index, a.dim, a.cat])).to.deep.equal([
      [0, 3, 0],
      [1, 3, 1],
      [2, 1, 1],
    ]);
  });

  it("accepts KeOps's (formula, aliases) pair, with positional indices", () => {
    const k = compile('Sum_Reduction(Square(p - a) * Exp(x + y), 0)', ['p = Pm(1)', 'a = Vj(1)', 'x = Vi(3)', 'y = Vj(3)']);
    expect(k.args.map((a) => [a.name, a.index])).to.deep.equal([
      ['p', 0],
      ['a', 1],
      ['x', 2],
      ['y', 3],
    ]);
  });

  it('a kernel argument list holds the variables the kernel uses', () => {
    const { program } = frontend('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\nk1 = Sum_Reduction(x, 0)\nk2 = Sum_Reduction(y * b, 1)');
    expect(program.kernels.map((k) => k.args.map((a) => a.name))).to.deep.equal([['x'], ['y', 'b']]);
  });

  it('keeps KeOps precedence: x*2|y is (x*2)|y and -x**2 is -(x**2)', () => {
    const a = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nk = Sum_Reduction(x*2|y, 0)');
    expect(a.toString()).to.contain('Sum_Reduction(2*(x|y), 0)');
    const b = compile('s = Vi(0, 1)\nk = Sum_Reduction(-s**2, 0)');
    expect(b.toString()).to.contain('Sum_Reduction(-s**2, 0)');
  });

  it('reports several errors in one file', () => {
    try {
      frontend('x = Vi(0, 3)\nk = Sum_Reduction(Foo(x) + Bar(x), 0)\nj = Sum_Reduction(x + q, 0)', 'm.keo');
      expect.fail('should throw');
    } catch (e) {
      expect(e).to.be.instanceOf(KeopsError);
      expect((e as KeopsError).diagnostics.map((d) => d.code)).to.deep.equal(['KEO2001', 'KEO2001', 'KEO2002']);
      expect((e as KeopsError).message).to.contain('Found 3 errors.');
    }
  });
});

describe('KeOps aliases', () => {
  it('make every alias an argument, used or not (one array per alias, as KeOps)', () => {
    const k = compile('Sum_Reduction(x, 1)', ['x = Vi(3)', 'y = Vj(3)']);
    expect(k.args.map((a) => a.name)).to.deep.equal(['x', 'y']);
    // N comes from y even though the formula does not use it
    const r = k.run({ x: Float64Array.from([1, 2, 3]), y: new Float64Array(6) });
    expect(Array.from(r.values!.data as Float64Array)).to.deep.equal([1, 2, 3, 1, 2, 3]);
  });
});
