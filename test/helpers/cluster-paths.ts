import '../../runtime/cluster/node.js';
import { clusterKernels, setNativeClustering, type ClusterKernels } from '../../runtime/cluster/native.js';

/** The native clustering passes (the addon's), or undefined with why not. */
export function nativeClustering(): { kernels?: ClusterKernels; reason?: string } {
  const kernels = withClusterPath(true, clusterKernels);
  if (kernels) return { kernels };
  if (process.env['KEOPSC_NATIVE_CLUSTER'] === '0') return { reason: 'KEOPSC_NATIVE_CLUSTER=0 is set' };
  return { reason: 'the native addon is not built or predates the clustering functions (npm run build:native)' };
}

/**
 * For suites that need the native clustering passes: returns them when they are there. Otherwise it
 * registers one test that says why and is skipped (a failure under KEOPSC_REQUIRE_NATIVE=1, as CI sets,
 * unless KEOPSC_NATIVE_CLUSTER=0 asks for the TypeScript passes only). Call it in a `describe` body.
 */
export function nativeClusteringOrSkip(): ClusterKernels | undefined {
  const { kernels, reason } = nativeClustering();
  if (kernels) return kernels;
  if (process.env['KEOPSC_REQUIRE_NATIVE'] === '1' && process.env['KEOPSC_NATIVE_CLUSTER'] !== '0')
    it('needs the native clustering passes (KEOPSC_REQUIRE_NATIVE=1) but they are unavailable', () => {
      throw new Error(reason);
    });
  else
    it(`is skipped: ${reason}`, function () {
      this.skip();
    });
  return undefined;
}

/** Runs `body` with the native clustering passes on or off (restores the previous setting). */
export function withClusterPath<T>(native: boolean, body: () => T): T {
  const was = setNativeClustering(native);
  try {
    return body();
  } finally {
    setNativeClustering(was);
  }
}

/**
 * `describe(title, body)` twice: on the TypeScript clustering passes and on the native ones (the
 * addon's), which must give the same results. The path is set while the body runs (so values computed
 * in it use that path) and around the suite's tests. Without the addon, the native suite holds what
 * {@link nativeClusteringOrSkip} registers.
 */
export function describeClusterPaths(title: string, body: (this: Mocha.Suite) => void): void {
  for (const native of [false, true]) {
    describe(`${title} [${native ? 'native' : 'typescript'} clustering]`, function () {
      if (native && !nativeClusteringOrSkip()) return;
      let saved = true;
      before(() => {
        saved = setNativeClustering(native);
      });
      after(() => {
        setNativeClustering(saved);
      });
      withClusterPath(native, () => body.call(this));
    });
  }
}
