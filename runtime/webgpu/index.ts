/// <reference types="@webgpu/types" preserve="true" />
import { printedOnce, type KernelPlan } from '../../src/lower/plan.js';
import type { CodeOptions } from '../../src/targets/common.js';
import { printWgsl, type WgslShader } from '../../src/targets/wgsl.js';
import { InputError } from '../../src/diagnostics/index.js';
import { batchCount, batchOffsetTable, type BatchLayout } from '../batch/index.js';
import { allocateOutputs } from '../outputs.js';
import type { KernelOutput } from '../../src/api/types.js';
import { blockTable, coalesce, rangesFor, rowClusters, type Ranges } from '../ranges/index.js';
import { toHalfBits } from '../half.js';

export { toHalfBits };

/**
 * The WebGPU backend: runs the WGSL printed by src/targets/wgsl.ts on a WebGPU device. In a browser
 * the device comes from `navigator.gpu`; in Node from the provider the Node entry point registers
 * (runtime/webgpu/node.ts: the `webgpu` package, Dawn). This module imports nothing from Node.
 *
 * One device per process (per provider), requested with the adapter's largest buffer and workgroup
 * limits; pipelines are cached per shader (sizes are uniforms, so one pipeline serves every M and N);
 * buffers are kept per role and grow when a larger problem comes, so repeated calls allocate nothing.
 * Runs are serialised (a queue), inputs go up with `writeBuffer`, all dispatches of a run are in one
 * command buffer, and the outputs come back through one mapped staging buffer.
 */

/** Options of a webgpu run (part of RunOptions). */
export interface WebGpuRunOptions {
  /** webgpu and cuda backends: `float16` stores the inputs as IEEE halves on the device (half the memory
   * traffic; webgpu needs the adapter feature `shader-f16`); arithmetic and accumulators stay float32.
   * Default `float32`. */
  storage?: 'float32' | 'float16';
}

/** What `webgpuStatus` reports. */
export type WebGpuStatus =
  | { ok: true; adapter: string; features: string[]; limits: Record<string, number>; source: string }
  | { ok: false; reason: string };

/** Supplies the GPU object (navigator.gpu or Dawn's), or a reason why there is none. */
export type GpuProvider = () => Promise<{ gpu?: GPU; reason?: string; source: string; fallback?: () => Promise<{ gpu?: GPU; reason?: string; source: string } | undefined> }>;

/** Tuning of the WebGPU backend. `maxWorkgroupsPerDispatch`: a run is split into dispatches of at most
 * this many workgroups (bounded work per dispatch keeps GPU watchdogs away and stays within
 * `maxComputeWorkgroupsPerDimension` squared). */
export const WEBGPU_CONFIG = {
  maxWorkgroupsPerDispatch: 65535,
  /** At most the adapter's `maxComputeWorkgroupsPerDimension`; lower it to exercise 2-D grids (tests). */
  maxWorkgroupsPerDimension: Infinity,
  /** Block-sparse scheme: `blocks` (one workgroup per block of rows of one cluster, sharing tiles of the
   * reduction side: KeOps's, best on GPUs with large clusters), `rows` (one invocation per row, whatever
   * its cluster: no idle invocations and no barriers), `auto` (rows on CPU adapters such as SwiftShader,
   * where barriers are costly; on GPUs blocks, unless they would leave most invocations idle: more than
   * twice the workgroups of a dense launch). */
  rangesScheme: 'auto' as 'auto' | 'blocks' | 'rows',
  /** Workgroup-memory tiles of the reduction side (KeOps's scheme, faster on GPUs and on SwiftShader);
   * `off` reads it from the storage buffer in every invocation (quicker pipeline creation on SwiftShader). */
  tiles: 'on' as 'on' | 'off',
};

const browserProvider: GpuProvider = async () => {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, source: 'navigator.gpu' };
  return { reason: 'this JavaScript environment has no WebGPU (navigator.gpu is missing): use a browser with WebGPU enabled, or Node with the `webgpu` package', source: 'navigator.gpu' };
};
let provider: GpuProvider = browserProvider;
let ctxPromise: Promise<Ctx> | undefined;

/** Install the GPU provider (the Node entry point does; tests may install their own). Drops the current device. */
export function setGpuProvider(p: GpuProvider): void {
  provider = p;
  void releaseWebGpu();
}

/** Destroy the device (if any); the next run requests a new one. */
export async function releaseWebGpu(): Promise<void> {
  const p = ctxPromise;
  ctxPromise = undefined;
  if (!p) return;
  try {
    const ctx = await p;
    await ctx.queue;
    ctx.device.destroy();
  } catch {
    /* no device was made */
  }
}

type Entry = 'dense' | 'ranges' | 'ranges_rows' | 'dense_batched';

interface PipelineEntry {
  shader: WgslShader;
  module: GPUShaderModule;
  pipelines: Partial<Record<Entry, Promise<GPUComputePipeline>>>;
}

interface Ctx {
  /** The GPU object the adapter came from: held, because Dawn for Node stops processing the device's
   * events (promises never settle, or the process aborts) once its instance is garbage collected. */
  gpu: GPU;
  device: GPUDevice;
  adapterName: string;
  /** A CPU implementation (SwiftShader, or any fallback adapter). */
  cpuAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
  source: string;
  layout: GPUBindGroupLayout;
  pipelineLayout: GPUPipelineLayout;
  shaders: Map<string, PipelineEntry>;
  buffers: Map<string, GPUBuffer>;
  /** The tail of the run queue: runs are serialised because they share the buffers. */
  queue: Promise<unknown>;
  lost: boolean;
}

const LIMIT_NAMES = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'minUniformBufferOffsetAlignment',
] as const;

// WebGPU's flag values (the spec's numbers), so that this module needs no GPU* globals (Dawn for Node
// does not install them)
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const STAGE_COMPUTE = 0x4;
const MAP_READ = 0x1;

async function adapterFrom(p: { gpu?: GPU; reason?: string }): Promise<{ adapter?: GPUAdapter; gpu?: GPU; reason?: string }> {
  if (!p.gpu) return { reason: p.reason };
  const adapter = await p.gpu.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? { adapter, gpu: p.gpu } : { reason: 'no WebGPU adapter was found' };
}

async function makeContext(): Promise<Ctx> {
  let p = await provider();
  let a = await adapterFrom(p);
  if (!a.adapter && p.fallback) {
    const q = await p.fallback();
    if (q) {
      const b = await adapterFrom(q);
      if (b.adapter) [p, a] = [q, b];
    }
  }
  if (!a.adapter) throw new InputError(`backend 'webgpu' is unavailable: ${a.reason ?? 'no adapter'}; ${HOW_TO_GET_AN_ADAPTER}`);
  const adapter = a.adapter;
  const limits: Record<string, number> = {};
  for (const n of LIMIT_NAMES) limits[n] = Number(adapter.limits[n]);
  const features = [...adapter.features].map(String).sort();
  const requiredFeatures: GPUFeatureName[] = features.includes('shader-f16') ? ['shader-f16'] : [];
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize!,
      maxBufferSize: limits.maxBufferSize!,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize!,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup!,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX!,
    },
  });
  const info = adapter.info as GPUAdapterInfo | undefined;
  const adapterName = [info?.vendor, info?.architecture, info?.device, info?.description].filter((x) => x).join(' ') || 'unnamed adapter';
  const entry = (binding: number, type: GPUBufferBindingType): GPUBindGroupLayoutEntry => ({ binding, visibility: STAGE_COMPUTE, buffer: { type } });
  const layout = device.createBindGroupLayout({
    entries: [entry(0, 'uniform'), entry(1, 'read-only-storage'), entry(2, 'storage'), entry(3, 'storage'), entry(4, 'read-only-storage')],
  });
  const ctx: Ctx = {
    gpu: a.gpu!,
    device,
    adapterName,
    cpuAdapter: /swiftshader|llvmpipe|lavapipe|cpu/i.test(adapterName) || Boolean((adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features,
    limits,
    source: p.source,
    layout,
    pipelineLayout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    shaders: new Map(),
    buffers: new Map(),
    queue: Promise.resolve(),
    lost: false,
  };
  void device.lost.then(() => {
    ctx.lost = true;
    void ctxPromise?.then((c) => {
      if (c === ctx) ctxPromise = undefined;
    });
  });
  return ctx;
}

/** How to get an adapter, for error messages. */
export const HOW_TO_GET_AN_ADAPTER =
  'install a GPU driver with Vulkan (Linux), Metal (macOS) or D3D12 (Windows) support, or on Linux without a GPU install SwiftShader (apt-get install chromium libvulkan1) and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json';

function context(): Promise<Ctx> {
  if (!ctxPromise) {
    const p = makeContext();
    ctxPromise = p;
    p.catch(() => {
      if (ctxPromise === p) ctxPromise = undefined;
    });
  }
  return ctxPromise;
}

/**
 * Whether the webgpu backend can run here: the adapter, its features and limits; or why not.
 *
 * @example
 * ```ts
 * const s = await webgpuStatus();
 * if (s.ok) console.log(`running on ${s.adapter} (${s.features.join(', ')})`);
 * else console.log(`no webgpu: ${s.reason}`);
 * ```
 */
export async function webgpuStatus(): Promise<WebGpuStatus> {
  try {
    const c = await context();
    return { ok: true, adapter: c.adapterName, features: c.features, limits: { ...c.limits }, source: c.source };
  } catch (e) {
    return { ok: false, reason: (e as Error).message.replace(/^backend 'webgpu' is unavailable: /, '') };
  }
}

/** Statistics of the pipeline cache (for benchmarks): pipelines made, hits, and creation time. */
export const webgpuStats = { pipelinesCreated: 0, pipelineHits: 0, pipelineMs: 0 };

/** The shader of a plan for this device's limits (printed once per plan and options). */
function shaderFor(ctx: Ctx, plan: KernelPlan, opts: { sumScheme: CodeOptions['sumScheme']; storage: 'float32' | 'float16' }): WgslShader {
  const o = {
    sumScheme: opts.sumScheme,
    storage: opts.storage,
    workgroupSize: Math.min(256, ctx.limits.maxComputeInvocationsPerWorkgroup!, ctx.limits.maxComputeWorkgroupSizeX!),
    maxWorkgroupStorage: ctx.limits.maxComputeWorkgroupStorageSize!,
    tile: WEBGPU_CONFIG.tiles !== 'off',
  };
  return printedOnce(plan, `wgsl|${o.sumScheme}|${o.storage}|${o.workgroupSize}|${o.maxWorkgroupStorage}|${o.tile}`, () => printWgsl(plan, o));
}

async function pipelineFor(ctx: Ctx, plan: KernelPlan, shader: WgslShader, entry: Entry): Promise<GPUComputePipeline> {
  let e = ctx.shaders.get(shader.code);
  if (!e) {
    const module = ctx.device.createShaderModule({ code: shader.code, label: plan.kernel.name });
    e = { shader, module, pipelines: {} };
    ctx.shaders.set(shader.code, e);
  }
  let p = e.pipelines[entry];
  if (!p) {
    const t0 = performance.now();
    const module = e.module;
    p = ctx.device
      .createComputePipelineAsync({ layout: ctx.pipelineLayout, compute: { module, entryPoint: entry }, label: `${plan.kernel.name}/${entry}` })
      .then(
        (pl) => {
          webgpuStats.pipelinesCreated++;
          webgpuStats.pipelineMs += performance.now() - t0;
          return pl;
        },
        async (err: unknown) => {
          const info = await module.getCompilationInfo().catch(() => undefined);
          const msgs = info?.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.type}: ${m.message}`).join('; ');
          throw new Error(`internal: the WGSL of kernel '${plan.kernel.name}' did not compile (${msgs || (err as Error).message})`);
        },
      );
    e.pipelines[entry] = p;
    p.catch(() => {
      if (e!.pipelines[entry] === p) delete e!.pipelines[entry];
    });
  } else webgpuStats.pipelineHits++;
  return p;
}

/** A buffer of at least `size` bytes for this role, reused across runs (grown by powers of two). */
function buffer(ctx: Ctx, role: string, size: number, usage: number): GPUBuffer {
  const need = Math.max(16, Math.ceil(size / 16) * 16);
  const have = ctx.buffers.get(role);
  if (have && have.size >= need) return have;
  have?.destroy();
  const max = ctx.limits.maxBufferSize!;
  let alloc = 1 << Math.ceil(Math.log2(need));
  if (alloc > max) alloc = need;
  if (need > max) throw new InputError(`backend 'webgpu': this run needs a ${role} buffer of ${fmtBytes(need)}, more than the adapter's maxBufferSize (${fmtBytes(max)}); split the problem into smaller calls or use backend 'cpu'`);
  const b = ctx.device.createBuffer({ size: alloc, usage, label: role });
  ctx.buffers.set(role, b);
  return b;
}

function fmtBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`;
}

/**
 * The block table of a ranges run: triples (cluster, first row, end row), one workgroup each, from
 * runtime/ranges `blockTable`, with blocks of cluster −1 for rows no cluster covers (they write the
 * neutral value).
 */
export function webgpuBlockTable(ranges: Ranges, tag: 0 | 1, rows: number, wg: number): Int32Array {
  return blockTable(rangesFor(ranges, tag).out, rows, wg, 'neutral');
}

/**
 * Run a kernel plan on the WebGPU device (float32 inputs). `code` gives the sum scheme (its dtype must be
 * float32 and its accumulator float32: checked by the caller); `out` optionally receives the values.
 */
export async function runWebGpu(
  plan: KernelPlan,
  inp: { arrays: ReadonlyMap<number, Float32Array | Float64Array>; M: number; N: number; ranges?: Ranges; batch?: BatchLayout },
  req: { code: CodeOptions; out?: Float32Array },
  options: WebGpuRunOptions = {},
): Promise<KernelOutput[]> {
  const storage = options.storage ?? 'float32';
  const ctx = await context();
  if (storage === 'float16' && !ctx.features.includes('shader-f16')) throw new InputError(`storage 'float16' needs the WebGPU feature 'shader-f16', which this adapter (${ctx.adapterName}) lacks; leave storage out (float32)`);
  const run = ctx.queue.then(() => runOn(ctx, plan, inp, req, storage));
  ctx.queue = run.catch(() => undefined);
  return run;
}

async function runOn(
  ctx: Ctx,
  plan: KernelPlan,
  inp: { arrays: ReadonlyMap<number, Float32Array | Float64Array>; M: number; N: number; ranges?: Ranges; batch?: BatchLayout },
  req: { code: CodeOptions; out?: Float32Array },
  storage: 'float32' | 'float16',
): Promise<KernelOutput[]> {
  if (ctx.lost) throw new InputError(`backend 'webgpu': the GPU device was lost; run again to get a new one`);
  const rows = plan.tag === 0 ? inp.M : inp.N;
  const B = inp.batch ? batchCount(inp.batch) : 1;
  const outputs = allocateOutputs(plan, rows, 'float32', req.out, false, inp.batch?.shape);
  if (rows === 0 || B === 0) return outputs;
  const shader = shaderFor(ctx, plan, { sumScheme: req.code.sumScheme, storage });
  const wg = shader.workgroupSize;
  const denseGroups = Math.ceil(rows / wg);
  // block-sparse: per-cluster blocks, or per-row when blocks would leave most invocations idle
  let table: Int32Array | undefined;
  let entry: Entry = inp.batch ? 'dense_batched' : 'dense';
  if (inp.ranges) {
    const scheme = WEBGPU_CONFIG.rangesScheme;
    const blocks = scheme === 'blocks' || (scheme === 'auto' && !ctx.cpuAdapter);
    if (blocks && shader.tiled) table = webgpuBlockTable(inp.ranges, plan.tag, rows, wg);
    entry = table && (scheme === 'blocks' || table.length / 3 <= 2 * denseGroups) ? 'ranges' : 'ranges_rows';
  }
  const pipeline = await pipelineFor(ctx, plan, shader, entry);
  const { device } = ctx;
  const maxBinding = ctx.limits.maxStorageBufferBindingSize!;
  const MAXU = 0xffffffff;
  if (inp.M > MAXU || inp.N > MAXU) throw new InputError(`backend 'webgpu' indexes rows with 32-bit integers; M and N must be below 2^32`);
  if (B * rows > MAXU) throw new InputError(`backend 'webgpu' indexes rows with 32-bit integers; batch entries × rows must be below 2^32 (got ${B} × ${rows})`);

  // inputs: packed in one buffer, each variable at an offset aligned to 4 bytes
  const eb = shader.elementBytes;
  const align = 4 / eb;
  const offsets = new Map<number, number>();
  let total = 0;
  for (const v of shader.inputs) {
    offsets.set(v.index, total);
    const a = inp.arrays.get(v.index)!;
    total += Math.ceil(a.length / align) * align;
  }
  const inBytes = Math.max(4, total * eb);
  if (inBytes > maxBinding) throw new InputError(`backend 'webgpu': the inputs take ${fmtBytes(inBytes)}, more than the adapter's maxStorageBufferBindingSize (${fmtBytes(maxBinding)}); split the problem into smaller calls or use backend 'cpu'`);
  const inBuf = buffer(ctx, 'inputs', inBytes, USAGE.STORAGE | USAGE.COPY_DST);
  for (const v of shader.inputs) {
    const a = inp.arrays.get(v.index)! as Float32Array;
    if (a.length === 0) continue;
    const data = eb === 2 ? toHalfBits(a) : a;
    const bytes = data.byteLength;
    // writeBuffer sizes must be multiples of 4 bytes
    const padded = bytes % 4 === 0 ? data : (() => { const p = new Uint16Array(data.length + 1); p.set(data as Uint16Array); return p; })();
    device.queue.writeBuffer(inBuf, offsets.get(v.index)! * eb, padded.buffer, padded.byteOffset, padded.byteLength);
  }

  // outputs
  const outInfo = shader.outputs.map((o) => ({ ...o, bytes: B * rows * o.width * 4 }));
  for (const o of outInfo) if (o.bytes > maxBinding) throw new InputError(`backend 'webgpu': the ${o.name} output takes ${fmtBytes(o.bytes)}, more than the adapter's maxStorageBufferBindingSize (${fmtBytes(maxBinding)}); split the rows into smaller calls or use backend 'cpu'`);
  const usageOut = USAGE.STORAGE | USAGE.COPY_SRC;
  const vInfo = outInfo.find((o) => o.binding === 2);
  const iInfo = outInfo.find((o) => o.binding === 3);
  const vBuf = buffer(ctx, 'values', vInfo?.bytes ?? 16, usageOut);
  const iBuf = buffer(ctx, 'indices', iInfo?.bytes ?? 16, usageOut);

  // ranges, then the block table (ranges) or the row -> cluster map (ranges_rows)
  let rngData = new Int32Array(4);
  let nBlocks = 0;
  const off = { out: 0, slices: 0, red: 0, table: 0 };
  if (inp.ranges) {
    const R = coalesce(rangesFor(inp.ranges, plan.tag));
    const tail = entry === 'ranges' ? table! : rowClusters(inp.ranges, plan.tag, rows);
    nBlocks = entry === 'ranges' ? tail.length / 3 : 0;
    off.slices = R.out.length;
    off.red = off.slices + R.slices.length;
    off.table = off.red + R.red.length;
    rngData = new Int32Array(Math.max(4, off.table + tail.length));
    rngData.set(R.out, off.out);
    rngData.set(R.slices, off.slices);
    rngData.set(R.red, off.red);
    rngData.set(tail, off.table);
    if (rngData.byteLength > maxBinding) throw new InputError(`backend 'webgpu': the ranges take ${fmtBytes(rngData.byteLength)}, more than the adapter's maxStorageBufferBindingSize; use backend 'cpu'`);
  }
  if (inp.batch) {
    // the batch offset table: entry t, variable k (in the shader's input order) starts at rng[t * nA + k]
    const table = batchOffsetTable(inp.batch, shader.inputs.map((v) => v.index));
    if (table.some((v) => v > 0x7fffffff)) throw new InputError(`backend 'webgpu' indexes batch entries with 32-bit offsets; this batch reaches past 2^31 values: use backend 'cpu'`);
    rngData = new Int32Array(Math.max(4, table.length));
    rngData.set(table);
    nBlocks = denseGroups;
    if (rngData.byteLength > maxBinding) throw new InputError(`backend 'webgpu': the batch offset table takes ${fmtBytes(rngData.byteLength)}, more than the adapter's maxStorageBufferBindingSize; use backend 'cpu'`);
  }
  const rngBuf = buffer(ctx, 'ranges', rngData.byteLength, USAGE.STORAGE | USAGE.COPY_DST);
  device.queue.writeBuffer(rngBuf, 0, rngData);

  // dispatches: groups [g0, g0 + n) each, as a 2-D grid within maxComputeWorkgroupsPerDimension
  const groups = entry === 'ranges' ? nBlocks : entry === 'dense_batched' ? B * denseGroups : denseGroups;
  const perDim = Math.min(ctx.limits.maxComputeWorkgroupsPerDimension!, WEBGPU_CONFIG.maxWorkgroupsPerDimension);
  const chunk = Math.max(1, Math.min(WEBGPU_CONFIG.maxWorkgroupsPerDispatch, perDim * perDim));
  const nChunks = Math.ceil(groups / chunk);
  const paramWords = shader.params.length;
  const uniformStride = Math.max(256, ctx.limits.minUniformBufferOffsetAlignment ?? 256, Math.ceil((paramWords * 4) / 256) * 256);
  const uBuf = buffer(ctx, 'params', uniformStride * Math.max(1, nChunks), USAGE.UNIFORM | USAGE.COPY_DST);
  const u = new Uint32Array((uniformStride / 4) * Math.max(1, nChunks));
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  for (let c = 0; c < nChunks; c++) {
    const g0 = c * chunk;
    const n = Math.min(chunk, groups - g0);
    const base = (uniformStride / 4) * c;
    const vals: Record<string, number> = {
      M: inp.M,
      N: inp.N,
      g0,
      inf_bits: 0x7f800000,
      nan_bits: 0x7fc00000,
      one_bits: 0x3f800000,
      n_blocks: nBlocks,
      r_out: off.out,
      r_slices: off.slices,
      r_red: off.red,
      r_table: off.table,
      n_batch: B,
    };
    for (const [v, o] of offsets) vals[`o${v}`] = o;
    shader.params.forEach((name, k) => (u[base + k] = vals[name] ?? 0));
    const bind = device.createBindGroup({
      layout: ctx.layout,
      entries: [
        { binding: 0, resource: { buffer: uBuf, offset: uniformStride * c, size: Math.ceil((paramWords * 4) / 16) * 16 } },
        { binding: 1, resource: { buffer: inBuf } },
        { binding: 2, resource: { buffer: vBuf } },
        { binding: 3, resource: { buffer: iBuf } },
        { binding: 4, resource: { buffer: rngBuf } },
      ],
    });
    pass.setBindGroup(0, bind);
    // a 2-D grid only when n exceeds one dimension, shaped so that fewer than y groups are extra (those
    // recompute rows of the next chunk: the same values, written twice)
    const y = Math.ceil(n / perDim);
    pass.dispatchWorkgroups(Math.ceil(n / y), y);
  }
  pass.end();
  device.queue.writeBuffer(uBuf, 0, u);
  // read back every output through one staging buffer
  const readBytes = outInfo.reduce((s, o) => s + Math.ceil(o.bytes / 4) * 4, 0);
  const staging = buffer(ctx, 'staging', readBytes, USAGE.MAP_READ | USAGE.COPY_DST);
  let at = 0;
  const places: number[] = [];
  for (const o of outInfo) {
    places.push(at);
    if (o.bytes > 0) encoder.copyBufferToBuffer(o.binding === 2 ? vBuf : iBuf, 0, staging, at, o.bytes);
    at += o.bytes;
  }
  device.pushErrorScope('validation');
  device.queue.submit([encoder.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`internal: WebGPU rejected the run of kernel '${plan.kernel.name}': ${err.message}`);
  await staging.mapAsync(MAP_READ, 0, Math.max(4, readBytes));
  try {
    const mapped = staging.getMappedRange(0, Math.max(4, readBytes));
    outInfo.forEach((o, k) => {
      const dst = outputs[k]!.data;
      if (o.bytes === 0) return;
      if (o.binding === 2) (dst as Float32Array).set(new Float32Array(mapped, places[k]!, o.bytes / 4));
      else {
        const src = new Uint32Array(mapped, places[k]!, o.bytes / 4);
        const d = dst as BigInt64Array;
        for (let q = 0; q < src.length; q++) d[q] = BigInt(src[q]!);
      }
    });
  } finally {
    staging.unmap();
  }
  return outputs;
}
