/**
 * IEEE binary16 ("half") storage of the GPU backends (webgpu, cuda): float32 inputs are rounded to halves
 * on the host and widened back to float32 on the device. The conversions are the `.npy` float16 codec's
 * (runtime/npy), applied to whole arrays. No Node import.
 * @module
 */
import { float16BitsToNumber, numberToFloat16Bits } from './npy/npy.js';

/** Round float32 values to IEEE half precision bits (round to nearest even; overflow to ±inf). */
export function toHalfBits(a: Float32Array): Uint16Array {
  return Uint16Array.from(a, numberToFloat16Bits);
}

/** Widen IEEE half precision bits to float32 values (exact; for tests and host-side references). */
export function fromHalfBits(h: Uint16Array): Float32Array {
  return Float32Array.from(h, float16BitsToNumber);
}
