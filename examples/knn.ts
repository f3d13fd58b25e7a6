/**
 * KeOps's tutorial "K-NN classification - NumPy API" (pykeops `tutorials/knn/plot_knn_numpy.py`),
 * its synthetic-data part ported line for line (each line of the tutorial is in the comment beside
 * its TypeScript); the plots and the MNIST part are left out. At the end the classification is
 * checked against a brute-force K-NN and against the true frontier.
 *
 *   npx tsx examples/knn.ts                     # N = 1000 training points, a 100 x 100 grid, K = 3
 *   npx tsx examples/knn.ts --backend js
 */
import { LazyTensor, type Backend } from 'keopsc';
import { option, seeded } from './random.js';

const backend = (option('backend') ?? 'auto') as Backend;
const { rand, randn } = seeded(1234); // np.random.seed(1234)

const N = 1000, D = 2; //                                          N, D = 10000 if use_cuda else 1000, 2  # Number of samples, dimension
const x = Float64Array.from({ length: N * D }, rand); //           x = np.random.rand(N, D).astype(dtype)  # Random samples on the unit square
const fth = (t: number) => 3 * t * (t - 0.5) * (t - 1) + t; //    def fth(x): return 3 * x * (x - 0.5) * (x - 1) + x  # Random-ish class-specific frontier
const cl = Uint8Array.from({ length: N }, (_, n) => (x[2 * n + 1]! + 0.1 * randn() < fth(x[2 * n]!) ? 1 : 0)); // cl = x[:, 1] + 0.1 * np.random.randn(N) < fth(x[:, 0])

const M = 100; //                                                  M = 1000 if use_cuda else 100
const tmp = Float64Array.from({ length: M }, (_, k) => k / (M - 1)); // tmp = np.linspace(0, 1, M).astype(dtype)
const g = new Float64Array(M * M * 2); //                          g2, g1 = np.meshgrid(tmp, tmp)
for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) [g[2 * (i * M + j)], g[2 * (i * M + j) + 1]] = [tmp[i]!, tmp[j]!]; // g = np.hstack((g1.reshape(-1, 1), g2.reshape(-1, 1)))

const K = 3; //                                                    K = 3  # N.B.: K has to be odd
const start = performance.now(); //                                start = time.time()  # Benchmark:
const X_i = new LazyTensor({ data: g, shape: [M * M, 1, D] }); //  X_i = LazyTensor(g[:, None, :])  # (M**2, 1, 2) test set
const X_j = new LazyTensor({ data: x, shape: [1, N, D] }); //      X_j = LazyTensor(x[None, :, :])  # (1, N, 2) train set
const D_ij = X_i.sub(X_j).power(2).sum(-1); //                     D_ij = ((X_i - X_j) ** 2).sum(-1)  # (M**2, N) symbolic matrix of squared distances
const indKNN = D_ij.argKmin(K, 1, { backend }); //                 indKNN = D_ij.argKmin(K, dim=1)  # Grid <-> Samples, (M**2, K) integer tensor
const clg = new Uint8Array(M * M); //                              clg = cl[indKNN].mean(1) > 0.5  # Classify the Grid points
for (let m = 0; m < M * M; m++) {
  let votes = 0;
  for (let k = 0; k < K; k++) votes += cl[Number(indKNN.data[m * K + k])]!;
  clg[m] = votes / K > 0.5 ? 1 : 0;
}
const end = performance.now(); //                                  end = time.time()
// print("K-NN classification of {:,} grid points ...".format(M ** 2, N, D, end - start))
console.log(`${K}-NN classification of ${(M * M).toLocaleString('en-US')} grid points (${N.toLocaleString('en-US')} samples in dimension ${D}) performed in ${((end - start) / 1000).toFixed(3)}s.`);

// ---- not in the tutorial: a brute-force K-NN (stable, smallest index first on ties) and the truth --
let agree = 0, right = 0, ones = 0;
for (let m = 0; m < M * M; m++) {
  const best: [number, number][] = [];
  for (let n = 0; n < N; n++) {
    const dd = (g[2 * m]! - x[2 * n]!) ** 2 + (g[2 * m + 1]! - x[2 * n + 1]!) ** 2;
    if (best.length < K || dd < best[K - 1]![0]) {
      best.push([dd, n]);
      best.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      if (best.length > K) best.pop();
    }
  }
  const c = best.reduce((s, [, n]) => s + cl[n]!, 0) / K > 0.5 ? 1 : 0;
  agree += c === clg[m] ? 1 : 0;
  right += clg[m] === (g[2 * m + 1]! < fth(g[2 * m]!) ? 1 : 0) ? 1 : 0;
  ones += clg[m]!;
}
console.log(`class 1 on ${ones} of ${M * M} grid points; ${right} agree with the true frontier (${((100 * right) / (M * M)).toFixed(2)}%)`);
console.log(`brute force: ${agree} of ${M * M} grid labels agree`);
if (agree !== M * M) {
  console.error('mismatch with the brute-force K-NN');
  process.exit(1);
}
