/**
 * Reading and writing NumPy `.npz` archives: zip files whose members are `.npy` files, as written by
 * `numpy.savez` (stored) and `numpy.savez_compressed` (deflated). fflate writes the archives
 * (`zipSync`) and inflates members (its streaming `Inflate`). Reading walks the zip directory here,
 * because hostile archives need what fflate's `unzipSync` does not do: bounds checks on every field
 * with a message naming the bad one, the local header checked against the central directory, the
 * CRC-32 of every member, and a cap on inflated sizes applied before inflating (fflate allocates the
 * size a header promises and inflates to the end). zip64 records are understood.
 */
import { Inflate, zipSync, type Zippable } from 'fflate';
import { InputError } from '../../src/diagnostics/diagnostic.js';
import { checkNdArray, encodeNpy, npyFileSize, parseNpy, type NdArray } from './npy.js';

/** Options for {@link encodeNpz}. */
export interface NpzOptions {
  /** Deflate the members like `numpy.savez_compressed` (default false: stored like `numpy.savez`). */
  compress?: boolean;
}

/** Options for {@link parseNpz}. */
export interface NpzReadOptions {
  /**
   * The most bytes one deflated member may inflate to (default {@link NPZ_MAX_INFLATED_BYTES}). A
   * member whose zip header promises more is refused before any inflating; one that inflates past
   * what its zip and `.npy` headers promise is refused as soon as it does (a zip bomb costs at most
   * this much memory and time). Stored members are not inflated and have no cap.
   */
  maxInflatedBytes?: number;
}

/** The default cap on the inflated size of one deflated `.npz` member: 512 MiB. */
export const NPZ_MAX_INFLATED_BYTES = 512 * 2 ** 20;

/**
 * Input of the inflater per push, as a function of the output so far: deflate expands at most about
 * 1032 times, so one push never outputs more than about what came before (plus 1 MiB): a member that
 * inflates past its promise is stopped within twice the promise.
 */
const inflateChunk = (out: number): number => Math.min(1 << 20, Math.max(1024, Math.floor(out / 1024)));

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (IEEE, as used by zip) of `data`. */
export function crc32(data: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  const t = CRC_TABLE;
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface ZipMember {
  name: string;
  data: Uint8Array;
}

function isNpyMagic(b: Uint8Array): boolean {
  return b.length >= 6 && b[0] === 0x93 && b[1] === 0x4e && b[2] === 0x55 && b[3] === 0x4d && b[4] === 0x50 && b[5] === 0x59;
}

/**
 * Inflate a deflated member that must decode to exactly `size` bytes, into one buffer of that size, a
 * chunk at a time: it stops as soon as the output passes `size`, or passes what the `.npy` header at
 * its start promises (checked as soon as the header is out).
 */
function inflateBounded(raw: Uint8Array, size: number, name: string, where: string, corrupt: (what: string) => never): Uint8Array {
  let out = new Uint8Array(Math.min(size, 1 << 20)); // grown as data comes, never past `size`
  let n = 0;
  let promised: number | undefined;
  const over = (total: number): never => corrupt(`'${name}' should be ${size} bytes but inflates to more (${total} bytes so far)`);
  const inf = new Inflate((chunk) => {
    if (n + chunk.length > size) over(n + chunk.length);
    if (n + chunk.length > out.length) {
      const grown = new Uint8Array(Math.min(size, Math.max(2 * out.length, n + chunk.length)));
      grown.set(out.subarray(0, n));
      out = grown;
    }
    out.set(chunk, n);
    n += chunk.length;
    if (promised === undefined) {
      promised = npyFileSize(out.subarray(0, n), `${where}[${name.slice(0, -4)}]`);
      if (promised !== undefined && promised !== size)
        corrupt(`'${name}' holds a .npy header promising ${promised} bytes, but the archive says ${size}`);
    }
  });
  try {
    let p = 0;
    do {
      const end = Math.min(raw.length, p + inflateChunk(n));
      inf.push(raw.subarray(p, end), end === raw.length);
      p = end;
    } while (p < raw.length);
  } catch (e) {
    if (e instanceof InputError) throw e;
    return corrupt(`cannot inflate '${name}' (${(e as Error).message})`);
  }
  if (n !== size) corrupt(`'${name}' should be ${size} bytes but inflates to ${n}`);
  return out;
}

/** Read every `.npy` member of a zip archive, validating offsets, sizes and CRCs. */
function readZip(b: Uint8Array, where: string, maxInflated: number): ZipMember[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const corrupt = (what: string): never => {
    throw new InputError(`${where} is a corrupt or truncated .npz (zip) archive: ${what}; re-save it with numpy.savez`);
  };
  const u16 = (o: number): number => (o + 2 <= b.length ? dv.getUint16(o, true) : corrupt(`field at byte ${o} is past the end`));
  const u32 = (o: number): number => (o + 4 <= b.length ? dv.getUint32(o, true) : corrupt(`field at byte ${o} is past the end`));
  const u64 = (o: number): number => {
    if (o + 8 > b.length) corrupt(`field at byte ${o} is past the end`);
    const v = dv.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) corrupt('a zip64 size or offset is too large');
    return Number(v);
  };

  /** The offset of the data of the zip64 extra field (id 1) among the extra fields at [x, x + len), if any. */
  const zip64Extra = (x: number, len: number, name: string): number | undefined => {
    const end = x + len;
    if (end > b.length) corrupt(`the extra fields of '${name}' are past the end`);
    while (x + 4 <= end) {
      const id = u16(x);
      const l = u16(x + 2);
      if (x + 4 + l > end) return undefined;
      if (id === 0x0001) return x + 4;
      x += 4 + l;
    }
    return undefined;
  };

  // End of central directory record: at the end, possibly followed by a comment of up to 64 KiB.
  let eocd = -1;
  for (let e = b.length - 22; e >= 0 && e >= b.length - 22 - 0xffff; e--) {
    if (dv.getUint32(e, true) === SIG_EOCD) {
      eocd = e;
      break;
    }
  }
  if (eocd < 0) {
    if (isNpyMagic(b)) throw new InputError(`${where} is a .npy file, not an .npz archive; load it with loadNpy/parseNpy`);
    if (b.length >= 4 && dv.getUint32(0, true) === SIG_LOCAL) corrupt('the end-of-archive record is missing');
    throw new InputError(`${where} is not an .npz file (not a zip archive); save arrays with numpy.savez or numpy.savez_compressed`);
  }
  let count = u16(eocd + 10);
  if (u16(eocd + 8) !== count) corrupt(`the end record counts ${u16(eocd + 8)} and ${count} entries`);
  let cdSize = u32(eocd + 12);
  let cdOff = u32(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) {
    const loc = eocd - 20;
    if (loc >= 0 && u32(loc) === SIG_EOCD64_LOCATOR) {
      const z = u64(loc + 8);
      if (u32(z) !== SIG_EOCD64) corrupt('bad zip64 end-of-archive record');
      count = u64(z + 32);
      cdSize = u64(z + 40);
      cdOff = u64(z + 48);
    }
  }
  if (cdOff + cdSize > b.length) corrupt(`the central directory (${cdSize} bytes at ${cdOff}) is past the end of the file`);
  if (count * 46 > cdSize) corrupt(`${count} entries do not fit in a ${cdSize}-byte central directory`);

  const members: ZipMember[] = [];
  const utf8 = new TextDecoder('utf-8');
  let p = cdOff;
  const cdEnd = cdOff + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || u32(p) !== SIG_CENTRAL) corrupt(`central directory entry ${i} is malformed`);
    const flags = u16(p + 8);
    const method = u16(p + 10);
    const crc = u32(p + 16);
    let csize = u32(p + 20);
    let usize = u32(p + 24);
    const nlen = u16(p + 28);
    const xlen = u16(p + 30);
    const clen = u16(p + 32);
    let local = u32(p + 42);
    const next = p + 46 + nlen + xlen + clen;
    if (next > cdEnd) corrupt(`central directory entry ${i} runs past the directory`);
    const name = utf8.decode(b.subarray(p + 46, p + 46 + nlen));
    // zip64 extra field: the 64-bit values replace the 0xffffffff ones, in this order.
    if (usize === 0xffffffff || csize === 0xffffffff || local === 0xffffffff) {
      const z64 = zip64Extra(p + 46 + nlen, xlen, name);
      if (z64 !== undefined) {
        let q = z64;
        const z64End = z64 + u16(z64 - 2);
        const take = (): number => {
          if (q + 8 > z64End) corrupt(`zip64 field of '${name}' is too short`);
          const v = u64(q);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take();
        if (csize === 0xffffffff) csize = take();
        if (local === 0xffffffff) local = take();
      }
    }
    p = next;
    if (local + 30 > b.length || u32(local) !== SIG_LOCAL) corrupt(`the local header of '${name}' is missing`);
    // the local header repeats the method, CRC and sizes (unless a data descriptor follows the data,
    // flag bit 3) and the name: they must agree with the central directory
    const lnlen = u16(local + 26);
    const lxlen = u16(local + 28);
    if (local + 30 + lnlen > b.length || utf8.decode(b.subarray(local + 30, local + 30 + lnlen)) !== name) corrupt(`the local header of '${name}' names another member`);
    if (u16(local + 8) !== method) corrupt(`the local header of '${name}' disagrees with the central directory on the compression method`);
    if (!(u16(local + 6) & 8)) {
      let lcsize = u32(local + 18);
      let lusize = u32(local + 22);
      if (lcsize === 0xffffffff || lusize === 0xffffffff) {
        const z64 = zip64Extra(local + 30 + lnlen, lxlen, name);
        if (z64 !== undefined) {
          if (lusize === 0xffffffff) lusize = u64(z64);
          if (lcsize === 0xffffffff) lcsize = u64(z64 + 8);
        }
      }
      if (u32(local + 14) !== crc || lcsize !== csize || lusize !== usize) corrupt(`the local header of '${name}' disagrees with the central directory on its CRC or sizes`);
    }
    if (name.endsWith('/')) continue; // a directory
    if (!name.endsWith('.npy')) continue; // not an array: never inflated
    if (flags & 1) throw new InputError(`${where}: member '${name}' is encrypted; encrypted .npz archives are not supported`);
    const start = local + 30 + lnlen + lxlen;
    if (start + csize > b.length) corrupt(`the data of '${name}' is truncated`);
    const raw = b.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) {
      if (csize !== usize) corrupt(`'${name}' is stored with ${csize} bytes but should be ${usize}`);
      data = raw;
    } else if (method === 8) {
      if (usize > maxInflated)
        throw new InputError(
          `${where}: member '${name}' would inflate to ${usize} bytes, over the limit of ${maxInflated}; ` +
            'if the archive is trusted, raise the maxInflatedBytes option of parseNpz/loadNpz',
        );
      data = inflateBounded(raw, usize, name, where, corrupt);
    } else {
      throw new InputError(
        `${where}: member '${name}' uses zip compression method ${method}; only stored and deflated members are supported ` +
          '(numpy.savez / numpy.savez_compressed)',
      );
    }
    if (crc32(data) !== crc) corrupt(`CRC mismatch in '${name}'`);
    members.push({ name, data });
  }
  if (p !== cdEnd) corrupt(`the central directory holds ${cdEnd - p} bytes after its ${count} entries`);
  return members;
}

/**
 * Parse the bytes of a `.npz` archive. Each member `x.npy` becomes key `x`; members that are not
 * `.npy` files (and directories) are skipped. Order follows the archive.
 *
 * @param bytes the whole archive
 * @param name file name used in error messages
 * @param options the cap on inflated sizes
 * @throws InputError when the archive or one of its arrays is invalid, or a member inflates past the cap
 */
export function parseNpz(bytes: Uint8Array, name = '<npz>', options: NpzReadOptions = {}): Map<string, NdArray> {
  const maxInflated = options.maxInflatedBytes ?? NPZ_MAX_INFLATED_BYTES;
  if (!(Number.isSafeInteger(maxInflated) && maxInflated >= 0)) throw new InputError(`maxInflatedBytes must be a non-negative integer, got ${String(maxInflated)}`);
  const given: unknown = bytes;
  let b: Uint8Array;
  if (given instanceof Uint8Array) b = given;
  else if (given instanceof ArrayBuffer) b = new Uint8Array(given);
  else if (ArrayBuffer.isView(given)) b = new Uint8Array(given.buffer, given.byteOffset, given.byteLength);
  else throw new InputError(`expected the bytes of ${name} as a Uint8Array, got ${given === null ? 'null' : typeof given}`);
  if (b.length < 22) {
    if (isNpyMagic(b)) throw new InputError(`${name} is a .npy file, not an .npz archive; load it with loadNpy/parseNpy`);
    throw new InputError(`${name} is not an .npz file (${b.length} bytes, too short for a zip archive); save arrays with numpy.savez`);
  }
  const out = new Map<string, NdArray>();
  for (const m of readZip(b, name, maxInflated)) {
    const key = m.name.slice(0, -4);
    out.set(key, parseNpy(m.data, `${name}[${key}]`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------------------------

/** 1980-01-01 00:00 local time, the zip epoch: a fixed timestamp makes the output deterministic. */
const ZIP_EPOCH = new Date(1980, 0, 1, 0, 0, 0);

/**
 * Encode arrays as a `.npz` archive readable by `numpy.load`. Keys become member names `key.npy`.
 * Members are stored (like `numpy.savez`) or deflated with `{ compress: true }` (like
 * `numpy.savez_compressed`). Output is deterministic (fixed timestamps).
 *
 * @throws InputError for an empty or duplicate key, an inconsistent array, or an archive over 4 GiB
 */
export function encodeNpz(entries: Record<string, NdArray> | Map<string, NdArray>, options: NpzOptions = {}): Uint8Array {
  if (entries === null || typeof entries !== 'object') {
    throw new InputError('encodeNpz() needs a Map or an object of arrays keyed by name');
  }
  const list = entries instanceof Map ? [...entries.entries()] : Object.entries(entries);
  if (list.length >= 0xffff) throw new InputError(`too many arrays for one .npz (${list.length}); the limit is 65534`);
  const enc = new TextEncoder();
  const level = options.compress === true ? 6 : 0;
  const files: Zippable = {};
  let total = 22;
  for (const [key, arr] of list) {
    if (typeof key !== 'string' || key === '') throw new InputError('every .npz entry needs a non-empty string name');
    if (Object.prototype.hasOwnProperty.call(files, `${key}.npy`)) throw new InputError(`the name '${key}' is used twice in one .npz`);
    checkNdArray(arr, `.npz entry '${key}'`);
    const npy = encodeNpy(arr);
    const nameBytes = enc.encode(`${key}.npy`).length;
    if (nameBytes > 0xffff) throw new InputError(`the .npz entry name '${key.slice(0, 40)}...' is too long`);
    // stored members are what they hold; deflate never grows data by more than a few bytes per 16 KiB
    total += 76 + 2 * nameBytes + npy.length + (level ? Math.ceil(npy.length / 16384) * 5 + 16 : 0);
    if (total > 0xffffffff) throw new InputError('the .npz archive would exceed 4 GiB; save the arrays in several files');
    // os 3 (Unix) and a regular rw-r--r-- file, as Python's zipfile writes; names are flagged UTF-8 when not ASCII
    files[`${key}.npy`] = [npy, { level, mtime: ZIP_EPOCH, os: 3, attrs: (0o100644 << 16) >>> 0 }];
  }
  return zipSync(files);
}
