import { existsSync } from 'node:fs';
import { setGpuProvider, type GpuProvider } from './index.js';

/**
 * The Node provider of the WebGPU backend: the `webgpu` package (Dawn), loaded on first use. When no
 * adapter is found and VK_ICD_FILENAMES is not set, it retries once with SwiftShader (the CPU Vulkan
 * driver of Debian's chromium package) if installed, saying so once on stderr (unless KEOPSC_QUIET).
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

export const nodeProvider: GpuProvider = async () => {
  const { dawn, reason } = await loadDawn();
  const source = 'webgpu package (Dawn)';
  if (!dawn) return { reason, source };
  const fallback =
    process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)
      ? async () => {
          process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
          if (!process.env.KEOPSC_QUIET) console.warn(`keopsc: no GPU adapter found; the webgpu backend uses SwiftShader (CPU Vulkan, ${SWIFTSHADER_ICD})`);
          return { gpu: dawn.create([]), source: `${source}, SwiftShader` };
        }
      : undefined;
  const vk = process.env.VK_ICD_FILENAMES;
  return { gpu: dawn.create([]), source: vk ? `${source}, VK_ICD_FILENAMES=${vk}` : source, fallback };
};

setGpuProvider(nodeProvider);
