/**
 * The shared accumulator updates of src/targets/common.ts (issue 18): printed as `if / else if` on
 * scalars (the js, cuda and wgsl folds, the C++ lane merges) and lane-wise with selects (the C++ folds
 * on GCC vectors), they must compute the same state. Both prints are evaluated here in JS on one lane
 * (a JS `c ? a : b` on numbers is what a GCC vector select does in each lane) over special values
 * (NaN, ±inf, ±0) and random doubles, and compared bit for bit.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { compile, type RunResult } from '../src/index.js';
import { LOOP_MIN_TERMS } from '../src/ir/scalar.js';
import { JS_UNROLL_MAX } from '../src/targets/js.js';
import { cpuOrSkip } from './helpers/native.js';
import { expectClose, rng } from './helpers/data.js';
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
const LANES: Pick<CSyntax, 'inf' | 'one' | 'ne' | 'eq' | 'exp' | 'acc' | 'constant' | 'mask' | 'forHead'> = { ...SCALAR, mask: (n, e) => `const ${n} = ${e};` };

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

/**
 * The log-sum-exp family with a long weight g (plan.gLoop from LOOP_MIN_TERMS components on): the C++
 * and JS printers print the same shared update (lseUpdate) with the sums of g's components in one loop
 * over k, and must agree with the float64 reference, -inf and NaN terms included. f = -|x - y|² + a·c:
 * row 1 (a = -inf) has only -inf terms, column 11 (c = +inf) makes the term of rows 4 and 5 NaN (a = 0)
 * and every other row's -inf; row 4 (x = +inf) has no other term than -inf, so that one C++ lane sees
 * only the NaN term (the lane merge's NaN-only case); N = 3 leaves most lanes without a term (the lane
 * merge of all-masked lanes).
 */
describe('the loop form of the log-sum-exp family (a weight of many components): cpu and js against runtime/ref', function () {
  this.timeout(600000);
  const NAMES = ['LogSumExpWeight', 'SumSoftMaxWeight', 'Max_SumShiftExpWeight'] as const;
  const DIMS = [LOOP_MIN_TERMS - 1, LOOP_MIN_TERMS, JS_UNROLL_MAX + 1, 300];
  const kernel = (name: string, E: number) => compile(`x = Vi(0, 3)\ny = Vj(1, 3)\na = Vi(2, 1)\nc = Vj(3, 1)\nb = Vj(4, ${E})\nk = ${name}_Reduction(-SqDist(x, y) + a * c, 0, b)`);
  /** Data for M rows and N columns; `special`: the -inf and NaN terms above. */
  function data(E: number, M: number, N: number, f32: boolean, special: boolean, seed: number) {
    const r = rng(seed);
    const arr = (n: number, f: (k: number) => number) => (f32 ? Float32Array.from({ length: n }, (_, k) => f(k)) : Float64Array.from({ length: n }, (_, k) => f(k)));
    const a = arr(M, (i) => (special && i === 1 ? -Infinity : special && (i === 4 || i === 5) ? 0 : -r()));
    const c = arr(N, (j) => (special && j === 11 ? Infinity : 0.1 + r()));
    return { x: { data: arr(M * 3, (k) => (special && k >= 12 && k < 15 ? Infinity : 2 * r() - 1)), shape: [M, 3] }, y: { data: arr(N * 3, () => 2 * r() - 1), shape: [N, 3] }, a: { data: a, shape: [M, 1] }, c: { data: c, shape: [N, 1] }, b: { data: arr(N * E, () => 0.05 + r()), shape: [N, E] } };
  }
  /** Block-sparse ranges for 7 rows and 37 columns: row 2 in no cluster, rows 3 and 4 in a cluster with no
   * interval, rows 5 and 6 reading column 11 (the NaN term of row 5) and the last columns. */
  const RANGES = {
    ranges_i: Int32Array.of(0, 2, 3, 5, 5, 7),
    slices_i: Int32Array.of(2, 2, 4),
    redranges_j: Int32Array.of(0, 9, 12, 30, 30, 37, 10, 12),
    ranges_j: Int32Array.of(0, 37),
    slices_j: Int32Array.of(1),
    redranges_i: Int32Array.of(0, 7),
  };
  function compare(ref: RunResult, got: RunResult, f32: boolean, what: string): void {
    const want = Array.from(ref.values!.data as ArrayLike<number>);
    expect(got.values!.shape, what).to.deep.equal(ref.values!.shape);
    expectClose(got.values!.data, want, f32 ? 2e-5 : 1e-12, f32 ? 1e-6 : 1e-13, what);
  }
  /** Each reduction at each weight dimension on `backend`, dense (11 rows; 37 and 3 columns) and block-sparse. */
  function agree(backend: 'js' | 'cpu'): void {
    for (const name of NAMES)
      for (const E of DIMS) {
        const k = kernel(name, E);
        expect(!!k.plan.gLoop, `${name} E=${E}: a component loop`).to.equal(E >= LOOP_MIN_TERMS);
        for (const f32 of [false, true])
          for (const special of [false, true]) {
            const what = (shape: string) => `${backend} ${name} E=${E} ${f32 ? 'float32' : 'float64'}${special ? ' with -inf/NaN terms' : ''} ${shape}`;
            for (const N of [37, 3]) {
              const a = data(E, 11, N, f32, special, E + N);
              const ref = k.run(a, { backend: 'ref' });
              if (special && N === 37) {
                // the special rows do what the reference says they do: row 1 empty, row 5 NaN
                const v = Array.from(ref.values!.data as ArrayLike<number>);
                const row = (i: number) => v.slice(i * (v.length / 11), (i + 1) * (v.length / 11));
                // (Max_SumShiftExpWeight: m is the largest finite term, the sums are NaN)
                for (const i of [4, 5]) expect(row(i).slice(name === 'Max_SumShiftExpWeight' ? 1 : 0).every(Number.isNaN), `${name}: row ${i} is NaN`).to.equal(true);
                if (name === 'Max_SumShiftExpWeight') expect(row(4)[0], 'row 4: the maximum of no finite term').to.equal(-Infinity);
                expect(row(1)[0], `${name}: row 1 is empty`).to.satisfy((x: number) => (name === 'SumSoftMaxWeight' ? Number.isNaN(x) : x === -Infinity));
              }
              compare(ref, k.run(a, { backend }), f32, what(`11 x ${N}`));
            }
            const a = data(E, 7, 37, f32, special, E + 1);
            const ref = k.run(a, { backend: 'ref', ranges: RANGES });
            const v = Array.from(ref.values!.data as ArrayLike<number>);
            const last = (i: number) => v[(i + 1) * (v.length / 7) - 1]!;
            // rows 2, 3, 4 see no term (empty: -inf, or 0/0 for SumSoftMaxWeight), row 5 its NaN term when special
            for (const i of [2, 3, 4]) expect(last(i), `${name} ranges: row ${i} is empty`).to.satisfy((x: number) => (name === 'SumSoftMaxWeight' ? Number.isNaN(x) : name === 'LogSumExpWeight' ? x === -Infinity : x === 0));
            expect(Number.isNaN(last(5)), `${name} ranges: row 5`).to.equal(special);
            compare(ref, k.run(a, { backend, ranges: RANGES }), f32, what('ranges'));
          }
      }
  }

  it('prints the shared update with one loop over the sums: C++ (fold and lane merge) and JS (fold)', () => {
    for (const name of NAMES) {
      const E = 300;
      const k = kernel(name, E);
      const off = name === 'SumSoftMaxWeight' ? 1 : 0;
      const sk = `s0[k${off ? ' + 1' : ''}]`;
      const cpp = k.cppSource({ dtype: 'float32', sumScheme: 'block', accDtype: 'float32', fastMath: true });
      // the fold, lane-wise: the masks and the exp once, the sums of g in the loop, then m
      expect(cpp, name).to.include(`${sk} = c0 ? ${sk} * e + w : (c1 ? ${sk} + e * w : ${sk});`);
      expect(cpp, name).to.include('m0 = c0 ? fv : m0;');
      // the lane merge: an if / else if / else, each with its loop over the W sums
      const W = off + E;
      expect(cpp, name).to.include(`A m = (-std::numeric_limits<A>::infinity()), sm[${W}] = {};`);
      for (const set of ['sm[k] = sm[k] * e + s.s[k][l];', 'sm[k] = sm[k] + e * s.s[k][l];', 'sm[k] = sm[k] + s.s[k][l];']) expect(cpp, name).to.include(set);
      const fin = cpp.slice(cpp.indexOf('inline void fin('), cpp.indexOf('\n}\n', cpp.indexOf('inline void fin(')));
      expect(fin.split(`for (int k = 0; k < ${W}; ++k) {`).length - 1, `${name}: the lane merge's loops`).to.equal(3);
      expect(cpp.split(`for (int k = 0; k < ${E}; ++k) {`).length - 1, `${name}: the folds' loops (row blocks of 4 and 1)`).to.be.at.least(2);
      const js = k.jsSource({ dtype: 'float64' });
      const ls = `ls[${off ? 'k + 1' : 'k'}]`;
      expect(js, name).to.include(`${ls} = ${ls} * e + fk;`).and.to.include(`${ls} = ${ls} + e * fk;`);
      const folds = [...js.matchAll(/if \(\w+ > m\) \{\n/g)].length;
      expect(folds, `${name}: the JS folds (dense, block-sparse)`).to.be.at.least(1);
      expect(js.split(`for (let k = 0; k < ${E}; k++) {`).length - 1, `${name}: a loop in each case of the JS folds`).to.equal(2 * folds);
    }
  });

  it('js: agrees with the reference at weight dimensions 31, 32, 65, 300 (float64 and float32, dense and block-sparse)', () => {
    agree('js');
  });

  describe('cpu backend', function () {
    if (!cpuOrSkip()) return;
    it('agrees with the reference at weight dimensions 31, 32, 65, 300 (float64 and float32, dense and block-sparse)', () => {
      agree('cpu');
    });
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
