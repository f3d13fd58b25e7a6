import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../src/diagnostics/diagnostic.js';
import {
  NPY_DTYPES,
  crc32,
  encodeNpy,
  encodeNpz,
  float16BitsToNumber,
  loadNpy,
  loadNpz,
  ndarray,
  numberToFloat16Bits,
  parseNpy,
  parseNpz,
  saveNpy,
  saveNpz,
  toFloat32,
  toFloat64,
  toIndexList,
  toInt32Array,
  type NdArray,
  type NpyDtype,
} from '../runtime/npy/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'npy');

type JsonValue = number | string | boolean;
interface Expected {
  dtype: NpyDtype;
  shape: number[];
  values: JsonValue[];
  canonical?: boolean;
  version?: number[];
}
const EXPECTED = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<
  string,
  Expected | { members: Record<string, Expected> }
>;

/** Decode a JSON-encoded expected value to what NdArray data holds. */
function want(v: JsonValue, dtype: NpyDtype): number | bigint {
  if (dtype === 'int64' || dtype === 'uint64') return BigInt(v as string);
  if (dtype === 'bool') return v ? 1 : 0;
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === '-0') return -0;
  if (dtype === 'float32' || dtype === 'float16') return Math.fround(v as number);
  return v as number;
}

function checkAgainst(arr: NdArray, exp: Expected, label: string): void {
  expect(arr.dtype, `${label} dtype`).to.equal(exp.dtype);
  expect(arr.shape, `${label} shape`).to.deep.equal(exp.shape);
  expect(arr.data.length, `${label} length`).to.equal(exp.values.length);
  exp.values.forEach((v, i) => {
    const w = want(v, exp.dtype);
    const got = arr.data[i]!;
    if (typeof w === 'number' && Number.isNaN(w)) expect(Number.isNaN(got), `${label}[${i}]`).to.equal(true);
    else if (typeof w === 'number' && w === 0) expect(Object.is(got, w), `${label}[${i}] = ${String(got)} (sign of zero)`).to.equal(true);
    else expect(got, `${label}[${i}]`).to.equal(w);
  });
}

/** Expect `fn` to throw an InputError whose message contains every fragment. */
function expectInputError(fn: () => unknown, ...fragments: string[]): InputError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an InputError').to.be.instanceOf(InputError);
  const err = caught as InputError;
  for (const f of fragments) expect(err.message).to.contain(f);
  expect(err.message).not.to.contain('\n');
  return err;
}

/** Build a .npy file from raw header text (padded to 64 like NumPy unless `pad` is false). */
function rawNpy(header: string, data: Uint8Array = new Uint8Array(0), version = 1, pad = true): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  let h = header;
  if (pad) {
    const total = prefix + h.length + 1;
    h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  }
  const hb = new TextEncoder().encode(h);
  const out = new Uint8Array(prefix + hb.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, hb.length, true);
  else dv.setUint32(8, hb.length, true);
  out.set(hb, prefix);
  out.set(data, prefix + hb.length);
  return out;
}

function f64Bytes(values: number[], littleEndian = true): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setFloat64(8 * i, v, littleEndian));
  return out;
}

/** Sample data for a dtype: n elements with edge values. */
function sample(dtype: NpyDtype, n: number): NdArray['data'] {
  const pick = <T>(xs: T[]): T[] => Array.from({ length: n }, (_, i) => xs[i % xs.length]!);
  switch (dtype) {
    case 'float16':
      return Float32Array.from(pick([0.5, -1.25, Infinity, NaN, -0, 65504, 2 ** -24, 0.333251953125]));
    case 'float32':
      return Float32Array.from(pick([1.5, -2.25, 3.4028234663852886e38, NaN, -Infinity, 1e-45, Math.fround(0.1)]));
    case 'float64':
      return Float64Array.from(pick([1, -2.5, 1e308, NaN, Infinity, 5e-324, 0.1, -0]));
    case 'int8':
      return Int8Array.from(pick([-128, -1, 0, 1, 127]));
    case 'int16':
      return Int16Array.from(pick([-32768, -1, 0, 1, 32767]));
    case 'int32':
      return Int32Array.from(pick([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1]));
    case 'int64':
      return BigInt64Array.from(pick([-(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n]));
    case 'uint8':
      return Uint8Array.from(pick([0, 1, 128, 255]));
    case 'uint16':
      return Uint16Array.from(pick([0, 1, 32768, 65535]));
    case 'uint32':
      return Uint32Array.from(pick([0, 1, 2 ** 31, 2 ** 32 - 1]));
    case 'uint64':
      return BigUint64Array.from(pick([0n, 1n, 2n ** 63n, 2n ** 64n - 1n]));
    case 'bool':
      return Uint8Array.from(pick([1, 0, 0, 1, 1]));
  }
}

/** The elements of any NdArray data as a plain array. */
const list = (d: NdArray['data']): (number | bigint)[] => Array.from(d as ArrayLike<number | bigint>);

function sameData(a: NdArray['data'], b: NdArray['data']): void {
  expect(a.constructor).to.equal(b.constructor);
  expect(a.length).to.equal(b.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x === 'number' && Number.isNaN(x)) expect(Number.isNaN(y as number)).to.equal(true);
    else expect(Object.is(x, y), `element ${i}: ${String(x)} vs ${String(y)}`).to.equal(true);
  }
}

describe('npy: NumPy fixtures', () => {
  const npyNames = Object.keys(EXPECTED).filter((n) => n.endsWith('.npy'));

  it('has fixtures for every dtype', () => {
    for (const d of NPY_DTYPES) expect(npyNames).to.include(`dtype_${d}.npy`);
  });

  for (const name of npyNames) {
    const exp = EXPECTED[name] as Expected;
    it(`reads ${name}`, () => {
      const arr = loadNpy(join(FIXTURES, name));
      checkAgainst(arr, exp, name);
    });
    if (exp.canonical) {
      it(`re-encodes ${name} byte for byte as numpy.save does`, () => {
        const bytes = new Uint8Array(readFileSync(join(FIXTURES, name)));
        const arr = parseNpy(bytes, name);
        expect(Buffer.from(encodeNpy(arr)).equals(Buffer.from(bytes))).to.equal(true);
      });
    }
  }

  it('reads format versions 2.0 and 3.0', () => {
    expect(readFileSync(join(FIXTURES, 'v2.npy'))[6]).to.equal(2);
    expect(readFileSync(join(FIXTURES, 'v3.npy'))[6]).to.equal(3);
    expect(loadNpy(join(FIXTURES, 'v2.npy')).shape).to.deep.equal([3, 2]);
    expect(list(loadNpy(join(FIXTURES, 'v3.npy')).data)).to.deep.equal([0n, -3n, -6n, -9n]);
  });

  it('converts Fortran-ordered and big-endian data to native C order', () => {
    const f3 = loadNpy(join(FIXTURES, 'fortran3.npy'));
    expect(f3.data).to.be.instanceOf(Int16Array);
    expect(list(f3.data)).to.deep.equal(Array.from({ length: 24 }, (_, i) => i));
    const fb = loadNpy(join(FIXTURES, 'fortran3_big.npy'));
    expect(list(fb.data)).to.deep.equal(Array.from({ length: 12 }, (_, i) => i));
  });

  for (const name of ['plain.npz', 'compressed.npz']) {
    it(`reads ${name}`, () => {
      const { members } = EXPECTED[name] as { members: Record<string, Expected> };
      const m = loadNpz(join(FIXTURES, name));
      expect([...m.keys()].sort()).to.deep.equal(Object.keys(members).sort());
      for (const [k, exp] of Object.entries(members)) checkAgainst(m.get(k)!, exp, `${name}[${k}]`);
    });
  }
});

describe('npy: encode/parse round trips', () => {
  for (const dtype of NPY_DTYPES) {
    it(`round-trips ${dtype} in 0-d, 1-d, 2-d, 3-d and empty shapes`, () => {
      for (const shape of [[], [7], [2, 3], [2, 3, 4], [0, 3]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const arr: NdArray = { dtype, shape, data: sample(dtype, n) };
        const bytes = encodeNpy(arr);
        const headerEnd = (bytes[8]! | (bytes[9]! << 8)) + 10;
        expect(headerEnd % 64).to.equal(0);
        expect(bytes[headerEnd - 1]).to.equal(0x0a);
        const back = parseNpy(bytes);
        expect(back.dtype).to.equal(dtype);
        expect(back.shape).to.deep.equal(shape);
        sameData(back.data, arr.data);
      }
    });
  }

  it('parses data that does not alias the input (Buffer or subarray)', () => {
    const bytes = encodeNpy(ndarray(new Float64Array([1, 2, 3])));
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const arr = parseNpy(shifted.subarray(3));
    shifted.fill(0);
    expect(list(arr.data)).to.deep.equal([1, 2, 3]);
    const buf = Buffer.from(bytes);
    const arr2 = parseNpy(buf);
    buf.fill(0);
    expect(list(arr2.data)).to.deep.equal([1, 2, 3]);
  });

  it('falls back to format 2.0 when the header does not fit in 64 KiB', () => {
    const shape = Array.from({ length: 30000 }, () => 1);
    const arr: NdArray = { dtype: 'int8', shape, data: new Int8Array([5]) };
    const bytes = encodeNpy(arr);
    expect(bytes[6]).to.equal(2);
    expect((12 + new DataView(bytes.buffer).getUint32(8, true)) % 64).to.equal(0);
    // like NumPy's reader (max_header_size), ours refuses a header over 10 000 bytes
    expect(() => parseNpy(bytes)).to.throw(InputError, /the \.npy header is 90100 bytes, over NumPy's limit of 10000/);
  });

  for (const compress of [false, true]) {
    it(`round-trips an npz (${compress ? 'compressed' : 'stored'}) from a Map and from a record`, () => {
      const entries: Record<string, NdArray> = {};
      for (const d of NPY_DTYPES) entries[`x_${d}`] = { dtype: d, shape: [3, 2], data: sample(d, 6) };
      entries['zeros'] = ndarray(new Float64Array(1000), [10, 100]);
      entries['scalar'] = ndarray(new Int32Array([42]), []);
      entries['dir/naïve'] = ndarray(new Float32Array([1, 2]));
      for (const input of [entries, new Map(Object.entries(entries))]) {
        const zip = encodeNpz(input, { compress });
        expect(new DataView(zip.buffer).getUint16(8, true)).to.equal(compress ? 8 : 0);
        const back = parseNpz(zip);
        expect([...back.keys()]).to.deep.equal(Object.keys(entries));
        for (const [k, v] of Object.entries(entries)) {
          expect(back.get(k)!.dtype).to.equal(v.dtype);
          expect(back.get(k)!.shape).to.deep.equal(v.shape);
          sameData(back.get(k)!.data, v.data);
        }
        if (compress) expect(zip.length).to.be.lessThan(4000);
      }
    });
  }

  it('writes deterministic npz bytes', () => {
    const e = { a: ndarray(new Float64Array([1, 2])) };
    expect(Buffer.from(encodeNpz(e)).equals(Buffer.from(encodeNpz(e)))).to.equal(true);
    expect(parseNpz(encodeNpz({})).size).to.equal(0);
  });

  it('saves and loads files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keopsc-npy-'));
    try {
      const a = ndarray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
      saveNpy(join(dir, 'a.npy'), a);
      const back = loadNpy(join(dir, 'a.npy'));
      expect(back.shape).to.deep.equal([2, 3]);
      sameData(back.data, a.data);
      saveNpz(join(dir, 'b.npz'), { a, i: ndarray(new BigInt64Array([1n, 2n])) }, { compress: true });
      const m = loadNpz(join(dir, 'b.npz'));
      expect([...m.keys()]).to.deep.equal(['a', 'i']);
      expectInputError(() => saveNpy(join(dir, 'no', 'such', 'x.npy'), a), 'directory does not exist', 'x.npy');
      expectInputError(() => loadNpy(dir), 'is a directory');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npy: header parsing', () => {
  const one = f64Bytes([1.5, -2, 3]);

  const variants: [string, string][] = [
    ['no spaces', "{'descr':'<f8','fortran_order':False,'shape':(3,)}"],
    ['extra spaces and no trailing comma', "{ 'descr' : '<f8' ,  'fortran_order' : False , 'shape' : ( 3 , ) }"],
    ['double quotes', '{"descr": "<f8", "fortran_order": False, "shape": (3,), }'],
    ['keys in another order', "{'shape': (3,), 'fortran_order': False, 'descr': '<f8', }"],
    ['Python 2 long integers', "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }"],
    ['native byte order', "{'descr': '=f8', 'fortran_order': False, 'shape': (3,), }"],
    ['a dtype name', "{'descr': 'float64', 'fortran_order': False, 'shape': (3,), }"],
    ['unicode prefix on strings', "{u'descr': u'<f8', u'fortran_order': False, u'shape': (3,), }"],
  ];
  for (const [label, header] of variants) {
    it(`accepts ${label}`, () => {
      const arr = parseNpy(rawNpy(header, one));
      expect(arr.dtype).to.equal('float64');
      expect(arr.shape).to.deep.equal([3]);
      expect(list(arr.data)).to.deep.equal([1.5, -2, 3]);
    });
  }

  it('accepts a header without padding or newline', () => {
    const arr = parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", one, 1, false));
    expect(list(arr.data)).to.deep.equal([1.5, -2, 3]);
  });

  it('reads 0-d arrays, `|` descrs and big-endian data', () => {
    const z = parseNpy(rawNpy("{'descr': '>f8', 'fortran_order': False, 'shape': (), }", f64Bytes([7.25], false)));
    expect(z.shape).to.deep.equal([]);
    expect(list(z.data)).to.deep.equal([7.25]);
    const u = parseNpy(rawNpy("{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([3, 250])));
    expect(u.dtype).to.equal('uint8');
    const b = parseNpy(rawNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([0, 7])));
    expect(b.dtype).to.equal('bool');
    expect(list(b.data)).to.deep.equal([0, 1]);
  });

  it('converts Fortran order for 1-d to 4-d', () => {
    for (const shape of [[5], [2, 3], [2, 3, 4], [2, 1, 3, 2]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      // value at C index = its C linear index; lay it out in Fortran order
      const fdata = new Array<number>(n);
      for (let c = 0; c < n; c++) {
        let rem = c;
        const idx = new Array<number>(shape.length);
        for (let k = shape.length - 1; k >= 0; k--) {
          idx[k] = rem % shape[k]!;
          rem = Math.floor(rem / shape[k]!);
        }
        let f = 0;
        for (let k = shape.length - 1; k >= 0; k--) f = f * shape[k]! + idx[k]!;
        fdata[f] = c;
      }
      const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
      const arr = parseNpy(rawNpy(`{'descr': '>f8', 'fortran_order': True, 'shape': ${shapeText}, }`, f64Bytes(fdata, false)));
      expect(list(arr.data)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
    }
  });
});

describe('npy: float16', () => {
  it('decodes and encodes edge values exactly', () => {
    const cases: [number, number][] = [
      [0x0000, 0],
      [0x3c00, 1],
      [0xc000, -2],
      [0x7bff, 65504],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14],
      [0x7c00, Infinity],
      [0xfc00, -Infinity],
      [0x3555, 0.333251953125],
    ];
    for (const [bits, v] of cases) {
      expect(float16BitsToNumber(bits)).to.equal(v);
      expect(numberToFloat16Bits(v)).to.equal(bits);
    }
    expect(Object.is(float16BitsToNumber(0x8000), -0)).to.equal(true);
    expect(numberToFloat16Bits(-0)).to.equal(0x8000);
    expect(Number.isNaN(float16BitsToNumber(0x7e00))).to.equal(true);
    expect(numberToFloat16Bits(NaN) & 0x7e00).to.equal(0x7e00);
  });

  it('rounds to nearest even, overflows to infinity and underflows to zero', () => {
    expect(numberToFloat16Bits(65519)).to.equal(0x7bff);
    expect(numberToFloat16Bits(65520)).to.equal(0x7c00);
    expect(numberToFloat16Bits(1e10)).to.equal(0x7c00);
    expect(numberToFloat16Bits(1 + 2 ** -11)).to.equal(0x3c00); // halfway, to even
    expect(numberToFloat16Bits(1 + 3 * 2 ** -11)).to.equal(0x3c02); // halfway, to even (up)
    expect(numberToFloat16Bits(2 ** -25)).to.equal(0); // halfway to the smallest subnormal: even is 0
    expect(numberToFloat16Bits(2 ** -25 * 1.5)).to.equal(1);
    expect(numberToFloat16Bits(2 ** -26)).to.equal(0);
    expect(numberToFloat16Bits(3 * 2 ** -25)).to.equal(2); // 1.5 ulp subnormal, to even
  });
});

describe('npy: helpers', () => {
  it('ndarray() infers dtypes and checks shapes', () => {
    expect(ndarray(new Float32Array(6), [2, 3]).dtype).to.equal('float32');
    expect(ndarray(new BigUint64Array(2)).dtype).to.equal('uint64');
    expect(ndarray([1, 2, 3]).data).to.be.instanceOf(Float64Array);
    expect(ndarray(new Uint8Array(2), [2], 'bool').dtype).to.equal('bool');
    expect(ndarray(new Float32Array(2), undefined, 'float16').shape).to.deep.equal([2]);
    expectInputError(() => ndarray(new Float32Array(5), [2, 3]), 'shape (2, 3)', '6 elements', '5');
    expectInputError(() => ndarray(new Float32Array(2), [2], 'int32'), 'Int32Array', 'Float32Array');
    expectInputError(() => ndarray(new Float32Array(2), [-2]), 'non-negative');
    expectInputError(() => ndarray(new Uint8ClampedArray(2) as unknown as Uint8Array), 'typed array');
  });

  it('converts to Float64Array and Float32Array', () => {
    const f = new Float64Array([1, 2]);
    expect(toFloat64(ndarray(f))).to.equal(f);
    expect(Array.from(toFloat64(ndarray(new BigInt64Array([-3n, 4n]))))).to.deep.equal([-3, 4]);
    expect(Array.from(toFloat64(new Int16Array([-3, 4])))).to.deep.equal([-3, 4]);
    expect(Array.from(toFloat32(ndarray(new Float64Array([0.1]))))).to.deep.equal([Math.fround(0.1)]);
    const h: NdArray = { dtype: 'float16', shape: [1], data: new Float32Array([0.5]) };
    expect(toFloat32(h)).to.equal(h.data);
  });

  it('reads index arrays given as int32 or int64 with overflow checks', () => {
    expect(toIndexList(ndarray(new Int32Array([0, 5, 9])))).to.deep.equal([0, 5, 9]);
    expect(toIndexList(ndarray(new BigInt64Array([0n, 2n ** 40n])))).to.deep.equal([0, 2 ** 40]);
    expect(Array.from(toInt32Array(ndarray(new BigInt64Array([0n, 3n, 7n]))))).to.deep.equal([0, 3, 7]);
    expect(Array.from(toInt32Array(ndarray(new Float64Array([1, 2]))))).to.deep.equal([1, 2]);
    expect(Array.from(toInt32Array(new Uint32Array([4])))).to.deep.equal([4]);
    expectInputError(() => toInt32Array(ndarray(new BigInt64Array([1n, 2n ** 31n])), 'ranges_i'), 'ranges_i[1]', '2147483648', 'out of range');
    expectInputError(() => toIndexList(ndarray(new BigInt64Array([2n ** 60n]))), 'out of range');
    expectInputError(() => toIndexList(ndarray(new Int32Array([3, -1])), 'ranges_j'), 'ranges_j[1] = -1');
    expectInputError(() => toIndexList(ndarray(new Float32Array([1.5]))), 'not an integer');
    expectInputError(() => toIndexList(ndarray(new Float64Array([NaN]))), 'not an integer');
    expectInputError(() => toIndexList({ dtype: 'bool', shape: [1], data: new Uint8Array([1]) }), 'bool');
    expect(toIndexList(ndarray(new Int32Array([-4])), 'x', -10)).to.deep.equal([-4]);
  });
});

describe('npy: bad input', () => {
  const good = new Uint8Array(readFileSync(join(FIXTURES, 'ndim2.npy')));

  it('rejects a bad magic string', () => {
    expectInputError(() => parseNpy(new TextEncoder().encode('hello, this is not numpy at all'), 'x.npy'), 'x.npy', 'not a .npy file', 'magic');
    expectInputError(() => parseNpy(new Uint8Array(0), 'e.npy'), 'e.npy', 'empty');
  });

  it('rejects truncated headers', () => {
    expectInputError(() => parseNpy(good.subarray(0, 8), 't.npy'), 't.npy', 'truncated');
    expectInputError(() => parseNpy(good.subarray(0, 40), 't.npy'), 't.npy', 'truncated', 'header');
    const v2 = new Uint8Array(readFileSync(join(FIXTURES, 'v2.npy')));
    expectInputError(() => parseNpy(v2.subarray(0, 11), 'v2.npy'), 'truncated');
  });

  it('rejects truncated data', () => {
    expectInputError(() => parseNpy(good.subarray(0, good.length - 1), 'd.npy'), 'd.npy', 'truncated', '(2, 3)', '48 bytes', '47');
  });

  it('rejects data longer than the header says (issue 20, item 8)', () => {
    const longer = new Uint8Array(good.length + 8);
    longer.set(good);
    expectInputError(() => parseNpy(longer, 'l.npy'), 'l.npy', 'inconsistent', '(2, 3)', '48 bytes', '56 follow');
    const three = new Uint8Array(new Float64Array([1.5, -2, 3, 4]).buffer);
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", three), 'r.npy'), 'r.npy', 'inconsistent');
  });

  it('parses headers as strictly as NumPy (issue 20, item 8)', () => {
    const data = new Uint8Array(new Float64Array(300).buffer);
    const h = (shape: string, more = ''): Uint8Array => rawNpy(`{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, ${more}}`, data);
    expectInputError(() => parseNpy(h('(100.0, 3)'), 'f.npy'), 'f.npy', "'shape' must be a tuple of non-negative integers", 'got 100.0 in (100.0, 3)');
    expectInputError(() => parseNpy(h('(1e2, 3)'), 'f.npy'), 'got 1e2');
    expectInputError(() => parseNpy(h('[100, 3]'), 'f.npy'), "'shape' must be a tuple", 'got [100,3]');
    expectInputError(() => parseNpy(h('300'), 'f.npy'), "'shape' must be a tuple", 'got 300');
    expectInputError(() => parseNpy(h('(True, 300)'), 'f.npy'), 'got true');
    expectInputError(() => parseNpy(h('(300,)', "'extra': 1"), 'f.npy'), "unexpected key 'extra'");
    expect(parseNpy(h('(100, 3)')).shape).to.deep.equal([100, 3]);
    expect(parseNpy(h('(300,)')).shape).to.deep.equal([300]);
  });

  it('rejects every prefix of every fixture with an InputError', () => {
    for (const name of Object.keys(EXPECTED)) {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, name)));
      const parse = name.endsWith('.npz') ? parseNpz : parseNpy;
      for (let n = 0; n < bytes.length; n++) expectInputError(() => parse(bytes.subarray(0, n), name), name);
    }
  });

  it('never throws anything but InputError on corrupted bytes', () => {
    let seed = 12345;
    const rand = (k: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % k;
    };
    for (const name of Object.keys(EXPECTED)) {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, name)));
      const parse = name.endsWith('.npz') ? parseNpz : parseNpy;
      for (let t = 0; t < 200; t++) {
        const b = bytes.slice();
        for (let f = 1 + rand(3); f > 0; f--) b[rand(b.length)] = rand(256);
        try {
          parse(b, name);
        } catch (e) {
          expect(e, `${name} trial ${t}: ${(e as Error).message}`).to.be.instanceOf(InputError);
        }
      }
    }
  });

  it('rejects unsupported dtypes with a clear message', () => {
    expectInputError(() => parseNpy(rawNpy("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(24)), 's.npy'), 'unicode', "'<U3'", 's.npy');
    expectInputError(() => parseNpy(rawNpy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(16)), 'o.npy'), 'object arrays', "'|O'", 'o.npy');
    expectInputError(() => parseNpy(rawNpy("{'descr': '|S5', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(5))), 'byte string');
    expectInputError(() => parseNpy(rawNpy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(16))), 'complex');
    expectInputError(() => parseNpy(rawNpy("{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8))), 'datetime');
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(16))), "unsupported dtype '<f16'", 'float64');
    expectInputError(
      () => parseNpy(rawNpy("{'descr': [('x', '<f8'), ('y', '<i4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(12))),
      'structured',
    );
  });

  it('rejects malformed header dicts', () => {
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8' 'fortran_order': False, 'shape': (3,), }", f64Bytes([1, 2, 3])), 'm.npy'), 'malformed .npy header', 'm.npy', "expected ',' or '}'");
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, }")), "'shape' is missing");
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }")), "'fortran_order' must be True or False");
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }")), "'shape'", 'non-negative');
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (1.5,), }")), "'shape'");
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': Nope, 'shape': (1,), }")), "unexpected name 'Nope'");
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,")), 'malformed .npy header');
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8 ")), 'unterminated string');
    expectInputError(() => parseNpy(rawNpy('[1, 2]')), 'expected a dict');
    expectInputError(() => parseNpy(rawNpy('('.repeat(100) + ')'.repeat(100))), 'nesting too deep');
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }")), "'shape'");
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")), 'too many elements');
    expectInputError(() => parseNpy(rawNpy("{'descr': '<f8', 'fortran_order': False, 'shape': (65536, 65536), }")), 'truncated', '34359738368');
  });

  it('rejects unsupported format versions', () => {
    const b = good.slice();
    b[6] = 4;
    expectInputError(() => parseNpy(b, 'v4.npy'), 'version 4.0', '1.0, 2.0 and 3.0');
  });

  it('tells .npy and .npz apart', () => {
    const npz = new Uint8Array(readFileSync(join(FIXTURES, 'plain.npz')));
    expectInputError(() => parseNpy(npz, 'p.npz'), 'p.npz', 'zip archive', 'loadNpz');
    expectInputError(() => parseNpz(good, 'g.npy'), 'g.npy', '.npy file, not an .npz', 'loadNpy');
  });

  it('rejects files that are not zip archives as npz', () => {
    expectInputError(() => parseNpz(new TextEncoder().encode('this is certainly not a zip file at all'), 'n.npz'), 'n.npz', 'not an .npz file');
    expectInputError(() => parseNpz(new Uint8Array(3), 'n.npz'), 'not an .npz file');
  });

  it('rejects corrupted npz members', () => {
    const zip = encodeNpz({ a: ndarray(new Float64Array([1, 2, 3])) });
    const bad = zip.slice();
    bad[bad.length - 22 - 46 - 5 - 1]! ^= 0xff; // last data byte of the only member
    expectInputError(() => parseNpz(bad, 'c.npz'), 'c.npz', 'CRC mismatch');
    const method = zip.slice();
    method[8] = 12; // bzip2 in the local header...
    new DataView(method.buffer).setUint16(method.length - 22 - 46 - 5 + 10, 12, true); // ...and the central directory
    expectInputError(() => parseNpz(method, 'm.npz'), 'compression method 12');
    const comp = encodeNpz({ a: ndarray(new Float64Array(100)) }, { compress: true });
    comp[40]! ^= 0x55;
    expectInputError(() => parseNpz(comp, 'z.npz'), 'z.npz');
  });

  it('reports missing files', () => {
    expectInputError(() => loadNpy('/no/such/file.npy'), '/no/such/file.npy', 'no such file');
    expectInputError(() => loadNpz('/no/such/file.npz'), '/no/such/file.npz', 'no such file');
  });

  it('rejects inconsistent arrays when encoding', () => {
    expectInputError(() => encodeNpy({ dtype: 'float64', shape: [4], data: new Float64Array(3) }), 'shape (4,)', '3 elements');
    expectInputError(() => encodeNpy({ dtype: 'float64', shape: [3], data: new Float32Array(3) }), 'Float64Array');
    expectInputError(() => encodeNpy({ dtype: 'complex64' as NpyDtype, shape: [1], data: new Float32Array(1) }), 'unsupported dtype');
    expectInputError(() => encodeNpz({ a: { dtype: 'int32', shape: [2], data: new Int32Array(1) } }), "'a'", 'shape (2,)');
    expectInputError(() => encodeNpz({ '': ndarray(new Int32Array(1)) }), 'non-empty');
  });

  it('has a working CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).to.equal(0xcbf43926);
  });
});

describe('npz: hostile archives (issue 20, items 4 and 5)', function () {
  this.timeout(60_000);
  /** A one-member zip whose directory says `crc`, `usize` for `data` (raw bytes of `method`). */
  const zipOf = (name: string, method: number, crc: number, usize: number, data: Uint8Array): Uint8Array => {
    const nb = new TextEncoder().encode(name);
    const out = new Uint8Array(30 + nb.length + data.length + 46 + nb.length + 22);
    const dv = new DataView(out.buffer);
    const head = (o: number, central: boolean): number => {
      dv.setUint32(o, central ? 0x02014b50 : 0x04034b50, true);
      const b = central ? o + 2 : o; // the central header has "version made by" first
      dv.setUint16(b + 4, 20, true);
      dv.setUint16(b + 8, method, true);
      dv.setUint32(b + 14, crc, true);
      dv.setUint32(b + 18, data.length, true);
      dv.setUint32(b + 22, usize, true);
      dv.setUint16(b + 26, nb.length, true);
      const at = central ? o + 46 : o + 30;
      out.set(nb, at);
      return at + nb.length;
    };
    const dataAt = head(0, false);
    out.set(data, dataAt);
    const cd = dataAt + data.length;
    head(cd, true);
    const eocd = cd + 46 + nb.length;
    dv.setUint32(eocd, 0x06054b50, true);
    dv.setUint16(eocd + 8, 1, true);
    dv.setUint16(eocd + 10, 1, true);
    dv.setUint32(eocd + 12, 46 + nb.length, true);
    dv.setUint32(eocd + 16, cd, true);
    return out;
  };
  const npyHeader = (shape: string): Uint8Array => rawNpy(`{'descr': '<i4', 'fortran_order': False, 'shape': ${shape}, }`);
  const GiB = 2 ** 30;
  let bomb = new Uint8Array(0); // raw deflate of a .npy header for 1 GiB of int32 and 1 GiB of zeros
  const header = npyHeader('(134217728, 2)');
  before(async () => {
    // node's zlib makes the bomb quickly (fflate would take half a minute for 1 GiB)
    const { createDeflateRaw, constants } = await import('node:zlib');
    const d = createDeflateRaw({ level: 9, strategy: constants.Z_RLE });
    const parts: Buffer[] = [];
    d.on('data', (c: Buffer) => parts.push(c));
    d.write(header);
    const z = Buffer.alloc(1 << 20);
    for (let k = 0; k < 1024; k++) if (!d.write(z)) await new Promise((r) => d.once('drain', r));
    await new Promise((r) => d.end(r));
    bomb = new Uint8Array(Buffer.concat(parts));
    expect(bomb.length).to.be.below(1.1e6);
  });
  const timed = (f: () => void): { ms: number; rssMB: number } => {
    const r0 = process.memoryUsage().rss;
    const t0 = performance.now();
    f();
    return { ms: performance.now() - t0, rssMB: (process.memoryUsage().rss - r0) / 2 ** 20 };
  };

  it('a 1 MB bomb whose headers promise 1 GiB: refused by the cap before inflating', () => {
    const zip = zipOf('ranges_i.npy', 8, 0, GiB + header.length, bomb);
    const t = timed(() => expectInputError(() => parseNpz(zip, 'bomb.npz'), 'bomb.npz', "'ranges_i.npy' would inflate to 1073741952 bytes, over the limit of 536870912", 'maxInflatedBytes'));
    console.log(`      refused in ${t.ms.toFixed(1)} ms (rss +${t.rssMB.toFixed(0)} MB)`);
    expect(t.ms).to.be.below(1000);
    expect(t.rssMB).to.be.below(64);
    expectInputError(() => parseNpz(zip, 'bomb.npz', { maxInflatedBytes: 1000 }), 'over the limit of 1000');
  });

  it('a bomb whose zip directory promises a small member: inflating stops as soon as it passes the promise', () => {
    const zip = zipOf('ranges_i.npy', 8, 0, 144, bomb);
    const t = timed(() => expectInputError(() => parseNpz(zip, 'bomb.npz'), "'ranges_i.npy' should be 144 bytes but inflates to more"));
    console.log(`      refused in ${t.ms.toFixed(1)} ms (rss +${t.rssMB.toFixed(0)} MB)`);
    expect(t.ms).to.be.below(1000);
    expect(t.rssMB).to.be.below(64);
  });

  it('a bomb whose .npy header promises less than the zip directory: refused once the header is out', () => {
    const liar = zipOf('x.npy', 8, 0, GiB, bomb);
    const t = timed(() => expectInputError(() => parseNpz(liar, 'b.npz', { maxInflatedBytes: 2 * GiB }), "'x.npy' holds a .npy header promising 1073741952 bytes, but the archive says 1073741824"));
    expect(t.ms).to.be.below(1000);
  });

  it('members that are not .npy files are never inflated', () => {
    const zip = zipOf('readme.txt', 8, 0, 144, bomb);
    expect(parseNpz(zip, 'z.npz').size).to.equal(0);
  });

  for (const fixture of ['plain.npz', 'compressed.npz']) {
    it(`${fixture}: flipping any one byte is refused or changes nothing (CRC and headers checked on every path)`, () => {
      const bytes = new Uint8Array(readFileSync(join(FIXTURES, fixture)));
      const good = parseNpz(bytes, fixture);
      const same = (m: Map<string, NdArray>): boolean =>
        m.size === good.size && [...good].every(([k, a]) => m.has(k) && m.get(k)!.dtype === a.dtype && JSON.stringify(m.get(k)!.shape) === JSON.stringify(a.shape) && list(m.get(k)!.data).every((v, i) => Object.is(v, list(a.data)[i])));
      let refused = 0;
      for (let at = 0; at < bytes.length; at++)
        for (const mask of [0x01, 0x80, 0xff]) {
          const b = bytes.slice();
          b[at]! ^= mask;
          let got: Map<string, NdArray> | undefined;
          try {
            got = parseNpz(b, fixture);
          } catch (e) {
            expect(e, `byte ${at} ^ ${mask}`).to.be.instanceOf(InputError);
            refused++;
            continue;
          }
          expect(same(got), `byte ${at} ^ ${mask} of ${fixture} was accepted with other arrays`).to.equal(true);
        }
      expect(refused).to.be.greaterThan(bytes.length);
    });
  }
});
