/**
 * The folder `keopsc cluster` writes, and the checks `keopsc run` makes with it. `ranges.npz` holds,
 * beside KeOps's six ranges arrays, a record of the clustering it was made for: the sizes M and N,
 * CRC-32s of the two permutations and of both clouds before and after sorting. `run --cluster DIR`
 * permutes every argument and the result back (runtime/cluster/blocksparse-run.ts); `run --ranges`
 * alone on such a file refuses arguments whose length or order does not match the record.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { InputError } from '../diagnostics/index.js';
import { crc32 } from '../../runtime/npy/npz.js';
import { loadNpy, loadNpz } from '../../runtime/npy/files.js';
import type { NdArray } from '../../runtime/npy/npy.js';
import { toPermutation, type ClusterOrder } from '../../runtime/cluster/blocksparse-run.js';
import { RANGES_KEYS, toRanges, type RangesInput } from '../../runtime/ranges/index.js';
import type { ArgInfo } from '../ir/kernel.js';

/** The record's keys in ranges.npz. */
export const RECORD_KEYS = { sizes: 'keopsc_sizes', perms: 'keopsc_perm_crc', points: 'keopsc_points_crc' } as const;

type Typed = { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };
const crcOf = (a: Typed): bigint => BigInt(crc32(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)));
const i64 = (values: (number | bigint)[]): NdArray => ({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values, (v) => BigInt(v)) });

/** The record entries for ranges.npz: sizes, permutation CRCs, cloud CRCs (original, sorted). */
export function clusterRecord(c: { permX: Int32Array; permY: Int32Array; x: Typed; y: Typed; xSorted: Typed; ySorted: Typed }): Record<string, NdArray> {
  return {
    [RECORD_KEYS.sizes]: i64([c.permX.length, c.permY.length]),
    [RECORD_KEYS.perms]: i64([crcOf(c.permX), crcOf(c.permY)]),
    [RECORD_KEYS.points]: i64([crcOf(c.x), crcOf(c.xSorted), crcOf(c.y), crcOf(c.ySorted)]),
  };
}

interface ClusterRecord {
  M: number;
  N: number;
  permCrc: [bigint, bigint];
  /** x original, x sorted, y original, y sorted */
  pointsCrc: [bigint, bigint, bigint, bigint];
}

/** The ranges of a .npz (KeOps's six arrays, int32 or int64) and its clustering record, if any. */
export function loadRangesFile(path: string): { ranges: RangesInput; record?: ClusterRecord } {
  const z = loadNpz(path);
  const missing = RANGES_KEYS.filter((k) => !z.has(k));
  if (missing.length) throw new InputError(`${path} lacks the ranges array${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (it needs ${RANGES_KEYS.join(', ')})`);
  const ranges = Object.fromEntries(
    RANGES_KEYS.map((k) => {
      const arr = z.get(k)!;
      if (arr.dtype !== 'int32' && arr.dtype !== 'int64') throw new InputError(`${path}: ${k} has dtype ${arr.dtype}; ranges arrays must be int32 or int64`);
      return [k, { data: arr.data as Int32Array | BigInt64Array, shape: arr.shape }];
    }),
  );
  const get = (k: string, n: number): bigint[] | undefined => {
    const a = z.get(k);
    if (!a) return undefined;
    if (a.dtype !== 'int64' || a.data.length !== n) throw new InputError(`${path}: ${k} should hold ${n} int64 values (the record keopsc cluster writes); rerun keopsc cluster`);
    return Array.from(a.data as BigInt64Array);
  };
  const sizes = get(RECORD_KEYS.sizes, 2);
  const perms = get(RECORD_KEYS.perms, 2);
  const points = get(RECORD_KEYS.points, 4);
  if (!sizes || !perms || !points) return { ranges };
  return { ranges, record: { M: Number(sizes[0]), N: Number(sizes[1]), permCrc: perms as [bigint, bigint], pointsCrc: points as [bigint, bigint, bigint, bigint] } };
}

/** `run --cluster DIR`: the permutations and ranges of a folder `keopsc cluster` wrote, checked for consistency. */
export function loadClusterDir(dir: string): ClusterOrder {
  const file = (name: string) => {
    const p = join(dir, name);
    if (!existsSync(p)) throw new InputError(`--cluster ${dir}: ${name} is missing; give the folder keopsc cluster wrote (-o DIR)`);
    return p;
  };
  const { ranges, record } = loadRangesFile(file('ranges.npz'));
  const perm = (name: string): Int32Array => {
    const a = loadNpy(file(name));
    if (a.dtype !== 'int64' && a.dtype !== 'int32') throw new InputError(`--cluster ${dir}: ${name} has dtype ${a.dtype}; a permutation is int64 or int32`);
    return toPermutation(join(dir, name), a.data as BigInt64Array | Int32Array);
  };
  const permX = perm('perm_x.npy');
  const permY = perm('perm_y.npy');
  if (record && (crcOf(permX) !== record.permCrc[0] || crcOf(permY) !== record.permCrc[1] || permX.length !== record.M || permY.length !== record.N)) {
    throw new InputError(`--cluster ${dir}: perm_x.npy / perm_y.npy do not belong to its ranges.npz (they come from another clustering); rerun keopsc cluster`);
  }
  return { permX, permY, ranges: toRanges(ranges) };
}

/**
 * `run --ranges R.npz` (without --cluster) on a file with a clustering record: every i-argument must
 * have M rows and every j-argument N; each must be in the sorted order, which is verified for the
 * sorted clouds and otherwise has to be asserted with `--presorted`.
 */
export function checkRangesRecord(path: string, record: ClusterRecord, specs: readonly ArgInfo[], args: Record<string, { data: Typed; shape: number[] }>, presorted: boolean): void {
  const dir = path.replace(/[\\/][^\\/]*$/, '') || '.';
  const advice = `run with --cluster ${dir} instead of --ranges, on the original arrays (keopsc permutes every argument and the result back)`;
  const unverified: [string, string][] = [];
  for (const spec of specs) {
    const a = args[spec.name];
    if (!a || spec.cat === 2) continue;
    const [rows, what, size, perm] = spec.cat === 0 ? [record.M, 'i', 'M', 'perm_x.npy'] : [record.N, 'j', 'N', 'perm_y.npy'];
    if (a.shape[0] !== rows) throw new InputError(`${path} was made by keopsc cluster for ${size} = ${rows} ${what}-points, but argument ${spec.name} (a ${what}-variable) has ${a.shape[0]} rows: ${advice}`);
    const [original, sorted] = spec.cat === 0 ? [record.pointsCrc[0], record.pointsCrc[1]] : [record.pointsCrc[2], record.pointsCrc[3]];
    const crc = crcOf(a.data);
    if (crc === sorted) continue;
    if (crc === original) throw new InputError(`argument ${spec.name} is in the original order of the clustered points, but ${path} refers to the sorted order: ${advice}`);
    const identity = spec.cat === 0 ? record.pointsCrc[0] === record.pointsCrc[1] : record.pointsCrc[2] === record.pointsCrc[3];
    if (!identity) unverified.push([spec.name, `${spec.name} with ${join(dir, perm)}`]);
  }
  if (unverified.length && !presorted) {
    throw new InputError(
      `the order of ${unverified.map((u) => u[0]).join(', ')} cannot be checked against ${path}, which refers to the sorted clouds: ${advice}; or add --presorted if you permuted ${unverified.map((u) => u[1]).join(' and ')} yourself (the result then comes in sorted order)`,
    );
  }
}
