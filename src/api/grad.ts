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
import { normalizeOptions, RUN_OPTIONS } from './options.js';
import { sumToShape } from '../../runtime/batch/index.js';

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
  /**
   * Set on the gradient of a parameter's gradient kernel: the gradient input, given as (dim,), is the
   * same for every row of the inner per-row gradients (their sum is the parameter's gradient).
   */
  private rowwiseInput?: { name: string; dim: number; rowCat: Cat };

  constructor(
    private readonly forward: CompiledKernel,
    /** The reduction computing the gradient (it takes the saved forward results as extra inputs). */
    readonly kernel: CompiledKernel,
    wrt: ArgInfo,
    eName: string,
    private readonly saved: { lse?: CompiledKernel; lseName?: string; outName?: string },
    /** Makes a CompiledKernel from kernel IR (what {@link grad} needs to go one order higher). */
    private readonly make?: (ir: Kernel) => CompiledKernel,
  ) {
    this.wrt = wrt;
    this.eName = eName;
    this.args = kernel.args.filter((a) => a.name !== saved.lseName && a.name !== saved.outName);
  }

  /**
   * The gradient of this gradient kernel with respect to argument `name` (any of {@link args},
   * the gradient input `e` included), as a kernel taking this kernel's arguments plus a new gradient
   * input (named `eName`, default `u`, `u2`, ...) of this kernel's output shape: ∂⟨u, ∂⟨e, a⟩/∂v⟩/∂w.
   * With `name` equal to `v` it is the Hessian-vector product H·u of ⟨e, a⟩; chained, any order.
   *
   * Available when the forward reduction is a Sum. After a parameter's gradient (a sum over rows) the
   * new input has the parameter's shape (dim,), and that second derivative is the last one (mixed
   * derivatives commute: reorder them to go higher). The log-sum-exp family's gradient kernels read
   * their forward result as an input, so they have no gradient here. Throws InputError otherwise.
   */
  grad(name: string, eName?: string): GradientKernel {
    if (this.saved.lseName !== undefined) throw new InputError(`the gradient kernel ${this.kernel.name} reads the forward log-sum-exp as an input, so it has no gradient here; second derivatives are available for Sum reductions`);
    if (this.rowwiseInput) throw new InputError(`${this.kernel.name} is a second derivative through a parameter's gradient; differentiate in another order (mixed derivatives commute), taking that parameter last`);
    if (!this.make) throw new InputError(`the gradient kernel ${this.kernel.name} cannot be differentiated again`);
    const g = gradientKernel(this.kernel, this.make, name, eName ?? freshName('u', this.kernel.args));
    // a parameter's gradient sums the inner kernel's rows: ⟨u, Σ_r g_r⟩ = Σ_r ⟨u, g_r⟩, so the new
    // gradient input u (dim,) is the same row variable on every row
    if (this.wrt.cat === 2) g.rowwiseInput = { name: g.eName, dim: this.wrt.dim, rowCat: this.kernel.ir.tag === 0 ? 0 : 1 };
    return g;
  }

  /** The gradient formula and reduction, as text. */
  toString(): string {
    return this.kernel.toString();
  }

  /**
   * Run: `args` are the forward kernel's arguments plus the gradient input (by name, or positional in
   * `args` order). Returns the gradient with the shape of the variable: (rows, dim), or (dim,) for a
   * parameter; with batch dims (B…, rows, dim) or (B…, dim), summed over the batch dims where the
   * variable is broadcast (size 1), so it always has the variable's own shape.
   */
  run(args: ArgsInput, options: RunOptions & { backend: 'webgpu' }): Promise<RunResult>;
  run(args: ArgsInput, options: Omit<RunOptions, 'backend'> & { backend: 'distributed'; redis: string; [option: string]: unknown }): Promise<RunResult>;
  run(args: ArgsInput, options?: RunOptions): RunResult;
  run(args: ArgsInput, opts: object = {}): MaybePromise<RunResult> {
    // a distributed run's options (redis, tiles, ...) are checked by the coordinator of each kernel of the chain
    const options = (opts as { backend?: unknown } | null)?.backend === 'distributed' ? (opts as RunOptions) : normalizeOptions<RunOptions>(opts as RunOptions, RUN_OPTIONS, 'gradient kernel run');
    const named: Record<string, ArrayInput> = Array.isArray(args) ? Object.fromEntries(this.args.map((a, k) => [a.name, (args as ArrayInput[])[k]!])) : { ...(args as Record<string, ArrayInput>) };
    if (Array.isArray(args) && args.length !== this.args.length) throw new InputError(`the gradient kernel takes ${this.args.length} arrays (${this.args.map((a) => a.name).join(', ')}), got ${args.length}`);
    if (this.rowwiseInput) this.repeatPerRow(named, this.rowwiseInput);
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
    // with batch dims the gradient folds back to the variable's own shape (summed over the batch dims
    // where it is broadcast); a parameter's is summed over the rows too
    const input = named[this.wrt.name];
    const own = input && !(input instanceof Float32Array || input instanceof Float64Array) ? input.shape : undefined;
    const nb = own ? own.length - (this.wrt.cat === 2 ? 1 : 2) : 0;
    const folds = this.wrt.cat === 2 || nb > 0;
    const gradient = () => exec(this.kernel, named, folds ? runOpts : options);
    return andThen(save(this.saved.lseName, this.saved.lse), () =>
      andThen(save(this.saved.outName, this.forward), () => andThen(gradient(), (r) => (folds ? this.fold(r, own ? own.slice(0, Math.max(0, nb)) : [], options) : r))),
    );
  }

  /** Replace the (dim,) input `name` with its copy on each row (rows: those of a row variable, else 1). */
  private repeatPerRow(named: Record<string, ArrayInput>, { name, dim, rowCat }: { name: string; dim: number; rowCat: Cat }): void {
    const dataOf = (a: ArrayInput | undefined) => (a === undefined || a === null ? undefined : a instanceof Float32Array || a instanceof Float64Array ? a : (a as { data?: Float32Array | Float64Array }).data);
    const u = dataOf(named[name]);
    if (!(u instanceof Float32Array || u instanceof Float64Array)) throw new InputError(`argument ${name} must be a Float32Array or Float64Array of ${dim} values (the shape of the parameter's gradient)`);
    if (u.length !== dim) throw new InputError(`argument ${name} has ${u.length} values; it has the shape of the parameter's gradient, (${dim},)`);
    const rowArg = this.kernel.args.find((a) => a.cat === rowCat && a.name !== name && dataOf(named[a.name]) !== undefined);
    const rows = rowArg ? dataOf(named[rowArg.name])!.length / rowArg.dim : 1;
    if (!Number.isInteger(rows)) return; // the run says what is wrong with that array
    const tiled = new (u.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(rows * dim);
    for (let r = 0; r < rows; r++) tiled.set(u, r * dim);
    named[name] = { data: tiled, shape: [rows, dim] };
  }

  /** Sum the gradient kernel's output (B…, rows, dim) to the variable's shape: (own batch…, rows, dim),
   * or (own batch…, dim) for a parameter. */
  private fold(r: RunResult, ownBatch: readonly number[], options: RunOptions): RunResult {
    const v = r.values!;
    const nb = v.shape.length - 2;
    const own = ownBatch.length === nb ? ownBatch : new Array<number>(nb).fill(1);
    const to = [...own, this.wrt.cat === 2 ? 1 : v.shape[nb]!, this.wrt.dim];
    const sum = sumToShape(v.data as ArrayLike<number>, v.shape, to);
    const shape = this.wrt.cat === 2 ? [...own, this.wrt.dim] : to;
    let data: Float32Array | Float64Array = v.data instanceof Float32Array ? Float32Array.from(sum) : sum;
    if (options.out) {
      if (options.out.length !== data.length || options.out.constructor !== data.constructor)
        throw new InputError(`out must be a ${data.constructor.name} of ${data.length} values (the gradient has shape (${shape.join(', ')}))`);
      options.out.set(data);
      data = options.out;
    }
    const out = { name: 'values' as const, shape, data };
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
  if (typeof e !== 'string' || !/^[A-Za-z_]\w*$/.test(e)) throw new InputError(`the gradient input name must be an identifier, got ${String(e)}`);
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
  return new GradientKernel(k, make(optimize(gradIr)), wrt, e, saved, make);
}

/** `base`, or `base2`, `base3`, ... : the first name no argument has. */
function freshName(base: string, args: readonly ArgInfo[]): string {
  let n = base;
  for (let k = 2; args.some((a) => a.name === n); k++) n = `${base}${k}`;
  return n;
}
