/**
 * The block-sparse and start-up figures of `npm run bench` (issue 13's targets): the tutorial's
 * pipeline (examples/block-sparse.ts) timed by step, first call and warm, with the dense and sparse
 * Gaussian convolutions it serves (medians of alternating calls), and `keopsc check` against `node -e 0`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compile, type Backend } from '../src/index.js';
import { record } from './report.js';
import { uniformLcg } from './random.js';
import { blockSparseRanges, centroidMask, clusterRangesCentroids, fromMatrix, gridCluster, sortClusters } from '../runtime/cluster/index.js';
import { clusterKernels, setNativeClustering } from '../runtime/cluster/native.js';

/** KeOps 2.3's CPU figures on this kind of machine (issue 13's table), in ms. */
const KEOPS: Record<number, { prep: number; dense: number; sparse: number }> = {
  2000: { prep: 14, dense: 9.8, sparse: 1.6 },
  20000: { prep: 14, dense: 939, sparse: 121 },
  100000: { prep: 30, dense: 23100, sparse: 4360 },
};

/** The tutorial's clouds: a noisy spiral x and a Gaussian blob y on the unit square, float32. */
function tutorialClouds(M: number): { x: { data: Float32Array; shape: number[] }; y: { data: Float32Array; shape: number[] } } {
  const uniform = uniformLcg(1234);
  const randn = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const xs = new Float32Array(M * 2);
  for (let i = 0; i < M; i++) {
    const t = (2 * Math.PI * i) / M;
    xs[2 * i] = 0.4 + 0.4 * (t / 7) * Math.cos(t) + 0.01 * randn();
    xs[2 * i + 1] = 0.5 + 0.3 * Math.sin(t) + 0.01 * randn();
  }
  const ys = Float32Array.from({ length: M * 2 }, () => randn() / 10 + 0.6);
  return { x: { data: xs, shape: [M, 2] }, y: { data: ys, shape: [M, 2] } };
}

/** The tutorial's preprocessing (eps = 0.05, centroids closer than 4σ = 0.2): sorted clouds and ranges. */
function preprocess(x: { data: Float32Array; shape: number[] }, y: { data: Float32Array; shape: number[] }) {
  const lx = gridCluster(x, 0.05);
  const ly = gridCluster(y, 0.05);
  const cx = clusterRangesCentroids(x, lx);
  const cy = clusterRangesCentroids(y, ly);
  const sx = sortClusters(x, lx);
  const sy = sortClusters(y, ly);
  const ranges = fromMatrix(cx.ranges, cy.ranges, centroidMask(cx.centroids, cy.centroids, 0.2));
  return { x: sx.x, y: sy.x, ranges, cx };
}

/** Mean seconds per call over at least minMs (after one warm-up call, e.g. pipeline creation); awaits each call. */
export async function timeAsync(fn: () => unknown, minMs = 300): Promise<number> {
  await fn();
  let n = 0;
  const t0 = performance.now();
  do {
    await fn();
    n++;
  } while (performance.now() - t0 < minMs);
  return (performance.now() - t0) / n / 1000;
}

/**
 * Median seconds per call of `a` and of `b`, measured in alternating calls (a, b, a, b, ...) for at
 * least `minMs` in all (at least one pair), after one warm-up call of each: on a shared machine both
 * figures see the same moments, and a preempted call moves a median less than a mean.
 */
async function pairedMedians(a: () => unknown, b: () => unknown, minMs = 600): Promise<[number, number]> {
  await a();
  await b();
  const ta: number[] = [];
  const tb: number[] = [];
  const start = performance.now();
  do {
    let t0 = performance.now();
    await a();
    ta.push(performance.now() - t0);
    t0 = performance.now();
    await b();
    tb.push(performance.now() - t0);
  } while (performance.now() - start < minMs);
  const median = (t: number[]) => {
    const s = [...t].sort((x, y) => x - y);
    const m = s.length >> 1;
    return (s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2) / 1000;
  };
  return [median(ta), median(tb)];
}

/** The least of `reps` single calls, in seconds (warm). */
function best(fn: () => unknown, reps = 7): number {
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    b = Math.min(b, performance.now() - t0);
  }
  return b / 1000;
}

const ms = (s: number) => `${(s * 1e3).toFixed(s < 0.01 ? 2 : 1)} ms`;
const pct = (v: number) => `${(100 * v).toFixed(0)} %`;

/**
 * Prints the block-sparse table. Call it before anything else in the process uses the clustering
 * functions: the first size's "first call" is then a real first call (cold JIT).
 */
export async function blockSparseBench(sizes: number[], backend: Backend, threads: number): Promise<void> {
  const conv = compile('x = Vi(0, 2)\ny = Vj(1, 2)\nb = Vj(2, 1)\na = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)');
  console.log(`Block-sparse Gaussian convolution on the tutorial's data (spiral + blob, σ = ε = 0.05, D = 2, float32), ${backend} backend, ${threads} thread${threads > 1 ? 's' : ''}`);
  const sparseAt: number[] = [];
  console.log('  M = N   kept   preprocessing: first call / warm (ns a point)   blockSparseRanges    dense       sparse      sparse/dense   prep/sparse: first / warm');
  for (const M of sizes) {
    const { x, y } = tutorialClouds(M);
    let t0 = performance.now();
    const p = preprocess(x, y);
    const first = (performance.now() - t0) / 1000;
    const warm = best(() => preprocess(x, y));
    t0 = performance.now();
    blockSparseRanges(x, y, { eps: 0.05, cutoff: 0.2 });
    const bsrFirst = (performance.now() - t0) / 1000;
    const bsr = best(() => blockSparseRanges(x, y, { eps: 0.05, cutoff: 0.2 }));
    let kept = 0;
    const { slices_i, redranges_j } = p.ranges;
    for (let a = 0, l = 0; a < p.cx.ranges.shape[0]; a++)
      for (; l < slices_i[a]!; l++) kept += (p.cx.ranges.data[2 * a + 1]! - p.cx.ranges.data[2 * a]!) * (redranges_j[2 * l + 1]! - redranges_j[2 * l]!);
    const scale = (a: { data: Float32Array; shape: number[] }) => ({ data: a.data.map((v) => v / 0.05), shape: a.shape });
    const args = { x: scale(p.x), y: scale(p.y), b: { data: Float32Array.from({ length: M }, (_, k) => Math.sin(k)), shape: [M, 1] } };
    const [dense, sparse] = await pairedMedians(
      () => conv.run(args, { backend, threads }),
      () => conv.run(args, { backend, threads, ranges: p.ranges }),
    );
    sparseAt.push(sparse);
    const nsPt = (s: number) => ((s * 1e9) / (2 * M)).toFixed(0);
    console.log(
      `  ${String(M).padStart(6)}  ${pct(kept / (M * M)).padStart(5)}   ${`${ms(first)} (${nsPt(first)}) / ${ms(warm)} (${nsPt(warm)})`.padEnd(45)}  ${`${ms(bsrFirst)} / ${ms(bsr)}`.padEnd(19)}  ${ms(dense).padEnd(10)}  ${ms(sparse).padEnd(10)}  ${pct(sparse / dense).padStart(6)}         ${pct(first / sparse)} / ${pct(warm / sparse)}`,
    );
    const k = KEOPS[M];
    const section = `Block-sparse Gaussian convolution, tutorial data (D = 2, float32), ${backend}, ${threads} thread${threads > 1 ? 's' : ''}`;
    const at = `M = N = ${M}`;
    const keops = (value: number | undefined) => (value === undefined ? {} : { ref: { label: 'KeOps 2.3 cpu', value } });
    record({ section, name: `${at}: preprocessing, first call`, value: first * 1e3, unit: 'ms', ...keops(k?.prep), note: `${nsPt(first)} ns a point` });
    record({ section, name: `${at}: preprocessing, warm`, value: warm * 1e3, unit: 'ms', note: `${nsPt(warm)} ns a point` });
    record({ section, name: `${at}: blockSparseRanges, first call`, value: bsrFirst * 1e3, unit: 'ms', note: `warm ${ms(bsr)}` });
    record({ section, name: `${at}: dense convolution`, value: dense * 1e3, unit: 'ms', ...keops(k?.dense) });
    record({ section, name: `${at}: sparse convolution (${pct(kept / (M * M))} of the pairs)`, value: sparse * 1e3, unit: 'ms', ...keops(k?.sparse) });
    record({ section, name: `${at}: sparse ÷ dense`, value: (100 * sparse) / dense, unit: '%', ...(k ? { ref: { label: 'KeOps', value: (100 * k.sparse) / k.dense } } : {}), ...(M <= 2000 ? { goal: { cmp: '<=' as const, value: 25 } } : {}) });
    record({ section, name: `${at}: preprocessing (first call) ÷ sparse`, value: (100 * first) / sparse, unit: '%', ...(M >= 20000 ? { goal: { cmp: '<=' as const, value: 30 } } : {}), note: `warm ${pct(warm / sparse)}` });
    if (k) console.log(`          KeOps 2.3 cpu (issue 13): preprocessing ${k.prep} ms, dense ${k.dense} ms, sparse ${k.sparse} ms (${pct(k.sparse / k.dense)} of dense)`);
  }
  // the TypeScript passes (the browser build's) on the first size, still cold: none of their loops ran
  const M = sizes[0];
  if (clusterKernels() && M !== undefined) {
    const { x, y } = tutorialClouds(M);
    const was = setNativeClustering(false);
    const t0 = performance.now();
    preprocess(x, y);
    const first = (performance.now() - t0) / 1000;
    const warm = best(() => preprocess(x, y));
    setNativeClustering(was);
    const nsPt = (s: number) => ((s * 1e9) / (2 * M)).toFixed(0);
    record({ section: `Block-sparse Gaussian convolution, tutorial data (D = 2, float32), ${backend}, ${threads} thread${threads > 1 ? 's' : ''}`, name: `M = N = ${M}: preprocessing by the TypeScript passes (the browser build), first call ÷ sparse`, value: (100 * first) / sparseAt[0]!, unit: '%', note: `first call ${ms(first)}, warm ${ms(warm)}` });
    console.log(`  the preprocessing above runs the addon's clustering passes; the TypeScript ones (the browser build, KEOPSC_NATIVE_CLUSTER=0) at M = N = ${M}: first call ${ms(first)} (${nsPt(first)} ns a point) / warm ${ms(warm)} (${nsPt(warm)}), ${pct(first / sparseAt[0]!)} / ${pct(warm / sparseAt[0]!)} of sparse`);
  } else console.log('  the preprocessing above runs the TypeScript clustering passes (no native addon with them)');
  console.log('  targets (issue 13): preprocessing (first call) ≤ 30 % of the sparse convolution at M = N ≥ 2e4; sparse ≤ 25 % of dense at M = N = 2000');
}

/** Median wall times (s) of commands, run in turn `runs` times (interleaved: a change of load hits all alike). */
function medianRuns(commands: Array<[cmd: string, args: string[]]>, runs: number): number[] {
  const t: number[][] = commands.map(() => []);
  for (let r = 0; r < runs; r++) {
    commands.forEach(([cmd, args], k) => {
      const t0 = performance.now();
      execFileSync(cmd, args, { stdio: 'pipe' });
      t[k]!.push((performance.now() - t0) / 1000);
    });
  }
  return t.map((ts) => ts.sort((a, b) => a - b)[Math.floor(runs / 2)]!);
}

/** `keopsc check` on a 4-line file against `node -e 0` (the built CLI: bin/keopsc.cjs, dist/). */
export function startupBench(runs = 11): void {
  const root = resolve(import.meta.dirname, '..');
  const bin = join(root, 'bin/keopsc.cjs');
  if (!existsSync(join(root, 'dist/cli/keopsc.cjs')) && !existsSync(join(root, 'dist/src/cli/main.js'))) {
    console.log('CLI start-up: dist/ is not built (npm run build); skipped');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'keopsc-bench-'));
  try {
    const file = join(dir, 'k.keo');
    writeFileSync(file, 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ngauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)\n');
    const [base, check] = medianRuns([[process.execPath, ['-e', '0']], [process.execPath, [bin, 'check', file]]], runs) as [number, number];
    const bundled = !existsSync(join(root, 'dist/cli/keopsc.cjs')) ? 'tsc output, no bundle' : existsSync(join(root, 'dist/cli/keopsc.cjs.cache')) ? 'bundle dist/cli, code cache' : 'bundle dist/cli, no code cache';
    record({ section: 'CLI start-up', name: `keopsc check on a 4-line file ÷ node -e 0 (${bundled})`, value: check / base, unit: 'x', goal: { cmp: '<=', value: 2 }, note: `${check.toFixed(3)} s against ${base.toFixed(3)} s, medians of ${runs} runs` });
    console.log(`CLI start-up (${bundled}): keopsc check on a 4-line file ${check.toFixed(3)} s, node -e 0 ${base.toFixed(3)} s: ${(check / base).toFixed(2)}× (target ≤ 2×; medians of ${runs} runs)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
