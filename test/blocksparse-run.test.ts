import { expect } from 'chai';
import { compile } from '../src/api/compile.js';
import { InputError } from '../src/diagnostics/index.js';
import { blockSparseRanges } from '../runtime/cluster/index.js';
import { uniform, expectClose } from './helpers/data.js';
import { webgpuOrSkip } from './helpers/webgpu.js';
import { describeClusterPaths } from './helpers/cluster-paths.js';

// issue 16 item 1: the object blockSparseRanges returns runs a kernel on arrays in their original order
describeClusterPaths('BlockSparse.run (original order in, original order out)', function () {
  this.timeout(60000);
  const M = 300, N = 250;
  const x = { data: uniform(2 * M, 1, 0, 1), shape: [M, 2] };
  const y = { data: uniform(2 * N, 2, 0, 1), shape: [N, 2] };
  const b = { data: uniform(N, 3, -1, 1), shape: [N, 1] };
  const a = { data: uniform(M, 4, -1, 1), shape: [M, 1] };
  // σ = 0.05: pairs beyond the cutoff 0.5 weigh below exp(-50)
  const gauss = compile('x = Vi(0, 2); y = Vj(1, 2); b = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) * 200) * b, 0)');
  const gaussT = compile('x = Vi(0, 2); y = Vj(1, 2); a = Vi(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) * 200) * a, 1)');
  const bs = blockSparseRanges(x, y, { eps: 0.1, cutoff: 0.5 });

  it('keeps a fraction of the pairs (the test is block-sparse)', () => {
    expect(bs.keptFraction).to.be.within(0.2, 0.95);
    expect(Array.from(bs.permY).some((p, k) => p !== k)).to.equal(true);
  });

  it('a Gaussian sum (tag 0) equals the dense reference in the original row order', () => {
    const r = bs.run(gauss, { x, y, b }, { backend: 'js' });
    const ref = gauss.run({ x, y, b }, { backend: 'ref' });
    expectClose(r.values!.data, ref.values!.data as Float64Array, 1e-12, 1e-15);
    // a kernel run on sorted points with the unsorted b is the trap this guards against
    const trap = gauss.run({ x: bs.x, y: bs.y, b }, { backend: 'js', ranges: bs.ranges }).values!.data;
    expect(Array.from(trap, Number).some((v, k) => Math.abs(v - Number(ref.values!.data[k])) > 1e-3)).to.equal(true);
  });

  it('positional arguments, and tag 1 (output over j) un-permuted with permY', () => {
    const { run } = bs; // a detached method works too
    const r = run(gaussT, [x, y, a], { backend: 'js' });
    expectClose(r.values!.data, gaussT.run({ x, y, a }, { backend: 'ref' }).values!.data as Float64Array, 1e-12, 1e-15);
    expect(r.values!.shape).to.deep.equal([N, 1]);
  });

  it('kNN indices are original indices; slots without a candidate keep index 0 and +inf', () => {
    const knn = compile('x = Vi(0, 2); y = Vj(1, 2)\nk = KMin_ArgKMin_Reduction(SqDist(x, y), 3, 0)');
    const full = blockSparseRanges(x, y, { eps: 0.1, cutoff: Infinity });
    const r = full.run(knn, { x, y }, { backend: 'js' });
    const ref = knn.run({ x, y }, { backend: 'ref' });
    expect(Array.from(r.indices!.data, Number)).to.deep.equal(Array.from(ref.indices!.data, Number));
    expectClose(r.values!.data, ref.values!.data as Float64Array);
    // two far-apart clouds with cutoff 0: each x-cluster sees few or no y-points
    const far = blockSparseRanges({ data: Float64Array.from([0, 0.01, 5]), shape: [3, 1] }, { data: Float64Array.from([0.02, 5.03, 5.04, 9]), shape: [4, 1] }, { eps: 0.1, cutoff: 0.1 });
    const k1 = compile('x = Vi(0, 1); y = Vj(1, 1)\nk = KMin_ArgKMin_Reduction(SqDist(x, y), 3, 0)');
    const f = far.run(k1, { x: Float64Array.from([0, 0.01, 5]), y: Float64Array.from([0.02, 5.03, 5.04, 9]) }, { backend: 'js' });
    expect(Array.from(f.indices!.data, Number)).to.deep.equal([0, 0, 0, 0, 0, 0, 1, 2, 0]);
    expect(Array.from(f.values!.data, Number).map((v) => (v === Infinity ? 'inf' : v.toFixed(4)))).to.deep.equal(['0.0004', 'inf', 'inf', '0.0001', 'inf', 'inf', '0.0009', '0.0016', 'inf']);
  });

  it('refuses arrays of another length, and options.ranges / options.out, with one line', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => bs.run(gauss, { x, y, b: { data: b.data.subarray(0, 100), shape: [100, 1] } }), /argument b \(a j-variable\) has 100 rows but the clustering was made for N = 250/],
      [() => bs.run(gauss, { x, y, b }, { ranges: bs.ranges } as never), /uses the ranges of its clustering/],
      [() => bs.run(gauss, { x, y, b }, { out: new Float64Array(M) } as never), /leave options.out out/],
    ];
    for (const [f, re] of bad) {
      expect(f).to.throw(InputError, re);
    }
  });

  it('runs a gradient kernel (j-variable: tag 1, un-permuted with permY)', () => {
    const g = gauss.grad('y');
    const e = { data: uniform(M, 5, -1, 1), shape: [M, 1] };
    const r = bs.run(g, { x, y, b, e }, { backend: 'js' });
    expectClose(r.values!.data, g.run({ x, y, b, e }, { backend: 'ref' }).values!.data as Float64Array, 1e-10, 1e-12);
  });
});

describe('BlockSparse.run on the webgpu backend (a Promise, un-permuted when it resolves)', function () {
  this.timeout(120000);
  webgpuOrSkip();
  it('kNN indices and Gaussian sums in the original order', async () => {
    const M = 400, N = 300;
    const x = { data: Float32Array.from(uniform(2 * M, 21, 0, 1)), shape: [M, 2] };
    const y = { data: Float32Array.from(uniform(2 * N, 22, 0, 1)), shape: [N, 2] };
    const b = { data: Float32Array.from(uniform(N, 23, -1, 1)), shape: [N, 1] };
    const bs = blockSparseRanges(x, y, { eps: 0.1, cutoff: 0.5 });
    const gauss = compile('x = Vi(0, 2); y = Vj(1, 2); b = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) * 200) * b, 0)');
    const r = await bs.run(gauss, { x, y, b }, { backend: 'webgpu' });
    expectClose(r.values!.data, gauss.run({ x, y, b }, { backend: 'ref' }).values!.data as Float64Array, 1e-4, 1e-5);
    const knn = compile('x = Vi(0, 2); y = Vj(1, 2)\nk = ArgKMin_Reduction(SqDist(x, y), 2, 1)');
    const full = blockSparseRanges(x, y, { eps: 0.1, cutoff: Infinity });
    const k = await full.run(knn, { x, y }, { backend: 'webgpu' });
    expect(Array.from(k.indices!.data, Number)).to.deep.equal(Array.from(knn.run({ x, y }, { backend: 'ref' }).indices!.data, Number));
  });
});
