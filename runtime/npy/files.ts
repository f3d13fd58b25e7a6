/**
 * Node file helpers for `.npy` / `.npz` files. Kept apart from the pure codecs in `npy.ts` and
 * `npz.ts` so that those can be bundled for browsers without `node:fs`.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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

/**
 * Write a file whole or not at all: the bytes go to a temporary file in the target's directory, are
 * flushed to disk, and the temporary file is renamed over `path`. A process killed midway leaves the
 * old file as it was (and at most a `.NAME.keopsc-tmp-*` file beside it). An existing regular file
 * keeps its permission bits. When `path` is a symbolic link, the link itself is replaced by the new
 * file: the file it pointed to is left unchanged (nothing is written through a link).
 *
 * @throws InputError when the path is empty or a directory, or the file cannot be written
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, kind: string): void {
  if (typeof path !== 'string' || path === '') throw new InputError(`expected a ${kind} file path, got ${JSON.stringify(path)}`);
  const tmp = join(dirname(path), `.${basename(path)}.keopsc-tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    let mode = 0o666;
    try {
      const st = lstatSync(path);
      if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      if (st.isFile()) mode = st.mode & 0o7777;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const fd = openSync(tmp, 'wx', mode);
    try {
      const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
      for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
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
 * Write an array as a `.npy` file (format 1.0, as `numpy.save` does), whole or not at all (see
 * `writeFileAtomic`: a symbolic link at `path` is replaced, not written through).
 *
 * @throws InputError when the array is inconsistent or the file cannot be written
 */
export function saveNpy(path: string, arr: NdArray): void {
  const bytes = encodeNpy(arr);
  writeFileAtomic(path, bytes, '.npy');
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
 * Write arrays as a `.npz` archive (stored, or deflated with `{ compress: true }`), whole or not at
 * all (see `writeFileAtomic`).
 *
 * @throws InputError when an entry is invalid or the file cannot be written
 */
export function saveNpz(path: string, entries: Record<string, NdArray> | Map<string, NdArray>, options: NpzOptions = {}): void {
  const bytes = encodeNpz(entries, options);
  writeFileAtomic(path, bytes, '.npz');
}
