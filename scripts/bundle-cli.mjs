// Bundles the command line into dist/cli/ with esbuild, for a fast start-up (`keopsc check` within 2x
// `node -e 0`, issue 13; `npm run bench` measures it). Run by `npm run build`. Two parts:
//
// - keopsc.cjs: src/cli/main.ts (commander, the front end, diagnostics) as one script, which
//   bin/keopsc.cjs compiles with V8's code cache keopsc.cjs.cache: most of the start-up time of a check
//   is V8 compiling this code, and a code cache skips that. Node 20 has no compile cache for modules
//   (module.enableCompileCache is Node 22), so the script is CommonJS in a function wrapper, run by
//   vm.Script. The cache is made here by a check of a sample file (so it holds the functions a check
//   runs) and is tied to the script's content hash (V8 itself only compares the source's length) and,
//   by V8, to the Node version and flags: anything else and the script is compiled as usual.
// - the other commands (src/cli/lazy.ts: commands.ts, doctor.ts, the language server) as ES modules
//   with their chunks (backends, .npy files, clustering), imported when their command runs. A script
//   run by vm.Script cannot import(), so in keopsc.cjs src/cli/lazy.ts asks the loader for them.
//
// bin/keopsc.cjs runs dist/cli/keopsc.cjs when it exists, else the tsc output dist/src/cli/main.js.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/cli`;

/** The modules of src/cli/lazy.ts, by the name of their bundle in dist/cli (`<name>.mjs`). */
export const LAZY = { commands: 'src/cli/commands.ts', doctor: 'src/cli/doctor.ts', lsp: 'src/lsp/server.ts' };

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  legalComments: 'none',
  // less to parse at start-up; names are kept for readable stack traces
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};

/** The esbuild options of keopsc.cjs (test/cli-bundle.test.ts builds it again to see what it holds). */
export function scriptOptions() {
  return {
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: `${outdir}/keopsc.cjs`,
    format: 'cjs',
    // the wrapper bin/keopsc.cjs calls: the script's value is this function
    banner: { js: '(function (exports, require, module, __keopscImport) {' },
    footer: { js: '})' },
    plugins: [
      {
        name: 'keopsc-lazy',
        setup(b) {
          // src/cli/lazy.ts: the loader imports the ES-module bundles (a vm.Script cannot import())
          b.onLoad({ filter: /[\\/]src[\\/]cli[\\/]lazy\.ts$/ }, () => ({
            loader: 'js',
            contents: `export const lazy = { ${Object.keys(LAZY).map((k) => `${k}: () => __keopscImport(${JSON.stringify(k)})`).join(', ')} };`,
          }));
        },
      },
    ],
  };
}

/** A sample for the check that makes the code cache: a few kernels using the common parts of the language. */
const SAMPLE = `# the check that makes keopsc.cjs.cache runs the parser and type-checker over this
x = Vi(0, 3)
y = Vj(1, 3)
b = Vj(2, 2)
s = Pm(3, 1)
g = Exp(-SqDist(x, y) / (2 * s ** 2))
gauss = Sum_Reduction(g * b, 0); lse = LogSumExp_Reduction(-Norm2(x - y) + Log(Abs(Elem(b, 0)) + 1), 0)
knn = ArgKMin_Reduction(SqNorm2(x - y), 3, 0)
grad = Sum_Reduction(Grad(g * b, x, Vi(4, 2)), 0)
mm = Max_Reduction(IfElse(Sum(x) - 1.5e-1, Sqrt(Abs(y | x)), Cos(Elem(Concat(x, y), 2))), 1)
`;

async function main() {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: LAZY,
    outdir,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    format: 'esm',
    // webgpu loads Dawn's native binary from its own package folder;
    // bullmq forks its sandbox entry (main.js) from its own package folder; ioredis goes with it
    external: ['webgpu', 'bullmq', 'ioredis'],
    // commander is CommonJS and requires node built-ins: give the bundle a require
    banner: { js: "import { createRequire as __keopscRequire } from 'node:module'; const require = __keopscRequire(import.meta.url);" },
  });
  await build(scriptOptions());
  // the content hash ties the code cache to this script (first line, read by bin/keopsc.cjs)
  const script = `${outdir}/keopsc.cjs`;
  const code = readFileSync(script, 'utf8');
  writeFileSync(script, `// keopsc-build ${createHash('sha256').update(code).digest('hex').slice(0, 32)}\n${code}`);
  // the code cache: bin/keopsc.cjs writes it after a check of the sample, run as users run it (no flags)
  const dir = mkdtempSync(join(tmpdir(), 'keopsc-cache-'));
  try {
    writeFileSync(join(dir, 'sample.keo'), SAMPLE);
    const env = { ...process.env, KEOPSC_WRITE_CODE_CACHE: '1' };
    delete env.NODE_OPTIONS;
    const r = spawnSync(process.execPath, [`${root}bin/keopsc.cjs`, 'check', join(dir, 'sample.keo')], { env, encoding: 'utf8' });
    if (r.status !== 0 || !existsSync(`${script}.cache`)) throw new Error(`bundle-cli: the check that makes the code cache failed (status ${r.status}):\n${r.stdout}${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
