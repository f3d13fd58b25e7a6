/**
 * The `cuda` backend: CUDA C printed by src/targets/cuda.ts, compiled at run time by NVRTC for the
 * device's architecture, cached on disk (like the CPU kernels), and launched through the CUDA driver
 * API by the native addon (native/src/cuda.cc). The addon loads `libcuda.so.1` and `libnvrtc.so*` with
 * dlopen when first asked, so keopsc builds and runs without CUDA; {@link cudaStatus} says what is
 * missing.
 * @module
 */
import { batchArgs, type BatchLayout } from '../batch/index.js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../src/diagnostics/index.js';
import { checkStorage } from '../../src/api/backends.js';
import type { KernelPlan } from '../../src/lower/plan.js';
import { cudaLayout, printCuda, type CudaCodeOptions, type CudaLayout } from '../../src/targets/cuda.js';
import { allocateOutputs } from '../outputs.js';
import type { KernelOutput } from '../../src/api/types.js';
import { blockTable, coalesce, rangesFor, type Ranges } from '../ranges/index.js';
import { addonStatus } from '../native/addon.js';
import { cacheDir, cacheFiles, sweepTemps, type CacheEntry } from '../native/cache.js';
import { toHalfBits } from '../half.js';

/** What the addon's `cudaProbe` reports (native/src/cuda.cc). */
export interface CudaProbe {
  driver:
    | { ok: true; path: string; version?: number; devices: number; device: CudaDeviceInfo }
    | { ok: false; stage: 'load' | 'init' | 'device'; error: string; path?: string; version?: number };
  nvrtc: { ok: true; path: string; version: [number, number]; cubin: boolean; archs: number[] } | { ok: false; error: string };
}

/** The GPU the backend runs on. */
export interface CudaDeviceInfo {
  index: number;
  name: string;
  /** Compute capability. */
  major: number;
  minor: number;
  multiprocessors: number;
  maxThreadsPerBlock: number;
  sharedMemPerBlock: number;
  /** Bytes of device memory. */
  memory: number;
}

/** An opaque handle on a loaded CUDA module. */
export interface CudaKernelHandle {
  readonly name: string;
}

/** The CUDA functions of the native addon (native/src/cuda.cc). */
export interface CudaAddon {
  cudaProbe(libcuda: readonly string[], libnvrtc: readonly string[], device: number): CudaProbe;
  nvrtcCompile(source: string, name: string, options: readonly string[], cubin: boolean): { image: Uint8Array; log: string };
  cudaLoad(image: Uint8Array, layout: CudaLayout, device: number): CudaKernelHandle;
  cudaRun(
    handle: CudaKernelHandle,
    args: {
      /** Arrays of the layout's dtype; Uint16Array half bits where `layout.storage` is `float16`. */
      inputs: readonly (Float32Array | Float64Array | Uint16Array | undefined)[];
      outputs: readonly (Float32Array | Float64Array | BigInt64Array)[];
      M: number;
      N: number;
      ranges?: { slices: Int32Array; red: Int32Array; table: Int32Array };
      /** Batch dims, as the cpu addon's run (native/ABI.md): the shape and the strides by input slot. */
      batchShape?: Float64Array;
      batchStrides?: Float64Array;
    },
  ): { allocated: number };
  cudaRelease(): number;
}

/** Where the driver library may be: `$KEOPSC_LIBCUDA`, then the names the NVIDIA driver installs. */
export function libcudaCandidates(): string[] {
  const env = process.env['KEOPSC_LIBCUDA'];
  return env ? [env] : ['libcuda.so.1', 'libcuda.so', '/usr/lib/wsl/lib/libcuda.so.1'];
}

/**
 * Where NVRTC may be: `$KEOPSC_LIBNVRTC`, then `libnvrtc.so` and its versioned names on the library path,
 * then the `libnvrtc.so*` files of `$CUDA_HOME`, `$CUDA_PATH` and `/usr/local/cuda` (lib64 and
 * targets/x86_64-linux/lib), newest version first.
 */
export function libnvrtcCandidates(): string[] {
  const env = process.env['KEOPSC_LIBNVRTC'];
  if (env) return [env];
  const names = ['libnvrtc.so', 'libnvrtc.so.13', 'libnvrtc.so.12', 'libnvrtc.so.11.2'];
  const roots = [process.env['CUDA_HOME'], process.env['CUDA_PATH'], '/usr/local/cuda'].filter((r): r is string => !!r);
  const files: string[] = [];
  for (const root of [...new Set(roots)])
    for (const dir of [join(root, 'lib64'), join(root, 'targets', 'x86_64-linux', 'lib')]) {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        continue;
      }
      const found = entries.filter((f) => /^libnvrtc\.so(\.\d+)*$/.test(f)).sort((a, b) => versionOf(b) - versionOf(a));
      files.push(...found.map((f) => join(dir, f)));
    }
  return [...names, ...new Set(files)];
}

function versionOf(file: string): number {
  const parts = file.replace(/^libnvrtc\.so\.?/, '').split('.').filter(Boolean).map(Number);
  return (parts[0] ?? 1e6) * 1e6 + (parts[1] ?? 0) * 1e3 + (parts[2] ?? 0);
}

/** `$KEOPSC_CUDA_DEVICE` (default 0): the GPU the backend uses. */
export function cudaDeviceIndex(): number {
  const v = process.env['KEOPSC_CUDA_DEVICE'];
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 1023) throw new InputError(`KEOPSC_CUDA_DEVICE must be a device number (0, 1, ...), got '${v}'`);
  return n;
}

/** "12.4" from the driver's 12040. */
export function driverVersionString(v: number | undefined): string {
  return v === undefined ? 'unknown version' : `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/** What {@link cudaStatus} reports when the backend can run. */
export interface CudaReady {
  ok: true;
  driver: { path: string; version: string };
  nvrtc: { path: string; version: string; cubin: boolean; archs: number[] };
  device: CudaDeviceInfo & { arch: string };
}

/** What {@link cudaStatus} reports when it cannot: `reason` is one line; the parts found are kept. */
export interface CudaUnavailable {
  ok: false;
  reason: string;
  driver?: { path: string; version: string };
  nvrtc?: { path: string; version: string };
  device?: CudaDeviceInfo & { arch: string };
}

let probed: CudaReady | CudaUnavailable | undefined;

/** The addon's CUDA functions, or why there are none (the addon is missing, or older than cuda.cc). */
export function cudaAddon(): { addon: CudaAddon } | { reason: string } {
  const s = addonStatus();
  if (!s.addon) return { reason: s.reason ?? 'the native addon is unavailable' };
  const a = s.addon as unknown as Partial<CudaAddon>;
  if (typeof a.cudaProbe !== 'function') return { reason: 'the native addon was built without CUDA support (it predates native/src/cuda.cc); rebuild it with `npm run build:native`' };
  return { addon: a as CudaAddon };
}

/** Turn the addon's probe into a status with one-line reasons (exported for tests). */
export function describeProbe(p: CudaProbe, env: { libcuda?: string; libnvrtc?: string } = {}): CudaReady | CudaUnavailable {
  const why: string[] = [];
  const out: Partial<CudaUnavailable> = {};
  const d = p.driver;
  if (d.ok) {
    out.driver = { path: d.path, version: driverVersionString(d.version) };
    out.device = { ...d.device, arch: `sm_${d.device.major}${d.device.minor}` };
  } else if (d.stage === 'load') {
    why.push(env.libcuda ? `KEOPSC_LIBCUDA=${env.libcuda} cannot be loaded (${d.error})` : d.error.startsWith('not found') ? 'libcuda.so.1 not found (no NVIDIA driver)' : d.error);
  } else {
    if (d.path) out.driver = { path: d.path, version: driverVersionString(d.version) };
    why.push(d.stage === 'init' ? `the NVIDIA driver found no usable GPU (${d.error.replace(/^cuda: /, '')})` : d.error.replace(/^cuda: /, ''));
  }
  const r = p.nvrtc;
  if (r.ok) out.nvrtc = { path: r.path, version: `${r.version[0]}.${r.version[1]}` };
  else
    why.push(
      env.libnvrtc
        ? `KEOPSC_LIBNVRTC=${env.libnvrtc} cannot be loaded (${r.error})`
        : r.error.startsWith('not found')
          ? 'libnvrtc.so not found (install the CUDA toolkit or its NVRTC package, e.g. apt-get install libnvrtc11.2 or pip install nvidia-cuda-nvrtc-cu12, or set KEOPSC_LIBNVRTC)'
          : r.error,
    );
  if (why.length || !d.ok || !r.ok) return { ok: false, reason: why.join('; '), ...out };
  return { ok: true, driver: out.driver!, nvrtc: { ...out.nvrtc!, cubin: r.cubin, archs: r.archs }, device: out.device! };
}

/**
 * Whether the cuda backend can run here, and what it found: the driver library (path, CUDA version),
 * NVRTC (path, version) and the GPU (name, compute capability as `sm_XY`); else a one-line reason such
 * as "libcuda.so.1 not found (no NVIDIA driver)". Probed once per process (the addon loads each library
 * at most once).
 */
export function cudaStatus(): CudaReady | CudaUnavailable {
  if (probed) return probed;
  const a = cudaAddon();
  if (!('addon' in a)) return (probed = { ok: false, reason: a.reason });
  let device: number;
  try {
    device = cudaDeviceIndex();
  } catch (e) {
    return (probed = { ok: false, reason: (e as Error).message });
  }
  const p = a.addon.cudaProbe(libcudaCandidates(), libnvrtcCandidates(), device);
  probed = describeProbe(p, { libcuda: process.env['KEOPSC_LIBCUDA'], libnvrtc: process.env['KEOPSC_LIBNVRTC'] });
  return probed;
}

/** Forget the probe (tests change the library candidates through the environment). The addon keeps
 * the libraries it has loaded. */
export function resetCudaStatus(): void {
  probed = undefined;
}

function requireCuda(): { addon: CudaAddon; status: CudaReady } {
  const s = cudaStatus();
  if (!s.ok) throw new InputError(`backend 'cuda' is unavailable: ${s.reason}`);
  return { addon: (cudaAddon() as { addon: CudaAddon }).addon, status: s };
}

/**
 * The NVRTC target for a device of compute capability `major.minor`: a cubin for `sm_XY` when this NVRTC
 * supports that architecture and produces cubins (11.1+), else PTX for the newest `compute_XY` it
 * supports that is not newer than the device (the driver compiles PTX for the device when loading it).
 */
export function nvrtcTarget(major: number, minor: number, nvrtc: { cubin: boolean; archs: readonly number[] }): { option: string; cubin: boolean; arch: string } {
  const cc = major * 10 + minor;
  if (nvrtc.archs.length === 0) return { option: `--gpu-architecture=compute_${cc}`, cubin: false, arch: `compute_${cc}` };
  if (nvrtc.archs.includes(cc) && nvrtc.cubin) return { option: `--gpu-architecture=sm_${cc}`, cubin: true, arch: `sm_${cc}` };
  const older = nvrtc.archs.filter((a) => a <= cc);
  if (!older.length) throw new InputError(`backend 'cuda': this NVRTC supports ${nvrtc.archs.map((a) => `sm_${a}`).join(', ')}, none of which runs on the GPU's sm_${cc}; install an NVRTC that supports it`);
  const best = Math.max(...older);
  return { option: `--gpu-architecture=compute_${best}`, cubin: false, arch: `compute_${best}` };
}

/** The folder of cached CUDA images: `cuda/` in the kernel cache ({@link cacheDir}). */
export function cudaCacheDir(): string {
  const dir = join(cacheDir(), 'cuda');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The cache key of a CUDA image: the source, the NVRTC options and the NVRTC version. */
export function cudaCacheKey(source: string, options: readonly string[], nvrtcVersion: string): string {
  const h = createHash('sha256');
  for (const part of ['keopsc-cuda-1', source, options.join('\0'), nvrtcVersion]) {
    h.update(part);
    h.update('\0\0');
  }
  return h.digest('hex');
}

const cudaStats = { hits: 0, compiles: 0 };

/** NVRTC compilations and cache hits in this process (for tests and diagnostics). */
export function cudaCacheStats(): { hits: number; compiles: number } {
  return { ...cudaStats };
}

/**
 * Compile a CUDA source with NVRTC for the current device, or find the image (cubin or PTX) in the
 * on-disk cache. The image is written to a temporary file and renamed into place, so that concurrent
 * processes never read half a file. Compile errors throw an Error with NVRTC's log.
 */
export function compileCuda(source: string, opts: { fastMath?: boolean } = {}): { image: Uint8Array; path: string; hit: boolean; arch: string } {
  const { addon, status } = requireCuda();
  const target = nvrtcTarget(status.device.major, status.device.minor, status.nvrtc);
  const options = [target.option, ...(opts.fastMath ? ['--use_fast_math'] : [])];
  const key = cudaCacheKey(source, options, status.nvrtc.version);
  const dir = cudaCacheDir();
  const path = join(dir, `${key}.${target.cubin ? 'cubin' : 'ptx'}`);
  try {
    if (statSync(path).size > 0) {
      cudaStats.hits++;
      return { image: new Uint8Array(readFileSync(path)), path, hit: true, arch: target.arch };
    }
  } catch {
    /* not cached */
  }
  let image: Uint8Array;
  try {
    image = addon.nvrtcCompile(source, 'keopsc.cu', options, target.cubin).image;
  } catch (e) {
    const lines = (e as Error).message.split('\n');
    throw new Error(`NVRTC compilation of a kernel failed (${options.join(' ')}): ${lines.slice(0, 20).join('\n')}${lines.length > 20 ? `\n... (${lines.length - 20} more lines)` : ''}`);
  }
  sweepTemps(dir);
  const tmp = join(dir, `.tmp-${key.slice(0, 16)}-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    writeFileSync(tmp, image, { mode: 0o600 });
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  cudaStats.compiles++;
  return { image, path, hit: false, arch: target.arch };
}

/** The cached CUDA images (cubin and PTX files). */
export function cudaCacheList(): CacheEntry[] {
  return cacheFiles(join(cacheDir(), 'cuda'), /^[0-9a-f]{64}\.(cubin|ptx)$/);
}

/** Delete the cached CUDA images; returns how many were removed (loaded modules stay usable). */
export function cudaCacheClear(): number {
  const list = cudaCacheList();
  for (const e of list) rmSync(e.file, { force: true });
  sweepTemps(join(cacheDir(), 'cuda'));
  return list.length;
}

/** Loaded modules by source and options (one per process). */
const modules = new Map<string, CudaKernelHandle>();

/**
 * Compile (or find in the cache) and load the kernels of a CUDA source with their layout. A cached image
 * the driver rejects is deleted and compiled again once.
 */
export function loadCuda(source: string, layout: CudaLayout, opts: { fastMath?: boolean } = {}): CudaKernelHandle {
  const memo = `${opts.fastMath ? 'fast' : 'precise'}\0${source}`;
  const known = modules.get(memo);
  if (known) return known;
  const { addon } = requireCuda();
  const device = cudaDeviceIndex();
  const first = compileCuda(source, opts);
  let handle: CudaKernelHandle;
  try {
    handle = addon.cudaLoad(first.image, layout, device);
  } catch (e) {
    if (!first.hit) throw e;
    rmSync(first.path, { force: true });
    handle = addon.cudaLoad(compileCuda(source, opts).image, layout, device);
  }
  modules.set(memo, handle);
  return handle;
}

/** Free the device buffers the backend keeps between runs; returns the bytes freed. */
export function cudaRelease(): number {
  const a = cudaAddon();
  return 'addon' in a ? a.addon.cudaRelease() : 0;
}

/** Options of {@link runCuda}. */
export interface CudaRunOptions {
  /** Sum-type reductions: `block` or `direct` (`kahan` is not available on the GPU). */
  sumScheme: 'block' | 'kahan' | 'direct';
  accDtype: 'float32' | 'float64';
  /** `--use_fast_math` (fast, less accurate exp/log/division); default off. */
  fastMath?: boolean;
  /** A preallocated array for the values output (checked by the caller). */
  out?: Float32Array | Float64Array;
  /** `float16`: float32 inputs are rounded to halves on the host (round to nearest even), uploaded as
   * 2-byte elements and widened to float on the GPU; arithmetic, accumulators and outputs stay float32.
   * Default `float32` (the inputs as they are). */
  storage?: 'float32' | 'float16';
}

/** The CUDA code options of a run: `kahan` has no GPU version, and float16 storage needs float32 data
 * (both throw InputError). */
export function cudaCodeOptions(dtype: 'float32' | 'float64', opts: Pick<CudaRunOptions, 'sumScheme' | 'accDtype' | 'storage'>): CudaCodeOptions {
  if (opts.sumScheme === 'kahan') throw new InputError(`backend 'cuda' has no sumScheme 'kahan'; use 'block' (the default) or dtypeAcc 'float64', or backend 'cpu'`);
  const storage = checkStorage('cuda', dtype, opts.storage);
  return storage === 'float16' ? { dtype, sumScheme: opts.sumScheme, accDtype: opts.accDtype, storage } : { dtype, sumScheme: opts.sumScheme, accDtype: opts.accDtype };
}

/**
 * Run a kernel plan on the GPU: print the CUDA source for these options, compile it (NVRTC, disk cache)
 * and load it once, copy the inputs to the device (buffers are reused between runs), launch the dense
 * kernel, or the fill and ranges kernels with the block table built here, and copy the outputs back.
 * Values have the dtype, indices are int64. With `storage: 'float16'` the inputs go up as half bits
 * (rounded here) and the half-storage kernel runs.
 */
export function runCuda(
  plan: KernelPlan,
  inp: { arrays: ReadonlyMap<number, Float32Array | Float64Array>; M: number; N: number; dtype: 'float32' | 'float64'; ranges?: Ranges; batch?: BatchLayout },
  opts: CudaRunOptions,
  source?: string,
): KernelOutput[] {
  const code = cudaCodeOptions(inp.dtype, opts);
  const { addon } = requireCuda();
  const layout = cudaLayout(plan, code);
  const handle = loadCuda(source ?? printCuda(plan, code).source, layout, { fastMath: opts.fastMath });
  const rows = plan.tag === 0 ? inp.M : inp.N;
  const outputs = allocateOutputs(plan, rows, inp.dtype, opts.out, false, inp.batch?.shape);
  const half = layout.storage === 'float16';
  const inputs = Array.from({ length: layout.nIn }, (_, k) => {
    const a = inp.arrays.get(k);
    return a && half ? toHalfBits(a as Float32Array) : a;
  });
  let ranges: { slices: Int32Array; red: Int32Array; table: Int32Array } | undefined;
  if (inp.ranges) {
    const t = coalesce(rangesFor(inp.ranges, plan.tag));
    ranges = { slices: t.slices, red: t.red, table: blockTable(t.out, rows, layout.blockRows, 'skip') };
  }
  addon.cudaRun(handle, { inputs, outputs: outputs.map((o) => o.data), M: inp.M, N: inp.N, ranges, ...(inp.batch ? batchArgs(inp.batch, layout.nIn) : {}) });
  return outputs;
}
