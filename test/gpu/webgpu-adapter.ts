/**
 * Runs every float32 conformance case (keops-reference.md §7.3) on the webgpu backend of whatever
 * adapter this process gets (choose it with VK_ICD_FILENAMES), with workgroup tiles on and off, and with
 * float16 storage where the adapter has `shader-f16`; compares each with the reference evaluator (for
 * float16, the reference runs on the inputs rounded to half precision, so the comparison isolates the
 * kernel). Prints one JSON line: { adapter, features, runs, failures }. Used by
 * test/webgpu-adapters.test.ts in a child process, since an adapter is chosen once per process.
 *
 *   VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json node --import tsx test/gpu/webgpu-adapter.ts
 */
import { compile, webgpuStatus, WEBGPU_CONFIG } from '../../src/index.js';
import { fromHalfBits, toHalfBits } from '../../runtime/half.js';
import { CONFORMANCE_CASES } from '../helpers/conformance.js';
import { expectClose, uniform } from '../helpers/data.js';

const status = await webgpuStatus();
if (!status.ok) {
  console.log(JSON.stringify({ adapter: null, reason: status.reason }));
  process.exit(0);
}
const f16 = status.features.includes('shader-f16');
const failures: string[] = [];
let runs = 0;
for (const storage of f16 ? (['float32', 'float16'] as const) : (['float32'] as const))
  for (const tiles of ['on', 'off'] as const) {
    WEBGPU_CONFIG.tiles = tiles;
    for (const c of CONFORMANCE_CASES) {
      if (c.float64Only) continue;
      const k = compile(c.source, { file: 'case.keo' });
      const cast = (a: Float64Array) => (storage === 'float16' ? fromHalfBits(toHalfBits(Float32Array.from(a))) : Float32Array.from(a));
      const args = Object.fromEntries(Object.entries(c.args).map(([n, a]) => [n, { data: cast(a.data), shape: a.shape }]));
      try {
        const r = await k.run(args, { backend: 'webgpu', ranges: c.ranges, storage });
        const ref = k.run(args, { backend: 'ref', ranges: c.ranges });
        for (const o of ref.outputs) {
          const want = Array.from(o.data as ArrayLike<number | bigint>, Number);
          expectClose(r[o.name]!.data, want, o.name === 'indices' ? 0 : 1e-5, o.name === 'indices' ? 0 : 1e-6, o.name);
        }
      } catch (e) {
        failures.push(`${c.name} (storage ${storage}, tiles ${tiles}): ${(e as Error).message.split('\n')[0]}`);
      }
      runs++;
    }
  }
// §7.3 case 38 (sum schemes on 200 000 float32 terms): drivers that reassociate floating-point
// arithmetic must not undo the block sums or the Kahan compensation
{
  const M = 4, N = 200000;
  const x = Float32Array.from(uniform(M, 1, 0, 1)), y = Float32Array.from(uniform(N, 2, 0, 1));
  const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x + y, 0)');
  const exact = Array.from(x, (xi) => y.reduce((s, yj) => s + Math.fround(xi + yj), 0));
  for (const [sumScheme, bound] of [['block', 1e-6], ['kahan', 1e-7]] as const) {
    const r = await k.run({ x, y }, { backend: 'webgpu', sumScheme });
    const err = Math.max(...exact.map((e, i) => Math.abs(Number(r.values!.data[i]) - e) / e));
    if (!(err < bound)) failures.push(`§7.3 case 38, sumScheme ${sumScheme}: relative error ${err.toExponential(1)}, expected below ${bound}`);
    runs++;
  }
}
console.log(JSON.stringify({ adapter: status.adapter, features: status.features, runs, failures }));
process.exit(0);
