/**
 * Property tests (fast-check, fixed seeds: every run sees the same cases):
 *
 * 1. simplification preserves the value of random well-typed formulas, and is idempotent;
 * 2. the same through the whole pipeline: printNode → .keo text → frontend → optimize → evaluateRef,
 *    against a direct double loop over the unsimplified tree (this also checks that printNode output
 *    re-parses to the same meaning);
 * 3. the parser never throws (it only returns diagnostics) and the frontend only throws KeopsError;
 * 4. hash-consing (equal trees are the same object) and printNode → parse → elaborate round trips.
 *
 * Generators, the tree-walking evaluator and a subtree minimiser live in test/helpers/gen.ts. A
 * failure message shows the formula fast-check found and a minimised one.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { KeopsError } from '../src/diagnostics/index.js';
import type { Kernel } from '../src/ir/kernel.js';
import { topoOrder } from '../src/ir/node.js';
import { printNode } from '../src/ir/print.js';
import type { Node } from '../src/ir/types.js';
import { expandMacros } from '../src/passes/expand.js';
import { frontend, optimize } from '../src/passes/pipeline.js';
import { simplify } from '../src/passes/simplify.js';
import { parseFormula, parseModule } from '../src/syntax/parse.js';
import { evaluateRef } from '../runtime/ref/index.js';
import { anyFormula, build, DECLS, doubles, envArb, evalTree, minimize, mismatch, NAMES, specText, VARS, type Env, type Spec } from './helpers/gen.js';

/** Fixed seed and run counts; KEOPSC_PROPERTY_SEED / KEOPSC_PROPERTY_SCALE explore further by hand. */
const SEED = Number(process.env.KEOPSC_PROPERTY_SEED ?? 42);
const SCALE = Number(process.env.KEOPSC_PROPERTY_SCALE ?? 1);
const runs = (n: number): { seed: number; numRuns: number } => ({ seed: SEED, numRuns: Math.max(1, Math.round(n * SCALE)) });

/** Run a single formula through a pass that works on kernels. */
const onFormula = (pass: (k: Kernel) => Kernel, n: Node): Node => pass({ formula: n } as unknown as Kernel).formula;
const expand = (n: Node): Node => onFormula(expandMacros, n);
const simp = (n: Node): Node => onFormula(simplify, n);

const show = (n: Node): string => printNode(n, NAMES);
const moduleText = (formula: string): string => `${DECLS}\nk = Sum_Reduction(${formula}, 0)`;
const allFinite = (v: ArrayLike<number>): boolean => Array.prototype.every.call(v, Number.isFinite) as boolean;
const maxArr = (a: Float64Array, b: Float64Array): Float64Array => a.map((x, k) => Math.max(x, b[k]!));
const envText = (env: Env): string => [...env].map(([i, v]) => `${NAMES.get(i)}=[${Array.from(v).join(', ')}]`).join(' ');

/**
 * Throw the failure of `check` on `spec`, with a minimised counterexample (same check, same data).
 * `check` returns undefined when the property holds, else a description.
 */
function report(spec: Spec, check: (s: Spec) => string | undefined): void {
  const first = check(spec);
  if (first === undefined) return;
  const small = minimize(spec, (s) => check(s) !== undefined);
  throw new Error(`${first}\n  --- minimised (${specText(small)}):\n${check(small)}`);
}

/** A structural text of a node: equal texts ⇔ structurally equal trees. */
function structural(n: Node, memo = new Map<Node, string>()): string {
  const hit = memo.get(n);
  if (hit !== undefined) return hit;
  const ps = n.params.map((p) => (typeof p === 'number' ? (Object.is(p, -0) ? '-0' : String(p)) : `[${p.join(',')}]`));
  const s = `${n.op}[${ps.join(',')}](${n.args.map((a) => structural(a, memo)).join(',')})`;
  memo.set(n, s);
  return s;
}

describe('property tests', function () {
  this.timeout(60000);

  // -------------------------------------------------------------------------------------------
  describe('1. simplify preserves values', () => {
    const envs = envArb;

    /** simplify(expand(f)) evaluates like expand(f) at env (rtol 1e-9 plus the rounding bound). */
    const simplifyCheck =
      (env: Env) =>
      (spec: Spec): string | undefined => {
        const original = expand(build(spec));
        const simplified = simp(original);
        if (simplified.dim !== original.dim) return `simplify changed the dimension: ${show(original)} → ${show(simplified)}`;
        const o = evalTree(original, env);
        if (!allFinite(o.value)) return undefined;
        const s = evalTree(simplified, env);
        const bad = mismatch(s.value, o.value, maxArr(o.mag, s.mag));
        if (!bad) return undefined;
        return `simplify changed the value\n  formula:    ${show(original)}\n  simplified: ${show(simplified)}\n  inputs: ${envText(env)}\n  original:   ${Array.from(o.value).join(', ')}\n  simplified: ${Array.from(s.value).join(', ')}\n  ${bad}`;
      };

    it('random formulas evaluate the same before and after simplify (macros expanded on both sides)', () => {
      fc.assert(
        fc.property(anyFormula(), envs, (spec, env) => {
          fc.pre(allFinite(evalTree(expand(build(spec)), env).value));
          report(spec, simplifyCheck(env));
        }),
        runs(300),
      );
    });

    it('simplify is idempotent', () => {
      const check = (spec: Spec): string | undefined => {
        const once = simp(expand(build(spec)));
        const twice = simp(once);
        return twice === once ? undefined : `simplify is not idempotent\n  once:  ${show(once)}\n  twice: ${show(twice)}`;
      };
      fc.assert(
        fc.property(anyFormula(), (spec) => report(spec, check)),
        runs(300),
      );
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('2. the whole pipeline on kernels', () => {
    const M = 3;
    const N = 4;
    const data = fc
      .tuple(doubles(M * 3), doubles(N * 3), doubles(M), doubles(N), doubles(1))
      .map(([x, y, s, t, p]) => new Map([[0, x], [1, y], [2, s], [3, t], [4, p]] as [number, Float64Array][]));

    /** Compile `Sum_Reduction(printNode(f), 0)`, run it on evaluateRef and compare with a double loop. */
    const pipelineCheck =
      (arrays: Map<number, Float64Array>) =>
      (spec: Spec): string | undefined => {
        const original = build(spec);
        const text = moduleText(show(original));
        let optimized: Kernel;
        try {
          optimized = optimize(frontend(text).program.kernels[0]!);
        } catch (e) {
          return `the printed formula does not compile:\n${text}\n${(e as Error).message}`;
        }
        const [out] = evaluateRef(optimized, { arrays, M, N });
        if (out?.name !== 'values') throw new Error('a Sum reduction returns values');
        if (out.shape.join() !== [M, original.dim].join()) return `shape ${out.shape} for ${show(original)}`;
        // direct double loop over the expanded, unsimplified tree
        const tree = expand(original);
        const D = original.dim;
        const want = new Float64Array(M * D);
        const mag = new Float64Array(M * D);
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            const env = new Map<number, Float64Array>();
            for (const [idx, dim, cat] of Object.values(VARS)) {
              const row = cat === 0 ? i : cat === 1 ? j : 0;
              env.set(idx, arrays.get(idx)!.subarray(row * dim, (row + 1) * dim));
            }
            const o = evalTree(tree, env);
            if (!allFinite(o.value)) return undefined;
            const opt = evalTree(optimized.formula, env);
            for (let k = 0; k < D; k++) {
              want[i * D + k]! += o.value[k]!;
              mag[i * D + k]! += Math.max(o.mag[k]!, opt.mag[k]!);
            }
          }
        const bad = mismatch(out.data, want, mag);
        if (!bad) return undefined;
        return `pipeline result differs\n  printed:   ${show(original)}\n  compiled:  ${printNode(optimized.formula, NAMES)}\n  data: ${envText(arrays)}\n  got:       ${Array.from(out.data).join(', ')}\n  expected:  ${Array.from(want).join(', ')}\n  ${bad}`;
      };

    it('printNode → .keo → frontend + optimize → evaluateRef equals a direct double loop over the unsimplified tree', () =>
      fc.assert(
        fc.property(anyFormula(), data, (spec, arrays) => report(spec, pipelineCheck(arrays))),
        runs(200),
      ));
  });

  // -------------------------------------------------------------------------------------------
  describe('3. the parser and the frontend only report diagnostics', () => {
    const TOKENS = [
      'Sum_Reduction', 'LogSumExp_Reduction', 'KMin_ArgKMin_Reduction', '(', ')', '[', ']', ',', ';', '\n', '=', '+', '-', '*', '/', '**', '^', '|',
      '<', '<=', '>', '>=', '==', '!=', 'x', 'y', 's', 'k', 'Vi', 'Vj', 'Pm', 'Var', 'Exp', 'Sum', 'Elem', 'Pow', 'SqDist', 'Grad', 'TensorDot',
      'Zero', 'IntCst', '0', '1', '3', '-1', '1.5', '1e3', '1e', '2x', '.5', '1e400', '99999999999999999999', '#c', ' ', '\t', '\r\n', '@', '"',
      '\u00e9', '\ud83d\ude00', '\ud800',
    ];
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 40 });

    /** parseModule / parseFormula return diagnostics (never an internal error), frontend throws only KeopsError. */
    function check(text: string): void {
      const what = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
      for (const parse of [parseModule, parseFormula]) {
        let r: { diagnostics: { message: string; span?: { start: number; end: number; line: number; col: number } }[] };
        try {
          r = parse(text);
        } catch (e) {
          throw new Error(`${parse.name} threw on ${what}: ${(e as Error)?.stack ?? e}`);
        }
        expect(r.diagnostics).to.be.an('array');
        for (const d of r.diagnostics) {
          // parse.ts turns an unexpected exception into this diagnostic: it would hide a crash
          if (/^could not parse the input/.test(d.message)) throw new Error(`${parse.name}: internal error on ${what}: ${d.message}`);
          if (d.span) {
            expect(d.span.start, 'span start').to.be.within(0, text.length);
            expect(d.span.end, 'span end').to.be.within(d.span.start, text.length);
            expect(d.span.line, 'line').to.be.at.least(1);
            expect(d.span.col, 'col').to.be.at.least(1);
          }
        }
      }
      const pm = parseModule(text);
      if (!pm.module) expect(pm.diagnostics.length, 'no module and no diagnostic').to.be.greaterThan(0);
      try {
        const { program } = frontend(text);
        for (const k of program.kernels) optimize(k);
      } catch (e) {
        if (!(e instanceof KeopsError)) throw new Error(`frontend threw a non-KeopsError on ${what}: ${(e as Error)?.stack?.split('\n').slice(0, 6).join('\n') ?? e}`);
      }
    }

    const run = (arb: fc.Arbitrary<string>, numRuns = 300): void =>
      fc.assert(
        fc.property(arb, (text) => check(text)),
        runs(numRuns),
      );

    it('random ASCII strings', () => run(fc.string({ maxLength: 80 })));
    it('random Unicode strings (any code point, lone surrogates included)', () => run(fc.string({ unit: 'binary', maxLength: 80 }), 200));
    it('random bytes decoded as latin1', () => run(fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('latin1'))));
    it('token soups', () => run(soup.map((ts) => ts.join(''))));
    it('token soups separated by spaces', () => run(soup.map((ts) => ts.join(' '))));
    it('token soups after valid declarations', () => run(soup.map((ts) => `${DECLS}\n${ts.join(' ')}`)));
    it('token soups inside a kernel', () => run(soup.map((ts) => moduleText(ts.join(' ')))));
    it('mutated valid modules (a token deleted, inserted or replaced)', () => {
      const valid = fc.constantFrom(
        moduleText('Exp(-SqDist(x, y) / 2) * t'),
        moduleText('Elem(x, 1) + Pow(s, 3) - 1/2'),
        `${DECLS}\na = x | y\nk = LogSumExp_Reduction(a, 1)\nm = KMin_ArgKMin_Reduction(SqDist(x, y), 2, 0)`,
        moduleText('Grad(SqNorm2(x - y), x, Vi(5, 1))'),
      );
      const mutated = fc.tuple(valid, fc.nat(), fc.constantFrom('delete', 'insert', 'replace'), fc.constantFrom(...TOKENS)).map(([t, at, how, tok]) => {
        const k = at % (t.length + 1);
        return how === 'delete' ? t.slice(0, k) + t.slice(k + 1) : how === 'insert' ? t.slice(0, k) + tok + t.slice(k) : t.slice(0, k) + tok + t.slice(k + 1);
      });
      run(mutated);
    });
    it('deep nesting', () => {
      for (const text of [
        '('.repeat(5000),
        '('.repeat(5000) + 'x' + ')'.repeat(5000),
        moduleText('('.repeat(5000) + 'x' + ')'.repeat(5000)),
        'Exp('.repeat(3000),
        moduleText('Exp('.repeat(3000) + 's' + ')'.repeat(3000)),
        moduleText('Exp('.repeat(199) + 's' + ')'.repeat(199)),
        moduleText('-'.repeat(5000) + 's'),
        moduleText('-'.repeat(199) + 's'),
        moduleText('s' + '**s'.repeat(3000)),
        '['.repeat(5000),
        moduleText('Concat('.repeat(199) + 's' + ',s)'.repeat(199)),
        ')'.repeat(5000),
        ','.repeat(5000),
        '\n'.repeat(5000),
        'x = Vi(0, 3)\n'.repeat(2000),
        moduleText('x' + '+x'.repeat(1000)),
      ])
        check(text);
    });

    // regression: these overflowed the JS stack (RangeError) in the elaborator and in `rewrite`
    it('long flat chains (20000 terms, 3000 chained definitions)', () => {
      for (const text of [
        moduleText('x' + '+x'.repeat(20000)),
        moduleText('x' + '*s'.repeat(20000)),
        moduleText('Sum(x)' + '|x'.repeat(5000)),
        `${DECLS}\n` + Array.from({ length: 3000 }, (_, k) => `a${k} = ${k ? `a${k - 1}` : 's'} + s`).join('\n') + '\nk = Sum_Reduction(a2999, 0)',
        `${DECLS}\n` + Array.from({ length: 3000 }, (_, k) => `a${k} = Exp(${k ? `a${k - 1}` : 's'})`).join('\n') + '\nk = Sum_Reduction(a2999, 0)',
      ])
        check(text);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('4. hash-consing and printNode round trips', () => {
    it('building the same spec twice gives the identical node; ids grow from children to parents; keys are unique', () => {
      fc.assert(
        fc.property(anyFormula({ compare: true }), (spec) => {
          const a = build(spec);
          const b = build(structuredClone(spec));
          expect(a === b, specText(spec)).to.equal(true);
          const seen = new Map<string, Node>();
          for (const n of topoOrder([a])) {
            for (const c of n.args) expect(c.id).to.be.lessThan(n.id);
            expect(seen.get(n.key) ?? n).to.equal(n);
            seen.set(n.key, n);
          }
        }),
        runs(300),
      );
    });

    it('two specs give the same node exactly when the trees are structurally equal', () => {
      const small = anyFormula({ depth: 2 });
      fc.assert(
        fc.property(small, small, (s1, s2) => {
          const a = build(s1);
          const b = build(s2);
          expect(a === b, `${specText(s1)} vs ${specText(s2)}`).to.equal(structural(a) === structural(b));
        }),
        runs(1000),
      );
    });

    /** simplify(elaborate(parse(printNode(s)))) === s for s = simplify(f): printed `1/2` and `1/f`
     * come back as Divide, which simplify turns back into RatCst / Inv. */
    const roundTrip = (spec: Spec): string | undefined => {
      const s = simp(expand(build(spec)));
      const text = show(s);
      let back: Node;
      try {
        back = frontend(moduleText(text)).program.kernels[0]!.formula;
      } catch (e) {
        return `printNode output does not compile: ${text}\n${(e as Error).message}`;
      }
      const again = simp(back);
      return again === s ? undefined : `round trip changed the node\n  simplified:   ${text}  [${structural(s)}]\n  reparsed:     ${show(back)}\n  resimplified: ${show(again)}  [${structural(again)}]`;
    };

    // regressions: negative literals came back as float constants (`-1` → Cst(-1)); `|` and the
    // comparisons were printed without the parentheses the grammar needs (`a|b+c`, `s<t+p`); folded
    // float constants printed as short decimals came back as exact rationals (Cst(0.5) → 1/2).
    it('printNode → parse → elaborate → simplify gives back the simplified node', () => {
      fc.assert(
        fc.property(anyFormula({ compare: true }), (spec) => report(spec, roundTrip)),
        runs(300),
      );
    });
  });
});
