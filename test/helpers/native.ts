import { cpuStatus } from '../../runtime/cpu/index.js';

/**
 * For suites that need the cpu backend (native addon + C++ compiler): returns true when it is there.
 * Otherwise it registers one test that says why and is skipped — or fails when KEOPSC_REQUIRE_NATIVE=1
 * (CI sets it: there the addon and g++ must work) — and returns false. Call it in a `describe` body.
 */
export function cpuOrSkip(): boolean {
  const status = cpuStatus();
  if (status.ok) return true;
  const reason = status.reason;
  if (process.env['KEOPSC_REQUIRE_NATIVE'] === '1')
    it('needs the cpu backend (KEOPSC_REQUIRE_NATIVE=1) but it is unavailable', () => {
      throw new Error(reason);
    });
  else
    it(`is skipped: the cpu backend is unavailable: ${reason}`, function () {
      this.skip();
    });
  return false;
}
