#!/usr/bin/env node
// The keopsc command line. The compiled CLI lives in dist/ (built by `npm run build`, run by `npm ci`).
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv))
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
      console.error('keopsc: the compiled CLI is missing; run `npm run build` (or `npm ci`) in the keopsc package first.');
    } else {
      console.error(`keopsc: internal error: ${err && err.stack ? err.stack : err}`);
    }
    process.exit(2);
  });
