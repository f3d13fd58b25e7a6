import type { KernelPlan } from '../lower/plan.js';
import type { Ranges } from '../../runtime/ranges/index.js';
import type { BackendOutput } from '../../runtime/outputs.js';
import type { JsCodeOptions } from '../targets/js.js';

/**
 * Backends that need the host platform (a native addon, a system compiler, a GPU driver) register
 * themselves here from the Node entry point (`src/index.ts`), so that the compiler core and the `js`
 * and `webgpu` backends bundle for browsers with no Node-only import. In a browser bundle they are
 * simply absent, and asking for one gives a clear error.
 */

/** What a backend run receives: inputs by variable index, all of `dtype`, sizes and checked ranges. */
export interface BackendInputs {
  arrays: ReadonlyMap<number, Float32Array | Float64Array>;
  M: number;
  N: number;
  dtype: 'float32' | 'float64';
  ranges?: Ranges;
}

/** The resolved options of one run. */
export interface BackendRequest {
  code: JsCodeOptions;
  fastMath?: boolean;
  threads: number;
  out?: Float32Array | Float64Array;
  /** How a GPU backend stores the inputs on the device (cuda; webgpu reads RunOptions.storage). */
  storage?: 'float32' | 'float16';
}

/** A backend that runs synchronously on the host (cpu) or drives a device from the host (cuda). */
export interface HostBackend {
  /** Whether it can run here, and if not, why not and how to fix it (one line). */
  status(): { ok: true } | { ok: false; reason: string };
  /** Run the plan on prepared inputs; returns the outputs (values, then indices). */
  run(plan: KernelPlan, inp: BackendInputs, req: BackendRequest): BackendOutput<BigInt64Array | Float64Array>[];
}

/** The backends registered by the Node entry point. */
export type HostBackendName = 'cpu' | 'cuda';

const HOST_BACKENDS: Partial<Record<HostBackendName, HostBackend>> = {};

/** Register a host backend (called once by its module when the Node entry point loads it). */
export function registerHostBackend(name: HostBackendName, backend: HostBackend): void {
  HOST_BACKENDS[name] = backend;
}

/** The registered backend, or why there is none. */
export function hostBackend(name: HostBackendName): { ok: true; backend: HostBackend } | { ok: false; reason: string } {
  const b = HOST_BACKENDS[name];
  if (!b) return { ok: false, reason: `the ${name} backend needs Node.js (it is not part of the browser build); use backend 'js' or 'webgpu' here` };
  const s = b.status();
  return s.ok ? { ok: true, backend: b } : s;
}
