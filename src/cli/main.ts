// Start-up: `keopsc check` and `keopsc --version` load only commander and the front end (parse and
// type-check). Every other command is in ./commands.ts (or doctor, the language server), loaded through
// ./lazy.ts when it runs, and imports what it needs itself (the Node entry point '../index.js', which
// registers the worker pool and the cpu, cuda and webgpu backends, only for `run`). The bundle
// (scripts/bundle-cli.mjs) makes this module and what it imports one code-cached script, and the rest
// ES-module chunks that a check never reads; test/cli-bundle.test.ts holds it to that.
import { Argument, Command, CommanderError, Option } from 'commander';
import { isKeopsError, formatDiagnostics } from '../diagnostics/index.js';
import { readSource } from './source.js';
import { checkSource } from '../passes/frontend.js';
import { BACKENDS, SUM_SCHEMES } from '../api/types.js';
import type { CompileCliOptions, RunCliOptions, WorkerCliOptions } from './commands.js';
import { lazy } from './lazy.js';

// Exit codes: 0 success, 1 user error (diagnostics, bad input), 2 internal error.

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `keopsc check`: parse and type-check, print diagnostics. */
function check(file: string, opts: { json?: boolean }, out: (s: string) => void): number {
  const text = readSource(file);
  const { source, program, diagnostics } = checkSource(text, file);
  const kernels = program?.kernels.map((k) => k.name) ?? [];
  if (opts.json) {
    out(JSON.stringify({ file, ok: diagnostics.length === 0, kernels, diagnostics }, null, 2));
  } else if (diagnostics.length) {
    out(formatDiagnostics(diagnostics, source));
  } else {
    out(`${file}: ok (${kernels.length} kernel${kernels.length === 1 ? '' : 's'}: ${kernels.join(', ')})`);
  }
  return diagnostics.length ? 1 : 0;
}

let pipeGuarded = false;
/** `keopsc ... | head`: a reader that closes the pipe ends the command quietly with status 0 (not a stack trace). */
function quietOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit(0);
    });
  }
}

/** The CLI entry point. Returns the exit code (also sets process.exitCode when run as a program). */
export async function main(argv: string[], io: { out?: (s: string) => void; err?: (s: string) => void } = {}): Promise<number> {
  if (io.out === undefined) quietOnClosedPipe();
  const out = io.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const err = io.err ?? ((s: string) => process.stderr.write(`${s}\n`));
  let code = 0;
  const program = new Command()
    .name('keopsc')
    .description('Compile and run KeOps-style kernel formulas (.keo files).')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });
  program
    .command('check')
    .description('parse and type-check a .keo file; exit 1 on errors')
    .argument('<file>', '.keo file')
    .option('--json', 'machine-readable diagnostics')
    .action((file: string, opts: { json?: boolean }) => {
      code = check(file, opts, out);
    });
  program
    .command('run')
    .description('run a kernel on .npy arguments')
    .argument('<file>', '.keo file')
    .option('-k, --kernel <name>', 'kernel to run (optional when the file has one)')
    .option('-a, --arg <name=path>', 'an argument as NAME=PATH.npy (repeat for each)', collect, [])
    .option('-r, --ranges <file.npz>', 'block-sparse ranges (.npz with ranges_i, slices_i, redranges_j, ranges_j, slices_j, redranges_i) for arrays already in their order')
    .option('-c, --cluster <dir>', 'block-sparse on the original arrays: the folder keopsc cluster wrote; permutes every argument and the result back')
    .option('--presorted', 'with --ranges from keopsc cluster: the arguments are already permuted with perm_x.npy / perm_y.npy')
    .addOption(new Option('-b, --backend <name>', 'backend').choices([...BACKENDS]).default('auto'))
    .option('-o, --output <file>', 'write the result to OUT.npy (or OUT.npz for two outputs); prints it otherwise')
    .addOption(new Option('--sum-scheme <scheme>', 'summation scheme of Sum reductions').choices([...SUM_SCHEMES]).default('auto'))
    .addOption(new Option('--dtype-acc <dtype>', 'accumulator type of Sum-type reductions').choices(['auto', 'float32', 'float64']).default('auto'))
    .option('-j, --threads <n>', 'threads for large problems (default: all cores)')
    .addOption(new Option('--storage <storage>', 'webgpu, cuda: float16 stores the float32 inputs as halves on the GPU').choices(['float32', 'float16']))
    .option('--distributed <url>', 'run on the workers listening on this Redis (keopsc worker --redis URL)')
    .option('--tiles <IxJ>', '--distributed: row blocks x reduction chunks (default: from the size and the live workers)')
    .option('--resume <run-id>', '--distributed: continue a run whose coordinator stopped, reusing its finished tiles')
    .option('--store <url>', '--distributed: where the inputs go: redis (default) or file:///shared/dir')
    .option('-q, --quiet', 'no progress line and no notices on stderr')
    .action(async (file: string, opts: RunCliOptions) => {
      code = await (await lazy.commands()).run(file, opts, out);
    });
  program
    .command('worker')
    .description('take tiles of distributed runs from a Redis queue and run them on a local backend (SIGTERM: finish the tile, exit)')
    .requiredOption('--redis <url>', 'redis://HOST:PORT')
    .addOption(new Option('-b, --backend <name>', 'local backend of the tiles').choices(['auto', 'cpu', 'js', 'cuda', 'webgpu']).default('auto'))
    .option('-j, --threads <n>', 'threads per tile (default: all cores)')
    .option('-c, --concurrency <n>', 'tiles at once, each in its own process', '1')
    .option('--lock-ms <ms>', 'lock of a running tile; a dead worker\'s tile is retried after about 1.5x this', '10000')
    .option('-v, --verbose', 'one line per tile (tile, pairs, ms)')
    .action(async (opts: WorkerCliOptions) => {
      code = await (await lazy.commands()).workerCmd(opts, err);
    });
  program
    .command('cache')
    .description('the on-disk cache of compiled CPU kernels and CUDA images ($KEOPSC_CACHE_DIR or ~/.cache/keopsc)')
    .addArgument(new Argument('<action>', 'ls: list the entries; clear: delete them; dir: print the folder').choices(['ls', 'clear', 'dir']))
    .action(async (action: 'ls' | 'clear' | 'dir') => {
      code = await (await lazy.commands()).cacheCmd(action, out);
    });
  program
    .command('cluster')
    .description('block-sparse ranges from two point clouds: sorted copies, permutations and ranges (.npz)')
    .argument('<x.npy>', 'the i points, (M, d) float32 or float64')
    .argument('<y.npy>', 'the j points, (N, d), same dtype')
    .requiredOption('--eps <size>', 'grid cell side for the clustering')
    .requiredOption('--cutoff <distance>', 'every pair closer than this is kept (guaranteed)')
    .option('--eps-y <size>', 'grid cell side for y (default: --eps)')
    .requiredOption('-o, --output <dir>', 'folder for x_sorted.npy, y_sorted.npy, perm_x.npy, perm_y.npy, ranges.npz')
    .action(async (xPath: string, yPath: string, opts: { eps: string; cutoff: string; epsY?: string; output: string }) => {
      code = await (await lazy.commands()).clusterCmd(xPath, yPath, opts, out);
    });
  program
    .command('compile')
    .description('show what the compiler makes of a .keo file')
    .argument('<file>', '.keo file')
    .addOption(new Option('--emit <stage>', 'what to print').choices(['ast', 'ir', 'plan']).default('ir'))
    .option('-k, --kernel <name>', 'only this kernel')
    .addOption(new Option('-t, --target <target>', 'print the generated code instead of the IR').choices(['cpp', 'js', 'cuda', 'wgsl']))
    .addOption(new Option('--dtype <dtype>', 'data type of the generated code (default float32; wgsl: float32 only)').choices(['float32', 'float64']))
    .addOption(new Option('--sum-scheme <scheme>', 'summation scheme of Sum reductions').choices([...SUM_SCHEMES]).default('auto'))
    .option('-o, --output <file>', 'write the generated code to a file (cuda: FILE.cu, with the header in FILE.h)')
    .option('--header <file>', 'cuda: where to write the header of the host launcher (default: -o with .h for .cu)')
    .addOption(new Option('--storage <storage>', 'cuda, wgsl: how the inputs are stored (float16: half bits, float32 arithmetic)').choices(['float32', 'float16']))
    .action(async (file: string, opts: CompileCliOptions) => {
      code = await (await lazy.commands()).compileCmd(file, opts, out);
    });
  program
    .command('lsp')
    .description('the language server for editors (LSP over stdin/stdout; see editors/vscode)')
    .option('--stdio', 'talk LSP over stdin/stdout (the only transport, and the default)')
    .allowUnknownOption()
    .action(async () => {
      code = await (await lazy.lsp()).startStdio();
    });
  program
    .command('doctor')
    .description('what every backend needs and what this machine has (compiler, addon, libcuda, NVRTC, GPU, WebGPU adapter)')
    .option('--json', 'machine-readable report')
    .action(async (opts: { json?: boolean }) => {
      code = await (await lazy.doctor()).doctor(opts, out);
    });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode === 0 ? 0 : 1;
    else if (isKeopsError(e)) {
      err(e.message);
      code = 1;
    } else {
      err(`keopsc: internal error (please report it): ${e instanceof Error ? e.stack : String(e)}`);
      code = 2;
    }
  }
  if (io.out === undefined) process.exitCode = code;
  return code;
}
