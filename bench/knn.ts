/**
 * The kNN row of `npm run bench` (issue 19's GEMM-class target): ArgKMin (K = 10) over M = N = 5000
 * float32 vectors of D = 768 on the cpu backend, against NumPy doing the same kNN with its BLAS
 * (`x @ y.T`, then `argpartition` and a sort of the K), at the same thread counts, in one run. NumPy is
 * spawned as `python3` when it is there; the row is skipped with the reason when it is not (keopsc
 * itself never needs Python).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile } from '../src/index.js';
import { uniformLcg } from './random.js';
import { cudaSource } from '../src/targets/cuda.js';
import { loadNpy, saveNpy } from '../runtime/npy/index.js';
import { record } from './report.js';

/** NumPy's kNN, best of `reps` after a warm-up; prints its time in seconds, saves the indices. */
const NUMPY_KNN = `
import sys, time, numpy as np
x = np.load(sys.argv[1]); y = np.load(sys.argv[2]); K = int(sys.argv[3]); reps = int(sys.argv[5])
def knn():
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * (x @ y.T)
    p = np.argpartition(d, K, axis=1)[:, :K]
    return np.take_along_axis(p, np.argsort(np.take_along_axis(d, p, 1), 1), 1)
knn()
best = float('inf')
for _ in range(reps):
    t = time.perf_counter(); r = knn(); best = min(best, time.perf_counter() - t)
np.save(sys.argv[4], r.astype(np.int64))
print(best)
`;

/** Why NumPy cannot be used here, or undefined when `python3 -c 'import numpy'` works. */
function numpyMissing(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  if (r.error) return `python3 not found (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `python3 cannot import numpy (${r.stderr.trim().split('\n').pop()})`;
  return undefined;
}

/** The kNN rows: keopsc cpu and NumPy at 1 and `maxThreads` threads, their times and ratio. */
export function knnBench(maxThreads: number, M = 5000, N = 5000, D = 768, K = 10): void {
  const uniform = uniformLcg(7);
  const rand = () => uniform() * 2 - 1;
  const x = Float32Array.from({ length: M * D }, rand);
  const y = Float32Array.from({ length: N * D }, rand);
  const kernel = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nknn = ArgKMin_Reduction(SqDist(x, y), ${K}, 0)`);
  const args = { x: { data: x, shape: [M, D] }, y: { data: y, shape: [N, D] } };
  console.log('');
  console.log(`kNN: ArgKMin K = ${K}, M = N = ${M}, D = ${D}, float32; keopsc cpu against NumPy (x @ y.T + argpartition), best of 3`);
  const first = performance.now();
  const mine = kernel.runSync(args, { backend: 'cpu', threads: 1 }).indices.data;
  console.log(`  keopsc first call (compile + run) ${(performance.now() - first).toFixed(0)} ms; memory O(M + N), NumPy's distance matrix ${((M * N * 4) / 2 ** 20).toFixed(0)} MiB`);
  const why = numpyMissing();
  const dir = why ? undefined : mkdtempSync(join(tmpdir(), 'keopsc-knn-'));
  try {
    if (dir) {
      saveNpy(join(dir, 'x.npy'), { dtype: 'float32', shape: [M, D], data: x });
      saveNpy(join(dir, 'y.npy'), { dtype: 'float32', shape: [N, D], data: y });
    }
    const best = (threads: number, gemm = true) => {
      let secs = Infinity;
      for (let rep = 0; rep < 3; rep++) {
        const t = performance.now();
        kernel.runSync(args, { backend: 'cpu', threads, gemm });
        secs = Math.min(secs, (performance.now() - t) / 1000);
      }
      return secs;
    };
    kernel.runSync(args, { backend: 'cpu', threads: 1, gemm: false }); // compiled before it is timed
    console.log(`  1 thread : keopsc cpu, direct loop (gemm: false) ${(best(1, false) * 1e3).toFixed(0)} ms`);
    for (const threads of maxThreads > 1 ? [1, maxThreads] : [1]) {
      const secs = best(threads);
      let line = `  ${threads} thread${threads > 1 ? 's' : ' '}: keopsc cpu ${(secs * 1e3).toFixed(0).padStart(6)} ms`;
      if (!dir) line += `   (no NumPy row: ${why})`;
      else {
        const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
        const out = join(dir, 'idx.npy');
        const r = spawnSync('python3', ['-c', NUMPY_KNN, join(dir, 'x.npy'), join(dir, 'y.npy'), String(K), out, '3'], { env, encoding: 'utf8' });
        if (r.status !== 0) line += `   (no NumPy row: python3 failed: ${r.stderr.trim().split('\n').pop()})`;
        else {
          const np = Number(r.stdout.trim());
          const theirs = loadNpy(out).data as BigInt64Array;
          let same = 0;
          for (let i = 0; i < M; i++) if (mine.slice(i * K, i * K + K).every((v, k) => BigInt(v) === theirs[i * K + k])) same++;
          record({ section: `kNN: ArgKMin K = ${K}, M = N = ${M}, D = ${D}, float32, cpu against NumPy (x @ y.T + argpartition)`, name: `${threads} thread${threads > 1 ? 's' : ''}: keopsc speed ÷ NumPy's`, value: np / secs, unit: 'x', goal: { cmp: '>=', value: 0.5 }, note: `${(secs * 1e3).toFixed(0)} ms against ${(np * 1e3).toFixed(0)} ms; same ${K} indices on ${((100 * same) / M).toFixed(1)} % of rows` });
          line += `   NumPy ${(np * 1e3).toFixed(0).padStart(6)} ms   keopsc speed / NumPy's ${(np / secs).toFixed(2)}× (target ≥ 0.5×)   same ${K} indices on ${((100 * same) / M).toFixed(1)} % of rows`;
        }
      }
      console.log(line);
    }
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Issue 19's bounded compile cost: for ArgKMin (K = 10) and the gradient of a Gaussian at D = 768 and
 * 4096, the size of the generated source on each target (cpp as the cpu backend compiles it, js, wgsl,
 * cuda) and the cpu backend's first call with an empty kernel cache (the C++ compile, on a 4 x 4
 * problem so the run itself is negligible). Goals: C++ under 40 KB, first call under 1.5 s.
 */
export function highDimCompileBench(): void {
  console.log('');
  console.log('High-dimensional vectors (issue 19): generated source per target and the cpu first call with an empty kernel cache (g++ compile), float32');
  const saved = process.env.KEOPSC_CACHE_DIR;
  const cache = mkdtempSync(join(tmpdir(), 'keopsc-cache-'));
  process.env.KEOPSC_CACHE_DIR = cache;
  try {
    for (const D of [768, 4096])
      for (const [what, f] of [
        ['ArgKMin K = 10', 'ArgKMin_Reduction(SqDist(x, y), 10, 0)'],
        ['Gaussian gradient', `Sum_Reduction(Grad(Exp(-SqDist(x, y) / ${D}) * b, x, e), 0)`],
      ] as const) {
        const k = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\ne = Vi(3, 1)\nk = ${f}`);
        const kb = (s: string) => s.length / 1024;
        const cpp = kb(k.cppSource({ ...k.codeOptionsFor({}, 'float32'), fastMath: true, gemm: true }));
        const js = kb(k.jsSource({ dtype: 'float32' }));
        const wgsl = kb(k.wgslSource().code);
        const cuda = kb(cudaSource(k.plan, { dtype: 'float32' }));
        const uniform = uniformLcg(D);
        const arr = (n: number) => Float32Array.from({ length: n }, uniform);
        const args = Object.fromEntries(k.args.map((a) => [a.name, { data: arr(4 * a.dim), shape: [4, a.dim] }]));
        const t = performance.now();
        k.runSync(args, { backend: 'cpu', threads: 1 });
        const first = (performance.now() - t) / 1000;
        const name = `D = ${D}, ${what}`;
        const section = 'High-dimensional vectors: generated source and the cpu first call (empty kernel cache)';
        record({ section, name: `${name}: C++ source`, value: cpp, unit: 'KB', goal: { cmp: '<=', value: 40 }, note: `js ${js.toFixed(1)} KB, wgsl ${wgsl.toFixed(1)} KB, cuda ${cuda.toFixed(1)} KB` });
        record({ section, name: `${name}: cpu first call (compile)`, value: first, unit: 's', goal: { cmp: '<=', value: 1.5 } });
        console.log(`  D = ${String(D).padStart(4)}  ${what.padEnd(18)} source: cpp ${cpp.toFixed(1)} KB, js ${js.toFixed(1)} KB, wgsl ${wgsl.toFixed(1)} KB, cuda ${cuda.toFixed(1)} KB   cpu first call ${first.toFixed(2)} s   (targets: C++ ≤ 40 KB, first call ≤ 1.5 s)`);
      }
  } finally {
    if (saved === undefined) delete process.env.KEOPSC_CACHE_DIR;
    else process.env.KEOPSC_CACHE_DIR = saved;
    rmSync(cache, { recursive: true, force: true });
  }
}
