import { webgpuStatus, WEBGPU_CONFIG } from '../../src/index.js';

/**
 * For suites that need the webgpu backend: call in a `describe` body. A `before` hook asks for the
 * adapter; without one the suite's tests are skipped, with the reason printed once — or the hook fails
 * when KEOPSC_REQUIRE_WEBGPU=1 (CI sets it: there SwiftShader must work). `config` is applied to
 * WEBGPU_CONFIG for the suite (e.g. `{ tiles: 'on' }`: the GPU code path, even on SwiftShader).
 */
export function webgpuOrSkip(config: Partial<typeof WEBGPU_CONFIG> = {}): void {
  const saved = { ...WEBGPU_CONFIG };
  before(() => Object.assign(WEBGPU_CONFIG, config));
  after(() => Object.assign(WEBGPU_CONFIG, saved));
  before(async function () {
    this.timeout(60_000);
    const s = await webgpuStatus();
    if (s.ok) return;
    if (process.env['KEOPSC_REQUIRE_WEBGPU'] === '1') throw new Error(`the webgpu backend is required (KEOPSC_REQUIRE_WEBGPU=1) but unavailable: ${s.reason}`);
    console.log(`      (skipped: the webgpu backend is unavailable: ${s.reason})`);
    this.skip();
  });
}
