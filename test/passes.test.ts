import { expect } from 'chai';
import { compile, compileModule, PASSES, printNode } from '../src/index.js';
import { frontend, optimize } from '../src/passes/pipeline.js';
import { KeopsError } from '../src/diagnostics/index.js';
import type { Kernel } from '../src/ir/kernel.js';

/** The optimised formula of a one-kernel text, printed with the declared names. */
function simplified(decls: string, formula: string): string {
  const k = compile(`${decls}\nk = Sum_Reduction(${formula}, 0)`).ir;
  return printNode(k.formula, new Map(k.args.map((a) => [a.index, a.name])));
}
const X3 = 'x = Vi(0, 3)\ny = Vj(1, 3)\ns = Vi(2, 1)\nb = Vj(3, 1)';

describe('the pass pipeline', () => {
  it('is one list, in the documented order', () => {
    expect(PASSES.map((p) => p.name)).to.deep.equal(['expand', 'autodiff', 'simplify', 'cse']);
  });

  it('reports every stage to the hook, typecheck first', () => {
    const stages: string[] = [];
    compileModule(`${X3}\nk = Sum_Reduction(SqDist(x, y), 0)`, { onPass: (s) => stages.push(s) });
    expect(stages).to.deep.equal(['typecheck', 'expand', 'autodiff', 'simplify', 'cse']);
  });

  it('expands macros into core ops', () => {
    expect(simplified(X3, 'SqDist(x, y)')).to.equal('Sum((x-y)**2)');
    expect(simplified(X3, 'Norm2(x)')).to.equal('Sqrt(Sum(x**2))');
  });
});

describe('simplification (keops-reference §1.11)', () => {
  const cases: [string, string][] = [
    ['x*y*2', '2*(x*y)'],
    ['Square(x)/4', '(1/4)*x**2'],
    ['Exp(s)*Exp(b)', 'Exp(s+b)'],
    ['IntCst(0)*x', 'Zero(3)'],
    ['x - x', 'Zero(3)'],
    ['x + x', '2*x'],
    ['3*x + x', '4*x'],
    ['2*x - 5*x', '-3*x'],
    ['-(-x)', 'x'],
    ['(-x)*(-y)', 'x*y'],
    ['x + (-y)', 'x-y'],
    ['1*x', 'x'],
    ['x*1', 'x'],
    ['x/2', '(1/2)*x'],
    ['x/(1/3)', '3*x'],
    ['1/3 + 1/6 + s', '1/2+s'],
    ['0.1 + 0.2 + s', '3/10+s'],
    ['Pow(x, 1)', 'x'],
    ['Sum(s*x)', 's*Sum(x)'],
    ['Sum(x*y)', 'x|y'],
    ['x|x', 'Sum(x**2)'],
    ['(2*x)|y', '2*(x|y)'],
    ['Square(-x)', 'x**2'],
    ['s*s', 's**2'],
    ['x*y + x*s', 'x*(y+s)'],
    ['0 + x', 'x'],
    ['2 + (3 + s)', '5+s'],
    ['1/s', '1/s'], // Inv, printed as KeOps does
    ['Exp(0*s)', '1'],
  ];
  for (const [input, out] of cases) {
    it(`${input} → ${out}`, () => expect(simplified(X3, input)).to.equal(out));
  }

  it('turns 1/f into Inv(f)', () => {
    expect(compile(`${X3}\nk = Sum_Reduction(1/s, 0)`).ir.formula.op).to.equal('Inv');
  });

  it('folds constants exactly (no float rounding in rational arithmetic)', () => {
    expect(simplified(X3, '(1/3)*(3*s)')).to.equal('s');
    expect(simplified(X3, '(0.1 * 10) * s')).to.equal('s');
  });

  it('reports a division by a constant that folds to zero', () => {
    expect(() => compile(`${X3}\nk = Sum_Reduction(s / (1 - 1), 0)`)).to.throw(KeopsError, /KEO3006/);
  });

  it('keeps a Zero formula Zero (a Sum of it needs no kernel)', () => {
    const k = compile(`${X3}\nk = Sum_Reduction((x - x) * b, 0)`).ir;
    expect(k.formula.op).to.equal('Zero');
    expect(k.args.map((a) => a.name)).to.deep.equal(['x', 'b']); // the arguments stay what the user wrote
  });
});

describe('CSE', () => {
  it('shares commutative twins and shows them as let bindings', () => {
    const k = compile(`${X3}\nk = Sum_Reduction(Exp(x*y) + Sin(y*x), 0)`);
    const text = k.toString();
    expect(text).to.match(/let t0 = x\*y/);
    const f = k.ir.formula;
    expect(f.args[0]!.args[0]).to.equal(f.args[1]!.args[0]); // the same node object
  });

  it('hash-conses: structurally equal formulas are one node', () => {
    const { program } = frontend(`${X3}\na = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)\nc = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)`);
    const [a, c] = program.kernels.map((k: Kernel) => optimize(k));
    expect(a!.formula).to.equal(c!.formula);
  });
});

describe('autodiff ops', () => {
  it('type-check, and the autodiff pass expands them', () => {
    const src = `${X3}\ne = Vi(4, 1)\nk = Sum_Reduction(Grad(Exp(-SqDist(x, y)) * b, x, e), 0)`;
    expect(() => frontend(src)).to.not.throw();
    const k = compile(src, { file: 'g.keo' });
    expect(k.toString()).to.not.contain('Grad');
  });

  it('Grad without e adds a fresh variable of the other category (as KeOps)', () => {
    const { program } = frontend(`${X3}\nk = Sum_Reduction(Grad(Exp(-SqDist(x, y)), x), 0)`);
    const k = program.kernels[0]!;
    expect(k.args.map((a) => [a.name, a.index, a.dim, a.cat])).to.deep.equal([
      ['x', 0, 3, 0],
      ['y', 1, 3, 1],
      ['Var4', 4, 1, 1],
    ]);
    expect(k.formula.dim).to.equal(3);
  });
});
