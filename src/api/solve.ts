import { InputError } from '../diagnostics/index.js';
import type { ArrayInput } from './inputs.js';
import { normalizeOptions, SOLVE_OPTIONS } from './options.js';
import type { CompiledKernel, RunOptions, RunResult } from './compile.js';

/** Options of the conjugate-gradient solver (KeOps's defaults). */
export interface SolveOptions extends Omit<RunOptions, 'out'> {
  /** Ridge: solves (alpha·Id + K) a = b. Default 1e-10. */
  alpha?: number;
  /** Stop when ‖r‖² < size(b)·eps² (KeOps's rule). Default 1e-6. */
  eps?: number;
  /** Give up (with an error) after this many iterations. Default max(100, 2·size(b)). */
  maxIter?: number;
}

/** The result of a solve: the solution, and how the iteration went. */
export interface SolveResult {
  data: Float32Array | Float64Array;
  shape: number[];
  iterations: number;
  /** ‖r‖² at the end. */
  residual: number;
}

/**
 * Conjugate gradient for (alpha·Id + A) a = b, with A symmetric positive semi-definite, given as a
 * function computing A·v. Follows KeOps's KernelSolve (keops-reference §5.2): plain CG, stopping when
 * ‖r‖² < size(b)·eps², returning 0 at once when ‖b‖² is already below that. Throws if it does not
 * converge within `maxIter` iterations (the system is then not positive definite, or alpha is too small).
 */
export function conjugateGradient(apply: (v: Float64Array) => Float64Array, b: Float64Array, alpha: number, eps: number, maxIter: number, groups = 1): CgResult {
  const cg = cgSteps(b, alpha, eps, maxIter, groups);
  let step = cg.next();
  while (!step.done) step = cg.next(apply(step.value));
  return step.value;
}

/** {@link conjugateGradient} with an asynchronous A·v (the webgpu backend). */
export async function conjugateGradientAsync(apply: (v: Float64Array) => Promise<Float64Array>, b: Float64Array, alpha: number, eps: number, maxIter: number, groups = 1): Promise<CgResult> {
  const cg = cgSteps(b, alpha, eps, maxIter, groups);
  let step = cg.next();
  while (!step.done) step = cg.next(await apply(step.value));
  return step.value;
}

/** The solution of a CG run and how it went. */
export interface CgResult {
  x: Float64Array;
  iterations: number;
  residual: number;
}

/**
 * The CG iteration, written once: it yields each p whose product A·p it needs, and returns the result.
 * With `groups` > 1 the vector is that many independent systems of equal length (batch entries, A block
 * diagonal): each runs its own CG (its own steps and stopping rule) in lockstep, one A·p for all; a
 * system that has converged is frozen (its p is 0). `iterations` is the most any system took and
 * `residual` the largest final ‖r‖².
 */
function* cgSteps(b: Float64Array, alpha: number, eps: number, maxIter: number, groups = 1): Generator<Float64Array, CgResult, Float64Array> {
  const n = b.length / Math.max(1, groups);
  const G = n === 0 ? 0 : groups;
  const dot = (u: Float64Array, w: Float64Array, g: number) => {
    let s = 0;
    for (let k = g * n; k < (g + 1) * n; k++) s += u[k]! * w[k]!;
    return s;
  };
  const tol = n * eps * eps;
  const x = new Float64Array(b.length);
  const r = b.slice();
  const rs = Array.from({ length: G }, (_, g) => dot(r, r, g));
  const done = rs.map((v) => v < tol);
  const iters = new Array<number>(G).fill(0);
  const result = (): CgResult => ({ x, iterations: Math.max(0, ...iters), residual: Math.max(0, ...rs) });
  if (done.every(Boolean)) return result();
  const p = r.slice();
  for (let g = 0; g < G; g++) if (done[g]) p.fill(0, g * n, (g + 1) * n);
  for (let it = 1; it <= maxIter; it++) {
    const Ap = yield p;
    for (let k = 0; k < p.length; k++) Ap[k]! += alpha * p[k]!;
    for (let g = 0; g < G; g++) {
      if (done[g]) continue;
      const pAp = dot(p, Ap, g);
      if (!(pAp > 0)) throw new InputError(`KernelSolve: the operator is not positive definite (pᵀ(αI + K)p = ${pAp}${G > 1 ? ` in batch entry ${g}` : ''}); use a positive-definite kernel or a larger alpha`);
      const step = rs[g]! / pAp;
      for (let k = g * n; k < (g + 1) * n; k++) {
        x[k]! += step * p[k]!;
        r[k]! -= step * Ap[k]!;
      }
      const rsNew = dot(r, r, g);
      iters[g] = it;
      if (rsNew < tol) {
        done[g] = true;
        rs[g] = rsNew;
        p.fill(0, g * n, (g + 1) * n);
        continue;
      }
      const beta = rsNew / rs[g]!;
      for (let k = g * n; k < (g + 1) * n; k++) p[k] = r[k]! + beta * p[k]!;
      rs[g] = rsNew;
    }
    if (done.every(Boolean)) return result();
  }
  const worst = Math.max(...rs.filter((_, g) => !done[g]));
  throw new InputError(`KernelSolve did not converge in ${maxIter} iterations (‖r‖² = ${worst.toExponential(3)}, target ${tol.toExponential(3)}); increase alpha or maxIter, or check that the kernel is positive definite`);
}

/**
 * Solve (alpha·Id + K) a = b where K·v is the Sum reduction `kernel` with its argument `varName`
 * replaced by v (the formula must be linear in it, e.g. `Exp(-SqDist(x, y)) * v`). `args` holds the
 * other arguments; b has the shape of the output, and the solution the shape of `varName`'s array
 * (they must agree: the system is square). With batch dims b is (B…, rows, dim) and each batch entry is
 * solved as its own system (one batched launch per CG iteration for all of them).
 */
export function kernelSolve(kernel: CompiledKernel, varName: string, args: Readonly<Record<string, ArrayInput>>, b: ArrayInput, options: SolveOptions & { backend: 'webgpu' }): Promise<SolveResult>;
export function kernelSolve(kernel: CompiledKernel, varName: string, args: Readonly<Record<string, ArrayInput>>, b: ArrayInput, options?: SolveOptions): SolveResult;
export function kernelSolve(kernel: CompiledKernel, varName: string, args: Readonly<Record<string, ArrayInput>>, b: ArrayInput, options: SolveOptions = {}): SolveResult | Promise<SolveResult> {
  options = normalizeOptions<SolveOptions>(options, SOLVE_OPTIONS, 'solve');
  if (kernel.ir.reduction.name !== 'Sum') throw new InputError(`KernelSolve needs a Sum reduction, not ${kernel.ir.reduction.name}`);
  const v = kernel.args.find((a) => a.name === varName);
  if (!v) throw new InputError(`KernelSolve: kernel ${kernel.name} has no argument named '${varName}'; its arguments are ${kernel.args.map((a) => a.name).join(', ')}`);
  if (v.cat === 2) throw new InputError(`KernelSolve: '${varName}' is a parameter; the unknown must be indexed by i or j`);
  const bData = b instanceof Float32Array || b instanceof Float64Array ? b : b.data;
  const outDim = kernel.ir.formula.dim;
  if (outDim !== v.dim) throw new InputError(`KernelSolve: the output has dimension ${outDim} but '${varName}' has dimension ${v.dim}; the system must be square`);
  if (bData.length % v.dim !== 0) throw new InputError(`KernelSolve: b has ${bData.length} values, not a multiple of the dimension ${v.dim}`);
  // batch dims: b is (B…, rows, dim) and each batch entry is its own system
  const bShape = b instanceof Float32Array || b instanceof Float64Array ? undefined : b.shape;
  const batch = bShape && bShape.length > 2 ? bShape.slice(0, -2) : [];
  const groups = batch.reduce((p, q) => p * q, 1);
  const rows = groups === 0 ? (bShape?.[bShape.length - 2] ?? 0) : bData.length / v.dim / groups;
  const f32 = bData instanceof Float32Array;
  const alpha = options.alpha ?? 1e-10;
  const eps = options.eps ?? 1e-6;
  if (!(alpha >= 0) || !(eps > 0)) throw new InputError(`KernelSolve: alpha must be >= 0 and eps > 0, got alpha = ${alpha}, eps = ${eps}`);
  const maxIter = options.maxIter ?? Math.max(100, 2 * (groups ? bData.length / groups : 0));
  const { alpha: _a, eps: _e, maxIter: _m, ...runOptions } = options;
  const product = (p: Float64Array) => ({ ...args, [varName]: { data: f32 ? Float32Array.from(p) : p, shape: [...batch, rows, v.dim] } });
  const check = (p: Float64Array, r: RunResult): Float64Array => {
    const out = r.values!.data;
    if (out.length !== p.length) throw new InputError(`KernelSolve: K·v has ${out.length} values but b has ${p.length}; the system must be square (M = N)`);
    return Float64Array.from(out as ArrayLike<number>);
  };
  const finish = ({ x, iterations, residual }: CgResult): SolveResult => ({ data: f32 ? Float32Array.from(x) : x, shape: [...batch, rows, v.dim], iterations, residual });
  if (runOptions.backend === 'webgpu') {
    const gpu = runOptions as RunOptions & { backend: 'webgpu' };
    return conjugateGradientAsync(async (p) => check(p, await kernel.run(product(p), gpu)), Float64Array.from(bData), alpha, eps, maxIter, groups).then(finish);
  }
  return finish(conjugateGradient((p) => check(p, kernel.runSync(product(p), runOptions, 'KernelSolve')), Float64Array.from(bData), alpha, eps, maxIter, groups));
}
