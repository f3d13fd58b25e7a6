import { existsSync } from 'node:fs';
import { addonCandidates, addonStatus, cacheDir, cpuStatus } from '../../runtime/cpu/index.js';
import { cudaStatus } from '../../runtime/cuda/index.js';
import { defaultThreads } from '../../runtime/js/index.js';
import '../../runtime/webgpu/node.js';
import { webgpuStatus } from '../../runtime/webgpu/index.js';

/** What `keopsc doctor` found for one backend. */
export interface BackendCheck {
  ok: boolean;
  /** One line: what runs it, or why it cannot run here. */
  summary: string;
  /** Why the backend is unavailable (absent when ok). */
  reason?: string;
  /** The parts found, for `--json`. */
  details: Record<string, unknown>;
}

/** Every backend's check, in the order `keopsc doctor` prints them. */
export interface DoctorReport {
  node: string;
  platform: string;
  backends: { ref: BackendCheck; js: BackendCheck; cpu: BackendCheck; cuda: BackendCheck; webgpu: BackendCheck };
}

const GiB = 1024 ** 3;

/**
 * Check every backend: ref and js (always there), cpu (the native addon and the C++ compiler), cuda (the
 * NVIDIA driver library, NVRTC and the GPU, through the addon) and webgpu (the adapter). Never throws for
 * a missing piece: it says why instead.
 */
export async function doctorReport(): Promise<DoctorReport> {
  const ref: BackendCheck = { ok: true, summary: 'float64 reference evaluator (always available)', details: {} };
  const threads = defaultThreads();
  const js: BackendCheck = { ok: true, summary: `generated JavaScript on up to ${threads} worker thread${threads === 1 ? '' : 's'}`, details: { threads } };

  const addonPath = addonCandidates().find((p) => existsSync(p));
  const addon = addonStatus();
  const cpuS = cpuStatus();
  let cpu: BackendCheck;
  if (cpuS.ok) {
    let cache: string;
    try {
      cache = cacheDir();
    } catch (e) {
      cache = `unusable: ${(e as Error).message}`;
    }
    cpu = {
      ok: true,
      summary: `compiler ${cpuS.compiler.path} (${cpuS.compiler.version}); addon ${addonPath}; cache ${cache}`,
      details: { compiler: cpuS.compiler, addon: addonPath, cache },
    };
  } else cpu = { ok: false, summary: `unavailable: ${cpuS.reason}`, reason: cpuS.reason, details: { addon: addon.addon ? addonPath : null } };

  const cu = cudaStatus();
  let cuda: BackendCheck;
  const device = (d: NonNullable<typeof cu.device>) => `${d.name} (${d.arch}, ${d.multiprocessors} SMs, ${(d.memory / GiB).toFixed(0)} GiB)`;
  const found = [
    cu.device ? `GPU ${device(cu.device)}` : undefined,
    cu.driver ? `driver ${cu.driver.path} (CUDA ${cu.driver.version})` : undefined,
    cu.nvrtc ? `NVRTC ${cu.nvrtc.path} (${cu.nvrtc.version})` : undefined,
  ].filter((s): s is string => s !== undefined);
  const cudaDetails = { driver: cu.driver ?? null, nvrtc: cu.nvrtc ?? null, device: cu.device ?? null };
  if (cu.ok) cuda = { ok: true, summary: found.join('; '), details: cudaDetails };
  else cuda = { ok: false, summary: `unavailable: ${cu.reason}${found.length ? ` (found: ${found.join('; ')})` : ''}`, reason: cu.reason, details: cudaDetails };

  const wg = await webgpuStatus();
  let webgpu: BackendCheck;
  if (wg.ok) {
    const l = wg.limits;
    const limits = ['maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupStorageSize', 'maxStorageBufferBindingSize'].filter((k) => l[k] !== undefined).map((k) => `${k} ${l[k]}`);
    webgpu = {
      ok: true,
      summary: `adapter ${wg.adapter}${'source' in wg && wg.source ? ` via ${String(wg.source)}` : ''}; ${wg.features.length} features (${wg.features.includes('shader-f16') ? 'with' : 'no'} shader-f16)${limits.length ? `; ${limits.join(', ')}` : ''}`,
      details: { ...wg },
    };
  } else webgpu = { ok: false, summary: `unavailable: ${wg.reason}`, reason: wg.reason, details: {} };

  return { node: process.version, platform: `${process.platform} ${process.arch}`, backends: { ref, js, cpu, cuda, webgpu } };
}

/** `keopsc doctor`: one line per backend (or the report as JSON). Returns the exit code (always 0). */
export async function doctor(opts: { json?: boolean }, out: (s: string) => void): Promise<number> {
  const r = await doctorReport();
  if (opts.json) {
    out(JSON.stringify(r, null, 2));
    return 0;
  }
  out(`keopsc doctor: Node ${r.node} on ${r.platform}`);
  for (const [name, c] of Object.entries(r.backends)) out(`${name.padEnd(7)} ${c.ok ? 'ok' : 'no'}  ${c.summary}`);
  return 0;
}
