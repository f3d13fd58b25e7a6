import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import type { KernelHandle } from '../native/addon.js';
import { requireAddon } from '../native/addon.js';
import { KERNEL_ABI } from '../../src/targets/abi.js';
import { cacheDir, cacheFiles, sweepTemps, type CacheEntry } from '../native/cache.js';

export { cacheDir, cacheFiles, sweepTemps, TEMP_MAX_AGE_MS, type CacheEntry } from '../native/cache.js';

/** A C++ compiler: the executable and the first line of its `--version`. */
export interface Compiler {
  path: string;
  version: string;
}

/** Flags used when {@link CompileOptions.flags} is not given. `-shared -fPIC` are always added. */
export const DEFAULT_FLAGS: readonly string[] = ['-O3', '-march=native', '-std=c++17'];

export interface CompileOptions {
  /** Compiler flags, replacing {@link DEFAULT_FLAGS} (`-shared -fPIC` are always added). */
  flags?: readonly string[];
  /** The compiler to use (default: {@link findCompiler}). */
  compiler?: Compiler;
}

/** What {@link compileKernelDetailed} did. */
export interface CompileResult {
  /** The cached library. */
  path: string;
  /** True when the library was already in the cache (nothing compiled). */
  hit: boolean;
  /** Time spent, in milliseconds (hashing and, on a miss, compiling). */
  ms: number;
  /** The cache key (sha256, hex). */
  key: string;
}

function onPath(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

let compilerCache: { key: string; value: Compiler | undefined } | undefined;

/**
 * The C++ compiler: `$CXX` if set, else the first of `c++`, `g++`, `clang++` on the PATH, with the
 * first line of its `--version`; undefined when there is none that runs. Cached per `$CXX`/`$PATH`.
 */
export function findCompiler(): Compiler | undefined {
  const cxx = process.env['CXX'];
  const key = `${cxx ?? ''}\0${process.env['PATH'] ?? ''}`;
  if (compilerCache?.key === key) return compilerCache.value;
  let value: Compiler | undefined;
  for (const name of cxx ? [cxx] : ['c++', 'g++', 'clang++']) {
    const path = isAbsolute(name) ? name : onPath(name);
    if (!path) continue;
    try {
      const out = execFileSync(path, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
      value = { path, version: out.split('\n')[0]!.trim() };
      break;
    } catch {
      /* not runnable: try the next */
    }
  }
  compilerCache = { key, value };
  return value;
}

let cpuModelCache: string | undefined;

/** The CPU model (from /proc/cpuinfo, else os.cpus()), part of the cache key since kernels use -march=native. */
export function cpuModel(): string {
  if (cpuModelCache !== undefined) return cpuModelCache;
  let model = '';
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const name = /^model name\s*:\s*(.*)$/m.exec(text)?.[1];
    const flags = /^flags\s*:\s*(.*)$/m.exec(text)?.[1];
    model = [name, flags].filter(Boolean).join(' | ');
  } catch {
    /* not Linux */
  }
  if (!model) model = cpus()[0]?.model ?? 'unknown';
  cpuModelCache = `${process.arch} ${model}`;
  return cpuModelCache;
}

const stats = { hits: 0, compiles: 0 };

/** Cache hits and compilations in this process (for tests and diagnostics). */
export function cacheStats(): { hits: number; compiles: number } {
  return { ...stats };
}

/** The cache key of a kernel source for a compiler, flags and this CPU. */
export function cacheKey(source: string, compiler: Compiler, flags: readonly string[]): string {
  const h = createHash('sha256');
  for (const part of [`keopsc-abi-${KERNEL_ABI}`, source, compiler.path, compiler.version, flags.join('\0'), cpuModel()]) {
    h.update(part);
    h.update('\0\0');
  }
  return h.digest('hex');
}

/**
 * Compile a kernel source to a shared library in the on-disk cache, or find it there. The library is
 * built into a temporary file of the cache directory and renamed into place, so concurrent processes
 * never see a half-written file (the last rename wins; both are the same kernel). Compile errors throw
 * an Error with the compiler's first lines.
 */
export function compileKernelDetailed(source: string, opts: CompileOptions = {}): CompileResult {
  const t0 = performance.now();
  const compiler = opts.compiler ?? findCompiler();
  if (!compiler) throw new Error('cpu backend unavailable: no C++ compiler found (set $CXX, or install g++ or clang++)');
  const flags = opts.flags ?? DEFAULT_FLAGS;
  const key = cacheKey(source, compiler, flags);
  const dir = cacheDir();
  const path = join(dir, `${key}.so`);
  try {
    if (statSync(path).size > 0) {
      stats.hits++;
      return { path, hit: true, ms: performance.now() - t0, key };
    }
  } catch {
    /* not cached */
  }
  sweepTemps(dir);
  const tag = `.tmp-${key.slice(0, 16)}-${process.pid}-${randomBytes(6).toString('hex')}`;
  const src = join(dir, `${tag}.cc`);
  const tmp = join(dir, `${tag}.so`);
  try {
    writeFileSync(src, source, { mode: 0o600 });
    try {
      execFileSync(compiler.path, [...flags, '-shared', '-fPIC', `-DKEOPSC_KEY="${key}"`, '-o', tmp, src], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      const lines = (err.stderr || err.message).split('\n').filter((l) => l.trim() !== '');
      const head = lines.slice(0, 20).join('\n');
      throw new Error(`C++ compilation of a kernel failed (${compiler.path} ${[...flags, '-shared', '-fPIC'].join(' ')}):\n${head}${lines.length > 20 ? `\n... (${lines.length - 20} more lines)` : ''}`);
    }
    renameSync(tmp, path);
    stats.compiles++;
  } finally {
    rmSync(src, { force: true });
    rmSync(tmp, { force: true });
  }
  return { path, hit: false, ms: performance.now() - t0, key };
}

/** {@link compileKernelDetailed}, returning the library's path. */
export function compileKernel(source: string, opts: CompileOptions = {}): string {
  return compileKernelDetailed(source, opts).path;
}

/** Loaded kernels by source, then by flags and compiler (the source string's hash is cached by V8). */
const handles = new Map<string, Map<string, KernelHandle>>();

/**
 * Compile (or find in the cache) and load a kernel. Each library records the cache key it was built
 * under (`keopsc_info`'s key, native/ABI.md), and the addon checks it on load: a cached library that
 * fails to load (truncated, lacking the ABI symbols, or built for another key: a copied or restored
 * cache, a file put in place by hand) is deleted and rebuilt once; a freshly built one that fails throws.
 * Loaded handles are kept for the process, by source and flags.
 */
export function loadCompiled(source: string, opts: CompileOptions = {}): KernelHandle {
  const memo = opts.flags || opts.compiler ? `${(opts.flags ?? DEFAULT_FLAGS).join('\0')}\0\0${opts.compiler?.path ?? ''}` : '';
  let bySource = handles.get(source);
  const known = bySource?.get(memo);
  if (known) return known;
  const addon = requireAddon();
  const first = compileKernelDetailed(source, opts);
  let handle: KernelHandle;
  try {
    handle = addon.load(first.path, first.key);
  } catch (e) {
    if (!first.hit) throw e;
    rmSync(first.path, { force: true });
    const again = compileKernelDetailed(source, opts);
    handle = addon.load(again.path, again.key);
  }
  if (!bySource) handles.set(source, (bySource = new Map()));
  bySource.set(memo, handle);
  return handle;
}

/** The cached libraries, oldest first. */
export function cacheList(): CacheEntry[] {
  return cacheFiles(cacheDir(), /^[^.].*\.so$/);
}

/**
 * Delete every cached library (and temporary files left over by compilations that died, older than
 * TEMP_MAX_AGE_MS: younger ones may belong to a compilation running now); returns how many libraries
 * were removed. Kernels already loaded in this process stay usable (their mapping outlives the file).
 */
export function cacheClear(): number {
  const dir = cacheDir();
  let n = 0;
  for (const e of cacheList()) {
    rmSync(e.file, { force: true });
    n++;
  }
  sweepTemps(dir);
  handles.clear();
  return n;
}
