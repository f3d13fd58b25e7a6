#!/usr/bin/env node
// The keopsc command line: the bundle dist/cli (scripts/bundle-cli.mjs) when it exists, else the tsc
// output dist/src/cli/main.js. Both are built by `npm run build` (run by `npm ci`).
//
// The bundle's script keopsc.cjs (commander and the front end: all that `check` runs) is compiled with
// V8's code cache keopsc.cjs.cache, which skips most of the start-up; the cache is used only when it was
// made for this script (the content hash on the script's first line) and, as V8 checks, by this Node
// version with the same flags; otherwise the script is compiled as usual. The other commands' modules
// are ES modules beside it, imported when their command runs. KEOPSC_DEBUG_STARTUP=1 says on stderr
// whether the cache was used; KEOPSC_WRITE_CODE_CACHE=1 (the build) writes it after the command.
//
// CommonJS, for start-up: Node sets up its ES-module loader only when a command imports one.
'use strict';
const { readFileSync, writeFileSync, renameSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const { Script } = require('node:vm');

const dir = join(__dirname, '../dist/cli');

function fail(err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
    console.error('keopsc: the compiled CLI is missing; run `npm run build` (or `npm ci`) in the keopsc package first.');
  } else {
    console.error(`keopsc: internal error: ${err && err.stack ? err.stack : err}`);
  }
  process.exit(2);
}

/** The bundle's `main`, or undefined when dist/cli/keopsc.cjs is not there. */
function bundledMain() {
  const file = join(dir, 'keopsc.cjs');
  let source;
  try {
    source = readFileSync(file, 'utf8');
  } catch (e) {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  }
  const id = /^\/\/ keopsc-build ([0-9a-f]+)\n/.exec(source)?.[1];
  const header = `keopsc-code-cache ${id}\n`;
  let cachedData;
  try {
    const cache = id === undefined ? undefined : readFileSync(`${file}.cache`);
    if (cache?.subarray(0, header.length).toString('latin1') === header) cachedData = cache.subarray(header.length);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  const script = new Script(source, { filename: file, cachedData });
  if (process.env.KEOPSC_DEBUG_STARTUP === '1') {
    process.stderr.write(`keopsc: code cache ${cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used'} (${file}.cache)\n`);
  }
  if (process.env.KEOPSC_WRITE_CODE_CACHE === '1' && id !== undefined) {
    process.once('exit', () => {
      writeFileSync(`${file}.cache.tmp`, Buffer.concat([Buffer.from(header, 'latin1'), script.createCachedData()]));
      renameSync(`${file}.cache.tmp`, `${file}.cache`);
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, (name) => import(pathToFileURL(join(dir, `${name}.mjs`)).href));
  return module.exports.main;
}

async function start() {
  const main = bundledMain() ?? (await import('../dist/src/cli/main.js')).main;
  await main(process.argv);
}

start().catch(fail);
