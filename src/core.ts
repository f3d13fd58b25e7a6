/**
 * The platform-independent part of keopsc: the compiler, the reference evaluator and the `js` and
 * `webgpu` backends. Nothing here imports a Node module, so it bundles for browsers
 * (`src/browser.ts`); the Node entry point (`src/index.ts`) re-exports it and adds the host backends.
 * @module
 */
export { compile, compileModule, aliasesToDeclarations, CompiledKernel, BACKENDS, SUM_SCHEMES, type SumScheme, type Backend, type CompileOptions, type CompiledModule, type RunOptions, type RunResult, type KernelOutput } from './api/compile.js';
export { Genred, KernelSolve, type KernelSolveOptions, type KernelSolveFunction, reductionString, axisToTag, type GenredFunction, type GenredOptions, type GenredResult, type GenredPair, type GenredReduction, type GenredCallArg, type TwoOutputReduction, type PassThroughRunOptions, type KernelSolveCallOptions } from './api/genred.js';
export { normalizeOptions, RUN_OPTIONS, MAX_THREADS, type KeopsBackend, type KeopsSpellings, type OptionSet } from './api/options.js';
export { LazyTensor, Vi, Vj, Pm, concatenate, cat, lazyCacheInfo, clearLazyCache, type LazyArrayInput, type LazyOperand, type LazyReduction, type LazyRunOptions, type Reduced, type ValuesAndIndices, type WebGpuLazyOptions } from './api/lazy.js';
export { GradientKernel } from './api/grad.js';
export type { ProgressCallback } from './api/chunked.js';
export { gridCluster, clusterRanges, clusterCentroids, clusterRangesCentroids, sortClusters, permuteRows, unpermuteRows, fromMatrix, centroidMask, rangesToMask, blockSparseRanges, type Points, type PointsInput, type IntPairs, type LabelsInput, type WeightsInput, type PairsInput, type MaskInput, type RowsInput, type Permuted, type RangesCentroids, type SortedClusters, type BlockSparse, type BlockSparseOptions } from '../runtime/cluster/index.js';
export { runInOriginalOrder, toPermutation, type ClusterOrder, type BlockSparseKernel, type BlockSparseRunOptions } from '../runtime/cluster/blocksparse-run.js';
export { conjugateGradient, conjugateGradientAsync, kernelSolve, type CgResult, type SolveOptions, type SolveResult } from './api/solve.js';
export { prepareArgs, type ArgsInput, type ArrayInput, type PreparedArgs, type FloatDtype } from './api/inputs.js';
export { KeopsError, InputError, formatDiagnostic, formatDiagnostics, SourceFile, DIAGNOSTICS, type Diagnostic, type Span } from './diagnostics/index.js';
export { parseModule, parseFormula } from './syntax/parse.js';
export type { Module, Expr, Statement } from './syntax/ast.js';
export { PASSES, frontend, optimize, type Pass } from './passes/pipeline.js';
export { OPS, OP_LIST } from './ir/ops/index.js';
export { REDUCTIONS, REDUCTION_LIST, type ReductionDef } from './ir/reductions.js';
export { printKernel, printNode } from './ir/print.js';
export type { Kernel, ArgInfo } from './ir/kernel.js';
export type { Node, OpDef } from './ir/types.js';
export { evaluateRef } from '../runtime/ref/index.js';
export { lowerKernel, type ComponentLoop, type KernelPlan, type ReductionPlan } from './lower/plan.js';
export { printPlan } from './lower/print-plan.js';
export { verifyKernel } from './ir/verify.js';
export { ScalarBuilder, SCALAR_FNS, type SExpr, type ScalarFn } from './ir/scalar.js';
export { printJs, type JsCodeOptions } from './targets/js.js';
export type { CodeOptions } from './targets/common.js';
export { printCpp, CPP_FAST_FLAGS, type CppCodeOptions } from './targets/cpp.js';
export { toRanges, validateRanges, swapAxes, RANGES_KEYS, type Ranges, type RangesInput } from '../runtime/ranges/index.js';
export { registerBackend, backendFor, registeredBackends, checkStorage, type BackendInputs, type BackendRequest } from './api/backends.js';
export { indicesToNumbers, indicesToInt32, type ValuesOutput, type IndicesOutput, type ValuesResult, type IndicesResult, type ValuesAndIndicesResult, type ResultKind, type ResultKindOf, type ResultOf, type BackendName, type KernelBackend, type BackendStatus, type LaunchInputs, type LaunchRequest, type FloatArray, type Storage } from './api/types.js';
export { printWgsl, type WgslCodeOptions, type WgslShader, type WgslBinding } from './targets/wgsl.js';
export { webgpuStatus, setGpuProvider, releaseWebGpu, WEBGPU_CONFIG, type WebGpuRunOptions, type WebGpuStatus } from '../runtime/webgpu/index.js';
export { printCuda, type CudaCodeOptions } from './targets/cuda.js';
// the in-memory .npy/.npz codecs (browser-safe); loadNpy/saveNpy/loadNpz/saveNpz (files) come from the Node entry
export { parseNpy, encodeNpy, ndarray, NPY_DTYPES, type NdArray, type NdData, type NpyDtype } from '../runtime/npy/npy.js';
export { parseNpz, encodeNpz, type NpzOptions } from '../runtime/npy/npz.js';
