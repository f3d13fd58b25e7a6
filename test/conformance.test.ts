import { expect } from 'chai';
import { compile } from '../src/index.js';
import { cpuOrSkip } from './helpers/native.js';
import { webgpuOrSkip } from './helpers/webgpu.js';
import { cudaStatus } from '../runtime/cuda/index.js';
import { CONFORMANCE_CASES } from './helpers/conformance.js';
import { expectClose } from './helpers/data.js';

/**
 * keops-reference.md §7.3 on every backend, in float64 and float32: against the stated values, and
 * (for the generated backends) against the reference evaluator on the same inputs.
 */
for (const backend of ['ref', 'js', 'cpu', 'webgpu', 'cuda'] as const)
describe(`conformance (§7.3) on the ${backend} backend`, function () {
  this.timeout(120000);
  if (backend === 'cpu' && !cpuOrSkip()) return;
  if (backend === 'cuda') {
    const s = cudaStatus();
    if (!s.ok) {
      it(`is skipped: the cuda backend is unavailable: ${s.reason}`, function () {
        this.skip();
      });
      return;
    }
  }
  if (backend === 'webgpu') webgpuOrSkip({ tiles: 'on' }); // the workgroup-tile code path of GPUs, also on SwiftShader
  // WGSL has no float64
  for (const dtype of backend === 'webgpu' ? (['float32'] as const) : (['float64', 'float32'] as const)) {
    describe(dtype, () => {
      for (const c of CONFORMANCE_CASES) {
        if (dtype === 'float32' && c.float64Only) continue;
        it(c.name, async () => {
          const k = compile(c.source, { file: 'case.keo' });
          const cast = (a: Float64Array) => (dtype === 'float32' ? Float32Array.from(a) : a);
          const args = Object.fromEntries(Object.entries(c.args).map(([n, a]) => [n, { data: cast(a.data), shape: a.shape }]));
          const r = await k.run(args, { backend, ranges: c.ranges, threads: 1 });
          // goldens are given to 5-6 significant digits; dense references are exact in float64
          const golden = c.expected.values && c.expected.values.data.length < 20 && !(c.expected.values.data instanceof Float64Array);
          const rtol = dtype === 'float32' ? (c.rtol32 ?? 1e-5) : golden ? 1e-5 : 1e-12;
          const atol = dtype === 'float32' ? 1e-6 : golden ? 1e-6 : 1e-12;
          for (const key of ['values', 'indices'] as const) {
            const want = c.expected[key];
            if (!want) continue;
            const got = r[key];
            expect(got, `${key} output`).to.not.equal(undefined);
            expect(got!.shape).to.deep.equal(want.shape);
            if (key === 'indices') expect(got!.data).to.be.instanceOf(BigInt64Array);
            else expect(got!.data).to.be.instanceOf(dtype === 'float32' ? Float32Array : Float64Array);
            expectClose(got!.data, want.data, key === 'indices' ? 0 : rtol, key === 'indices' ? 0 : atol, key);
          }
          if (backend !== 'ref') {
            const ref = k.run(args, { backend: 'ref', ranges: c.ranges });
            for (const o of ref.outputs) {
              const mine = r[o.name]!;
              const f32 = dtype === 'float32';
              expectClose(mine.data, Array.from(o.data as ArrayLike<number | bigint>, Number), f32 ? 1e-5 : 1e-12, f32 ? 1e-6 : 1e-12, `${o.name} vs ref`);
            }
          }
        });
      }
    });
  }
});
