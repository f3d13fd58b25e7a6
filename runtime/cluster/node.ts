/**
 * Node only: the clustering library's per-point passes from the native addon (native/src/cluster.cc),
 * registered by the Node entry point. `KEOPSC_NATIVE_CLUSTER=0` keeps the TypeScript loops. An addon
 * built before these functions existed (no `clusterGrid`) is not used for clustering.
 */
import { loadAddon } from '../native/addon.js';
import { setClusterKernelProvider, type ClusterKernels } from './native.js';

setClusterKernelProvider(() => {
  if (process.env['KEOPSC_NATIVE_CLUSTER'] === '0') return undefined;
  const addon = loadAddon() as (ReturnType<typeof loadAddon> & Partial<ClusterKernels>) | undefined;
  return typeof addon?.clusterGrid === 'function' && typeof addon.rangesFromPairs === 'function' ? (addon as unknown as ClusterKernels) : undefined;
});
