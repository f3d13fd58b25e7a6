import { expect } from 'chai';
import { mk, RatCst, topoOrder, Var } from '../src/ir/node.js';
import { OP_LIST, OPS } from '../src/ir/ops/index.js';
import { printNode } from '../src/ir/print.js';
import { evalScalars, ScalarBuilder, scalarOrder } from '../src/ir/scalar.js';
import { gradOf } from '../src/passes/autodiff.js';
import type { Cat, Node, OpDef, Param } from '../src/ir/types.js';
import { rng } from './helpers/data.js';
import { evalTree } from './helpers/gen.js';
import { ANY, OP_CASES, uni, type Case, type Draw, type Kinks } from './helpers/op-cases.js';

// The derivative rules of the op registry (OpDef.grad / noGrad, src/ir/ops/*.ts), checked op by op
// against central finite differences in float64: for every op with a rule, on several argument dims
// (scalar broadcasting included), the gradient gradOf(op(v0, v1, ...), vk, E) with respect to each
// argument, evaluated with the reference evaluator, must match the finite differences of <e, op(x)>;
// and again one order up (the gradient of a gradient). Adding an op without a rule, or without a
// case in test/helpers/op-cases.ts, fails the coverage test.

/** Every op that is not Var, a macro (expanded before autodiff) or an autodiff op: argument dims and params (test/helpers/op-cases.ts). */
const CASES: Record<string, readonly Case[]> = Object.fromEntries(Object.entries(OP_CASES).flatMap(([name, c]) => (c.grad ? [[name, c.grad]] : [])));

// ---------------------------------------------------------------------------------------------
// inputs: a safe domain per op, away from singularities and kinks

/** Per op: the draw of each formula argument, and the quantities that must stay away from 0 (test/helpers/op-cases.ts). */
const DOMAIN = (op: string): readonly Draw[] | undefined => OP_CASES[op]?.domain;
const KINKS = (op: string): Kinks | undefined => OP_CASES[op]?.kinks;

function drawArgs(op: string, dims: readonly number[], params: readonly Param[], r: () => number): Float64Array[] {
  for (;;) {
    const x = dims.map((d, k) => Float64Array.from({ length: d }, () => (DOMAIN(op)?.[k] ?? ANY)(r)));
    if ((KINKS(op)?.(x, params) ?? []).every((v) => Math.abs(v) > 1e-2)) return x;
  }
}

// ---------------------------------------------------------------------------------------------
// gradients and finite differences

const isMacro = (def: OpDef): boolean => Boolean(def.expand);
const differentiable = OP_LIST.filter((def) => def.name !== 'Var' && !isMacro(def) && def.group !== 'autodiff');

/** Variables of an op node: distinct indices, mixed categories. */
const vars = (dims: readonly number[]): Node[] => dims.map((d, k) => Var(k, d, (k % 3) as Cat));

/** Index of the cotangent variables. */
const E_INDEX = 90;

type Env = Map<number, Float64Array>;

const evalAt = (n: Node, env: Env): Float64Array => evalTree(n, env).value;
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => Array.from(a).reduce((s, x, k) => s + x * b[k]!, 0);

/** Central finite differences of v ↦ <e, f(env with v)> at env, along each component of v. */
function finiteDiff(f: Node, v: Node, e: Float64Array, env: Env): Float64Array {
  const index = v.params[0] as number;
  const x = env.get(index)!;
  return Float64Array.from(x, (xc, c) => {
    const h = 1e-6 * Math.max(1, Math.abs(xc));
    const at = (t: number): number => {
      const y = Float64Array.from(x);
      y[c] = t;
      return dot(e, evalAt(f, new Map(env).set(index, y)));
    };
    return (at(xc + h) - at(xc - h)) / (2 * h);
  });
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: () => string): void {
  expect(actual.length, what()).to.equal(expected.length);
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k]!;
    const b = expected[k]!;
    if (!(Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b)))) expect.fail(`${what()}: component ${k}: gradient ${a}, finite differences ${b}`);
  }
}

const names = (n: number): Map<number, string> => new Map([...Array.from({ length: n }, (_, k): [number, string] => [k, `v${k}`]), [E_INDEX, 'e'], [E_INDEX + 1, 'e2']]);
const caseText = (def: OpDef, dims: readonly number[], params: readonly Param[]): string => `${def.name}(${dims.join(',')}; ${JSON.stringify(params)})`;

/**
 * Check the gradient of f with respect to each of `wrt` (Var nodes) along the cotangent variable E,
 * at `env`, against finite differences. Returns the gradients.
 */
function checkGradients(f: Node, wrt: readonly Node[], E: Node, env: Env, what: string): Node[] {
  const e = env.get(E.params[0] as number)!;
  return wrt.map((v, k) => {
    const g = gradOf(f, v, E);
    const text = (): string => `${what} d/d${v === E ? 'e' : `v${k}`}: ${printNode(g, names(wrt.length))}`;
    expect(g.dim, text()).to.equal(v.dim);
    expectClose(evalAt(g, env), finiteDiff(f, v, e, env), text);
    return g;
  });
}

const randomVec = (d: number, r: () => number): Float64Array => Float64Array.from({ length: d }, () => uni(-1.5, 1.5)(r));

const seed = (name: string): number => 0x9a7d ^ name.split('').reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7);

// ---------------------------------------------------------------------------------------------

describe('derivative rules of the op registry', () => {
  it('every op that autodiff can meet has a rule (grad) or a declared noGrad, and test cases', () => {
    for (const def of differentiable) {
      expect(Boolean(def.grad) !== Boolean(def.noGrad), `${def.name}: exactly one of grad and noGrad`).to.equal(true);
      const cases = CASES[def.name];
      expect(cases, `${def.name}: no gradient test cases`).to.not.equal(undefined);
      for (const [dims, params] of cases!) expect(() => def.dim(dims, params), caseText(def, dims, params)).to.not.throw();
    }
    // Var is handled by the walk; macros are expanded before, autodiff ops expanded by it
    for (const def of OP_LIST.filter((d) => !differentiable.includes(d))) expect(def.grad === undefined && def.noGrad === undefined, def.name).to.equal(true);
  });

  it('declares KeOps\'s zero-gradient ops and non-differentiable ops', () => {
    const zero = OP_LIST.filter((d) => d.noGrad === 'zero').map((d) => d.name).sort();
    expect(zero).to.deep.equal(
      ['ArgMax', 'ArgMin', 'Cst', 'DiffClampInt', 'Equal', 'Floor', 'IntCst', 'LessOrEqual', 'LessThan', 'NotEqual', 'OneHot', 'RatCst', 'Round', 'Sign', 'Step', 'Zero'].sort(),
    );
    const error = OP_LIST.filter((d) => d.noGrad === 'error').map((d) => d.name).sort();
    expect(error).to.deep.equal(['BSpline', 'GradSoftDTW_SqDist', 'SoftDTW_SqDist']);
  });

  describe('zero gradients give Zero, non-differentiable ops throw', () => {
    for (const def of differentiable.filter((d) => d.noGrad)) {
      it(def.name, () => {
        for (const [dims, params] of CASES[def.name]!) {
          const vs = vars(dims);
          const node = mk(def.name, vs, params);
          const E = Var(E_INDEX, node.dim, 1);
          // a constant c: the gradient of v + c (a formula that depends on v) is e
          const f = vs.length ? node : mk('Add', [Var(0, node.dim, 0), node]);
          const wrt = vs.length ? vs : [Var(0, node.dim, 0)];
          for (const v of wrt) {
            if (def.noGrad === 'error') expect(() => gradOf(f, v, E), caseText(def, dims, params)).to.throw(/not differentiable/);
            else {
              const g = gradOf(f, v, E);
              expect(g.dim).to.equal(v.dim);
              if (vs.length) expect(g.op, caseText(def, dims, params)).to.equal('Zero');
              else expect(g).to.equal(E);
            }
          }
        }
      });
    }
  });

  describe('match finite differences (first order)', () => {
    for (const def of differentiable.filter((d) => d.grad)) {
      it(def.name, () => {
        const r = rng(seed(def.name));
        for (const [dims, params] of CASES[def.name]!) {
          const vs = vars(dims);
          const node = mk(def.name, vs, params);
          const E = Var(E_INDEX, node.dim, 1);
          for (let trial = 0; trial < 4; trial++) {
            const x = drawArgs(def.name, dims, params, r);
            const env: Env = new Map(x.map((a, k) => [k, a]));
            env.set(E_INDEX, randomVec(node.dim, r));
            checkGradients(node, vs, E, env, caseText(def, dims, params));
          }
        }
      });
    }
  });

  describe('match finite differences (second order: the gradient of a gradient)', () => {
    // every op with a rule; the rules then meet the ops that other rules build
    for (const def of differentiable.filter((d) => d.grad)) {
      it(def.name, () => {
        const r = rng(seed(def.name) ^ 0x2d);
        for (const [dims, params] of CASES[def.name]!) {
          const vs = vars(dims);
          const node = mk(def.name, vs, params);
          const E = Var(E_INDEX, node.dim, 1);
          const x = drawArgs(def.name, dims, params, r);
          const env: Env = new Map(x.map((a, k) => [k, a]));
          env.set(E_INDEX, randomVec(node.dim, r));
          vs.forEach((v, k) => {
            const g1 = gradOf(node, v, E);
            const E2 = Var(E_INDEX + 1, v.dim, 0);
            env.set(E_INDEX + 1, randomVec(v.dim, r));
            checkGradients(g1, [...vs, E], E2, env, `${caseText(def, dims, params)} d/dv${k} = ${printNode(g1, names(vs.length))}, then`);
          });
        }
      });
    }
  });

  describe('stay compact (simplified, reusing the node itself)', () => {
    const x = Var(0, 3, 0);
    const y = Var(1, 3, 1);
    const s = Var(2, 1, 0);
    const e3 = Var(E_INDEX, 3, 1);
    const e1 = Var(E_INDEX, 1, 1);
    const nm = new Map([
      [0, 'x'],
      [1, 'y'],
      [2, 's'],
      [E_INDEX, 'e'],
    ]);
    const grad = (f: Node, v: Node, e: Node): string => printNode(gradOf(f, v, e), nm);
    it('element-wise ops', () => {
      expect(gradOf(mk('Exp', [x]), x, e3)).to.equal(mk('Mult', [e3, mk('Exp', [x])]));
      expect(grad(mk('Log', [x]), x, e3)).to.equal('e/x');
      expect(grad(mk('Log', [s]), s, RatCst(1, 1))).to.equal('1/s');
      expect(grad(mk('Sqrt', [x]), x, e3)).to.equal('(1/2)*(e*Rsqrt(x))');
      expect(grad(mk('Square', [x]), x, e3)).to.equal('2*(x*e)');
      expect(grad(mk('Minus', [x]), x, e3)).to.equal('-e');
      expect(grad(mk('Subtract', [x, y]), y, e3)).to.equal('-e');
    });
    it('a broadcast scalar receives a Scalprod or a Sum', () => {
      expect(grad(mk('Mult', [s, x]), s, e3)).to.equal('e|x');
      expect(grad(mk('Mult', [s, x]), x, e3)).to.equal('e*s');
      expect(grad(mk('Add', [s, x]), s, e3)).to.equal('Sum(e)');
    });
    it('vector ops use their adjoints', () => {
      expect(grad(mk('Sum', [x]), x, e1)).to.equal('SumT(e,3)');
      expect(grad(mk('Elem', [x], [1]), x, e1)).to.equal('ElemT(e,3,1)');
      expect(grad(mk('Scalprod', [x, y]), x, e1)).to.equal('e*y');
      expect(grad(mk('Concat', [x, s]), s, Var(E_INDEX, 4, 1))).to.equal('Extract(e,3,1)');
    });
    it('a Gaussian kernel: reuses the forward value, a handful of nodes', () => {
      const k = mk('Exp', [mk('Minus', [mk('Sum', [mk('Square', [mk('Subtract', [x, y])])])])]);
      const g = gradOf(k, x, e1);
      const nodes = topoOrder([g]);
      expect(nodes, printNode(g, nm)).to.include(k);
      expect(nodes.length, printNode(g, nm)).to.be.at.most(14);
      const h = gradOf(gradOf(k, x, RatCst(1, 1)), x, e3); // a Hessian-vector product stays small too
      expect(topoOrder([h]).length, printNode(h, nm)).to.be.at.most(24);
    });
  });

  describe('GradSoftDTW_SqDist (the gradient op of SoftDTW_SqDist)', () => {
    const def = OPS.GradSoftDTW_SqDist!;
    const sizes: [number, number][] = [[1, 1], [3, 1], [1, 4], [3, 2], [4, 4], [5, 3]];
    const softDtw = (x: Float64Array, y: Float64Array, g: number): number => {
      const out = new Float64Array(1);
      OPS.SoftDTW_SqDist!.eval!([x, y, Float64Array.of(g)], [], out);
      return out[0]!;
    };
    it('is the gradient of SoftDTW_SqDist with respect to x and y (finite differences)', () => {
      const r = rng(0x50f7);
      for (const [n, m] of sizes)
        for (const gamma of [0.1, 0.5, 2]) {
          const x = Float64Array.from({ length: n }, () => uni(-1, 1)(r));
          const y = Float64Array.from({ length: m }, () => uni(-1, 1)(r));
          const out = new Float64Array(def.dim([n, m, 1], []));
          def.eval!([x, y, Float64Array.of(gamma)], [], out);
          const fd = [x, y].flatMap((v) =>
            Array.from(v, (vc, c) => {
              const h = 1e-6;
              const at = (t: number): number => {
                const w = Float64Array.from(v);
                w[c] = t;
                return v === x ? softDtw(w, y, gamma) : softDtw(x, w, gamma);
              };
              return (at(vc + h) - at(vc - h)) / (2 * h);
            }),
          );
          expectClose(out, fd, () => `GradSoftDTW_SqDist (n=${n}, m=${m}, gamma=${gamma})`);
        }
    });
    it('lowers to exactly its eval, in O(n·m) scalar operations', () => {
      const r = rng(0x50f8);
      for (const [n, m] of sizes) {
        const vals = [n, m, 1].map((d, k) => Array.from({ length: d }, () => (k === 2 ? uni(0.1, 2)(r) : uni(-1, 1)(r))));
        const S = new ScalarBuilder();
        const lowered = def.lower!(vals.map((a, k) => a.map((_, c) => S.input(k, c, 0))), [], S, n + m);
        const out = new Float64Array(n + m);
        def.eval!(vals.map((a) => Float64Array.from(a)), [], out);
        expect(evalScalars(lowered, (k, c) => vals[k]![c]!)).to.deep.equal(Array.from(out));
        const ops = scalarOrder(lowered).filter((x) => x.fn !== 'const' && x.fn !== 'input').length;
        expect(ops, `${n}x${m}`).to.be.at.most(60 * n * m);
      }
    });
  });
});
