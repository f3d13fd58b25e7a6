import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { KERNEL_ABI } from '../../src/targets/abi.js';

/** The metadata a compiled kernel exports (`keopsc_info`, native/ABI.md). */
export interface NativeKernelInfo {
  abi: 2;
  name: string;
  dtype: 'float32' | 'float64';
  tag: 0 | 1;
  /** cat 0 = i (M rows), 1 = j (N rows), 2 = parameter (1 row). */
  args: { index: number; dim: number; cat: 0 | 1 | 2 }[];
  /** kind 'float': values of the dtype; 'index': int64. width = values per output row. */
  outputs: { name: string; kind: 'float' | 'index'; width: number }[];
  /** The kernel cache key the library was built under ("" when built without one). */
  key: string;
}

/** An opaque handle on a loaded kernel library (closed when garbage-collected). */
export interface KernelHandle {
  readonly path: string;
  readonly name: string;
}

/** The ranges triplet of the kernel's tag (see runtime/ranges rangesFor). */
export interface NativeRanges {
  out: Int32Array;
  slices: Int32Array;
  red: Int32Array;
}

/** Arguments of the addon's `run`. */
export interface NativeRunArgs {
  /** Inputs by variable index (holes for indices the kernel does not read). */
  inputs: readonly (Float32Array | Float64Array | undefined)[];
  /** One array per output of the info: values of the dtype, or BigInt64Array for indices. */
  outputs: readonly (Float32Array | Float64Array | BigInt64Array)[];
  M: number;
  N: number;
  ranges?: NativeRanges;
  /** Threads, the calling thread included (default: the machine's cores). At most 1024. */
  threads?: number;
  /** Problems with fewer (row, index) pairs run on the calling thread (default 100000). */
  minParallelPairs?: number;
  /** Batch dims (native/ABI.md): the batch shape; `outputs` then hold every entry, (B…, rows, width). */
  batchShape?: Float64Array;
  /** With `batchShape`: per input variable index (inputs.length slots, at least 1) the element stride of
   * each batch dim, 0 where the input is broadcast; row-major (slot, dim). */
  batchStrides?: Float64Array;
}

/** The native addon (native/src/addon.cc). */
export interface NativeAddon {
  /**
   * dlopen a compiled kernel and check its info (and, when `key` is given, that the library was built
   * under that cache key). Throws Error on a missing file, symbol, bad info or another key.
   */
  load(path: string, key?: string): KernelHandle;
  /** The info struct of a loaded kernel. */
  info(handle: KernelHandle): NativeKernelInfo;
  /** Validate every array against the info (TypeError/RangeError), then run; returns the threads used. */
  run(handle: KernelHandle, args: NativeRunArgs): number;
  /** Worker threads the persistent pool has started (the calling thread not included). */
  poolSize(): number;
  /** Point fd 2 at /dev/null; returns a saved descriptor for `restoreStderr` (-1 if it could not). */
  muteStderr?(): number;
  /** Undo `muteStderr`. */
  restoreStderr?(saved: number): void;
  /** The kernel ABI version this addon runs. */
  readonly abi: number;
}

/** Where the addon may be: `$KEOPSC_NATIVE_ADDON`, then native/build/Release from the source tree or from dist/. */
export function addonCandidates(): string[] {
  const rel = 'native/build/Release/keopsc_native.node';
  const list = [fileURLToPath(new URL(`../../${rel}`, import.meta.url)), fileURLToPath(new URL(`../../../${rel}`, import.meta.url))];
  const env = process.env['KEOPSC_NATIVE_ADDON'];
  return env ? [env, ...list] : list;
}

let loaded: { addon?: NativeAddon; reason?: string } | undefined;

/** The addon and, when it cannot be loaded, why (cached after the first call). */
export function addonStatus(): { addon?: NativeAddon; reason?: string } {
  if (loaded) return loaded;
  const found = addonCandidates().find((p) => existsSync(p));
  if (!found) {
    loaded = { reason: `the native addon is not built (looked for ${addonCandidates().join(', ')}); run \`npm run build:native\`` };
    return loaded;
  }
  try {
    const addon = createRequire(import.meta.url)(found) as NativeAddon;
    if (addon.abi !== KERNEL_ABI) loaded = { reason: `the native addon at ${found} runs kernel ABI ${String(addon.abi)}, expected ${KERNEL_ABI}; rebuild it with \`npm run build:native\`` };
    else loaded = { addon };
  } catch (e) {
    loaded = { reason: `the native addon at ${found} failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  return loaded;
}

/** The addon, or undefined when it is missing or fails to load (see {@link addonStatus} for why). */
export function loadAddon(): NativeAddon | undefined {
  return addonStatus().addon;
}

/** The addon, or an Error saying why it is unavailable. */
export function requireAddon(): NativeAddon {
  const s = addonStatus();
  if (!s.addon) throw new Error(`cpu backend unavailable: ${s.reason}`);
  return s.addon;
}
