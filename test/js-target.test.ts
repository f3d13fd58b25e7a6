import { expect } from 'chai';
import { compile } from '../src/index.js';
import { JS_EXP_PRELUDE } from '../src/targets/js.js';
import { fromMatrix } from '../runtime/cluster/index.js';
import { rng, uniform } from './helpers/data.js';

/**
 * The JS target's dense loop takes rows in blocks (2 rows when the pair loop inlines tExp, 8 otherwise,
 * src/targets/js.ts blockRows) that share the reduction-side values, and the remaining rows one at a
 * time: every row must get exactly the value it gets alone (one row: the one-row loop only), for each
 * reduction family, sum scheme and data type, and the float64 reference's value up to rounding. The
 * loop over the rows of a range takes the same blocks.
 */
const pairs = (p: number[][]) => ({ data: Int32Array.from(p.flat()), shape: [p.length, 2] });

describe('JS target: blocks of rows in the dense loop', function () {
  this.timeout(60000);
  const M = 19, N = 37; // blocks of 8 (or 2) rows, then 3 (or 1) rows one at a time
  const data = (ctor: Float32ArrayConstructor | Float64ArrayConstructor) => ({
    x: ctor.from(uniform(M * 3, 1)),
    y: ctor.from(uniform(N * 3, 2)),
    b: ctor.from(uniform(N * 2, 3)),
    p: ctor.from([0.7]),
  });
  const decls = 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 2)\np = Pm(3, 1)\n';
  const cases: [string, string, ('block' | 'kahan' | 'direct' | undefined)[]][] = [
    ['Sum, with exp', 'Sum_Reduction(Exp(-SqDist(x, y) * p) * b + Elem(x, 1), 0)', ['block', 'kahan', 'direct']],
    ['Sum, no exp', 'Sum_Reduction(SqDist(x, y) * p * b, 0)', ['block', 'direct']],
    ['Min_ArgMin', 'Min_ArgMin_Reduction(SqDist(x, y) * p + b, 0)', [undefined]],
    ['ArgMax', 'ArgMax_Reduction(Exp(-SqDist(x, y)) * b, 0)', [undefined]],
    ['KMin_ArgKMin', 'KMin_ArgKMin_Reduction(SqDist(x, y) * p + b, 3, 0)', [undefined]],
    ['LogSumExp', 'LogSumExp_Reduction(-SqDist(x, y) * p, 0)', [undefined]],
    ['Max_SumShiftExpWeight', 'Max_SumShiftExpWeight_Reduction(-SqDist(x, y) * p, 0, b)', [undefined]],
    ['SumSoftMaxWeight', 'SumSoftMaxWeight_Reduction(-SqDist(x, y) * p, 0, b)', [undefined]],
  ];
  for (const [what, formula, schemes] of cases) {
    const k = compile(`${decls}k = ${formula}`);
    for (const dtype of ['float32', 'float64'] as const)
      for (const sumScheme of schemes)
        it(`${what}, ${dtype}${sumScheme ? `, ${sumScheme} sum` : ''}: each row as computed alone, and the reference's value`, () => {
          const d = Object.fromEntries(Object.entries(data(dtype === 'float32' ? Float32Array : Float64Array)).filter(([n]) => k.args.some((a) => a.name === n))) as ReturnType<typeof data>;
          const opts = { backend: 'js' as const, threads: 1, ...(sumScheme ? { sumScheme } : {}) };
          const all = k.run(d, opts);
          const ref = k.run(d, { backend: 'ref' });
          const outs = all.outputs.map((o) => o.data);
          const w = outs[0]!.length / M;
          for (let i = 0; i < M; i++) {
            const alone = k.run({ ...d, x: d.x.slice(3 * i, 3 * i + 3) }, opts).outputs.map((o) => o.data);
            outs.forEach((o, n) => expect([...o.slice(i * w, (i + 1) * w)], `row ${i}, output ${n}`).to.deep.equal([...alone[n]!]));
          }
          // block-sparse: clusters of 11 and 8 rows (blocks of 8 or 2, then the rest one at a time)
          const yr = [[0, 5], [5, 10], [10, 20], [20, 30], [30, 37]];
          const mask = [[1, 1, 0, 1, 1], [0, 1, 1, 1, 0]];
          const sparse = k.run(d, { ...opts, ranges: fromMatrix(pairs([[0, 11], [11, 19]]), pairs(yr), mask) }).outputs.map((o) => o.data);
          const sparseRef = k.run(d, { backend: 'ref', ranges: fromMatrix(pairs([[0, 11], [11, 19]]), pairs(yr), mask) }).outputs.map((o) => o.data);
          for (let i = 0; i < M; i++) {
            const alone = k.run({ ...d, x: d.x.slice(3 * i, 3 * i + 3) }, { ...opts, ranges: fromMatrix(pairs([[0, 1]]), pairs(yr), [mask[i < 11 ? 0 : 1]!]) }).outputs.map((o) => o.data);
            sparse.forEach((o, n) => expect([...o.slice(i * w, (i + 1) * w)], `ranges, row ${i}, output ${n}`).to.deep.equal([...alone[n]!]));
          }
          all.outputs.forEach((o, n) => {
            if (o.name !== 'indices')
              for (let t = 0; t < o.data.length; t++) expect(Number(sparse[n]![t]), `ranges, value ${t}`).to.be.closeTo(Number(sparseRef[n]![t]), dtype === 'float32' ? 1e-4 : 1e-12);
            else if (dtype === 'float64') expect([...sparse[n]!].map(Number)).to.deep.equal([...sparseRef[n]!].map(Number));
          });
          all.outputs.forEach((o, n) => {
            const r = ref.outputs[n]!.data;
            if (o.name === 'indices') {
              // float32 rounding may swap near ties: compare indices in float64 only
              if (dtype === 'float64') expect([...o.data].map(Number)).to.deep.equal([...r].map(Number));
            } else for (let t = 0; t < o.data.length; t++) expect(Number(o.data[t]), `value ${t}`).to.be.closeTo(Number(r[t]), dtype === 'float32' ? 1e-4 : 1e-12);
          });
        });
  }
});

describe('JS target: tExp, the exp of float32 kernels', () => {
  const tExp = new Function(`${JS_EXP_PRELUDE}\nreturn tExp;`)() as (x: number) => number;
  const f64 = new Float64Array(2);
  const i64 = new BigInt64Array(f64.buffer);
  const ulps = (a: number, b: number) => {
    f64[0] = a;
    f64[1] = b;
    return Math.abs(Number(i64[0]! - i64[1]!));
  };

  it('is within 2 ulp of Math.exp on [-708, 709], and Math.exp at the edges and beyond', () => {
    const r = rng(7);
    let worst = 0;
    for (const [lo, hi] of [[-708, 709], [-20, 0], [-1, 1], [-1e-6, 1e-6]] as const)
      for (let k = 0; k < 200000; k++) {
        const x = lo + (hi - lo) * r();
        worst = Math.max(worst, ulps(tExp(x), Math.exp(x)));
      }
    expect(worst).to.be.at.most(2);
    for (const x of [NaN, Infinity, -Infinity, 0, -0, 1, -1, 708.9, 709, 709.8, 710, -707.9, -708, -708.5, -745, -745.2, -746, 1e-300, -1e-300])
      expect(ulps(tExp(x), Math.exp(x)), `x = ${x}`).to.be.at.most(2);
    expect(Number.isNaN(tExp(NaN))).to.equal(true);
    expect(tExp(-Infinity)).to.equal(0);
    expect(tExp(Infinity)).to.equal(Infinity);
    expect(tExp(0)).to.equal(1);
    expect(tExp(710)).to.equal(Infinity);
    expect(tExp(-746)).to.equal(0);
  });

  it("rounds to Math.exp's float32 value (a float32 kernel's term) on 1e6 samples of [-20, 0]", () => {
    const r = rng(8);
    let differ = 0;
    for (let k = 0; k < 1e6; k++) {
      const x = -20 * r();
      if (Math.fround(tExp(x)) !== Math.fround(Math.exp(x))) differ++;
    }
    expect(differ).to.equal(0);
  });

  it('is what float32 kernels print, and float64 kernels keep Math.exp', () => {
    const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nk = Sum_Reduction(Exp(-SqDist(x, y)), 0)');
    const body = (src: string) => src.slice(src.indexOf('return function kernel'));
    expect(body(k.jsSource({ dtype: 'float32' }))).to.contain('tExp(').and.not.contain('Math.exp(');
    expect(k.jsSource({ dtype: 'float64' })).to.contain('Math.exp(').and.not.contain('tExp');
    // a float64 accumulator (dtypeAcc) keeps Math.exp in the log-sum-exp update
    const lse = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nk = LogSumExp_Reduction(-SqDist(x, y), 0)');
    expect(lse.jsSource({ dtype: 'float32', dtypeAcc: 'float64' })).to.contain('Math.exp(');
  });
});
