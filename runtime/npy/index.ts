/**
 * NumPy `.npy` / `.npz` support: parse, encode, load and save arrays, and convert them for kernels.
 * `npy.js` and `npz.js` are pure (no Node APIs); the file helpers live in `files.js`.
 */
export {
  type NpyDtype,
  type NdData,
  type NdArray,
  NPY_DTYPES,
  isNpyDtype,
  dtypeItemSize,
  dtypeDescr,
  float16BitsToNumber,
  numberToFloat16Bits,
  shapeSize,
  parseNpy,
  npyFileSize,
  checkNdArray,
  encodeNpy,
  ndarray,
  toFloat64,
  toFloat32,
  toIndexList,
  toInt32Array,
} from './npy.js';
export { type NpzOptions, type NpzReadOptions, NPZ_MAX_INFLATED_BYTES, crc32, parseNpz, encodeNpz } from './npz.js';
export { loadNpy, saveNpy, loadNpz, saveNpz, writeFileAtomic } from './files.js';
