import { webgpuStatus } from '../../src/index.js';

/**
 * For suites that need the webgpu backend: call in a `describe` body. A `before` hook asks for the
 * adapter; without one the suite's tests are skipped, with the reason printed once — or the hook fails
 * when KEOPSC_REQUIRE_WEBGPU=1 (CI sets it: there SwiftShader must work).
 */
export function webgpuOrSkip(): void {
  before(async function () {
    this.timeout(60_000);
    const s = await webgpuStatus();
    if (s.ok) return;
    if (process.env['KEOPSC_REQUIRE_WEBGPU'] === '1') throw new Error(`the webgpu backend is required (KEOPSC_REQUIRE_WEBGPU=1) but unavailable: ${s.reason}`);
    console.log(`      (skipped: the webgpu backend is unavailable: ${s.reason})`);
    this.skip();
  });
}
