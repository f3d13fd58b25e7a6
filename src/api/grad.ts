import { InputError } from '../diagnostics/index.js';
import { mk, Var } from '../ir/node.js';
import { REDUCTION_LIST, REDUCTIONS } from '../ir/reductions.js';
import { andList } from '../ir/ops/util.js';
import type { ArgInfo, Kernel } from '../ir/kernel.js';
import type { Cat, Node } from '../ir/types.js';
import { optimize } from '../passes/pipeline.js';
import type { ArgsInput, ArrayInput } from './inputs.js';
import type { CompiledKernel, RunOptions, RunResult } from './compile.js';
import { andThen, type MaybePromise } from './maybe.js';

/** The reductions whose gradient keopsc derives (ReductionDef.differentiable), for messages. */
const DIFFERENTIABLE = andList(REDUCTION_LIST.filter((r) => r.differentiable).map((r) => r.name));

/**
 * The gradient of a whole reduction with respect to one of its arguments, as a kernel of its own.
 *
 * For a kernel with output a (rows r) and a gradient input e of the output's shape, it computes
 * ∂⟨e, a⟩/∂v: for a variable v indexed like the output rows this is a reduction over the same axis;
 * for a variable indexed by the reduction index it is a reduction over the other axis (the ranges'
 * other triplet is used automatically); for a parameter it is the reduction over the output axis summed
 * over rows. LogSumExp and SumSoftMaxWeight need their forward result, which `run` computes first.
 */
export class GradientKernel {
  /** The arguments: the forward kernel's, plus the gradient input. */
  readonly args: readonly ArgInfo[];
  /** The variable the gradient is taken with respect to. */
  readonly wrt: ArgInfo;
  /** The name of the gradient input argument. */
  readonly eName: string;

  constructor(
    private readonly forward: CompiledKernel,
    /** The reduction computing the gradient (it takes the saved forward results as extra inputs). */
    readonly kernel: CompiledKernel,
    wrt: ArgInfo,
    eName: string,
    private readonly saved: { lse?: CompiledKernel; lseName?: string; outName?: string },
  ) {
    this.wrt = wrt;
    this.eName = eName;
    this.args = kernel.args.filter((a) => a.name !== saved.lseName && a.name !== saved.outName);
  }

  /** The gradient formula and reduction, as text. */
  toString(): string {
    return this.kernel.toString();
  }

  /**
   * Run: `args` are the forward kernel's arguments plus the gradient input (by name, or positional in
   * `args` order). Returns the gradient with the shape of the variable: (rows, dim), or (dim,) for a
   * parameter.
   */
  run(args: ArgsInput, options: RunOptions & { backend: 'webgpu' }): Promise<RunResult>;
  run(args: ArgsInput, options: Omit<RunOptions, 'backend'> & { backend: 'distributed'; redis: string; [option: string]: unknown }): Promise<RunResult>;
  run(args: ArgsInput, options?: RunOptions): RunResult;
  run(args: ArgsInput, opts: object = {}): MaybePromise<RunResult> {
    const options = opts as RunOptions;
    const named: Record<string, ArrayInput> = Array.isArray(args) ? Object.fromEntries(this.args.map((a, k) => [a.name, (args as ArrayInput[])[k]!])) : { ...(args as Record<string, ArrayInput>) };
    if (Array.isArray(args) && args.length !== this.args.length) throw new InputError(`the gradient kernel takes ${this.args.length} arrays (${this.args.map((a) => a.name).join(', ')}), got ${args.length}`);
    const fwdArgs = Object.fromEntries(this.forward.args.map((a) => [a.name, named[a.name]!]).filter(([, v]) => v !== undefined));
    const runOpts = { ...options, out: undefined };
    // every kernel of the chain runs on the same backend; webgpu makes the whole chain asynchronous
    // (and so does distributed: each kernel of the chain is a distributed run)
    const exec = (k: CompiledKernel, a: ArgsInput, o: RunOptions): MaybePromise<RunResult> =>
      o.backend === 'webgpu' || (o.backend as string) === 'distributed' ? k.run(a, o) : k.runSync(a, o, 'a gradient kernel');
    const save = (name: string | undefined, k: CompiledKernel | undefined): MaybePromise<void> =>
      name === undefined
        ? undefined
        : andThen(exec(k ?? this.forward, fwdArgs, runOpts), (res) => {
            named[name] = { data: res.values!.data as Float32Array | Float64Array, shape: res.values!.shape };
          });
    const gradient = () => exec(this.kernel, named, this.wrt.cat === 2 ? runOpts : options);
    return andThen(save(this.saved.lseName, this.saved.lse), () =>
      andThen(save(this.saved.outName, this.forward), () => andThen(gradient(), (r) => this.finish(r, options))),
    );
  }

  /** A parameter's gradient is the per-row gradients summed; the others are the reduction's output. */
  private finish(r: RunResult, options: RunOptions): RunResult {
    if (this.wrt.cat !== 2) return r;
    const v = r.values!;
    const dim = this.wrt.dim;
    const sum = v.data instanceof Float32Array ? new Float32Array(dim) : new Float64Array(dim);
    const acc = new Float64Array(dim);
    for (let k = 0; k < v.data.length; k++) acc[k % dim]! += Number(v.data[k]);
    sum.set(acc);
    if (options.out) {
      options.out.set(sum);
      const out = { name: 'values' as const, shape: [dim], data: options.out };
      return { outputs: [out], values: out };
    }
    const out = { name: 'values' as const, shape: [dim], data: sum };
    return { outputs: [out], values: out };
  }
}

/** Build the gradient kernel of `k` with respect to argument `name` (see {@link GradientKernel}). */
export function gradientKernel(k: CompiledKernel, make: (ir: Kernel) => CompiledKernel, name: string, eName?: string): GradientKernel {
  const ir = k.ir;
  const red = ir.reduction;
  if (!red.differentiable) {
    throw new InputError(`${red.name}_Reduction has no gradient (as in KeOps); gradients exist for ${DIFFERENTIABLE} reductions`);
  }
  const wrt = ir.args.find((a) => a.name === name);
  if (!wrt) throw new InputError(`kernel ${ir.name} has no argument named '${name}'; its arguments are ${ir.args.map((a) => a.name).join(', ')}`);
  const taken = new Set(ir.args.map((a) => a.name));
  const fresh = (base: string) => {
    let n = base;
    for (let k = 2; taken.has(n); k++) n = `${base}${k}`;
    taken.add(n);
    return n;
  };
  const e = eName ?? fresh('e');
  if (eName && taken.has(eName)) throw new InputError(`the gradient input name '${eName}' is already an argument of ${ir.name}`);
  taken.add(e);
  const rowCat: Cat = ir.tag === 0 ? 0 : 1;
  let next = Math.max(-1, ...ir.args.map((a) => a.index)) + 1;
  const newArg = (argName: string, dim: number): [Node, ArgInfo] => {
    const index = next++;
    return [Var(index, dim, rowCat), { name: argName, index, dim, cat: rowCat }];
  };
  const f = ir.formula;
  const v = Var(wrt.index, wrt.dim, wrt.cat);
  const [outSpec] = red.outputs(f.dim, ir.formula2?.dim, ir.K);
  const outDim = outSpec!.rowShape.reduce((a, b) => a * b, 1);
  const [E, eInfo] = newArg(e, outDim);
  const extra: ArgInfo[] = [eInfo];
  const saved: { lse?: CompiledKernel; lseName?: string; outName?: string } = {};
  let formula: Node;
  // the differentiable reductions: Sum, and the log-sum-exp family's LogSumExp (weights 1) and
  // SumSoftMaxWeight (weights 1 then g)
  if (red.family === 'sum') formula = mk('Grad', [f, v, E]);
  else if (red.family !== 'logsumexp' || red.lseWeights === 'g') throw new Error(`internal: no gradient rule for ${red.name}`);
  else {
    const lseName = fresh('lse_forward');
    const [A, aInfo] = newArg(lseName, 1);
    extra.push(aInfo);
    saved.lseName = lseName;
    const w = mk('Exp', [mk('Subtract', [f, A])]);
    if (red.lseWeights === 'one') formula = mk('Mult', [w, mk('Grad', [f, v, E])]);
    else {
      const g = ir.formula2!;
      const outName = fresh('out_forward');
      const [O, oInfo] = newArg(outName, g.dim);
      extra.push(oInfo);
      saved.outName = outName;
      saved.lse = make({ ...ir, name: `${ir.name}_lse`, reduction: REDUCTIONS.LogSumExp!, formula: f, formula2: undefined });
      const inner = mk('Add', [mk('Grad', [g, v, E]), mk('Grad', [f, v, mk('Scalprod', [E, mk('Subtract', [g, O])])])]);
      formula = mk('Mult', [w, inner]);
    }
  }
  const tag: 0 | 1 = wrt.cat === 2 || wrt.cat === rowCat ? ir.tag : ir.tag === 0 ? 1 : 0;
  const gradIr: Kernel = { ...ir, name: `${ir.name}_grad_${name}`, reduction: REDUCTIONS.Sum!, tag, formula, formula2: undefined, K: undefined, args: [...ir.args, ...extra] };
  return new GradientKernel(k, make(optimize(gradIr)), wrt, e, saved);
}
