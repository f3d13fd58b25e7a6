/**
 * The `keopsc` commands other than `check` (compile, run, worker, cluster), imported by ./main.ts when
 * one of them runs, so that a check never loads the compiler's back end, the runtimes or the backends.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../diagnostics/index.js';
import { frontend, lower } from '../passes/pipeline.js';
import { printPlan } from '../lower/print-plan.js';
import { compileModule, type Backend, type CompiledKernel, type RunOptions, type RunResult, type SumScheme } from '../api/compile.js';
import type { DistributedOptions } from '../../runtime/dist/index.js';
import { printKernel } from '../ir/print.js';
import type { NdArray } from '../../runtime/npy/index.js';
import { checkOutputs, checkRunOutput } from './output.js';
import { type RangesInput } from '../../runtime/ranges/index.js';
import { readSource } from './source.js';

function pickKernel(kernels: CompiledKernel[], name: string | undefined, file: string): CompiledKernel {
  if (name) {
    const k = kernels.find((c) => c.name === name);
    if (!k) throw new InputError(`${file} has no kernel named '${name}'; its kernels are ${kernels.map((c) => c.name).join(', ')}`);
    return k;
  }
  if (kernels.length > 1) throw new InputError(`${file} has ${kernels.length} kernels (${kernels.map((c) => c.name).join(', ')}); choose one with --kernel NAME`);
  return kernels[0]!;
}
/** The options of `keopsc compile`, as commander parses them. */
export interface CompileCliOptions {
  emit: string;
  kernel?: string;
  target?: string;
  dtype?: string;
  sumScheme: string;
  output?: string;
  header?: string;
  storage?: string;
}

/** Where `compile --target cuda -o FILE` writes the header: `--header`, else FILE with `.h` for `.cu`. */
export function cudaHeaderPath(output: string | undefined, header: string | undefined): string | undefined {
  if (header !== undefined) return header;
  if (output === undefined) return undefined;
  return /\.cu$/.test(output) ? output.replace(/\.cu$/, '.h') : `${output}.h`;
}

async function writeText(path: string, text: string): Promise<void> {
  const { writeFileAtomic } = await import('../../runtime/npy/index.js');
  writeFileAtomic(path, text.endsWith('\n') ? text : `${text}\n`, 'output');
}

/** `keopsc compile`: print the AST, the IR after each stage, or the generated code of a target. */
export async function compileCmd(file: string, opts: CompileCliOptions, out: (s: string) => void): Promise<number> {
  const text = readSource(file);
  if (opts.header !== undefined && opts.target !== 'cuda') throw new InputError('--header is for --target cuda (the header of the host launcher)');
  if (opts.target === 'wgsl' && opts.dtype === 'float64') throw new InputError('--target wgsl --dtype float64: WGSL has no float64; use --dtype float32 (or --target cuda/cpp/js for float64)');
  if (opts.storage === 'float16' && opts.target !== 'cuda' && opts.target !== 'wgsl') throw new InputError('--storage float16 is for --target cuda or wgsl (inputs stored as halves on the GPU)');
  if (opts.storage === 'float16' && opts.dtype === 'float64') throw new InputError('--storage float16 --dtype float64: float16 storage keeps float32 arithmetic; use --dtype float32 (the default) or leave --storage out');
  if (opts.target) {
    const hPath = opts.target === 'cuda' ? cudaHeaderPath(opts.output, opts.header) : undefined;
    checkOutputs([...(opts.output ? [{ option: '-o', path: opts.output }] : []), ...(hPath ? [{ option: '--header', path: hPath }] : [])], [file]);
    const mod = compileModule(text, { file });
    const k = pickKernel(mod.kernels, opts.kernel, file);
    const dtype = (opts.dtype ?? 'float32') as 'float32' | 'float64';
    const code = k.codeOptionsFor({ sumScheme: opts.sumScheme as SumScheme }, dtype);
    if (opts.target === 'cuda') {
      const [{ printCuda }, { cudaCodeOptions }] = await Promise.all([import('../targets/cuda.js'), import('../../runtime/cuda/index.js')]);
      const { source, header } = printCuda(k.plan, cudaCodeOptions(dtype, { ...code, storage: opts.storage as 'float32' | 'float16' | undefined }));
      if (opts.output) await writeText(opts.output, source);
      else out(source);
      if (hPath) await writeText(hPath, header);
      return 0;
    }
    const src =
      opts.target === 'cpp'
        ? k.cppSource({ ...code, fastMath: dtype === 'float32' })
        : opts.target === 'wgsl'
          ? k.wgslSource({ sumScheme: code.sumScheme, ...(opts.storage === 'float16' ? { storage: 'float16' as const } : {}) }).code
          : k.jsSource({ dtype, sumScheme: opts.sumScheme as SumScheme });
    if (opts.output) await writeText(opts.output, src);
    else out(src);
    return 0;
  }
  if (opts.emit === 'ast') {
    const { module } = frontend(text, file);
    out(JSON.stringify(module, (k, v) => (k === 'span' || k === 'calleeSpan' || k === 'nameSpan' || k === 'opSpan' ? `${v.line}:${v.col}` : v), 2));
    return 0;
  }
  if (opts.emit === 'plan') {
    const mod = compileModule(text, { file });
    const chosen = opts.kernel ? [pickKernel(mod.kernels, opts.kernel, file)] : mod.kernels;
    const plans: string[] = [];
    for (const k of chosen) lower(k.ir, (_stage, plan) => plans.push(printPlan(plan)));
    out(plans.join('\n\n'));
    return 0;
  }
  const stages: string[] = [];
  const mod = compileModule(text, {
    file,
    onPass: (stage, k) => {
      if (!opts.kernel || opts.kernel === k.name) stages.push(`# after ${stage}\n${printKernel(k)}`);
    },
  });
  if (opts.kernel) pickKernel(mod.kernels, opts.kernel, file);
  out(stages.join('\n\n'));
  return 0;
}

function toArg(arr: NdArray, name: string, path: string): { data: Float32Array | Float64Array; shape: number[] } {
  if (arr.dtype !== 'float32' && arr.dtype !== 'float64') {
    throw new InputError(`${path} (argument ${name}) has dtype ${arr.dtype}; kernel arguments must be float32 or float64`);
  }
  return { data: arr.data as Float32Array | Float64Array, shape: arr.shape };
}

/** The options of `keopsc run`, as commander parses them. */
export interface RunCliOptions {
  kernel?: string;
  arg: string[];
  ranges?: string;
  cluster?: string;
  presorted?: boolean;
  backend: string;
  output?: string;
  sumScheme: string;
  dtypeAcc: string;
  threads?: string;
  storage?: string;
  distributed?: string;
  tiles?: string;
  resume?: string;
  store?: string;
  quiet?: boolean;
}

/** `keopsc run`: load .npy arguments, run a kernel, write .npy/.npz or print. */
export async function run(file: string, opts: RunCliOptions, out: (s: string) => void): Promise<number> {
  const [{ loadNpy }] = await Promise.all([import('../../runtime/npy/index.js'), import('../index.js')]);
  const text = readSource(file);
  const mod = compileModule(text, { file });
  const kernel = pickKernel(mod.kernels, opts.kernel, file);
  if (opts.output) {
    // before any work: the output's extension and file (never one of the inputs)
    checkRunOutput(opts.output, kernel.outputShapes(1, 1).map((o) => o.name));
    checkOutputs([{ option: '-o', path: opts.output }], [file, ...opts.arg.map((a) => a.slice(a.indexOf('=') + 1)), ...(opts.ranges ? [opts.ranges] : [])]);
  }
  const args: Record<string, { data: Float32Array | Float64Array; shape: number[] }> = {};
  for (const a of opts.arg) {
    const m = /^([A-Za-z_]\w*)=(.+)$/.exec(a);
    if (!m) throw new InputError(`--arg expects NAME=PATH.npy, got '${a}'`);
    const [, name, path] = m as unknown as [string, string, string];
    if (args[name]) throw new InputError(`argument ${name} is given twice`);
    args[name] = toArg(loadNpy(path), name, path);
  }
  if (opts.cluster !== undefined && opts.ranges !== undefined) throw new InputError('--cluster DIR brings its own ranges: leave --ranges out');
  if (opts.presorted && opts.ranges === undefined) throw new InputError('--presorted is for --ranges R.npz on arrays you sorted yourself (--cluster DIR sorts them for you)');
  const { checkRangesRecord, loadClusterDir, loadRangesFile } = await import('./cluster-files.js');
  let ranges: RangesInput | undefined;
  if (opts.ranges) {
    const file = loadRangesFile(opts.ranges);
    ranges = file.ranges;
    if (file.record) checkRangesRecord(opts.ranges, file.record, kernel.args, args, opts.presorted === true);
  }

  const threads = opts.threads === undefined ? undefined : Number(opts.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new InputError(`--threads must be a positive integer, got '${opts.threads}'`);
  const storage = opts.storage as 'float32' | 'float16' | undefined;
  if (opts.distributed !== undefined || opts.tiles !== undefined || opts.resume !== undefined || opts.store !== undefined) {
    if (opts.distributed === undefined) throw new InputError(`--tiles, --resume and --store go with --distributed redis://HOST:PORT`);
    if (opts.cluster !== undefined) throw new InputError(`--cluster and --distributed do not go together yet; run the sorted clouds with --ranges instead`);
    if (opts.backend !== 'auto') throw new InputError(`--backend with --distributed: the workers choose their backend (keopsc worker --backend ${opts.backend})`);
    const result = await runDistributedCli(kernel, args, { ranges, sumScheme: opts.sumScheme as SumScheme, dtypeAcc: opts.dtypeAcc as 'auto', redis: opts.distributed, tiles: opts.tiles, resume: opts.resume, store: opts.store, threads, ...(storage ? { storage } : {}) });
    await writeResult(result, opts.output, out);
    return 0;
  }
  if (opts.quiet) process.env.KEOPSC_QUIET = '1';
  const runOptions = { backend: opts.backend as Backend, ranges, sumScheme: opts.sumScheme as SumScheme, dtypeAcc: opts.dtypeAcc as 'auto', threads, ...(storage ? { storage } : {}) };
  const { runWithProgress } = await import('./progress.js');
  const result: RunResult =
    opts.cluster !== undefined
      ? await (await import('../../runtime/cluster/blocksparse-run.js')).runInOriginalOrder(loadClusterDir(opts.cluster), kernel, args, (({ ranges: _r, ...rest }) => rest)(runOptions))
      : await runWithProgress(kernel, args, runOptions, Boolean(opts.quiet));
  await writeResult(result, opts.output, out);
  return 0;
}

async function writeResult(result: RunResult, output: string | undefined, out: (s: string) => void): Promise<void> {
  const { saveNpy, saveNpz } = await import('../../runtime/npy/index.js');
  const nd = (o: RunResult['outputs'][number]): NdArray => ({
    dtype: o.data instanceof BigInt64Array ? 'int64' : o.data instanceof Float32Array ? 'float32' : 'float64',
    shape: o.shape,
    data: o.data,
  });
  if (output) {
    // checked before the run (checkRunOutput): .npz for any number of outputs, .npy for one
    if (output.endsWith('.npz')) saveNpz(output, Object.fromEntries(result.outputs.map((o) => [o.name, nd(o)])));
    else saveNpy(output, nd(result.outputs[0]!));
    return;
  }
  for (const o of result.outputs) out(formatArray(o.name, o.shape, o.data));
}

/** The shortest decimal that reads back as the same float32 (0.1f prints 0.1, not 0.10000000149011612). */
export function float32String(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  for (let p = 1; p < 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  return String(Number(v.toPrecision(9)));
}

function formatArray(name: string, shape: number[], data: ArrayLike<number | bigint>): string {
  const str = data instanceof Float32Array ? (v: number | bigint) => float32String(v as number) : String;
  const rows = shape[0] ?? 1;
  const width = rows ? data.length / rows : 0;
  const lines = [`${name}: shape (${shape.join(', ')})`];
  const show = Math.min(rows, 20);
  for (let r = 0; r < show; r++) {
    const row = Array.from({ length: width }, (_, k) => str(data[r * width + k]!));
    lines.push(`  [${row.join(', ')}]`);
  }
  if (rows > show) lines.push(`  ... (${rows - show} more rows; write them with -o FILE.npy)`);
  return lines.join('\n');
}

/** The options of `keopsc worker`, as commander parses them. */
export interface WorkerCliOptions {
  redis: string;
  backend: string;
  threads?: string;
  concurrency: string;
  lockMs: string;
  verbose?: boolean;
}

/** A positive integer option, or a one-line error naming it. */
function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 1)) throw new InputError(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

/** `keopsc run --distributed`: the run id and progress on stderr, then what a local run writes. */
async function runDistributedCli(kernel: CompiledKernel, args: Record<string, { data: Float32Array | Float64Array; shape: number[] }>, opts: RunOptions & DistributedOptions): Promise<RunResult> {
  const { runDistributed } = await import('../../runtime/dist/index.js');
  const err = (s: string) => process.stderr.write(s);
  const tty = process.stderr.isTTY;
  let last = '';
  const result = await runDistributed(kernel, args, {
    ...opts,
    onStart: ({ runId, tiles, grid, workers }) => err(`keopsc: distributed run ${runId}: ${tiles} tiles (${grid[0]}x${grid[1]}), ${workers} live worker${workers === 1 ? '' : 's'}; if this coordinator stops, continue with --resume ${runId}\n`),
    onTileProgress: (p) => {
      const r = p.pairsPerSecond;
      const rate = r >= 1e9 ? `${(r / 1e9).toFixed(2)} G` : r >= 1e6 ? `${(r / 1e6).toFixed(1)} M` : `${(r / 1e3).toFixed(1)} k`;
      const line = `keopsc: tiles ${p.done}/${p.total}${p.pairsPerSecond > 0 ? `, ${rate} pairs/s` : ''}${Number.isFinite(p.etaSeconds) && p.done < p.total ? `, ETA ${Math.ceil(p.etaSeconds)} s` : ''}`;
      if (line === last) return;
      last = line;
      err(tty ? `\r${line}\x1b[K${p.done === p.total ? '\n' : ''}` : `${line}\n`);
    },
  });
  return result;
}

/** `keopsc worker`: runs until SIGTERM or SIGINT (then finishes its tiles and exits). */
export async function workerCmd(opts: WorkerCliOptions, err: (s: string) => void): Promise<number> {
  // The handlers are in place before the worker says it listens: a SIGTERM that follows that line at
  // once (a supervisor, or a test) must close the worker, not take the default action. The first
  // signal closes the worker gracefully (at once if it has started, else as soon as it has); a later
  // SIGTERM (a supervisor repeating itself, or one sent to the whole process group while closing)
  // changes nothing; a second Ctrl-C exits at once.
  const state: { stopping: boolean; worker?: { close(): Promise<void> } } = { stopping: false };
  const stop = (sig: string) => {
    if (state.stopping) {
      if (sig === 'SIGINT') process.exit(130);
      return;
    }
    state.stopping = true;
    err(`keopsc worker: ${sig}: finishing the tiles in progress, then exiting`);
    void state.worker?.close();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const { startWorker } = await import('../../runtime/dist/index.js');
  const w = await startWorker({
    redis: opts.redis,
    backend: opts.backend as 'auto',
    threads: positiveInt('threads', opts.threads),
    concurrency: positiveInt('concurrency', opts.concurrency),
    lockMs: positiveInt('lock-ms', opts.lockMs),
    verbose: opts.verbose,
    log: err,
  });
  state.worker = w;
  if (state.stopping) void w.close();
  await w.closed;
  return 0;
}

/** `keopsc cluster`: blockSparseRanges on two .npy clouds, results written as .npy/.npz. */
export async function clusterCmd(xPath: string, yPath: string, opts: { eps: string; cutoff: string; epsY?: string; output: string }, out: (s: string) => void): Promise<number> {
  const [{ loadNpy, saveNpy, saveNpz }, { blockSparseRanges }] = await Promise.all([import('../../runtime/npy/index.js'), import('../../runtime/cluster/index.js'), import('../../runtime/cluster/node.js')]);
  const num = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InputError(`--${name} must be a number, got '${v}'`);
    return n;
  };
  const cloud = (path: string, name: string) => {
    const a = loadNpy(path);
    if (a.dtype !== 'float32' && a.dtype !== 'float64') throw new InputError(`${path} (${name}) has dtype ${a.dtype}; point clouds must be float32 or float64`);
    if (a.shape.length !== 2 && a.shape.length !== 1) throw new InputError(`${path} (${name}) has shape (${a.shape.join(', ')}); point clouds are (n, d) or (n,)`);
    return { data: a.data as Float32Array | Float64Array, shape: a.shape.length === 1 ? [a.shape[0]!, 1] : a.shape };
  };
  const written = ['x_sorted.npy', 'y_sorted.npy', 'perm_x.npy', 'perm_y.npy', 'ranges.npz'];
  mkdirSync(opts.output, { recursive: true });
  checkOutputs(written.map((f) => ({ option: '-o', path: join(opts.output, f) })), [xPath, yPath]);
  const x = cloud(xPath, 'x');
  const y = cloud(yPath, 'y');
  if (x.data.constructor !== y.data.constructor) throw new InputError(`${xPath} and ${yPath} have different dtypes; convert them to one`);
  const bs = blockSparseRanges(x as { data: Float64Array; shape: number[] }, y as { data: Float64Array; shape: number[] }, { eps: num('eps', opts.eps)!, cutoff: num('cutoff', opts.cutoff)!, epsY: num('eps-y', opts.epsY) });
  const nd = (data: NdArray['data'], shape: number[]): NdArray => ({ dtype: data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64' : 'int64', shape, data });
  const i64 = (a: Int32Array) => BigInt64Array.from(a, (v) => BigInt(v));
  saveNpy(join(opts.output, 'x_sorted.npy'), nd(bs.x.data, [...bs.x.shape]));
  saveNpy(join(opts.output, 'y_sorted.npy'), nd(bs.y.data, [...bs.y.shape]));
  saveNpy(join(opts.output, 'perm_x.npy'), nd(i64(bs.permX), [bs.permX.length]));
  saveNpy(join(opts.output, 'perm_y.npy'), nd(i64(bs.permY), [bs.permY.length]));
  const r = bs.ranges;
  const pairs = (a: Int32Array) => nd(i64(a), [a.length / 2, 2]);
  saveNpz(join(opts.output, 'ranges.npz'), {
    ranges_i: pairs(r.ranges_i), slices_i: nd(i64(r.slices_i), [r.slices_i.length]), redranges_j: pairs(r.redranges_j),
    ranges_j: pairs(r.ranges_j), slices_j: nd(i64(r.slices_j), [r.slices_j.length]), redranges_i: pairs(r.redranges_i),
    ...(await import('./cluster-files.js')).clusterRecord({ permX: bs.permX, permY: bs.permY, x: x.data, y: y.data, xSorted: bs.x.data, ySorted: bs.y.data }),
  });
  out(`${bs.clustersX.shape[0]} x-clusters, ${bs.clustersY.shape[0]} y-clusters; the ranges keep ${(100 * bs.keptFraction).toFixed(1)}% of the ${x.shape[0]} x ${y.shape[0]} pairs`);
  out(`wrote x_sorted.npy, y_sorted.npy, perm_x.npy, perm_y.npy, ranges.npz to ${opts.output}`);
  out(`run a kernel on the original arrays with: keopsc run FILE.keo --arg x=${xPath} --arg y=${yPath} ... --cluster ${opts.output}`);
  out('(it permutes every i- and j-argument with perm_x.npy / perm_y.npy, applies the ranges and returns the result in the original order)');
  return 0;
}

/** `keopsc cache ls | clear | dir`: the on-disk cache of compiled CPU kernels and CUDA images. */
export async function cacheCmd(action: 'ls' | 'clear' | 'dir', out: (s: string) => void): Promise<number> {
  const [{ cacheClear, cacheDir }, { cudaCacheClear }] = await Promise.all([import('../../runtime/cpu/index.js'), import('../../runtime/cuda/index.js')]);
  if (action === 'dir') out(cacheDir());
  else if (action === 'clear') out(`removed ${cacheClear() + cudaCacheClear()} entries from ${cacheDir()}`);
  else for (const line of (await import('./cache-list.js')).cacheListing()) out(line);
  return 0;
}
