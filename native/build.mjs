#!/usr/bin/env node
// Build the keopsc native addon into native/build/Release/keopsc_native.node, offline.
//
//   node native/build.mjs            cmake-js (Node-API mode: headers from node-api-headers, nothing
//                                    downloaded); without cmake on the PATH, a direct `c++` build
//   node native/build.mjs --optional on failure, print why and exit 0 (the CPU backend then reports
//                                    itself unavailable and its tests skip with the reason)
//   node native/build.mjs --direct   skip cmake-js, compile with $CXX / c++ directly
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const args = new Set(process.argv.slice(2));
const out = join(here, 'build', 'Release', 'keopsc_native.node');

function has(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

function viaCmakeJs() {
  const cli = require.resolve('cmake-js/bin/cmake-js');
  execFileSync(process.execPath, [cli, 'compile', '-d', here, '--log-level', 'warn'], { stdio: 'inherit', cwd: here });
}

function direct() {
  const cxx = process.env.CXX || 'c++';
  const napi = require('node-api-headers').include_dir;
  const addonApi = require('node-addon-api').include.replace(/"/g, '');
  mkdirSync(dirname(out), { recursive: true });
  const argv = [
    '-std=c++17', '-O2', '-ffp-contract=off', '-fPIC', '-shared', '-fvisibility=hidden', '-pthread',
    '-DNAPI_VERSION=8', '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED', '-DBUILDING_NODE_EXTENSION',
    `-I${napi}`, `-I${addonApi}`,
    join(here, 'src', 'addon.cc'), join(here, 'src', 'cuda.cc'), join(here, 'src', 'cluster.cc'), '-o', out, '-ldl',
  ];
  console.log(`keopsc native: ${cxx} ${argv.join(' ')}`);
  execFileSync(cxx, argv, { stdio: 'inherit' });
}

try {
  if (!args.has('--direct') && has('cmake')) viaCmakeJs();
  else direct();
  if (!existsSync(out)) throw new Error(`the build finished but ${out} is missing`);
  console.log(`keopsc native: built ${out}`);
} catch (e) {
  const why = `keopsc native: the addon was not built: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  if (args.has('--optional')) {
    console.warn(`${why}\n(the cpu backend is unavailable until \`npm run build:native\` succeeds)`);
    process.exit(0);
  }
  console.error(why);
  process.exit(1);
}
