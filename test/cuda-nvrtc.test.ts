import { expect } from 'chai';
import { compileModule } from '../src/api/compile.js';
import { printCuda } from '../src/targets/cuda.js';
import { cudaAddon, cudaStatus, type CudaAddon } from '../runtime/cuda/index.js';
import { goldenModules } from './helpers/golden.js';
import { highDimPlans, vectorPlans, VECTOR_DIMS } from './helpers/dims.js';

/**
 * The CUDA output compiled by NVRTC itself, through the addon's `nvrtcCompile` (the cuda backend's own
 * compile path), on machines without a GPU: NVRTC needs no driver. Every kernel of every golden module,
 * in float32, float64 and float16 storage, as PTX for compute_80 and as a cubin for sm_90, from the
 * whole `.cu` (NVRTC defines __CUDACC_RTC__, which hides the host launcher). Skipped with the reason
 * where NVRTC is missing, unless KEOPSC_REQUIRE_NVRTC=1 (CI installs Debian's libnvrtc11.2).
 */
describe('CUDA output compiled by NVRTC (no GPU needed)', function () {
  this.timeout(600_000);
  it('every golden kernel compiles with NVRTC: compute_80 PTX and sm_90 cubin; float32, float64, float16 storage', function () {
    const a = cudaAddon();
    const status = cudaStatus();
    const nvrtc = status.nvrtc;
    if (!('addon' in a) || !nvrtc) {
      const why = 'addon' in a ? (status.ok ? '' : status.reason) : a.reason;
      if (process.env['KEOPSC_REQUIRE_NVRTC'] === '1') throw new Error(`KEOPSC_REQUIRE_NVRTC=1 but NVRTC is unavailable: ${why}`);
      console.log(`      (skipped: NVRTC is unavailable: ${why})`);
      this.skip();
    }
    const addon = (a as { addon: CudaAddon }).addon;
    const golden = goldenModules();
    expect(golden.length).to.be.greaterThan(20);
    const modes = [{ dtype: 'float32' }, { dtype: 'float64' }, { dtype: 'float32', storage: 'float16' }] as const;
    let kernels = 0;
    for (const mode of modes) {
      let n = 0;
      const source = golden
        .flatMap(({ where, text }) => compileModule(text, { file: where }).kernels.map((k) => `// ${where}: kernel ${k.name}\n${printCuda(k.plan, { ...mode, symbol: `keopsc_g${n++}` }).source}`))
        .join('\n');
      kernels = n;
      const ptx = addon.nvrtcCompile(source, 'golden.cu', ['--gpu-architecture=compute_80'], false);
      const text = new TextDecoder().decode(ptx.image);
      for (let k = 0; k < n; k++) for (const entry of ['dense', 'fill', 'ranges']) expect(text, `${mode.dtype}${'storage' in mode ? ' f16' : ''}: keopsc_g${k}_${entry}`).to.include(`.entry keopsc_g${k}_${entry}(`);
      const cubin = addon.nvrtcCompile(source, 'golden.cu', ['--gpu-architecture=sm_90'], true);
      expect(Array.from(cubin.image.slice(0, 4))).to.deep.equal([0x7f, 0x45, 0x4c, 0x46]); // an ELF image
    }
    console.log(`      NVRTC ${nvrtc.version} (${nvrtc.path}): ${kernels} kernels x 3 modes`);
  });

  /** The addon with NVRTC, else the test is skipped (failed with KEOPSC_REQUIRE_NVRTC=1). */
  function nvrtcOrSkip(test: Mocha.Context): CudaAddon {
    const a = cudaAddon();
    const nvrtc = cudaStatus().nvrtc;
    if (!('addon' in a) || !nvrtc) {
      if (process.env['KEOPSC_REQUIRE_NVRTC'] === '1') throw new Error('KEOPSC_REQUIRE_NVRTC=1 but NVRTC is unavailable');
      console.log('      (skipped: NVRTC is unavailable)');
      test.skip();
    }
    return (a as { addon: CudaAddon }).addon;
  }

  it('high-dimensional kernels (D = 1 ... 4096: unrolled, whole staged vectors, chunks of components) compile with NVRTC', function () {
    const addon = nvrtcOrSkip(this);
    const plans = highDimPlans(4096);
    for (const mode of [{ dtype: 'float32' }, { dtype: 'float64' }] as const) {
      const source = plans.map(({ name, plan }) => printCuda(plan, { ...mode, symbol: `keopsc_${name}` }).source).join('\n');
      const text = new TextDecoder().decode(addon.nvrtcCompile(source, 'dims.cu', ['--gpu-architecture=compute_80'], false).image);
      for (const { name } of plans) expect(text, `${mode.dtype} ${name}`).to.include(`.entry keopsc_${name}_dense(`);
    }
  });

  it(`vector-valued results (loops over the components of the result) compile with NVRTC at D = ${VECTOR_DIMS.join(', ')}`, function () {
    const addon = nvrtcOrSkip(this);
    const plans = vectorPlans();
    expect(plans.filter((p) => p.plan.fLoop || p.plan.gLoop).length, 'component loops from D = 64 on').to.equal(plans.filter((p) => p.D >= 64).length);
    for (const mode of [{ dtype: 'float32' }, { dtype: 'float64' }, { dtype: 'float32', storage: 'float16' }] as const) {
      const source = plans.map(({ name, plan }) => printCuda(plan, { ...mode, symbol: `keopsc_${name}` }).source).join('\n');
      const text = new TextDecoder().decode(addon.nvrtcCompile(source, 'vectors.cu', ['--gpu-architecture=compute_80'], false).image);
      for (const { name } of plans) for (const entry of ['dense', 'ranges', 'dense_batched']) expect(text, `${mode.dtype} ${name}`).to.include(`.entry keopsc_${name}_${entry}(`);
    }
  });
});
