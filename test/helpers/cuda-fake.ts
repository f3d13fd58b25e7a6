/**
 * Child process of test/cuda-runtime.test.ts: runs the cuda backend against the fake libcuda and
 * libnvrtc of test/fixtures/fake-cuda (named by $KEOPSC_LIBCUDA and $KEOPSC_LIBNVRTC, which must be set
 * before the addon loads them, hence a separate process) and prints one JSON object on stdout.
 *
 *   tsx test/helpers/cuda-fake.ts status   cudaStatus()
 *   tsx test/helpers/cuda-fake.ts run      dense and ranges runs of a Sum and a KMin_ArgKMin kernel
 *   tsx test/helpers/cuda-fake.ts validate the addon's errors for bad cudaRun arguments
 *   tsx test/helpers/cuda-fake.ts half     float16 storage: a half run, the float32 run after it, the errors
 *   tsx test/helpers/cuda-fake.ts batch    a batched run (batch dims, broadcast) and the addon's batch errors
 *   tsx test/helpers/cuda-fake.ts wide     high-dimensional kernels (D = 768, 4096): chunked staging layouts and launches,
 *                                          and vector-valued results (loops over the components of the result)
 */
import '../../runtime/cuda/backend.js';
import { compile } from '../../src/api/compile.js';
import { cudaLayout } from '../../src/targets/cuda.js';
import { cudaAddon, cudaCacheStats, cudaRelease, cudaStatus, loadCuda, runCuda, type CudaAddon } from '../../runtime/cuda/index.js';
import { printCuda } from '../../src/targets/cuda.js';

const mode = process.argv[2];
const result: Record<string, unknown> = { status: cudaStatus() };
if (mode === 'run') {
  const M = 5, N = 300;
  const sum = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(3, 2)\ng = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
  const x = new Float32Array(M * 3), y = new Float32Array(N * 3), b = new Float32Array(N * 2);
  const dense = sum.run({ x, y, b }, { backend: 'cuda' });
  result.layout = cudaLayout(sum.plan, { dtype: 'float32' });
  result.dense = { shape: dense.values!.shape, first: dense.values!.data[0], length: dense.values!.data.length };
  // again: the module and the device buffers are reused
  sum.run({ x, y, b }, { backend: 'cuda' });
  const ranges = { ranges_i: [0, 2, 3, 5], slices_i: [1, 3], redranges_j: [0, 100, 100, 200, 250, 300], ranges_j: [0, N], slices_j: [1], redranges_i: [0, M] };
  sum.run({ x, y, b }, { backend: 'cuda', ranges });
  // a float64 ArgKMin with tag 1 (two outputs would be KMin_ArgKMin; ArgKMin writes int64 indices)
  const knn = compile('x = Vi(0, 2)\ny = Vj(1, 2)\nk = KMin_ArgKMin_Reduction(SqDist(x, y), 3, 1)');
  const r = knn.run({ x: new Float64Array(M * 2), y: new Float64Array(N * 2) }, { backend: 'cuda' });
  result.knn = { shapes: r.outputs.map((o) => o.shape), kinds: r.outputs.map((o) => o.data.constructor.name), layout: cudaLayout(knn.plan, { dtype: 'float64' }) };
  try {
    sum.run({ x, y, b }, { backend: 'cuda', sumScheme: 'kahan' });
  } catch (e) {
    result.kahan = (e as Error).message;
  }
  result.stats = cudaCacheStats();
  result.released = cudaRelease();
  // a source NVRTC rejects: its log is in the error
  try {
    runCuda(sum.plan, { arrays: new Map<number, Float32Array>([[0, x], [1, y], [3, b]]), M: 5, N, dtype: 'float32' }, { sumScheme: 'block', accDtype: 'float32' }, '#error broken source');
  } catch (e) {
    result.compileError = (e as Error).message;
  }
}
if (mode === 'wide') {
  // D = 768 float32 Gaussian (dense and block-sparse), D = 4096 float64 ArgKMin: chunks of components
  const M = 5, N = 300, D = 768, E = 4096;
  const gauss = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) / ${D}) * b, 0)`);
  const x = new Float32Array(M * D), y = new Float32Array(N * D), b = new Float32Array(N);
  gauss.run({ x, y, b }, { backend: 'cuda' });
  gauss.run({ x, y, b }, { backend: 'cuda', ranges: { ranges_i: [0, 5], slices_i: [1], redranges_j: [0, 300], ranges_j: [0, N], slices_j: [1], redranges_i: [0, M] } });
  const knn = compile(`x = Vi(0, ${E})\ny = Vj(1, ${E})\nk = ArgKMin_Reduction(SqDist(x, y), 10, 0)`);
  knn.run({ x: new Float64Array(M * E), y: new Float64Array(N * E) }, { backend: 'cuda' });
  result.layouts = { gauss: cudaLayout(gauss.plan, { dtype: 'float32' }), knn: cudaLayout(knn.plan, { dtype: 'float64' }) };
  // vector-valued results (loops over the components of the result): the gradient of a D = 768 Gaussian
  // (chunks), a LogSumExpWeight with a 65-dim weight (the whole tile, fewer rows), a 768-dim Max_ArgMax
  // (no staging), each dense and block-sparse
  const grad = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nb = Vj(2, 1)\ne = Vi(3, 1)\nv = Sum_Reduction(Grad(Exp(-SqDist(x, y) / ${D}) * b, x, e), 0)`);
  const lse = compile('u = Vi(0, 3)\nt = Vj(1, 3)\nw = Vj(2, 65)\nl = LogSumExpWeight_Reduction(-SqDist(u, t), 0, w)');
  const max = compile(`x = Vi(0, ${D})\ny = Vj(1, ${D})\nm = Max_ArgMax_Reduction(x - y, 0)`);
  const one = { ranges_i: [0, 5], slices_i: [1], redranges_j: [0, 300], ranges_j: [0, N], slices_j: [1], redranges_i: [0, M] };
  const shapes: number[][][] = [];
  for (const ranges of [undefined, one]) {
    const o = ranges ? { backend: 'cuda' as const, ranges } : { backend: 'cuda' as const };
    shapes.push(grad.run({ x, y, b, e: new Float32Array(M) }, o).outputs.map((r) => r.shape));
    shapes.push(lse.run({ u: new Float32Array(M * 3), t: new Float32Array(N * 3), w: new Float32Array(N * 65) }, o).outputs.map((r) => r.shape));
    shapes.push(max.run({ x: new Float64Array(M * D), y: new Float64Array(N * D) }, o).outputs.map((r) => r.shape));
  }
  result.vectors = { grad: cudaLayout(grad.plan, { dtype: 'float32' }), lse: cudaLayout(lse.plan, { dtype: 'float32' }), max: cudaLayout(max.plan, { dtype: 'float64' }), shapes, loops: [!!grad.plan.fLoop, !!lse.plan.gLoop, !!max.plan.fLoop] };
}
if (mode === 'validate') {
  const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(3, 2)\ng = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
  const layout = cudaLayout(k.plan, { dtype: 'float32' });
  const handle = loadCuda(printCuda(k.plan, { dtype: 'float32' }).source, layout);
  const addon = (cudaAddon() as { addon: CudaAddon }).addon;
  const M = 4, N = 6;
  const ok = () => ({ inputs: [new Float32Array(M * 3), new Float32Array(N * 3), undefined, new Float32Array(N * 2)], outputs: [new Float32Array(M * 2)] as (Float32Array | Float64Array | BigInt64Array)[], M, N });
  const R = (slices: number[], red: number[], table: number[]) => ({ slices: Int32Array.from(slices), red: Int32Array.from(red), table: Int32Array.from(table) });
  const bad: [string, Record<string, unknown>][] = [
    ['float64 input', { ...ok(), inputs: [new Float64Array(M * 3), new Float32Array(N * 3), undefined, new Float32Array(N * 2)] }],
    ['short input', { ...ok(), inputs: [new Float32Array(M * 3), new Float32Array(N * 3 - 1), undefined, new Float32Array(N * 2)] }],
    ['missing input', { ...ok(), inputs: [new Float32Array(M * 3), new Float32Array(N * 3)] }],
    ['two outputs', { ...ok(), outputs: [new Float32Array(M * 2), new Float32Array(M * 2)] }],
    ['long output', { ...ok(), outputs: [new Float32Array(M * 2 + 1)] }],
    ['M not an integer', { ...ok(), M: 1.5 }],
    ['ranges not an object', { ...ok(), ranges: 3 }],
    ['red out of bounds', { ...ok(), ranges: R([1], [0, N + 1], [0, 0, 1]) }],
    ['slices decreasing', { ...ok(), ranges: R([1, 0], [0, 1], [0, 0, 1]) }],
    ['table cluster out of range', { ...ok(), ranges: R([1], [0, 1], [1, 0, 1]) }],
    ['table run empty', { ...ok(), ranges: R([1], [0, 1], [0, 2, 2]) }],
    ['table run past the rows', { ...ok(), ranges: R([1], [0, 1], [0, 2, M + 1]) }],
    ['table not triples', { ...ok(), ranges: R([1], [0, 1], [0, 0]) }],
  ];
  result.errors = bad.map(([what, args]) => {
    try {
      addon.cudaRun(handle, args as unknown as Parameters<CudaAddon['cudaRun']>[1]);
      return `${what}: no error`;
    } catch (e) {
      return `${what}: ${(e as Error).constructor.name}: ${(e as Error).message}`;
    }
  });
  result.notAHandle = (() => {
    try {
      addon.cudaRun({ name: 'g' }, ok());
      return 'no error';
    } catch (e) {
      return `${(e as Error).constructor.name}: ${(e as Error).message}`;
    }
  })();
  // a table whose runs hold more rows than a block: refused too
  const big = 300;
  const longRun = { inputs: [new Float32Array(big * 3), new Float32Array(N * 3), undefined, new Float32Array(N * 2)], outputs: [new Float32Array(big * 2)], M: big, N, ranges: R([1], [0, N], [0, 0, layout.blockRows + 1]) };
  try {
    addon.cudaRun(handle, longRun);
    result.longRun = 'no error';
  } catch (e) {
    result.longRun = `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
}
if (mode === 'half') {
  const M = 5, N = 300;
  const sum = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(3, 2)\ng = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
  // x: values whose half bits are known (exact, rounded to nearest even, overflow, subnormal)
  const x = Float32Array.from([1, -2, 0.5, 65504, 1e6, 1 / 3, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, -0, 0.1, 3, 1, 1, 1]);
  const y = new Float32Array(N * 3).fill(0.25), b = new Float32Array(N * 2).fill(-1);
  const half = sum.run({ x, y, b }, { backend: 'cuda', storage: 'float16' });
  result.layout = cudaLayout(sum.plan, { dtype: 'float32', storage: 'float16' });
  result.half = { kind: half.values!.data.constructor.name, shape: half.values!.shape };
  sum.run({ x, y, b }, { backend: 'cuda', storage: 'float16' }); // the module is reused
  result.statsHalf = cudaCacheStats();
  sum.run({ x, y, b }, { backend: 'cuda' }); // float32 storage: another kernel
  result.statsBoth = cudaCacheStats();
  const err = (f: () => unknown) => {
    try {
      f();
      return 'no error';
    } catch (e) {
      return `${(e as Error).constructor.name}: ${(e as Error).message}`;
    }
  };
  result.float64 = err(() => sum.run({ x: new Float64Array(M * 3), y: new Float64Array(N * 3), b: new Float64Array(N * 2) }, { backend: 'cuda', storage: 'float16' }));
  result.badStorage = err(() => sum.run({ x, y, b }, { backend: 'cuda', storage: 'float8' as 'float16' }));
  // the addon: a half kernel takes Uint16Array inputs only; its layout must be float32
  const layout = cudaLayout(sum.plan, { dtype: 'float32', storage: 'float16' });
  const handle = loadCuda(printCuda(sum.plan, { dtype: 'float32', storage: 'float16' }).source, layout);
  const addon = (cudaAddon() as { addon: CudaAddon }).addon;
  result.floatInput = err(() => addon.cudaRun(handle, { inputs: [x, y, undefined, b], outputs: [new Float32Array(M * 2)], M, N }));
  result.layoutF64 = err(() => addon.cudaLoad(new Uint8Array([1]), { ...layout, dtype: 'float64' }, 0));
  result.layoutBad = err(() => addon.cudaLoad(new Uint8Array([1]), { ...layout, storage: 'bfloat16' as 'float16' }, 0));
}
if (mode === 'batch') {
  // x (2, 3, 5, 3), y (1, 3, 300, 3), b (2, 1, 300, 2): 6 batch entries, y and b broadcast
  const sum = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(3, 2)\ng = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
  const x = new Float32Array(2 * 3 * 5 * 3), y = new Float32Array(3 * 300 * 3), b = new Float32Array(2 * 300 * 2);
  const r = sum.run({ x: { data: x, shape: [2, 3, 5, 3] }, y: { data: y, shape: [1, 3, 300, 3] }, b: { data: b, shape: [2, 1, 300, 2] } }, { backend: 'cuda' });
  result.batched = { shape: r.values!.shape, length: r.values!.data.length };
  const addon = (cudaAddon() as { addon: CudaAddon }).addon;
  const layout = cudaLayout(sum.plan, { dtype: 'float32' });
  const handle = loadCuda(printCuda(sum.plan, { dtype: 'float32' }).source, layout);
  const err = (f: () => unknown) => {
    try {
      f();
      return 'no error';
    } catch (e) {
      return `${(e as Error).name}: ${(e as Error).message}`;
    }
  };
  const base = { inputs: [new Float32Array(2 * 15), new Float32Array(900), undefined, new Float32Array(600)], outputs: [new Float32Array(2 * 10)], M: 5, N: 300, batchShape: new Float64Array([2]) };
  result.stridePastEnd = err(() => addon.cudaRun(handle, { ...base, batchStrides: new Float64Array([16, 0, 0, 0]) }));
  result.badStrides = err(() => addon.cudaRun(handle, { ...base, batchStrides: new Float64Array([15, 0]) }));
  result.badOutput = err(() => addon.cudaRun(handle, { ...base, outputs: [new Float32Array(10)], batchStrides: new Float64Array([15, 0, 0, 0]) }));
}
process.stdout.write(JSON.stringify(result));
