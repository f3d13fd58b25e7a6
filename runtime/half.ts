/**
 * IEEE binary16 ("half") conversions for the float16 storage of the GPU backends (webgpu, cuda): the
 * inputs are rounded to halves on the host and widened back to float32 on the device. No Node import.
 * @module
 */

/** Round float32 values to IEEE half precision bits (round to nearest even; overflow to ±inf). */
export function toHalfBits(a: Float32Array): Uint16Array {
  const out = new Uint16Array(a.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let k = 0; k < a.length; k++) {
    f[0] = a[k]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[k] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[k] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[k] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rem > halfway || (rem === halfway && h & 1)) h++;
      out[k] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    out[k] = sign | h; // a carry into the exponent rounds up correctly, up to inf
  }
  return out;
}

/** Widen IEEE half precision bits to float32 values (exact; for tests and host-side references). */
export function fromHalfBits(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let k = 0; k < h.length; k++) {
    const x = h[k]!;
    const sign = x & 0x8000 ? -1 : 1;
    const exp = (x >>> 10) & 0x1f;
    const mant = x & 0x3ff;
    out[k] = exp === 0x1f ? (mant ? NaN : sign * Infinity) : exp === 0 ? sign * mant * 2 ** -24 : sign * (1024 + mant) * 2 ** (exp - 25);
  }
  return out;
}
