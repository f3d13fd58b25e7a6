import { expect } from 'chai';
import { compile, InputError, KeopsError } from '../src/index.js';

/** Bad inputs through the API: each is a one-line InputError saying what is wrong and how to fix it. */
describe('API input errors', () => {
  const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
  const x = new Float64Array(6), y = new Float64Array(9), b = new Float64Array(3);
  const cases: [string, () => unknown, RegExp][] = [
    ['a length that is not a multiple of dim', () => k.run({ x: new Float64Array(7), y, b }), /x is Vi\(3\) but has 7 values, not a multiple of 3/],
    ['a shape that disagrees with the data', () => k.run({ x: { data: x, shape: [3, 3] }, y, b }), /shape \(3, 3\) but 6 values/],
    ['a wrong dim in the shape', () => k.run({ x: { data: x, shape: [3, 2] }, y, b }), /expected shape \(M, 3\), got \(3, 2\)/],
    ['N disagreeing between j-variables', () => k.run({ x, y, b: new Float64Array(4) }), /N mismatch: y has 3 rows but b has 4/],
    ['mixed dtypes', () => k.run({ x, y: new Float32Array(9), b }), /mix dtypes: x is float64 but y is float32/],
    ['an integer array', () => k.run({ x, y, b: new Int32Array(3) as never }), /b must be a Float32Array or Float64Array/],
    ['an unknown argument name', () => k.run({ x, y, b, z: b }), /no argument named 'z'/],
    ['a missing argument', () => k.run({ x, y }), /missing argument b: Vj\(1\)/],
    ['a wrong positional count', () => k.run([x, y]), /takes 3 arrays \(x, y, b\), got 2/],
    ['ranges out of bounds', () => k.run({ x, y, b }, { ranges: [[0, 9], [1], [0, 3], [0, 3], [1], [0, 2]] }), /ranges_i\[0\] = \[0, 9\) is out of bounds for M = 2/],
    ['ranges with a decreasing slice', () => k.run({ x, y, b }, { ranges: [[0, 1, 1, 2], [1, 0], [0, 3], [0, 3], [1], [0, 2]] }), /slices_i must be non-decreasing/],
    ['ranges with the wrong count', () => k.run({ x, y, b }, { ranges: [[0, 2], [1], [0, 3]] }), /ranges must have 6 arrays/],
    ['ranges with start > end', () => k.run({ x, y, b }, { ranges: [[0, 2], [1], [3, 1], [0, 3], [1], [0, 2]] }), /redranges_j\[0\] = \[3, 1\) has start > end/],
    ['an unknown backend', () => k.run({ x, y, b }, { backend: 'tpu' as never }), /unknown backend 'tpu'/],
    ['bad threads', () => k.run({ x, y, b }, { threads: 0 }), /threads must be a positive integer/],
    ['a wrong out array', () => k.run({ x, y, b }, { out: new Float32Array(2) }), /out must be a Float64Array/],
    ['a short out array', () => k.run({ x, y, b }, { out: new Float64Array(5) }), /out has 5 values but the output has shape \(2, 1\)/],
  ];
  for (const [what, fn, msg] of cases) {
    it(`rejects ${what}`, () => {
      try {
        fn();
        expect.fail('should throw');
      } catch (e) {
        expect(e).to.be.instanceOf(InputError);
        expect((e as Error).message).to.match(msg);
        expect((e as Error).message).to.match(/^error KEO5001: /);
        expect((e as Error).message.split('\n')).to.have.length(1);
      }
    });
  }

  it('writes into out when given', () => {
    const out = new Float64Array(2);
    const r = k.run({ x, y, b: Float64Array.from([1, 1, 1]) }, { out });
    expect(r.values!.data).to.equal(out);
    expect(Array.from(out)).to.deep.equal([3, 3]);
  });

  it('formula errors are KeopsErrors with the same text as the CLI', () => {
    expect(() => compile('x = Vi(0, 3)\nk = Sum_Reduction(Exp(x, x), 0)', { file: 'f.keo' })).to.throw(KeopsError, /^f\.keo:2:19 - error KEO2003: Exp takes 1 argument/);
  });
});
