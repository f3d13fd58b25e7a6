import { InputError } from '../diagnostics/index.js';
import type { BackendName, BackendStatus, FloatDtype, KernelBackend, LaunchInputs, LaunchRequest, Storage } from './types.js';

/**
 * The registry of backends: every backend (ref, js, cpu, cuda, webgpu) implements {@link KernelBackend}
 * and registers itself here. ref, js and webgpu are part of the platform-independent core; the
 * backends that need the host platform (a native addon, a system compiler, a GPU driver) register from
 * the Node entry point (`src/index.ts`), so the core bundles for browsers with no Node-only import. In
 * a browser bundle they are simply absent, and asking for one gives a clear error.
 * @module
 */

/** @deprecated use {@link LaunchInputs}. */
export type BackendInputs = LaunchInputs;
/** @deprecated use {@link LaunchRequest}. */
export type BackendRequest = LaunchRequest;

const REGISTRY: Partial<Record<BackendName, KernelBackend>> = {};

/** Register a backend (called once by its module when loaded); a later registration replaces it. */
export function registerBackend(backend: KernelBackend): void {
  REGISTRY[backend.name] = backend;
}

/** The registered backends, by name. */
export function registeredBackends(): KernelBackend[] {
  return Object.values(REGISTRY);
}

/** The backend registered under `name` (whether or not it can run here). */
export function registeredBackend(name: BackendName): KernelBackend | undefined {
  return REGISTRY[name];
}

/** The backend, or why it cannot run here (not registered in this build, or its status says no). */
export function backendFor(name: BackendName): { ok: true; backend: KernelBackend } | { ok: false; reason: string } {
  const b = REGISTRY[name];
  if (!b) return { ok: false, reason: `the ${name} backend needs Node.js (it is not part of the browser build); use backend 'js' or 'webgpu' here` };
  const s: BackendStatus = b.status();
  return s.ok ? { ok: true, backend: b } : s;
}

/** The backends that can store float32 inputs as IEEE halves on the device. */
const HALF_STORAGE: Readonly<Record<BackendName, boolean>> = { ref: false, js: false, cpu: false, cuda: true, webgpu: true };

/**
 * The one check of float16 storage (every backend, and runtime/cuda's direct entry): a known value, a
 * backend that has it, and (when `dtype` is given) float32 data; `asked` names the backend in messages
 * (`auto`). Returns the storage to use.
 */
export function checkStorage(backend: BackendName, dtype: FloatDtype | undefined, storage: unknown, asked: string = backend): Storage {
  if (storage === undefined) return 'float32';
  if (storage !== 'float32' && storage !== 'float16') throw new InputError(`storage must be 'float32' or 'float16', got '${String(storage)}'`);
  if (storage === 'float16' && !HALF_STORAGE[backend]) throw new InputError(`storage 'float16' is for the webgpu and cuda backends; backend '${asked}' stores the inputs as they are (leave storage out)`);
  if (storage === 'float16' && dtype !== undefined && dtype !== 'float32')
    throw new InputError(`storage 'float16' stores float32 inputs as halves (float32 arithmetic); the inputs are ${dtype}: pass Float32Array inputs or leave storage out`);
  return storage;
}
