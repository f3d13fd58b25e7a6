import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cacheClear,
  cacheDir,
  cacheList,
  cacheStats,
  TEMP_MAX_AGE_MS,
  compileKernel,
  compileKernelDetailed,
  findCompiler,
  loadAddon,
  loadCompiled,
  type NativeAddon,
} from '../runtime/cpu/index.js';
import { KERNEL_INFO_DECLS, printKernelInfo } from '../src/targets/abi.js';
import { cpuOrSkip } from './helpers/native.js';

/** The on-disk kernel cache of the CPU backend (runtime/cpu/compiler.ts). */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** A minimal ABI kernel: out[i] = Σ_j (x_i · y_j) · scale, with `tagline` to make distinct sources. */
const kernel = (tagline: string, scale = 1): string => `
#include <stdint.h>
// ${tagline}
struct keopsc_call {
  const void* const* in; void* const* out; int64_t M, N; int64_t r0, r1;
  const int32_t* ranges_out; const int32_t* slices; const int32_t* red; int64_t n_clusters, n_red;
};
extern "C" int keopsc_run(const keopsc_call* c) {
  const double* x = (const double*)c->in[0]; const double* y = (const double*)c->in[1];
  double* out = (double*)c->out[0];
  for (int64_t i = c->r0; i < c->r1; i++) { double a = 0; for (int64_t j = 0; j < c->N; j++) a += x[i] * y[j]; out[i] = a * ${scale}; }
  return 0;
}
${KERNEL_INFO_DECLS}
${printKernelInfo({ name: 'dot', dtype: 'float64', tag: 0, args: [{ index: 0, dim: 1, cat: 0 }, { index: 1, dim: 1, cat: 1 }], outputs: [{ name: 'values', kind: 'float', width: 1 }] })}
`;


describe('cpu kernel cache (runtime/cpu)', function () {
  this.timeout(120000);
  if (!cpuOrSkip()) return;
  const addon = loadAddon() as NativeAddon;
  let base = '';
  let dir = '';
  let saved: string | undefined;
  before(() => {
    base = mkdtempSync(join(tmpdir(), 'keopsc-cache-test-'));
    dir = join(base, 'nested', 'cache');
    saved = process.env['KEOPSC_CACHE_DIR'];
    process.env['KEOPSC_CACHE_DIR'] = dir;
  });
  after(() => {
    if (saved === undefined) delete process.env['KEOPSC_CACHE_DIR'];
    else process.env['KEOPSC_CACHE_DIR'] = saved;
    rmSync(base, { recursive: true, force: true });
  });

  const run = (path: string, x: number[], y: number[]): number[] => {
    const out = new Float64Array(x.length);
    addon.run(addon.load(path), { inputs: [Float64Array.from(x), Float64Array.from(y)], outputs: [out], M: x.length, N: y.length, threads: 1 });
    return Array.from(out);
  };

  it('findCompiler finds $CXX or c++/g++/clang++ with its version', () => {
    const c = findCompiler()!;
    expect(c.path).to.be.a('string').and.not.equal('');
    expect(c.version).to.match(/\d+\.\d+/);
    const savedCxx = process.env['CXX'];
    try {
      process.env['CXX'] = join(base, 'no-such-compiler');
      expect(findCompiler()).to.equal(undefined);
      process.env['CXX'] = 'g++';
      expect(findCompiler()?.path).to.match(/g\+\+$/);
    } finally {
      if (savedCxx === undefined) delete process.env['CXX'];
      else process.env['CXX'] = savedCxx;
    }
  });

  it('creates the cache directory with mode 0700', () => {
    expect(cacheDir()).to.equal(dir);
    expect(statSync(dir).mode & 0o777).to.equal(0o700);
  });

  it('refuses a cache directory that other users can write to', () => {
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    process.env['KEOPSC_CACHE_DIR'] = open;
    try {
      expect(() => cacheDir()).to.throw(Error, /writable by other users \(mode 777\)/);
    } finally {
      process.env['KEOPSC_CACHE_DIR'] = dir;
    }
  });

  it('compiles once; the second call is a cache hit (no compiler run)', () => {
    const src = kernel(`hit test ${Date.now()}`);
    const s0 = cacheStats();
    const first = compileKernelDetailed(src);
    expect(first.hit).to.equal(false);
    const second = compileKernelDetailed(src);
    expect(second.hit).to.equal(true);
    expect(second.path).to.equal(first.path);
    const s1 = cacheStats();
    expect(s1.compiles - s0.compiles).to.equal(1);
    expect(s1.hits - s0.hits).to.equal(1);
    expect(second.ms).to.be.below(first.ms / 5);
    let t = performance.now();
    for (let k = 0; k < 100; k++) compileKernel(src);
    const hitMs = (performance.now() - t) / 100;
    t = performance.now();
    const h = loadCompiled(src);
    const loadMs = performance.now() - t;
    console.log(`      compile ${first.ms.toFixed(0)} ms; cache hit ${hitMs.toFixed(3)} ms; first load (dlopen + info) ${loadMs.toFixed(2)} ms`);
    expect(loadCompiled(src)).to.equal(h); // memoised per process
    expect(run(first.path, [1, 2], [3, 4])).to.deep.equal([7, 14]);
  });

  it('the key covers the flags: other flags give another entry', () => {
    const src = kernel('flags test');
    const a = compileKernel(src);
    const b = compileKernel(src, { flags: ['-O1', '-std=c++17'] });
    expect(a).to.not.equal(b);
    expect(run(b, [1], [5])).to.deep.equal([5]);
  });

  it('compile errors throw with the compiler’s first lines', () => {
    expect(() => compileKernel('int main( { this is not C++')).to.throw(Error, /C\+\+ compilation of a kernel failed[\s\S]*error/);
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).to.deep.equal([]);
  });

  it('two processes compiling the same new kernel at once both succeed, leaving one entry', async () => {
    const src = kernel(`race ${Date.now()}`, 3);
    const srcFile = join(base, 'race.cc');
    writeFileSync(srcFile, src);
    const script = join(base, 'child.ts');
    writeFileSync(
      script,
      `import { readFileSync } from 'node:fs';
import { compileKernelDetailed, loadAddon } from ${JSON.stringify(join(ROOT, 'runtime/cpu/index.ts'))};
const start = Number(process.env.START);
while (Date.now() < start) { /* both children start compiling at the same moment */ }
const r = compileKernelDetailed(readFileSync(${JSON.stringify(srcFile)}, 'utf8'));
const addon = loadAddon()!;
const out = new Float64Array(2);
addon.run(addon.load(r.path), { inputs: [Float64Array.of(1, 2), Float64Array.of(1, 1)], outputs: [out], M: 2, N: 2, threads: 1 });
console.log(JSON.stringify({ path: r.path, hit: r.hit, out: Array.from(out) }));
`,
    );
    const child = (start: number) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, KEOPSC_CACHE_DIR: dir, START: String(start) } });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.on('close', (code) => resolve({ code, out, err }));
      });
    const start = Date.now() + 2500;
    const results = await Promise.all([child(start), child(start)]);
    const parsed = results.map((r) => {
      expect(r.code, r.err).to.equal(0);
      return JSON.parse(r.out.trim().split('\n').pop()!) as { path: string; hit: boolean; out: number[] };
    });
    expect(parsed[0]!.path).to.equal(parsed[1]!.path);
    for (const p of parsed) expect(p.out).to.deep.equal([6, 12]);
    const key = parsed[0]!.path.split('/').pop()!;
    expect(readdirSync(dir).filter((n) => n === key)).to.have.length(1);
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).to.deep.equal([]);
    console.log(`      both compiled concurrently: ${parsed.every((p) => !p.hit)} (hits: ${parsed.map((p) => p.hit).join(', ')})`);
  });

  it('a cache entry holding another kernel\'s library is rebuilt, not run (the library records its key)', () => {
    const srcA = kernel(`swap A ${Date.now()}`, 1);
    const srcB = kernel(`swap B ${Date.now()}`, 5);
    const a = compileKernelDetailed(srcA); // compiled, never loaded in this process
    const b = compileKernelDetailed(srcB);
    expect(addon.info(addon.load(a.path)).key).to.equal(a.key);
    copyFileSync(a.path, b.path); // a valid library, of the wrong kernel
    const c0 = cacheStats().compiles;
    const h = loadCompiled(srcB);
    expect(cacheStats().compiles - c0).to.equal(1);
    expect(addon.info(h).key).to.equal(b.key);
    const out = new Float64Array(1);
    addon.run(h, { inputs: [Float64Array.of(2), Float64Array.of(3)], outputs: [out], M: 1, N: 1, threads: 1 });
    expect(out[0]).to.equal(30); // B's scale 5, not A's 1
  });

  it('a truncated or empty cache entry is rebuilt, not loaded', () => {
    const src = kernel(`truncated ${Date.now()}`, 2);
    const path = compileKernel(src); // compiled, never loaded in this process
    const size = statSync(path).size;
    truncateSync(path, Math.floor(size / 2));
    const c0 = cacheStats().compiles;
    const h = loadCompiled(src);
    expect(cacheStats().compiles - c0).to.equal(1);
    expect(statSync(path).size).to.equal(size);
    const out = new Float64Array(1);
    addon.run(h, { inputs: [Float64Array.of(2), Float64Array.of(5)], outputs: [out], M: 1, N: 1, threads: 1 });
    expect(out[0]).to.equal(20);

    const src2 = kernel(`empty ${Date.now()}`);
    const p2 = compileKernel(src2);
    truncateSync(p2, 0);
    const r = compileKernelDetailed(src2);
    expect(r.hit).to.equal(false);
    expect(statSync(p2).size).to.be.greaterThan(0);

    const src3 = kernel(`garbage ${Date.now()}`);
    const p3 = compileKernel(src3);
    writeFileSync(p3, 'garbage');
    expect(run(loadCompiled(src3).path, [1], [1])).to.deep.equal([1]);
  });

  it('the next compilation removes the temporary files of a killed one (older than a few minutes)', () => {
    const old = new Date(Date.now() - TEMP_MAX_AGE_MS - 60_000);
    const dead = ['.tmp-0123456789abcdef-999-aaaaaa.cc', '.tmp-0123456789abcdef-999-aaaaaa.so'];
    for (const n of dead) {
      writeFileSync(join(dir, n), 'left by a compile that was killed');
      utimesSync(join(dir, n), old, old);
    }
    const young = '.tmp-fedcba9876543210-998-bbbbbb.cc';
    writeFileSync(join(dir, young), 'a compile running now');
    compileKernel(kernel(`sweep ${Date.now()}`)); // a miss
    const temps = readdirSync(dir).filter((n) => n.startsWith('.tmp-'));
    expect(temps).to.deep.equal([young]);
    rmSync(join(dir, young));
  });

  it('cacheList lists the entries; cacheClear removes them and returns how many', () => {
    compileKernel(kernel(`list ${Date.now()}`));
    const list = cacheList();
    expect(list.length).to.be.at.least(2);
    for (const e of list) {
      expect(e.file.startsWith(dir)).to.equal(true);
      expect(e.file).to.match(/[0-9a-f]{64}\.so$/);
      expect(e.size).to.be.greaterThan(0);
      expect(e.mtime).to.be.instanceOf(Date);
    }
    const stale = join(dir, '.tmp-dead-1-abc.so');
    writeFileSync(stale, 'x');
    const fresh = join(dir, '.tmp-live-1-abc.so');
    writeFileSync(fresh, 'x');
    const old = new Date(Date.now() - 3600_000);
    // a leftover of a dead compilation (an hour old) goes; a young one may be a compilation running now
    utimesSync(stale, old, old);
    expect(cacheClear()).to.equal(list.length);
    expect(cacheList()).to.deep.equal([]);
    expect(readdirSync(dir)).to.deep.equal(['.tmp-live-1-abc.so']);
  });
});

