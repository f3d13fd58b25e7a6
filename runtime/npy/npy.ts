/**
 * Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), plus small helpers to
 * wrap typed arrays and convert them. Pure TypeScript: no Python is needed at run time.
 *
 * Format reference: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { InputError } from '../../src/diagnostics/diagnostic.js';
import { float16BitsToNumber, numberToFloat16Bits } from '../half.js';

export { float16BitsToNumber, numberToFloat16Bits };

/** The element types this package reads and writes (NumPy dtype names). */
export type NpyDtype =
  | 'float16'
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool';

/** Any typed array that can back an {@link NdArray}. */
export type NdData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/**
 * An n-dimensional array: dtype, shape and a flat typed array in C (row-major) order, native
 * little-endian. `float16` data is decoded to a `Float32Array` (dtype stays `'float16'`); `bool`
 * data is a `Uint8Array` of 0/1. A 0-d array has `shape: []` and one element.
 */
export interface NdArray {
  dtype: NpyDtype;
  shape: number[];
  data: NdData;
}

interface DtypeInfo {
  /** Bytes per element in the file. */
  size: number;
  /** NumPy type character in a descr (`f`, `i`, `u`, `b`). */
  kind: 'f' | 'i' | 'u' | 'b';
  /** The typed array that holds decoded data. */
  ctor: new (n: number) => NdData;
}

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  float16: { size: 2, kind: 'f', ctor: Float32Array },
  float32: { size: 4, kind: 'f', ctor: Float32Array },
  float64: { size: 8, kind: 'f', ctor: Float64Array },
  int8: { size: 1, kind: 'i', ctor: Int8Array },
  int16: { size: 2, kind: 'i', ctor: Int16Array },
  int32: { size: 4, kind: 'i', ctor: Int32Array },
  int64: { size: 8, kind: 'i', ctor: BigInt64Array },
  uint8: { size: 1, kind: 'u', ctor: Uint8Array },
  uint16: { size: 2, kind: 'u', ctor: Uint16Array },
  uint32: { size: 4, kind: 'u', ctor: Uint32Array },
  uint64: { size: 8, kind: 'u', ctor: BigUint64Array },
  bool: { size: 1, kind: 'b', ctor: Uint8Array },
};

/** All supported dtype names, in a stable order. */
export const NPY_DTYPES: readonly NpyDtype[] = Object.keys(DTYPES) as NpyDtype[];

/** True when `s` names a supported dtype. */
export function isNpyDtype(s: unknown): s is NpyDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, s);
}

/** Bytes per element of a dtype as stored in a `.npy` file (2 for float16, 1 for bool). */
export function dtypeItemSize(dtype: NpyDtype): number {
  return DTYPES[dtype].size;
}

/** The NumPy descr string this package writes for a dtype, e.g. `<f8`, `|b1`. */
export function dtypeDescr(dtype: NpyDtype): string {
  const { size, kind } = DTYPES[dtype];
  return `${size === 1 ? '|' : '<'}${kind}${size}`;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAX_HEADER_DEPTH = 32;
/** The longest header NumPy reads by default (`max_header_size`). */
const MAX_HEADER_BYTES = 10000;

// ---------------------------------------------------------------------------------------------
// header parsing: a tiny reader for the Python literals NumPy writes
// ---------------------------------------------------------------------------------------------

type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue } | PyTuple | PyFloat;
class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
/** A float literal (`100.0`, `1e3`): kept apart from integers, which are what a shape may hold. */
class PyFloat {
  constructor(readonly text: string) {}
}

class HeaderParser {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly where: string,
  ) {}

  fail(what: string): never {
    const shown = this.text.length > 160 ? `${this.text.slice(0, 157)}...` : this.text;
    throw new InputError(
      `malformed .npy header in ${this.where}: ${what} at character ${this.pos} of ${JSON.stringify(shown.trimEnd())}; ` +
        're-save the array with numpy.save',
    );
  }

  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  peek(): string {
    this.ws();
    return this.text[this.pos] ?? '';
  }

  expect(c: string): void {
    if (this.peek() !== c) this.fail(`expected '${c}'`);
    this.pos++;
  }

  value(depth: number): PyValue {
    if (depth > MAX_HEADER_DEPTH) this.fail('nesting too deep');
    const c = this.peek();
    if (c === '{') return this.dict(depth);
    if (c === '(' || c === '[') return this.sequence(depth, c);
    if (c === "'" || c === '"') return this.string();
    if (/[-+0-9]/.test(c)) return this.number();
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos))!;
      const word = m[0];
      if (/^[bBuUrR]{1,2}$/.test(word) && /['"]/.test(this.text[this.pos + word.length] ?? '')) {
        this.pos += word.length;
        return this.string();
      }
      this.pos += word.length;
      if (word === 'True') return true;
      if (word === 'False') return false;
      if (word === 'None') return null;
      this.pos -= word.length;
      this.fail(`unexpected name '${word}'`);
    }
    if (c === '') this.fail('unexpected end of header');
    this.fail(`unexpected character '${c}'`);
  }

  dict(depth: number): { [k: string]: PyValue } {
    this.expect('{');
    const out: { [k: string]: PyValue } = Object.create(null);
    for (;;) {
      if (this.peek() === '}') break;
      const key = this.value(depth + 1);
      if (typeof key !== 'string') this.fail('expected a string key');
      this.expect(':');
      out[key] = this.value(depth + 1);
      const c = this.peek();
      if (c === ',') this.pos++;
      else if (c !== '}') this.fail("expected ',' or '}'");
    }
    this.pos++;
    return out;
  }

  sequence(depth: number, open: string): PyValue {
    const close = open === '(' ? ')' : ']';
    this.expect(open);
    const items: PyValue[] = [];
    let sawComma = false;
    for (;;) {
      if (this.peek() === close) break;
      items.push(this.value(depth + 1));
      const c = this.peek();
      if (c === ',') {
        this.pos++;
        sawComma = true;
      } else if (c !== close) this.fail(`expected ',' or '${close}'`);
    }
    this.pos++;
    if (open === '[') return items;
    // `(3)` is just a parenthesised 3 in Python; `(3,)` is a tuple.
    if (items.length === 1 && !sawComma) return items[0]!;
    return new PyTuple(items);
  }

  string(): string {
    const q = this.text[this.pos]!;
    this.pos++;
    let out = '';
    for (;;) {
      if (this.pos >= this.text.length) this.fail('unterminated string');
      const c = this.text[this.pos++]!;
      if (c === q) return out;
      if (c === '\\') {
        const e = this.text[this.pos++] ?? '';
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
        if (e in simple) out += simple[e];
        else if (e === 'x' || e === 'u') {
          const n = e === 'x' ? 2 : 4;
          const hex = this.text.slice(this.pos, this.pos + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail('bad escape in string');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += n;
        } else out += `\\${e}`;
      } else out += c;
    }
  }

  number(): number | PyFloat {
    const m = /^[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?)[lL]?/.exec(this.text.slice(this.pos));
    if (!m) this.fail('bad number');
    this.pos += m[0].length;
    const v = Number(m[0].replace(/[lL]$/, ''));
    return m[2] !== undefined || m[3] !== undefined ? new PyFloat(m[0]) : v;
  }

  parseAll(): PyValue {
    const v = this.value(0);
    if (this.peek() !== '') this.fail('unexpected text after the header dict');
    return v;
  }
}

/** What a descr string means. */
interface Descr {
  dtype: NpyDtype;
  littleEndian: boolean;
}

function unsupportedKind(kind: string, descr: string): string | undefined {
  switch (kind) {
    case 'O':
      return `object arrays (dtype '${descr}') are not supported: they hold pickled Python objects; convert to a numeric array (e.g. arr.astype(np.float64)) before saving`;
    case 'U':
      return `unicode string arrays (dtype '${descr}') are not supported; only numeric and bool arrays can be loaded`;
    case 'S':
    case 'a':
      return `byte string arrays (dtype '${descr}') are not supported; only numeric and bool arrays can be loaded`;
    case 'V':
      return `void/raw arrays (dtype '${descr}') are not supported; only numeric and bool arrays can be loaded`;
    case 'c':
      return `complex arrays (dtype '${descr}') are not supported; save the real and imaginary parts as two float arrays`;
    case 'M':
    case 'm':
      return `datetime/timedelta arrays (dtype '${descr}') are not supported; convert to int64 or float64 first`;
    default:
      return undefined;
  }
}

function parseDescr(descr: PyValue, where: string): Descr {
  if (Array.isArray(descr) || descr instanceof PyTuple) {
    throw new InputError(
      `structured (record) arrays are not supported in ${where}: save each field as its own plain numeric array`,
    );
  }
  if (typeof descr !== 'string') {
    throw new InputError(`malformed .npy header in ${where}: 'descr' must be a dtype string such as '<f8'`);
  }
  if (isNpyDtype(descr)) return { dtype: descr, littleEndian: true };
  const m = /^([<>|=!]?)([A-Za-z?])(\d*)(\[.*\])?$/.exec(descr);
  const kind = m?.[2] ?? '';
  const bad = unsupportedKind(kind, descr);
  if (bad) throw new InputError(`${bad} (in ${where})`);
  if (!m || m[4]) {
    throw new InputError(
      `unsupported dtype '${descr}' in ${where}; supported: ${NPY_DTYPES.join(', ')}`,
    );
  }
  const order = m[1]!;
  const size = m[3] === '' ? (kind === '?' ? 1 : NaN) : Number(m[3]);
  const k = kind === '?' ? 'b' : kind;
  const dtype = NPY_DTYPES.find((d) => DTYPES[d].kind === k && DTYPES[d].size === size);
  if (!dtype) {
    throw new InputError(`unsupported dtype '${descr}' in ${where}; supported: ${NPY_DTYPES.join(', ')}`);
  }
  const littleEndian = order === '>' || order === '!' ? false : order === '=' ? HOST_LITTLE_ENDIAN : true;
  return { dtype, littleEndian };
}

function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Number of elements of a shape; throws when any extent is invalid or the product is too large. */
export function shapeSize(shape: readonly number[], where = 'array'): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new InputError(`invalid shape ${JSON.stringify(shape)} for ${where}: extents must be non-negative integers`);
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) {
    throw new InputError(`shape ${formatShape(shape)} of ${where} has too many elements`);
  }
  return n;
}

/**
 * The size in bytes of the `.npy` file whose first bytes are `prefix` (header plus the data its shape
 * needs), or undefined while `prefix` does not hold the whole header. Throws InputError as parseNpy
 * would for a bad magic string, version or header. Lets a reader bound a stream by what it promises.
 */
export function npyFileSize(prefix: Uint8Array, name = '<npy>'): number | undefined {
  const h = readHeader(prefix, name, true);
  return h && h.dataStart + h.need;
}

/** Reorder `src` (Fortran order) into a new array of the same type in C order. */
function fortranToC<T extends NdData>(src: T, shape: readonly number[]): T {
  const nd = shape.length;
  const n = src.length;
  if (nd <= 1 || n === 0) return src;
  const out = new (src.constructor as new (n: number) => T)(n);
  // Fortran strides (in elements) of each axis.
  const fstride = new Array<number>(nd);
  let s = 1;
  for (let k = 0; k < nd; k++) {
    fstride[k] = s;
    s *= shape[k]!;
  }
  const idx = new Array<number>(nd).fill(0);
  let off = 0;
  const o = out as unknown as { [i: number]: number | bigint };
  const r = src as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < n; i++) {
    o[i] = r[off]!;
    // increment the C-order multi-index (last axis fastest) and keep the Fortran offset in step
    for (let k = nd - 1; k >= 0; k--) {
      idx[k]!++;
      off += fstride[k]!;
      if (idx[k]! < shape[k]!) break;
      off -= fstride[k]! * shape[k]!;
      idx[k] = 0;
    }
  }
  return out;
}

function toBytes(bytes: unknown, where: string): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new InputError(`expected the bytes of ${where} as a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
}

function looksLikeZip(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6);
}

/** Decode `count` elements of `dtype` starting at `offset` of `bytes` into a fresh typed array. */
function decodeData(bytes: Uint8Array, offset: number, count: number, dtype: NpyDtype, littleEndian: boolean): NdData {
  const { size, ctor } = DTYPES[dtype];
  const nbytes = count * size;
  if (dtype === 'float16') {
    const out = new Float32Array(count);
    const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, nbytes);
    for (let i = 0; i < count; i++) out[i] = float16BitsToNumber(dv.getUint16(2 * i, littleEndian));
    return out;
  }
  if (size === 1 || littleEndian === HOST_LITTLE_ENDIAN) {
    const copy = new Uint8Array(nbytes); // own, aligned buffer (Buffer#slice would alias)
    copy.set(bytes.subarray(offset, offset + nbytes));
    const out = new (ctor as unknown as new (b: ArrayBuffer, o: number, n: number) => NdData)(copy.buffer, 0, count);
    if (dtype === 'bool') {
      const u = out as Uint8Array;
      for (let i = 0; i < count; i++) u[i] = u[i] ? 1 : 0;
    }
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, nbytes);
  const le = littleEndian;
  switch (dtype) {
    case 'float32': {
      const o = new Float32Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getFloat32(4 * i, le);
      return o;
    }
    case 'float64': {
      const o = new Float64Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getFloat64(8 * i, le);
      return o;
    }
    case 'int16': {
      const o = new Int16Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getInt16(2 * i, le);
      return o;
    }
    case 'uint16': {
      const o = new Uint16Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getUint16(2 * i, le);
      return o;
    }
    case 'int32': {
      const o = new Int32Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getInt32(4 * i, le);
      return o;
    }
    case 'uint32': {
      const o = new Uint32Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getUint32(4 * i, le);
      return o;
    }
    case 'int64': {
      const o = new BigInt64Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getBigInt64(8 * i, le);
      return o;
    }
    case 'uint64': {
      const o = new BigUint64Array(count);
      for (let i = 0; i < count; i++) o[i] = dv.getBigUint64(8 * i, le);
      return o;
    }
    default:
      throw new InputError(`internal: cannot decode dtype ${dtype}`);
  }
}

/** What a `.npy` header says. */
interface NpyHeader {
  dtype: NpyDtype;
  littleEndian: boolean;
  fortran: boolean;
  shape: number[];
  count: number;
  /** Where the data starts (the header's length). */
  dataStart: number;
  /** Bytes of data the shape needs. */
  need: number;
}

/** Parse the header of the `.npy` bytes `b`; with `partial`, undefined when `b` does not hold all of it yet. */
function readHeader(b: Uint8Array, name: string, partial: boolean): NpyHeader | undefined {
  if (partial && b.length < 12) return undefined;
  if (b.length < 10 || MAGIC.some((m, i) => b[i] !== m)) {
    if (looksLikeZip(b)) {
      throw new InputError(`${name} is a zip archive (.npz), not a .npy file; load it with loadNpz/parseNpz`);
    }
    if (b.length === 0) throw new InputError(`${name} is empty (0 bytes), not a .npy file`);
    if (b.length < 10 && MAGIC.slice(0, b.length).every((m, i) => b[i] === m)) {
      throw new InputError(`${name} is truncated: only ${b.length} bytes, too short for a .npy header`);
    }
    throw new InputError(
      `${name} is not a .npy file: it does not start with the magic string "\\x93NUMPY"; save arrays with numpy.save`,
    );
  }
  const major = b[6]!;
  const minor = b[7]!;
  if (![1, 2, 3].includes(major) || minor !== 0) {
    throw new InputError(
      `${name} uses .npy format version ${major}.${minor}; supported versions are 1.0, 2.0 and 3.0`,
    );
  }
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    headerStart = 10;
  } else {
    if (b.length < 12) throw new InputError(`${name} is truncated: the header length field is incomplete`);
    headerLen = dv.getUint32(8, true);
    headerStart = 12;
  }
  if (headerLen > MAX_HEADER_BYTES) {
    throw new InputError(`${name}: the .npy header is ${headerLen} bytes, over NumPy's limit of ${MAX_HEADER_BYTES} (max_header_size); re-save the array with numpy.save`);
  }
  const dataStart = headerStart + headerLen;
  if (partial && dataStart > b.length) return undefined;
  if (dataStart > b.length) {
    throw new InputError(
      `${name} is truncated: the header says it is ${headerLen} bytes but only ${b.length - headerStart} bytes follow`,
    );
  }
  const hb = b.subarray(headerStart, dataStart);
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(hb);
    } catch {
      throw new InputError(`malformed .npy header in ${name}: version 3.0 header is not valid UTF-8`);
    }
  } else {
    text = '';
    for (let i = 0; i < hb.length; i++) text += String.fromCharCode(hb[i]!);
  }
  const header = new HeaderParser(text.replace(/\0+$/, ''), name).parseAll();
  if (header === null || typeof header !== 'object' || Array.isArray(header) || header instanceof PyTuple || header instanceof PyFloat) {
    throw new InputError(`malformed .npy header in ${name}: expected a dict like {'descr': '<f8', 'fortran_order': False, 'shape': (3,)}`);
  }
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!(key in header)) {
      throw new InputError(`malformed .npy header in ${name}: the key '${key}' is missing; re-save the array with numpy.save`);
    }
  }
  const extra = Object.keys(header).filter((k) => k !== 'descr' && k !== 'fortran_order' && k !== 'shape');
  if (extra.length) {
    throw new InputError(`malformed .npy header in ${name}: unexpected key${extra.length > 1 ? 's' : ''} ${extra.map((k) => `'${k}'`).join(', ')} (NumPy allows only 'descr', 'fortran_order' and 'shape'); re-save the array with numpy.save`);
  }
  const { dtype, littleEndian } = parseDescr(header['descr']!, name);
  const fortran = header['fortran_order'];
  if (typeof fortran !== 'boolean') {
    throw new InputError(`malformed .npy header in ${name}: 'fortran_order' must be True or False`);
  }
  // as NumPy: a tuple of integers (not a list, a bare number or a float such as 100.0)
  const rawShape = header['shape'];
  const shown = (v: PyValue): string => (v instanceof PyFloat ? v.text : v instanceof PyTuple ? `(${v.items.map(shown).join(', ')}${v.items.length === 1 ? ',' : ''})` : JSON.stringify(v));
  if (!(rawShape instanceof PyTuple)) {
    throw new InputError(`malformed .npy header in ${name}: 'shape' must be a tuple of non-negative integers, got ${shown(rawShape!)}`);
  }
  const shape: number[] = [];
  for (const d of rawShape.items) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new InputError(`malformed .npy header in ${name}: 'shape' must be a tuple of non-negative integers, got ${shown(d)} in ${shown(rawShape)}`);
    }
    shape.push(d);
  }
  const count = shapeSize(shape, name);
  const itemSize = DTYPES[dtype].size;
  const need = count * itemSize;
  return { dtype, littleEndian, fortran, shape, count, dataStart, need };
}

/**
 * Parse the bytes of a `.npy` file (format 1.0, 2.0 or 3.0).
 *
 * Handles every {@link NpyDtype} in little-, big- or native-endian form and Fortran-ordered data
 * (converted to C order). The result owns its data (it never aliases `bytes`).
 *
 * @param bytes the whole file
 * @param name file name used in error messages
 * @throws InputError when the bytes are not a valid `.npy` file or hold an unsupported dtype
 */
export function parseNpy(bytes: Uint8Array, name = '<npy>'): NdArray {
  const b = toBytes(bytes, name);
  const { dtype, littleEndian, fortran, shape, count, dataStart, need } = readHeader(b, name, false)!;
  const have = b.length - dataStart;
  if (need > have) {
    throw new InputError(
      `${name} is truncated: shape ${formatShape(shape)} of ${dtype} needs ${need} bytes of data but only ${have} follow the header`,
    );
  }
  if (need < have) {
    throw new InputError(
      `${name} is inconsistent: shape ${formatShape(shape)} of ${dtype} is ${need} bytes of data but ${have} follow the header (the header or the file is wrong); re-save the array with numpy.save`,
    );
  }
  let data = decodeData(b, dataStart, count, dtype, littleEndian);
  if (fortran) data = fortranToC(data, shape);
  return { dtype, shape, data };
}

// ---------------------------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------------------------

const DATA_CTOR_NAME: Record<NpyDtype, string> = {
  float16: 'Float32Array',
  float32: 'Float32Array',
  float64: 'Float64Array',
  int8: 'Int8Array',
  int16: 'Int16Array',
  int32: 'Int32Array',
  int64: 'BigInt64Array',
  uint8: 'Uint8Array',
  uint16: 'Uint16Array',
  uint32: 'Uint32Array',
  uint64: 'BigUint64Array',
  bool: 'Uint8Array',
};

/**
 * Check that `arr` is a consistent {@link NdArray}: a known dtype, a valid shape and data of the
 * matching typed array type and length. Returns the element count.
 *
 * @throws InputError describing the first inconsistency
 */
export function checkNdArray(arr: NdArray, where = 'array'): number {
  if (arr === null || typeof arr !== 'object') throw new InputError(`${where} is not an NdArray object`);
  if (!isNpyDtype(arr.dtype)) {
    throw new InputError(`${where} has unsupported dtype ${JSON.stringify(arr.dtype)}; use one of ${NPY_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(arr.shape)) throw new InputError(`${where} has no shape array`);
  const n = shapeSize(arr.shape, where);
  const want = DATA_CTOR_NAME[arr.dtype];
  const ctor = DTYPES[arr.dtype].ctor;
  if (!(arr.data instanceof ctor) || (ctor === Uint8Array && arr.data instanceof Uint8ClampedArray)) {
    const got = ArrayBuffer.isView(arr.data) ? arr.data.constructor.name : typeof arr.data;
    throw new InputError(`${where} has dtype ${arr.dtype} so its data must be a ${want}, got ${got}`);
  }
  if (arr.data.length !== n) {
    throw new InputError(
      `${where} has shape ${formatShape(arr.shape)} (${n} elements) but its data holds ${arr.data.length} elements`,
    );
  }
  return n;
}

/** The header text NumPy writes (before padding), including its spare space for growth. */
function headerDict(arr: NdArray): string {
  let h = `{'descr': '${dtypeDescr(arr.dtype)}', 'fortran_order': False, 'shape': ${formatShape(arr.shape)}, }`;
  // NumPy leaves room so that the first axis can grow in place (GROWTH_AXIS_MAX_DIGITS = 21).
  if (arr.shape.length > 0) h += ' '.repeat(Math.max(0, 21 - String(arr.shape[0]).length));
  return h;
}

/**
 * Encode an array as a `.npy` file: format 1.0 (2.0 when the header exceeds 64 KiB), little-endian,
 * C order, with the header padded so the data starts at a multiple of 64 bytes — byte for byte
 * what `numpy.save` writes for the same array.
 *
 * @throws InputError when `arr` is inconsistent (see `checkNdArray`)
 */
export function encodeNpy(arr: NdArray): Uint8Array {
  const n = checkNdArray(arr);
  const dict = headerDict(arr);
  let version = 1;
  let prefix = 10;
  let total = prefix + dict.length + 1;
  let pad = (64 - (total % 64)) % 64;
  if (dict.length + 1 + pad > 0xffff) {
    version = 2;
    prefix = 12;
    total = prefix + dict.length + 1;
    pad = (64 - (total % 64)) % 64;
  }
  const headerLen = dict.length + pad + 1;
  const { size } = DTYPES[arr.dtype];
  const out = new Uint8Array(prefix + headerLen + n * size);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, headerLen, true);
  else dv.setUint32(8, headerLen, true);
  let p = prefix;
  for (let i = 0; i < dict.length; i++) out[p++] = dict.charCodeAt(i) & 0xff;
  out.fill(0x20, p, p + pad);
  p += pad;
  out[p++] = 0x0a;
  const d = arr.data;
  if (arr.dtype === 'float16') {
    const f = d as Float32Array;
    for (let i = 0; i < n; i++) dv.setUint16(p + 2 * i, numberToFloat16Bits(f[i]!), true);
  } else if (arr.dtype === 'bool') {
    const u = d as Uint8Array;
    for (let i = 0; i < n; i++) out[p + i] = u[i] ? 1 : 0;
  } else if (HOST_LITTLE_ENDIAN || size === 1) {
    out.set(new Uint8Array(d.buffer, d.byteOffset, n * size), p);
  } else {
    for (let i = 0; i < n; i++) {
      const v = d[i]!;
      const o = p + i * size;
      switch (arr.dtype) {
        case 'float32': dv.setFloat32(o, v as number, true); break;
        case 'float64': dv.setFloat64(o, v as number, true); break;
        case 'int16': dv.setInt16(o, v as number, true); break;
        case 'uint16': dv.setUint16(o, v as number, true); break;
        case 'int32': dv.setInt32(o, v as number, true); break;
        case 'uint32': dv.setUint32(o, v as number, true); break;
        case 'int64': dv.setBigInt64(o, v as bigint, true); break;
        case 'uint64': dv.setBigUint64(o, v as bigint, true); break;
        default: break;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

function dtypeOfData(data: unknown): NpyDtype | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8ClampedArray) return undefined;
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigUint64Array) return 'uint64';
  return undefined;
}

/**
 * Wrap a typed array as an {@link NdArray} (no copy). The dtype is inferred from the array type;
 * pass `dtype` to pick `'float16'` for a `Float32Array` or `'bool'` for a `Uint8Array`. A plain
 * `number[]` becomes a new `Float64Array`. `shape` defaults to `[data.length]`.
 *
 * @throws InputError when the shape does not match the data length or the dtype does not fit the data
 */
export function ndarray(data: NdData | number[], shape?: readonly number[], dtype?: NpyDtype): NdArray {
  const d: unknown = Array.isArray(data) ? Float64Array.from(data) : data;
  const inferred = dtypeOfData(d);
  if (!inferred) {
    const got = ArrayBuffer.isView(d) ? d.constructor.name : typeof d;
    throw new InputError(`ndarray() needs a typed array such as Float64Array or Int32Array, got ${got}`);
  }
  const arr: NdArray = {
    dtype: dtype ?? inferred,
    shape: shape ? [...shape] : [(d as NdData).length],
    data: d as NdData,
  };
  checkNdArray(arr, 'ndarray()');
  return arr;
}

type Numeric = NdArray | NdData;

function dataOf(arr: Numeric, where: string): { data: NdData; dtype: NpyDtype } {
  if (ArrayBuffer.isView(arr)) {
    const dtype = dtypeOfData(arr);
    if (!dtype) throw new InputError(`${where}: unsupported array type ${arr.constructor.name}`);
    return { data: arr as NdData, dtype };
  }
  checkNdArray(arr, where);
  return { data: arr.data, dtype: arr.dtype };
}

/**
 * The values of an array as a `Float64Array`. Returns `data` itself (no copy) when it already is a
 * `Float64Array`; otherwise a converted copy. 64-bit integers beyond 2^53 are rounded.
 */
export function toFloat64(arr: NdArray | NdData): Float64Array {
  const { data } = dataOf(arr, 'toFloat64()');
  if (data instanceof Float64Array) return data;
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  return out;
}

/**
 * The values of an array as a `Float32Array`. Returns `data` itself (no copy) when it already is a
 * `Float32Array` (dtype float32 or float16); otherwise a converted (rounded) copy.
 */
export function toFloat32(arr: NdArray | NdData): Float32Array {
  const { data } = dataOf(arr, 'toFloat32()');
  if (data instanceof Float32Array) return data;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i]!);
  return out;
}

/**
 * Read an index array (any integer dtype, e.g. KeOps `ranges` saved as int32 or int64) as plain
 * numbers. Floats are accepted only when every value is a whole number. Every value must lie in
 * `[min, max]` (defaults: 0 and `Number.MAX_SAFE_INTEGER`).
 *
 * @param what name used in error messages, e.g. `'ranges_i'`
 * @throws InputError for bool data, fractional or non-finite values, or values out of range
 */
export function toIndexList(
  arr: NdArray | NdData,
  what = 'index array',
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number[] {
  const { data, dtype } = dataOf(arr, what);
  if (dtype === 'bool' && !ArrayBuffer.isView(arr)) {
    throw new InputError(`${what} must hold integers, got a bool array; save it as int32 or int64`);
  }
  const out = new Array<number>(data.length);
  for (let i = 0; i < data.length; i++) {
    const raw = data[i]!;
    if (typeof raw === 'bigint') {
      if (raw < BigInt(min) || raw > BigInt(max)) {
        throw new InputError(`${what}[${i}] = ${raw} is out of range [${min}, ${max}]`);
      }
      out[i] = Number(raw);
    } else {
      if (!Number.isInteger(raw)) {
        throw new InputError(`${what}[${i}] = ${raw} is not an integer; index arrays must be int32 or int64`);
      }
      if (raw < min || raw > max) throw new InputError(`${what}[${i}] = ${raw} is out of range [${min}, ${max}]`);
      out[i] = raw;
    }
  }
  return out;
}

/**
 * Read an index array as an `Int32Array` (a copy), checking every value fits in int32 — e.g. for
 * int64 ranges arrays produced by NumPy on 64-bit platforms. Same rules as {@link toIndexList};
 * `min` defaults to 0 and `max` to 2^31 - 1.
 */
export function toInt32Array(
  arr: NdArray | NdData,
  what = 'index array',
  min = 0,
  max = 0x7fffffff,
): Int32Array {
  const lo = Math.max(min, -0x80000000);
  const hi = Math.min(max, 0x7fffffff);
  return Int32Array.from(toIndexList(arr, what, lo, hi));
}
