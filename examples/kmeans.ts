/**
 * KeOps's tutorial "K-means clustering - NumPy API" (pykeops `tutorials/kmeans/plot_kmeans_numpy.py`),
 * ported line for line: each line of the tutorial is in the comment beside its TypeScript. The data are
 * generated (a seeded Gaussian blob, as the tutorial's `np.random.randn(N, D) / 6 + 0.5`); the plot is
 * left out. At the end the run is checked against a plain double loop doing the same iterations.
 *
 *   npx tsx examples/kmeans.ts                          # N = 10000, D = 2, K = 50, default backend
 *   npx tsx examples/kmeans.ts --size 2000 --backend js
 */
import { LazyTensor, type Backend } from 'keopsc';
import { option, seeded } from './random.js';

const backend = (option('backend') ?? 'auto') as Backend;
const { randn } = seeded(1234); // np.random.seed(1234)

/** np.bincount(cl, weights=w[:, d], minlength=K) */
function bincount(cl: Int32Array, K: number, w?: Float64Array, d = 0, D = 1): Float64Array {
  const out = new Float64Array(K);
  for (let n = 0; n < cl.length; n++) {
    const k = cl[n]!;
    out[k] = out[k]! + (w ? w[n * D + d]! : 1);
  }
  return out;
}

// def KMeans(x, K=10, Niter=10, verbose=True):
function KMeans(x: Float64Array, N: number, D: number, K = 10, Niter = 10, verbose = true): { cl: Int32Array; c: Float64Array } {
  const start = performance.now(); //                              start = time.time()
  const c = x.slice(0, K * D); //                                  c = np.copy(x[:K, :])  # Simplistic initialization
  const x_i = new LazyTensor({ data: x, shape: [N, 1, D] }); //    x_i = LazyTensor(x[:, None, :])  # (N, 1, D) samples
  let cl = new Int32Array(N);
  for (let i = 0; i < Niter; i++) { //                             for i in range(Niter):
    const c_j = new LazyTensor({ data: c, shape: [1, K, D] }); //  c_j = LazyTensor(c[None, :, :])  # (1, K, D) centroids
    const D_ij = x_i.sub(c_j).power(2).sum(-1); //                 D_ij = ((x_i - c_j) ** 2).sum(-1)  # (N, K) symbolic squared distances
    cl = Int32Array.from(D_ij.argmin(1, { backend }).data as BigInt64Array, Number); // cl = D_ij.argmin(axis=1).astype(int).reshape(N)
    const Ncl = bincount(cl, K); //                                Ncl = np.bincount(cl).astype(dtype)  # Class weights
    for (let d = 0; d < D; d++) { //                               for d in range(D):  # Compute the cluster centroids with np.bincount:
      const s = bincount(cl, K, x, d, D); //                       c[:, d] = np.bincount(cl, weights=x[:, d]) / Ncl
      for (let k = 0; k < K; k++) c[k * D + d] = s[k]! / Ncl[k]!;
    }
  }
  const end = performance.now(); //                                end = time.time()
  if (verbose) { //                                                if verbose:
    console.log(`K-means example with ${N.toLocaleString('en-US')} points in dimension ${D}, K = ${K}:`);
    console.log(`Timing for ${Niter} iterations: ${((end - start) / 1000).toFixed(5)}s = ${Niter} x ${((end - start) / 1000 / Niter).toFixed(5)}s\n`);
  }
  return { cl, c }; //                                             return cl, c
}

// N, D, K = 10000, 2, 50
const N = Number(option('size') ?? 10000), D = 2, K = 50;
// x = np.random.randn(N, D).astype(dtype) / 6 + 0.5   (float64 here; Float32Array works the same)
const x = Float64Array.from({ length: N * D }, () => randn() / 6 + 0.5);
// cl, c = KMeans(x, K)
const { cl, c } = KMeans(x, N, D, K);

// ---- not in the tutorial: the same iterations as a plain double loop, to check the result -------
const c2 = x.slice(0, K * D);
const cl2 = new Int32Array(N);
for (let it = 0; it < 10; it++) {
  for (let n = 0; n < N; n++) {
    let best = Infinity;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += (x[n * D + d]! - c2[k * D + d]!) ** 2;
      if (s < best) [best, cl2[n]] = [s, k];
    }
  }
  const Ncl = bincount(cl2, K);
  for (let d = 0; d < D; d++) {
    const s = bincount(cl2, K, x, d, D);
    for (let k = 0; k < K; k++) c2[k * D + d] = s[k]! / Ncl[k]!;
  }
}
const agree = cl.reduce((a, v, n) => a + (v === cl2[n] ? 1 : 0), 0);
const dc = c.reduce((m, v, k) => Math.max(m, Math.abs(v - c2[k]!)), 0);
const sizes = bincount(cl, K);
console.log(`cluster sizes: min ${Math.min(...sizes)}, max ${Math.max(...sizes)}, empty ${sizes.filter((s) => s === 0).length}`);
console.log(`centroid 0 = (${c[0]!.toFixed(6)}, ${c[1]!.toFixed(6)}), centroid ${K - 1} = (${c[2 * K - 2]!.toFixed(6)}, ${c[2 * K - 1]!.toFixed(6)})`);
console.log(`plain loop: ${agree} of ${N} labels agree, max centroid difference ${dc.toExponential(2)}`);
if (agree !== N || !(dc < 1e-12)) {
  console.error('mismatch with the plain loop');
  process.exit(1);
}
