import { expect } from 'chai';
import '../../runtime/cuda/backend.js';
import { compile, type RunOptions } from '../../src/api/compile.js';
import { cudaCacheStats, cudaStatus } from '../../runtime/cuda/index.js';
import { fromHalfBits, toHalfBits } from '../../runtime/half.js';
import { CONFORMANCE_CASES, caseArgs, checkCase } from '../helpers/conformance.js';
import { expectClose, normal, uniform } from '../helpers/data.js';

/**
 * The cuda backend on a GPU: keops-reference.md §7.3 in float64 and float32 against the stated values
 * and the reference evaluator, dense and block-sparse, then the Gaussian kernel sum's throughput at
 * N = M = 1e5 and 1e6 (printed). Without a usable GPU every test is skipped with the reason
 * (`keopsc doctor` prints the same). Run it alone with `bash test/gpu/cuda-smoke.sh`.
 */
describe('cuda backend on a GPU (test/gpu)', function () {
  this.timeout(600_000);
  const status = cudaStatus();
  if (!status.ok) {
    // one visible skipped test with the reason, rather than one per case
    it(`is skipped: no usable GPU: ${status.reason}`, function () {
      console.log(`      skipped: no usable GPU: ${status.reason}`);
      this.skip();
    });
    return;
  }
  before(() => console.log(`      ${status.device.name} (${status.device.arch}), driver ${status.driver.version}, NVRTC ${status.nvrtc.version}`));

  for (const dtype of ['float64', 'float32'] as const)
    describe(`conformance (§7.3), ${dtype}`, () => {
      for (const c of CONFORMANCE_CASES) {
        if (dtype === 'float32' && c.float64Only) continue;
        it(c.name, () => {
          const k = compile(c.source, { file: 'case.keo' });
          const args = caseArgs(c, dtype);
          checkCase(c, dtype, k.run(args, { backend: 'cuda', ranges: c.ranges }), k.run(args, { backend: 'ref', ranges: c.ranges }));
        });
      }
    });

  it('agrees with the cpu/js backend on a large Gaussian sum spanning many tiles and blocks (M = 3001, N = 4099, both tags)', () => {
    const M = 3001, N = 4099;
    const x = Float32Array.from(normal(M * 3, 1)), y = Float32Array.from(normal(N * 3, 2)), b = Float32Array.from(uniform(N, 3)), c = Float32Array.from(uniform(M, 4));
    for (const [tag, w] of [[0, b], [1, c]] as const) {
      const k = compile(`x = Vi(0, 3)\ny = Vj(1, 3)\nw = ${tag === 0 ? 'Vj' : 'Vi'}(2, 1)\nk = Sum_Reduction(Exp(-SqDist(x, y) / 2) * w, ${tag})`);
      const gpu = k.run({ x, y, w }, { backend: 'cuda' }).values!.data as Float32Array;
      const cpu = k.run({ x, y, w }, { backend: 'js', dtypeAcc: 'float64' }).values!.data as Float32Array;
      expectClose(gpu, cpu, 1e-4, 1e-4, `tag ${tag}`);
    }
  });

  it('float16 storage: results within 1e-2 of the reference, and within float32 error of the reference on the half-rounded inputs', () => {
    const M = 1500, N = 2100;
    const round = (a: Float32Array) => fromHalfBits(toHalfBits(a));
    const data = { x: Float32Array.from(normal(M * 3, 11)), y: Float32Array.from(normal(N * 3, 12)), b: Float32Array.from(uniform(N * 2, 13)), c: Float32Array.from(uniform(M, 14)), p: Float32Array.from([0.5]) };
    const decls = 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 2)\nc = Vi(3, 1)\np = Pm(4, 1)\n';
    const cases: [string, string, RunOptions['ranges']?][] = [
      ['gauss', 'Sum_Reduction(Exp(-SqDist(x, y) * p) * b, 0)'],
      ['gauss_tag1', 'Sum_Reduction(Exp(-SqDist(x, y) * p) * c, 1)'],
      ['gauss_ranges', 'Sum_Reduction(Exp(-SqDist(x, y) * p) * b, 0)', { ranges_i: [0, 700, 700, M], slices_i: [1, 2], redranges_j: [0, 1000, 900, N], ranges_j: [0, N], slices_j: [1], redranges_i: [0, M] }],
      ['lse', 'LogSumExp_Reduction(-SqDist(x, y) * p, 0)'],
      ['ssm', 'SumSoftMaxWeight_Reduction(-SqDist(x, y), 0, b)'],
      ['max', 'Max_Reduction(-SqDist(x, y), 0)'],
      ['min_argmin', 'Min_ArgMin_Reduction(SqDist(x, y), 1)'],
      ['kmin', 'KMin_Reduction(SqDist(x, y), 3, 0)'],
    ];
    for (const [name, red, ranges] of cases) {
      const k = compile(`${decls}${name} = ${red}`);
      const args = Object.fromEntries(k.ir.args.map((a) => [a.name, data[a.name as keyof typeof data]]));
      const half = k.run(args, { backend: 'cuda', storage: 'float16', ranges });
      expect(half.values!.data).to.be.instanceOf(Float32Array);
      // against the float64 reference on the float32 inputs: the halves' rounding (2^-11) bounds the error
      const ref = k.run(Object.fromEntries(Object.entries(args).map(([n, a]) => [n, Float64Array.from(a)])), { backend: 'ref', ranges });
      expectClose(half.values!.data, ref.values!.data as Float64Array, 1e-2, 1e-2, `${name} vs ref`);
      // against the reference on the inputs rounded to halves: only float32 arithmetic differs
      const refHalf = k.run(Object.fromEntries(Object.entries(args).map(([n, a]) => [n, Float64Array.from(round(a))])), { backend: 'ref', ranges });
      expectClose(half.values!.data, refHalf.values!.data as Float64Array, 1e-4, 1e-5, `${name} vs ref on half-rounded inputs`);
    }
  });

  it('prints the Gaussian kernel sum throughput at N = M = 1e5 and 1e6 (D = 3, float32)', () => {
    const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ngauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)');
    const lines: string[] = [];
    for (const fastMath of [false, true]) {
      // compile and warm up (NVRTC, module load, device buffers)
      const small = { x: Float32Array.from(normal(3000, 5)), y: Float32Array.from(normal(3000, 6)), b: Float32Array.from(uniform(1000, 7)) };
      k.run(small, { backend: 'cuda', fastMath });
      for (const n of [1e5, 1e6]) {
        const args = { x: Float32Array.from(normal(n * 3, 8)), y: Float32Array.from(normal(n * 3, 9)), b: Float32Array.from(uniform(n, 10)) };
        k.run(args, { backend: 'cuda', fastMath }); // buffers of this size
        const reps = n === 1e5 ? 5 : 2;
        const t0 = performance.now();
        for (let r = 0; r < reps; r++) k.run(args, { backend: 'cuda', fastMath });
        const ms = (performance.now() - t0) / reps;
        lines.push(`      N = M = ${n.toExponential(0)}${fastMath ? ', --use_fast_math' : ''}: ${ms.toFixed(2)} ms per call (copies included), ${((n * n) / (ms / 1000) / 1e9).toFixed(1)} G pairs/s`);
      }
    }
    console.log(`      Gaussian kernel sum on ${status.device.name} (KeOps on an RTX 2080 Ti: 15.0 ms at 1e5, 1.39 s at 1e6):\n${lines.join('\n')}`);
    console.log(`      NVRTC compilations ${cudaCacheStats().compiles}, cache hits ${cudaCacheStats().hits}`);
  });
});
