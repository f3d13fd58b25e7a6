/**
 * Reading and writing NumPy `.npz` archives: zip files whose members are `.npy` files, as written by
 * `numpy.savez` (stored) and `numpy.savez_compressed` (deflated). The zip container is read and
 * written here with bounds checks on every field (zip64 records are understood when reading); fflate
 * does the deflate/inflate.
 */
import { deflateSync, inflateSync } from 'fflate';
import { InputError } from '../../src/diagnostics/diagnostic.js';
import { checkNdArray, encodeNpy, parseNpy, type NdArray } from './npy.js';

/** Options for {@link encodeNpz}. */
export interface NpzOptions {
  /** Deflate the members like `numpy.savez_compressed` (default false: stored like `numpy.savez`). */
  compress?: boolean;
}

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

/** Read every file member of a zip archive, validating offsets, sizes and CRCs. */
function readZip(b: Uint8Array, where: string): ZipMember[] {
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
      let x = p + 46 + nlen;
      const xEnd = x + xlen;
      while (x + 4 <= xEnd) {
        const id = u16(x);
        const len = u16(x + 2);
        if (x + 4 + len > xEnd) break;
        if (id === 0x0001) {
          let q = x + 4;
          const take = (): number => {
            if (q + 8 > x + 4 + len) corrupt(`zip64 field of '${name}' is too short`);
            const v = u64(q);
            q += 8;
            return v;
          };
          if (usize === 0xffffffff) usize = take();
          if (csize === 0xffffffff) csize = take();
          if (local === 0xffffffff) local = take();
          break;
        }
        x += 4 + len;
      }
    }
    p = next;
    if (name.endsWith('/')) continue; // a directory
    if (flags & 1) throw new InputError(`${where}: member '${name}' is encrypted; encrypted .npz archives are not supported`);
    if (local + 30 > b.length || u32(local) !== SIG_LOCAL) corrupt(`the local header of '${name}' is missing`);
    const start = local + 30 + u16(local + 26) + u16(local + 28);
    if (start + csize > b.length) corrupt(`the data of '${name}' is truncated`);
    const raw = b.subarray(start, start + csize);
    let data: Uint8Array;
    if (method === 0) {
      data = raw;
    } else if (method === 8) {
      try {
        data = inflateSync(raw);
      } catch (e) {
        return corrupt(`cannot inflate '${name}' (${(e as Error).message})`);
      }
    } else {
      throw new InputError(
        `${where}: member '${name}' uses zip compression method ${method}; only stored and deflated members are supported ` +
          '(numpy.savez / numpy.savez_compressed)',
      );
    }
    if (data.length !== usize) corrupt(`'${name}' should be ${usize} bytes but decodes to ${data.length}`);
    if (crc32(data) !== crc) corrupt(`CRC mismatch in '${name}'`);
    members.push({ name, data });
  }
  return members;
}

/**
 * Parse the bytes of a `.npz` archive. Each member `x.npy` becomes key `x`; members that are not
 * `.npy` files (and directories) are skipped. Order follows the archive.
 *
 * @param bytes the whole archive
 * @param name file name used in error messages
 * @throws InputError when the archive or one of its arrays is invalid
 */
export function parseNpz(bytes: Uint8Array, name = '<npz>'): Map<string, NdArray> {
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
  for (const m of readZip(b, name)) {
    if (!m.name.endsWith('.npy')) continue;
    const key = m.name.slice(0, -4);
    out.set(key, parseNpy(m.data, `${name}[${key}]`));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------------------------

/** MS-DOS date of 1980-01-01, 00:00: a fixed timestamp makes the output deterministic. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const DOS_TIME = 0;

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
  const compress = options.compress === true;
  const parts: { name: Uint8Array; utf8: boolean; crc: number; usize: number; body: Uint8Array; offset: number }[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const [key, arr] of list) {
    if (typeof key !== 'string' || key === '') throw new InputError('every .npz entry needs a non-empty string name');
    if (seen.has(key)) throw new InputError(`the name '${key}' is used twice in one .npz`);
    seen.add(key);
    checkNdArray(arr, `.npz entry '${key}'`);
    const npy = encodeNpy(arr);
    const name = enc.encode(`${key}.npy`);
    if (name.length > 0xffff) throw new InputError(`the .npz entry name '${key.slice(0, 40)}...' is too long`);
    const body = compress ? deflateSync(npy, { level: 6 }) : npy;
    // eslint-disable-next-line no-control-regex -- the ASCII range, on purpose
    parts.push({ name, utf8: /[^\x00-\x7f]/.test(key), crc: crc32(npy), usize: npy.length, body, offset });
    offset += 30 + name.length + body.length;
  }
  const cdOff = offset;
  const cdSize = parts.reduce((s, p) => s + 46 + p.name.length, 0);
  const total = cdOff + cdSize + 22;
  if (total > 0xffffffff) throw new InputError('the .npz archive would exceed 4 GiB; save the arrays in several files');
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const method = compress ? 8 : 0;
  for (const p of parts) {
    const o = p.offset;
    dv.setUint32(o, SIG_LOCAL, true);
    dv.setUint16(o + 4, 20, true); // version needed
    dv.setUint16(o + 6, p.utf8 ? 0x800 : 0, true);
    dv.setUint16(o + 8, method, true);
    dv.setUint16(o + 10, DOS_TIME, true);
    dv.setUint16(o + 12, DOS_DATE, true);
    dv.setUint32(o + 14, p.crc, true);
    dv.setUint32(o + 18, p.body.length, true);
    dv.setUint32(o + 22, p.usize, true);
    dv.setUint16(o + 26, p.name.length, true);
    dv.setUint16(o + 28, 0, true);
    out.set(p.name, o + 30);
    out.set(p.body, o + 30 + p.name.length);
  }
  let c = cdOff;
  for (const p of parts) {
    dv.setUint32(c, SIG_CENTRAL, true);
    dv.setUint16(c + 4, (3 << 8) | 20, true); // made by: Unix, zip 2.0
    dv.setUint16(c + 6, 20, true);
    dv.setUint16(c + 8, p.utf8 ? 0x800 : 0, true);
    dv.setUint16(c + 10, method, true);
    dv.setUint16(c + 12, DOS_TIME, true);
    dv.setUint16(c + 14, DOS_DATE, true);
    dv.setUint32(c + 16, p.crc, true);
    dv.setUint32(c + 20, p.body.length, true);
    dv.setUint32(c + 24, p.usize, true);
    dv.setUint16(c + 28, p.name.length, true);
    // extra length, comment length, disk number, internal attributes: 0
    dv.setUint32(c + 38, (0o100644 << 16) >>> 0, true); // external attributes: regular file, rw-r--r--
    dv.setUint32(c + 42, p.offset, true);
    out.set(p.name, c + 46);
    c += 46 + p.name.length;
  }
  dv.setUint32(c, SIG_EOCD, true);
  dv.setUint16(c + 8, parts.length, true);
  dv.setUint16(c + 10, parts.length, true);
  dv.setUint32(c + 12, cdSize, true);
  dv.setUint32(c + 16, cdOff, true);
  return out;
}
