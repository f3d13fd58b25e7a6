import { expect } from 'chai';
import { compile, compileModule, evaluateRef, indicesToInt32, indicesToNumbers, registeredBackends, type IndicesOutput, type RunResult } from '../src/index.js';

/**
 * Results typed per reduction family (issue 16): `compile` reads the reduction of a literal formula, so a
 * kNN result has `indices` and a Sum result has `values` with no `!`; the index data converts to numbers.
 * The `@ts-expect-error` lines fail type-checking if the types loosen again.
 */
describe('result types per reduction family', () => {
  const decls = 'x = Vi(0, 2)\ny = Vj(1, 2)\n';
  const x = Float64Array.from([0, 0, 1, 1, 5, 5]);
  const y = Float64Array.from([0.9, 1, 0, 0.1, 5, 4.8, 10, 10]);

  it('a kNN kernel returns indices (non-optional) and no values; indicesToNumbers and indicesToInt32 convert them', () => {
    const knn = compile(`${decls}knn = ArgKMin_Reduction(SqDist(x, y), 2, 0)`);
    const r = knn.run({ x, y }, { backend: 'js' });
    const idx: IndicesOutput = r.indices;
    // @ts-expect-error an ArgKMin result has no values
    const none: IndicesOutput = r.values;
    expect(none).to.equal(undefined);
    expect(knn.resultKind).to.equal('indices');
    expect(idx.shape).to.deep.equal([3, 2]);
    const ref = evaluateRef(knn.ir, { arrays: new Map([[0, x], [1, y]]), M: 3, N: 4 })[0]!;
    expect(ref.name).to.equal('indices'); // the one output type: the oracle's indices are int64 too
    expect(ref.data).to.be.instanceOf(BigInt64Array);
    expect(indicesToNumbers(idx)).to.deep.equal(indicesToNumbers(ref as IndicesOutput));
    expect(indicesToNumbers(idx)).to.deep.equal([1, 0, 0, 1, 2, 0]);
    const i32 = indicesToInt32(idx);
    expect(i32).to.be.instanceOf(Int32Array);
    expect(Array.from(i32)).to.deep.equal([1, 0, 0, 1, 2, 0]);
    expect(() => indicesToInt32({ name: 'indices', shape: [1], data: BigInt64Array.of(1n << 40n) })).to.throw(RangeError, /does not fit in an Int32Array/);
  });

  it('a Sum kernel returns values (non-optional); a Min_ArgMin both', () => {
    const sum = compile(`${decls}s = Sum_Reduction(SqDist(x, y), 0)`);
    const r = sum.run({ x, y }, { backend: 'ref' });
    expect(Array.from(r.values.data)).to.have.length(3);
    expect(r.values.data[0]).to.be.closeTo(1.81 + 0.01 + 48.04 + 200, 1e-12);
    expect(r.indices).to.equal(undefined);
    const both = compile(`${decls}m = Min_ArgMin_Reduction(SqDist(x, y), 0)`).run({ x, y }, { backend: 'js' });
    [0.01, 0.01, 0.04].forEach((v, k) => expect(both.values.data[k]).to.be.closeTo(v, 1e-12));
    expect(indicesToNumbers(both.indices)).to.deep.equal([1, 0, 2]);
  });

  it('a text with several kernels, or one that is not a literal, gives the general RunResult', () => {
    const mod = compileModule(`${decls}a = Sum_Reduction(SqDist(x, y), 0)\nb = ArgMin_Reduction(SqDist(x, y), 0)`);
    const r: RunResult = mod.kernel('b').run({ x, y }, { backend: 'js' });
    // @ts-expect-error the kind of a module's kernel is not known statically
    const idx: IndicesOutput = r.indices;
    expect(indicesToNumbers(idx!)).to.deep.equal([1, 0, 2]);
    expect(mod.kernel('a').resultKind).to.equal('values');
  });

  it('every backend of the build is registered in the one registry', () => {
    expect(registeredBackends().map((b) => b.name).sort()).to.deep.equal(['cpu', 'cuda', 'js', 'ref', 'webgpu']);
  });
});
