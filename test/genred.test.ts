import { expect } from 'chai';
import { KeopsError, InputError } from '../src/diagnostics/index.js';
import { Genred, reductionString } from '../src/api/genred.js';
import { uniform, expectClose } from './helpers/data.js';

const M = 6;
const N = 4;
const D = 3;
const xs = uniform(M * D, 41);
const ys = uniform(N * D, 42);
const bs = uniform(N, 43);
const sq = (i: number, j: number): number => {
  let s = 0;
  for (let k = 0; k < D; k++) s += (xs[i * D + k]! - ys[j * D + k]!) ** 2;
  return s;
};
const num = (a: ArrayLike<number | bigint>): number[] => Array.from(a, Number);
const GAUSS_ALIASES = ['x = Vi(3)', 'y = Vj(3)', 'b = Vj(1)'];

describe('Genred', () => {
  it('Sum with axis 1 reduces over j (tag 0)', () => {
    const g = Genred('Exp(-SqDist(x, y)) * b', GAUSS_ALIASES, { axis: 1 });
    expect(g.tag).to.equal(0);
    expect(g.source).to.equal('Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
    const r = g(xs, ys, bs);
    expect(r.shape).to.deep.equal([M, 1]);
    const want = Array.from({ length: M }, (_, i) => Array.from({ length: N }, (_, j) => Math.exp(-sq(i, j)) * bs[j]!).reduce((a, b) => a + b));
    expectClose(r.data, want);
    // the kernel was compiled once and is reused
    const k = g.kernel;
    g(xs, ys, bs);
    expect(g.kernel).to.equal(k);
  });

  it('the default axis is 0: reduce over i (tag 1)', () => {
    const g = Genred('SqDist(x, y)', ['x = Vi(3)', 'y = Vj(3)']);
    expect(g.axis).to.equal(0);
    expect(g.source).to.equal('Sum_Reduction(SqDist(x, y), 1)');
    const r = g({ data: xs, shape: [M, D] }, { data: ys, shape: [N, D] });
    expect(r.shape).to.deep.equal([N, 1]);
    expectClose(
      r.data,
      Array.from({ length: N }, (_, j) => Array.from({ length: M }, (_, i) => sq(i, j)).reduce((a, b) => a + b)),
    );
  });

  it('arrays are positional in alias order, with explicit indices honoured', () => {
    const g = Genred('x - y', ['y = Vj(1, 1)', 'x = Vi(0, 1)'], { axis: 1 });
    const r = g(new Float64Array([1, 2]), new Float64Array([10, 20, 30]));
    expect(num(r.data)).to.deep.equal([3 - 60, 6 - 60]);
  });

  it('run options: ranges per call or as constructor defaults', () => {
    const x = Float64Array.from([0, 1, 2, 3, 4, 5]);
    const y = Float64Array.from([0, 10, 20, 30, 40]);
    const ranges = [[0, 2, 2, 4], [1, 3], [0, 2, 0, 2, 2, 5], [0, 2, 2, 5], [2, 3], [0, 2, 2, 4, 2, 4]];
    const g1 = Genred('x + y', ['x = Vi(1)', 'y = Vj(1)'], { axis: 1 });
    expect(num(g1(x, y, { ranges }).data)).to.deep.equal([10, 12, 110, 115, 0, 0]);
    expect(num(g1(x, y).data)).to.deep.equal([100, 105, 110, 115, 120, 125]);
    const g0 = Genred('x + y', ['x = Vi(1)', 'y = Vj(1)'], { axis: 0, ranges, backend: 'ref' });
    expect(g0.defaults).to.deep.equal({ ranges, backend: 'ref' });
    expect(num(g0(x, y).data)).to.deep.equal([6, 46, 45, 65, 85]);
  });

  it('LogSumExp, and LogSumExp with formula2 (LogSumExpWeight)', () => {
    const f = (i: number, j: number): number => -sq(i, j);
    const plain = Genred('-SqDist(x, y)', ['x = Vi(3)', 'y = Vj(3)'], { reduction: 'LogSumExp', axis: 1 });
    expectClose(
      plain(xs, ys).data,
      Array.from({ length: M }, (_, i) => Math.log(Array.from({ length: N }, (_, j) => Math.exp(f(i, j))).reduce((a, b) => a + b))),
    );
    const w = uniform(N, 44, 0.5, 2);
    const weighted = Genred('-SqDist(x, y)', ['x = Vi(3)', 'y = Vj(3)', 'w = Vj(1)'], { reduction: 'LogSumExp', axis: 1, formula2: 'w' });
    expect(weighted.reduction).to.equal('LogSumExpWeight');
    expect(weighted.source).to.equal('LogSumExpWeight_Reduction(-SqDist(x, y), 0, w)');
    expectClose(
      weighted(xs, ys, w).data,
      Array.from({ length: M }, (_, i) => Math.log(Array.from({ length: N }, (_, j) => Math.exp(f(i, j)) * w[j]!).reduce((a, b) => a + b))),
    );
  });

  it('SumSoftMaxWeight (and its old name SoftMax)', () => {
    const f = (i: number, j: number): number => -sq(i, j);
    const want = Array.from({ length: M }, (_, i) => {
      let n = 0;
      let d = 0;
      for (let j = 0; j < N; j++) {
        n += Math.exp(f(i, j)) * bs[j]!;
        d += Math.exp(f(i, j));
      }
      return n / d;
    });
    for (const reduction of ['SumSoftMaxWeight', 'SoftMax'] as const) {
      const g = Genred('-SqDist(x, y)', GAUSS_ALIASES, { reduction, axis: 1, formula2: 'b' });
      expect(g.reduction).to.equal('SumSoftMaxWeight');
      expectClose(g(xs, ys, bs).data, want);
    }
  });

  it('Min, ArgMin, Min_ArgMin / MinArgMin, KMin_ArgKMin (ties go to the smallest index)', () => {
    const x = new Float64Array([0]);
    const y = new Float64Array([3, 1, 2, 1, 5]);
    const aliases = ['x = Vi(1)', 'y = Vj(1)'];
    expect(num(Genred('Abs(x - y)', aliases, { reduction: 'Min', axis: 1 })(x, y).data)).to.deep.equal([1]);
    const am = Genred('Abs(x - y)', aliases, { reduction: 'ArgMin', axis: 1 })(x, y);
    expect(am.data).to.be.instanceOf(BigInt64Array);
    expect(num(am.data)).to.deep.equal([1]);
    for (const reduction of ['Min_ArgMin', 'MinArgMin'] as const) {
      const [v, i] = Genred('Abs(x - y)', aliases, { reduction, axis: 1 })(x, y);
      expect(num(v.data)).to.deep.equal([1]);
      expect(num(i.data)).to.deep.equal([1]);
    }
    const [mv, mi] = Genred('Abs(x - y)', aliases, { reduction: 'MaxArgMax', axis: 1 })(x, y);
    expect(num(mv.data)).to.deep.equal([5]);
    expect(num(mi.data)).to.deep.equal([4]);
    const g = Genred('Abs(x - y)', aliases, { reduction: 'KMin_ArgKMin', optArg: 3, axis: 1 });
    expect(g.source).to.equal('KMin_ArgKMin_Reduction(Abs(x - y), 3, 0)');
    const [values, indices] = g(x, y);
    expect(values.shape).to.deep.equal([1, 3]);
    expect(num(values.data)).to.deep.equal([1, 1, 2]);
    expect(num(indices.data)).to.deep.equal([1, 3, 2]);
    expect(num(Genred('Abs(x - y)', aliases, { reduction: 'KMin', optArg: 7, axis: 1 })(x, y).data)).to.deep.equal([1, 1, 2, 3, 5, Infinity, Infinity]);
    expect(num(Genred('Abs(x - y)', aliases, { reduction: 'ArgKMin', optArg: 7, axis: 1 })(x, y).data)).to.deep.equal([1, 3, 2, 0, 4, 0, 0]);
  });

  it('run options are passed through (sumScheme, threads, backend)', () => {
    const g = Genred('Exp(-SqDist(x, y)) * b', GAUSS_ALIASES, { axis: 1, sumScheme: 'kahan' });
    const ref = g(xs, ys, bs, { backend: 'ref' });
    expectClose(g(xs, ys, bs, { backend: 'js', threads: 2 }).data, Array.from(ref.data as Float64Array));
    expect(() => g(xs, ys, bs, { sumScheme: 'bogus' as 'kahan' })).to.throw(InputError, /sumScheme/);
  });

  it('float32 inputs give float32 outputs', () => {
    const g = Genred('SqDist(x, y)', ['x = Vi(3)', 'y = Vj(3)'], { axis: 1 });
    expect(g(Float32Array.from(xs), Float32Array.from(ys)).data).to.be.instanceOf(Float32Array);
  });

  describe('errors', () => {
    it('an unknown reduction is an InputError listing the known ones', () => {
      expect(() => Genred('x', ['x = Vi(1)'], { reduction: 'Median' as 'Sum' })).to.throw(InputError, /unknown reduction 'Median'; use one of Sum, /);
    });
    it('a missing or invalid K is an InputError', () => {
      expect(() => Genred('x', ['x = Vi(1)'], { reduction: 'KMin' })).to.throw(InputError, /KMin needs K: pass optArg/);
      expect(() => Genred('x', ['x = Vi(1)'], { reduction: 'ArgKMin', optArg: 2.5 })).to.throw(InputError, /positive integer/);
      expect(() => Genred('x', ['x = Vi(1)'], { reduction: 'Sum', optArg: 2 })).to.throw(InputError, /takes no K/);
    });
    it('a missing or unexpected formula2 is an InputError', () => {
      expect(() => Genred('x', ['x = Vi(1)'], { reduction: 'SumSoftMaxWeight' })).to.throw(InputError, /needs a weight formula: pass formula2/);
      expect(() => Genred('x', ['x = Vi(1)'], { reduction: 'Max', formula2: 'x' })).to.throw(InputError, /takes no formula2/);
    });
    it("pykeops's snake_case option names are aliases with pykeops's meaning", () => {
      expect(Genred('x', ['x = Vi(1)'], { reduction_op: 'Min' }).reduction).to.equal('Min');
      expect(Genred('x', ['x = Vi(1)'], { reduction: 'KMin', opt_arg: 2 }).source).to.equal('KMin_Reduction(x, 2, 1)');
      expect(() => Genred('x', ['x = Vi(1)'], { reduction: 'Min', reduction_op: 'Max' })).to.throw(InputError, /reduction and reduction_op set the same option/);
    });
    it('a bad axis is an InputError', () => {
      expect(() => Genred('x', ['x = Vi(1)'], { axis: 2 as 0 })).to.throw(InputError, /axis/);
    });
    it('an invalid formula is a KeopsError with diagnostics (not an InputError)', () => {
      let err: unknown;
      try {
        Genred('SqDist(x, y)', ['x = Vi(3)', 'y = Vj(2)']);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(KeopsError);
      expect(err).not.to.be.instanceOf(InputError);
      expect((err as KeopsError).code).to.equal('KEO3001');
    });
    it('a wrong number of arrays is an InputError', () => {
      const g = Genred('SqDist(x, y)', ['x = Vi(3)', 'y = Vj(3)'], { axis: 1 });
      expect(() => g(xs)).to.throw(InputError, /takes 2 arrays/);
      expect(() => g(xs, ys, ys)).to.throw(InputError, /takes 2 arrays/);
      expect(() => g(xs, new Float64Array(7))).to.throw(InputError);
    });
  });

  it('reductionString builds KeOps reduction strings', () => {
    expect(reductionString('Sum', 'f', 0).text).to.equal('Sum_Reduction(f, 0)');
    expect(reductionString('KMin', 'f', 1, { K: 4 }).text).to.equal('KMin_Reduction(f, 4, 1)');
    expect(reductionString('LogSumExp', 'f', 1).text).to.equal('LogSumExp_Reduction(f, 1)');
    expect(reductionString('LogSumExp', 'f', 0, { formula2: 'g' }).text).to.equal('LogSumExpWeight_Reduction(f, 0, g)');
    expect(reductionString('SoftMax', 'f', 0, { formula2: 'g' }).text).to.equal('SumSoftMaxWeight_Reduction(f, 0, g)');
    expect(reductionString('MaxArgMax', 'f', 0).text).to.equal('Max_ArgMax_Reduction(f, 0)');
  });
});
