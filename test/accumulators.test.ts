/**
 * The shared accumulator updates of src/targets/common.ts (issue 18): printed as `if / else if` on
 * scalars (the js, cuda and wgsl folds, the C++ lane merges) and lane-wise with selects (the C++ folds
 * on GCC vectors), they must compute the same state. Both prints are evaluated here in JS on one lane
 * (a JS `c ? a : b` on numbers is what a GCC vector select does in each lane) over special values
 * (NaN, ±inf, ±0) and random doubles, and compared bit for bit.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { compile } from '../src/index.js';
import { MergeState } from '../runtime/dist/partial.js';
import { extremumUpdate, lseUpdate, printUpdate, type CSyntax, type GuardedUpdate } from '../src/targets/common.js';

const SCALAR = {
  inf: 'Infinity',
  one: '1',
  ne: '!==',
  eq: '===',
  exp: (x: string) => `Math.exp(${x})`,
  acc: (e: string) => e,
  constant: (n: string, e: string) => `const ${n} = ${e};`,
  forHead: (k: string, n: number) => `for (let ${k} = 0; ${k} < ${n}; ${k}++) {`,
};
const LANES: Pick<CSyntax, 'inf' | 'one' | 'ne' | 'eq' | 'exp' | 'acc' | 'constant' | 'mask'> & { forHead: typeof SCALAR.forHead } = { ...SCALAR, mask: (n, e) => `const ${n} = ${e};` };

/** The state after the printed update: `state` are the targets (in order), `inputs` the values read. */
function run(lines: string[], state: Record<string, number>, inputs: Record<string, number>): number[] {
  const targets = Object.keys(state);
  const body = `let ${targets.map((n) => `${n} = $${n}`).join(', ')};\n${lines.join('\n')}\nreturn [${targets.join(', ')}];`;
  const fn = new Function(...targets.map((n) => `$${n}`), ...Object.keys(inputs), body) as (...a: number[]) => number[];
  return fn(...Object.values(state), ...Object.values(inputs));
}

/** Both prints of an update give the same state, bit for bit (Object.is: NaN equals NaN, +0 is not −0). */
function sameBothWays(u: GuardedUpdate, state: Record<string, number>, inputs: Record<string, number>): void {
  const scalar = printUpdate(SCALAR, u);
  const lanes = printUpdate(LANES, u);
  expect(lanes).to.have.length(1);
  const [a, b] = [run(scalar, state, inputs), run(lanes, state, inputs)];
  a.forEach((x, k) => expect(Object.is(x, b[k]), `${scalar.join(' ')}\n${lanes[0]}\nstate ${JSON.stringify(state)} inputs ${JSON.stringify(inputs)}: ${a} vs ${b}`).to.equal(true));
}

const special = fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, 2);
const value = fc.oneof(special, fc.double({ min: -50, max: 50, noNaN: true }));
const index = fc.integer({ min: 0, max: 3 });
const reduction = (f: string) => compile(`x = Vi(0, 1)\ny = Vj(1, 1)\nk = ${f}`).plan.reduction;

describe('shared accumulator updates (src/targets/common.ts): the scalar and the lane-wise prints agree', () => {
  for (const name of ['Min_ArgMin', 'Max_ArgMax'])
    it(`${name}: the fold (strict) and the merge (ties to the earlier position)`, () => {
      const red = reduction(`${name}_Reduction(x - y, 0)`);
      fc.assert(
        fc.property(value, index, value, index, fc.boolean(), (m, i, v, j, ties) => {
          sameBothWays(extremumUpdate(red, LANES, 'm', 'i', 'v', 'j', ties), { m, i }, { v, j });
        }),
        { seed: 18, numRuns: 400 },
      );
    });

  it('the extremum update: strict, or equal at an earlier position with ties; never NaN', () => {
    const red = reduction('Min_ArgMin_Reduction(x - y, 0)');
    const at = (m: number, i: number, v: number, j: number, ties: boolean) => run(printUpdate(SCALAR, extremumUpdate(red, SCALAR, 'm', 'i', 'v', 'j', ties)), { m, i }, { v, j });
    expect(at(1, 3, 1, 2, false)).to.deep.equal([1, 3]);
    expect(at(1, 3, 1, 2, true)).to.deep.equal([1, 2]);
    expect(at(1, 1, 1, 2, true)).to.deep.equal([1, 1]);
    expect(at(1, 3, 0.5, 5, false)).to.deep.equal([0.5, 5]);
    expect(at(1, 3, Number.NaN, 0, true)).to.deep.equal([1, 3]);
  });

  for (const merge of [false, true])
    it(`log-sum-exp: the online update ${merge ? 'merging a partial state (NaN-only lanes poison)' : 'by a weighted term'}`, () => {
      fc.assert(
        fc.property(value, value, value, value, value, value, (m, s0, s1, m2, w0, w1) => {
          sameBothWays(lseUpdate(LANES, 'm', ['s0', 's1'], 'm2', merge ? ['w0', 'w1'] : ['1', 'w1'], merge), { m, s0, s1 }, { m2, w0, w1 });
        }),
        { seed: 18, numRuns: 600 },
      );
    });

  it('log-sum-exp: values of the update and of the merge', () => {
    const at = (state: [number, number], m2: number, w: number, merge: boolean) => run(printUpdate(SCALAR, lseUpdate(SCALAR, 'm', ['s'], 'm2', [merge ? 'w' : '1'], merge)), { m: state[0], s: state[1] }, { m2, w });
    // a larger term rescales the sum: (0, 2) by 1 -> (1, 2/e + 1)
    expect(at([0, 2], 1, 0, false)).to.deep.equal([1, 2 * Math.exp(-1) + 1]);
    // a smaller one adds exp(f - m)
    expect(at([1, 2], 0, 0, false)).to.deep.equal([1, 2 + Math.exp(-1)]);
    // a term -inf changes nothing; an empty state (-inf, +0) changes nothing when merged
    expect(at([1, 2], -Infinity, 0, false)).to.deep.equal([1, 2]);
    expect(at([1, 2], -Infinity, 0, true)).to.deep.equal([1, 2]);
    // a state that saw only NaN terms (-inf, NaN) poisons the sum; an empty one merged into an empty one stays empty
    expect(at([1, 2], -Infinity, Number.NaN, true)).to.deep.equal([1, Number.NaN]);
    expect(at([-Infinity, 0], -Infinity, 0, true)).to.deep.equal([-Infinity, 0]);
  });
});

describe('the loop form of the log-sum-exp update (array sums in one loop over k, GuardedUpdate.each)', () => {
  /** The state after the printed update: the scalars m, s0 and the array s; the inputs m2, w0 and the array w. */
  function runLoop(lines: string[], m: number, s0: number, s: readonly number[], m2: number, w0: number, w: readonly number[]): number[] {
    const body = `let m = $m, s0 = $s0; const s = $s.slice();\n${lines.join('\n')}\nreturn [m, s0, ...s];`;
    return (new Function('$m', '$s0', '$s', 'm2', 'w0', 'w', body) as (...a: unknown[]) => number[])(m, s0, s, m2, w0, w);
  }
  const n = 3;
  const vals = fc.array(value, { minLength: n, maxLength: n });
  for (const merge of [false, true])
    it(`${merge ? 'the merge' : 'the update'}: scalar and lane-wise loop prints give the unrolled print's state, bit for bit`, () => {
      const names = Array.from({ length: n }, (_, k) => k);
      const w0 = merge ? 'w0' : '1';
      const unrolled = printUpdate(SCALAR, lseUpdate(SCALAR, 'm', ['s0', ...names.map((k) => `s[${k}]`)], 'm2', [w0, ...names.map((k) => `w[${k}]`)], merge));
      // the weight read through a head line, as the printers read component k of g
      const array = { k: 'k', n, s: 's[k]', w: 'wk', head: ['const wk = w[k];'] };
      const [scalar, lanes] = [SCALAR, LANES].map((S) => printUpdate(S, lseUpdate(S, 'm', ['s0'], 'm2', [w0], merge, array))) as [string[], string[]];
      expect(lanes.filter((l) => l.includes('for ('))).to.have.length(1);
      expect(scalar.filter((l) => l.includes('for ('))).to.have.length(merge ? 3 : 2);
      fc.assert(
        fc.property(value, value, vals, value, value, vals, (m, s0, s, m2, w0v, w) => {
          const want = runLoop(unrolled, m, s0, s, m2, w0v, w);
          for (const got of [runLoop(scalar, m, s0, s, m2, w0v, w), runLoop(lanes, m, s0, s, m2, w0v, w)])
            got.forEach((x, k) => expect(Object.is(x, want[k]), `${scalar.join('\n')}\n${lanes.join('\n')}\n${[m, s0, s, m2, w0v, w].join(' | ')}: ${got} vs ${want}`).to.equal(true));
        }),
        { seed: 18, numRuns: 500 },
      );
    });

  it('the short forms stay one line per case (scalar) and one block (lane-wise); array sets need a loop head', () => {
    const u = lseUpdate(SCALAR, 'm', ['s0'], 'm2', ['1']);
    expect(printUpdate(SCALAR, u)).to.deep.equal(['if (m2 > m) { const e = Math.exp(m - m2); s0 = s0 * e + 1; m = m2; }', 'else if (m2 !== -Infinity) { const e = Math.exp(m2 - m); s0 = s0 + e; }']);
    expect(printUpdate(LANES, u)).to.deep.equal(['{ const c0 = m2 > m; const c1 = m2 !== -Infinity; const e = Math.exp(c0 ? m - m2 : m2 - m); s0 = c0 ? s0 * e + 1 : (c1 ? s0 + e : s0); m = c0 ? m2 : m; }']);
    const { forHead: _, ...noLoop } = SCALAR;
    expect(() => printUpdate(noLoop, lseUpdate(SCALAR, 'm', [], 'm2', [], true, { k: 'k', n: 2, s: 's[k]', w: 'w[k]' }))).to.throw(/forHead/);
  });
});

describe('the distributed merge of log-sum-exp states (runtime/dist MergeState) follows the same rule', () => {
  it('a later chunk of only NaN terms makes the result NaN, as in a local run; an empty one changes nothing', () => {
    const decls = 'x = Vi(0, 1)\ny = Vj(1, 1)\n';
    const lse = compile(`${decls}k = LogSumExp_Reduction(x - y, 0)`);
    const partial = compile(`${decls}k = Max_SumShiftExp_Reduction(x - y, 0)`);
    const x = Float64Array.of(0);
    for (const [chunks, want] of [
      [[[0, 1], [Number.NaN]], Number.NaN],
      [[[0, 1], []], Math.log(Math.exp(0) + Math.exp(-1))],
      [[[Number.NaN], [0, 1]], Number.NaN],
    ] as [number[][], number][]) {
      const local = lse.runSync({ x, y: Float64Array.from(chunks.flat()) }, { backend: 'js' }).values.data[0]!;
      const state = new MergeState(lse.ir, 1);
      let offset = 0;
      chunks.forEach((c, t) => {
        const values = Float64Array.from(partial.runSync({ x, y: Float64Array.from(c) }, { backend: 'js' }).values.data);
        state.merge(0, 1, offset, t === 0, { values });
        offset += c.length;
      });
      const merged = state.finalize('float64')[0]!.data[0] as number;
      expect(Object.is(merged, want) || Math.abs(merged - want) < 1e-15, `merged ${merged}, want ${want}`).to.equal(true);
      expect(Object.is(merged, local) || Math.abs(merged - local) < 1e-15, `merged ${merged}, local ${local}`).to.equal(true);
    }
  });
});
