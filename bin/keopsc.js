#!/usr/bin/env node
// The keopsc command line: the esbuild bundle dist/cli/keopsc.mjs (fast start-up) when it exists, else
// the tsc output dist/src/cli/main.js. Both are built by `npm run build` (run by `npm ci`).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/cli/keopsc.mjs', import.meta.url);
import(existsSync(bundle) ? bundle.href : '../dist/src/cli/main.js')
  .then((m) => m.main(process.argv))
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
      console.error('keopsc: the compiled CLI is missing; run `npm run build` (or `npm ci`) in the keopsc package first.');
    } else {
      console.error(`keopsc: internal error: ${err && err.stack ? err.stack : err}`);
    }
    process.exit(2);
  });
