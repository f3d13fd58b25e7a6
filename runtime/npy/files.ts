/**
 * Node file helpers for `.npy` / `.npz` files. Kept apart from the pure codecs in `npy.ts` and
 * `npz.ts` so that those can be bundled for browsers without `node:fs`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { InputError } from '../../src/diagnostics/diagnostic.js';
import { encodeNpy, parseNpy, type NdArray } from './npy.js';
import { encodeNpz, parseNpz, type NpzOptions, type NpzReadOptions } from './npz.js';

function fsMessage(e: unknown, path: string, verb: 'read' | 'write', kind: string): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return verb === 'read'
        ? `cannot read ${kind} file '${path}': no such file; check the path`
        : `cannot write ${kind} file '${path}': its directory does not exist`;
    case 'EISDIR':
      return `cannot ${verb} ${kind} file '${path}': it is a directory`;
    case 'EACCES':
    case 'EPERM':
      return `cannot ${verb} ${kind} file '${path}': permission denied`;
    case 'ENOTDIR':
      return `cannot ${verb} ${kind} file '${path}': a component of the path is not a directory`;
    default:
      return `cannot ${verb} ${kind} file '${path}': ${(e as Error)?.message ?? String(e)}`;
  }
}

function read(path: string, kind: string): Uint8Array {
  if (typeof path !== 'string' || path === '') throw new InputError(`expected a ${kind} file path, got ${JSON.stringify(path)}`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(fsMessage(e, path, 'read', kind));
  }
}

function write(path: string, bytes: Uint8Array, kind: string): void {
  if (typeof path !== 'string' || path === '') throw new InputError(`expected a ${kind} file path, got ${JSON.stringify(path)}`);
  try {
    writeFileSync(path, bytes);
  } catch (e) {
    throw new InputError(fsMessage(e, path, 'write', kind));
  }
}

/**
 * Read a `.npy` file.
 *
 * @throws InputError when the file is missing or unreadable, or is not a valid `.npy` file
 */
export function loadNpy(path: string): NdArray {
  return parseNpy(read(path, '.npy'), path);
}

/**
 * Write an array as a `.npy` file (format 1.0, as `numpy.save` does).
 *
 * @throws InputError when the array is inconsistent or the file cannot be written
 */
export function saveNpy(path: string, arr: NdArray): void {
  const bytes = encodeNpy(arr);
  write(path, bytes, '.npy');
}

/**
 * Read a `.npz` archive: member `x.npy` becomes key `x`.
 *
 * @param options the cap on inflated sizes (see {@link parseNpz})
 * @throws InputError when the file is missing or unreadable, or is not a valid `.npz` archive
 */
export function loadNpz(path: string, options: NpzReadOptions = {}): Map<string, NdArray> {
  return parseNpz(read(path, '.npz'), path, options);
}

/**
 * Write arrays as a `.npz` archive (stored, or deflated with `{ compress: true }`).
 *
 * @throws InputError when an entry is invalid or the file cannot be written
 */
export function saveNpz(path: string, entries: Record<string, NdArray> | Map<string, NdArray>, options: NpzOptions = {}): void {
  const bytes = encodeNpz(entries, options);
  write(path, bytes, '.npz');
}
