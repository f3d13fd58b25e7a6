// Bundles the command line (src/cli/main.ts) into dist/cli/ with esbuild, so that `keopsc` starts by
// reading one file instead of resolving hundreds of modules (chevrotain, commander and the front end
// inlined). The modules that only some commands use (backends, .npy files, clustering, doctor) are
// dynamic imports in main.ts and land in chunks of their own, read only when used. bin/keopsc.js runs
// dist/cli/keopsc.mjs when it exists, else the tsc output dist/src/cli/main.js. Run by `npm run build`.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/cli`;
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { keopsc: 'src/cli/main.ts' },
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // webgpu loads Dawn's native binary from its own package folder;
  // bullmq forks its sandbox entry (main.js) from its own package folder; ioredis goes with it
  external: ['webgpu', 'bullmq', 'ioredis'],
  // commander is CommonJS and requires node built-ins: give the bundle a require
  banner: { js: "import { createRequire as __keopscRequire } from 'node:module'; const require = __keopscRequire(import.meta.url);" },
  legalComments: 'none',
  // less to parse at start-up; names are kept for readable stack traces
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
