import { existsSync } from 'node:fs';
import { loadAddon } from '../native/addon.js';
import { setGpuProvider, type GpuProvider } from './index.js';

/**
 * The Node provider of the WebGPU backend: the `webgpu` package (Dawn), loaded on first use. When no
 * adapter is found and VK_ICD_FILENAMES is not set, it retries once with SwiftShader (the CPU Vulkan
 * driver of Debian's chromium package) if installed, saying so once on stderr (unless KEOPSC_QUIET).
 *
 * Quiet drivers: Dawn, Mesa and the Vulkan loader print warnings from native code straight to fd 2
 * while the instance, the adapter and the device are made (Dawn's "maxDynamic...BuffersPerPipelineLayout
 * artificially reduced", Mesa's "XDG_RUNTIME_DIR is invalid", ...). Those calls run with fd 2 pointed
 * at /dev/null (through the native addon; without it nothing is muted), unless KEOPSC_DEBUG is set.
 */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

type Dawn = { create(flags: string[]): GPU };

async function loadDawn(): Promise<{ dawn?: Dawn; reason?: string }> {
  try {
    const mod = (await import('webgpu')) as unknown as Dawn;
    return { dawn: mod };
  } catch (e) {
    return { reason: `the 'webgpu' package (Dawn for Node) did not load (${(e as Error).message.split('\n')[0]}); reinstall keopsc's dependencies (npm install)` };
  }
}

let muted = 0;
let saved = -1;

/**
 * Run `f` with native writes to stderr (fd 2) discarded, unless KEOPSC_DEBUG is set or the addon is
 * missing. Nested and concurrent calls share one redirection, undone when the last one settles.
 */
export async function withQuietStderr<T>(f: () => T | Promise<T>): Promise<T> {
  const addon = process.env.KEOPSC_DEBUG ? undefined : loadAddon();
  if (!addon?.muteStderr || !addon.restoreStderr) return f();
  if (muted++ === 0) saved = addon.muteStderr();
  try {
    return await f();
  } finally {
    if (--muted === 0) {
      addon.restoreStderr(saved);
      saved = -1;
    }
  }
}

/** The adapter, with `requestDevice` quiet. */
function quietAdapter(adapter: GPUAdapter): GPUAdapter {
  return new Proxy(adapter, {
    get(target, key) {
      if (key === 'requestDevice') return (d?: GPUDeviceDescriptor) => withQuietStderr(() => target.requestDevice(d));
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A Dawn instance made quietly, whose `requestAdapter` (and its adapters' `requestDevice`) are quiet. */
async function quietGpu(dawn: Dawn): Promise<GPU> {
  const gpu = await withQuietStderr(() => dawn.create([]));
  return new Proxy(gpu, {
    get(target, key) {
      if (key === 'requestAdapter')
        return async (o?: GPURequestAdapterOptions) => {
          const a = await withQuietStderr(() => target.requestAdapter(o));
          return a ? quietAdapter(a) : a;
        };
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

let swiftShaderNoticed = false;

export const nodeProvider: GpuProvider = async () => {
  const { dawn, reason } = await loadDawn();
  const source = 'webgpu package (Dawn)';
  if (!dawn) return { reason, source };
  const fallback =
    process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)
      ? async () => {
          process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
          if (!process.env.KEOPSC_QUIET && !swiftShaderNoticed) console.warn(`keopsc: no GPU adapter found; the webgpu backend uses SwiftShader (CPU Vulkan, ${SWIFTSHADER_ICD})`);
          swiftShaderNoticed = true;
          return { gpu: await quietGpu(dawn), source: `${source}, SwiftShader` };
        }
      : undefined;
  const vk = process.env.VK_ICD_FILENAMES;
  return { gpu: await quietGpu(dawn), source: vk ? `${source}, VK_ICD_FILENAMES=${vk}` : source, fallback };
};

setGpuProvider(nodeProvider);
