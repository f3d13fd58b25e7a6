/**
 * IEEE binary16 ("half"): the one float16 codec of the project. Used by the `.npy` float16 dtype
 * (runtime/npy) and by the half storage of the GPU backends (webgpu, cuda), where float32 inputs are
 * rounded to halves on the host and widened back to float32 on the device. No Node import.
 * @module
 */

/** Decode an IEEE 754 binary16 bit pattern to a number. */
export function float16BitsToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Encode a number as an IEEE 754 binary16 bit pattern (round to nearest even, via float32). */
export function numberToFloat16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** Round float32 values to IEEE half precision bits (round to nearest even; overflow to ±inf). */
export function toHalfBits(a: Float32Array): Uint16Array {
  return Uint16Array.from(a, numberToFloat16Bits);
}

/** Widen IEEE half precision bits to float32 values (exact; for tests and host-side references). */
export function fromHalfBits(h: Uint16Array): Float32Array {
  return Float32Array.from(h, float16BitsToNumber);
}
