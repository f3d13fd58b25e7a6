import { expect } from 'chai';
import { compile, type RunResult } from '../src/index.js';
import { InputError } from '../src/diagnostics/index.js';
import { uniform } from './helpers/data.js';
import { webgpuOrSkip } from './helpers/webgpu.js';

/**
 * The data and kernel of case 38 (x + y summed over N = 200 000 in float32), and `relErrOf(result)`:
 * the largest relative error of a run's values against the float32 terms summed in float64.
 */
function case38() {
  const M = 4, N = 200000;
  const x = Float32Array.from(uniform(M, 1, 0, 1));
  const y = Float32Array.from(uniform(N, 2, 0, 1));
  const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x + y, 0)');
  const exact = Array.from(x, (xi) => {
    let s = 0;
    for (let j = 0; j < N; j++) s += Math.fround(xi + y[j]!); // the float32 terms, summed in float64
    return s;
  });
  const relErrOf = (r: RunResult) => Math.max(...exact.map((e, i) => Math.abs(Number(r.values!.data[i]) - e) / Math.abs(e)));
  return { x, y, k, relErrOf };
}

/**
 * keops-reference §7.3 case 38: float32 `x + y` summed over N = 200 000 against a float64 reference.
 * KeOps measured: direct 5.0e-6, block 2.4e-7, kahan 3.1e-8, float64 accumulator 3.1e-8.
 */
describe('sum schemes on a long float32 sum (§7.3 case 38)', function () {
  this.timeout(60000);
  const { x, y, k, relErrOf } = case38();
  const relErr = (opts: object) => relErrOf(k.run({ x, y }, { backend: 'js', threads: 1, ...opts }));
  const errs: Record<string, number> = {};
  before(() => {
    errs.direct = relErr({ sumScheme: 'direct' });
    errs.block = relErr({ sumScheme: 'block' });
    errs.kahan = relErr({ sumScheme: 'kahan' });
    errs.f64acc = relErr({ sumScheme: 'direct', dtypeAcc: 'float64' });
    errs.auto = relErr({});
    console.log(`      relative errors: direct ${errs.direct!.toExponential(1)}, block ${errs.block!.toExponential(1)}, kahan ${errs.kahan!.toExponential(1)}, float64 accumulator ${errs.f64acc!.toExponential(1)}`);
  });

  it('direct accumulation in float32 loses about 1e-5', () => expect(errs.direct).to.be.within(1e-7, 5e-5));
  it('block sums (the default) stay below 1e-6', () => {
    expect(errs.block).to.be.below(1e-6);
    expect(errs.auto).to.equal(errs.block);
    expect(errs.block).to.be.below(errs.direct! / 4);
  });
  it('Kahan summation stays below 1e-7', () => expect(errs.kahan).to.be.below(1e-7));
  it('a float64 accumulator stays below 1e-7', () => expect(errs.f64acc).to.be.below(1e-7));

  it('rejects schemes that do not apply', () => {
    const mn = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Min_Reduction(x + y, 0)');
    expect(() => mn.run({ x, y }, { sumScheme: 'kahan' })).to.throw(InputError, /Sum-type reductions only/);
    expect(() => mn.run({ x, y }, { dtypeAcc: 'float64' })).to.throw(InputError, /Sum-type/);
    const lse = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = LogSumExp_Reduction(x + y, 0)');
    expect(() => lse.run({ x, y }, { sumScheme: 'kahan' })).to.throw(InputError, /Sum_Reduction only/);
    expect(() => k.run({ x: Float64Array.from(x), y: Float64Array.from(y) }, { dtypeAcc: 'float32' })).to.throw(InputError, /cannot accumulate float64/);
    expect(() => k.run({ x, y }, { sumScheme: 'pairwise' as never })).to.throw(InputError, /unknown sumScheme/);
  });
});

describe('sum schemes on the webgpu backend (§7.3 case 38)', function () {
  this.timeout(120000);
  webgpuOrSkip();
  const { x, y, k, relErrOf } = case38();
  const errs: Record<string, number> = {};
  before(async () => {
    for (const sumScheme of ['direct', 'block', 'kahan'] as const) {
      const r = await k.run({ x, y }, { backend: 'webgpu', sumScheme });
      errs[sumScheme] = relErrOf(r);
    }
    console.log(`      relative errors: direct ${errs.direct!.toExponential(1)}, block ${errs.block!.toExponential(1)}, kahan ${errs.kahan!.toExponential(1)}`);
  });
  it('direct accumulation in float32 loses about 1e-5', () => expect(errs.direct).to.be.within(1e-7, 5e-5));
  it('block sums (per-tile partial sums, the default) stay below 1e-6', () => expect(errs.block).to.be.below(Math.min(1e-6, errs.direct! / 4)));
  it('Kahan summation stays below 1e-7', () => expect(errs.kahan).to.be.below(1e-7));
});
