import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The webgpu backend on a second Vulkan implementation: Mesa's lavapipe (Debian's mesa-vulkan-drivers
 * from bookworm-backports; Mesa 22's is rejected by Dawn), which has `shader-f16` and 1024 invocations per
 * workgroup where SwiftShader has neither. Every float32 conformance case runs in a child process
 * (test/gpu/webgpu-adapter.ts: an adapter is chosen once per process), with tiles on and off and with
 * float16 storage. Skipped with the reason where lavapipe is missing, unless KEOPSC_REQUIRE_WEBGPU_F16=1
 * (CI installs it).
 */
const ICDS = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'];

describe('webgpu backend on Mesa lavapipe (float16 storage, a second adapter)', function () {
  this.timeout(600_000);
  const required = process.env['KEOPSC_REQUIRE_WEBGPU_F16'] === '1';
  const icd = ICDS.find((p) => existsSync(p));

  it('runs every float32 conformance case, tiled and untiled, with float32 and float16 storage', async function () {
    const skip = (why: string) => {
      if (required) throw new Error(`KEOPSC_REQUIRE_WEBGPU_F16=1 but ${why}`);
      console.log(`      (skipped: ${why})`);
      this.skip();
    };
    if (!icd) return skip('no lavapipe Vulkan driver (apt-get install -t bookworm-backports mesa-vulkan-drivers)');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/gpu/webgpu-adapter.ts'], {
      env: { ...process.env, VK_ICD_FILENAMES: icd, KEOPSC_QUIET: '1' },
      maxBuffer: 1 << 24,
    });
    const report = JSON.parse(stdout.trim().split('\n').pop()!) as { adapter: string | null; reason?: string; features?: string[]; runs?: number; failures?: string[] };
    if (!report.adapter) return skip(`lavapipe gave no WebGPU adapter: ${report.reason}`);
    console.log(`      ${report.adapter}: ${report.runs} runs${report.features!.includes('shader-f16') ? ', float16 storage included' : ', no shader-f16'}`);
    if (required) expect(report.features).to.include('shader-f16');
    expect(report.failures, report.failures!.join('\n')).to.deep.equal([]);
    expect(report.runs).to.be.greaterThan(60);
  });
});
