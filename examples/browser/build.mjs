/**
 * Bundle the browser example with esbuild (offline, no config): examples/browser/main.ts and the
 * keopsc browser entry (src/browser.ts) become one ES module, next to a copy of index.html.
 *
 *   node examples/browser/build.mjs [--outdir DIR] [--no-minify]    # default DIR: out/browser
 *
 * Imported by the test (test/browser.test.ts) as `buildBrowserExample({ outdir })`.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

/**
 * Build the page into `outdir` (index.html + main.js + main.js.map). Fails, naming the importing file,
 * if anything reachable from the page imports a Node-only module.
 * @param {{ outdir?: string, minify?: boolean, plugins?: import('esbuild').Plugin[], logLevel?: import('esbuild').LogLevel }} [options]
 * @returns {Promise<{ outdir: string, bundle: string, bytes: number, ms: number, inputs: number }>}
 */
export async function buildBrowserExample(options = {}) {
  const outdir = resolve(options.outdir ?? join(root, 'out/browser'));
  mkdirSync(outdir, { recursive: true });
  const t0 = performance.now();
  const result = await build({
    entryPoints: [join(here, 'main.ts')],
    outfile: join(outdir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: true,
    metafile: true,
    legalComments: 'none',
    logLevel: options.logLevel ?? 'warning',
    plugins: [noNodeBuiltins, ...(options.plugins ?? [])],
  });
  copyFileSync(join(here, 'index.html'), join(outdir, 'index.html'));
  const bundle = join(outdir, 'main.js');
  return { outdir, bundle, bytes: statSync(bundle).size, ms: performance.now() - t0, inputs: Object.keys(result.metafile.inputs).length };
}

/** Turn any `node:` (or bare Node builtin) import into an error that names the importer. */
const noNodeBuiltins = {
  name: 'no-node-builtins',
  setup(b) {
    const builtins = /^(node:.*|fs|path|os|url|crypto|child_process|worker_threads|module|util|stream|events|buffer)(\/.*)?$/;
    b.onResolve({ filter: builtins }, (args) => ({
      errors: [{ text: `'${args.path}' is a Node-only module, imported by ${relative(root, args.importer)}; the browser entry (src/browser.ts) must not reach it` }],
    }));
  },
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--outdir');
  const outdir = at >= 0 ? argv[at + 1] : undefined;
  try {
    const r = await buildBrowserExample({ outdir, minify: !argv.includes('--no-minify') });
    console.log(`built ${relative(process.cwd(), r.bundle) || r.bundle} (${(r.bytes / 1024).toFixed(0)} KiB from ${r.inputs} files) in ${r.ms.toFixed(0)} ms`);
  } catch {
    // esbuild has already printed the errors
    process.exit(1);
  }
}
