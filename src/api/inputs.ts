import { InputError } from '../diagnostics/index.js';
import type { ArgInfo, Kernel } from '../ir/kernel.js';
import { broadcastStrides, shapeText, type BatchLayout } from '../../runtime/batch/index.js';

/** A float array as kernel input: a row-major typed array, or `{ data, shape }`. */
export type ArrayInput = Float32Array | Float64Array | { data: Float32Array | Float64Array; shape: readonly number[] };
/** Kernel arguments: by name (`{ x, y, b }`), or positional in the order of `kernel.args` (by index). */
export type ArgsInput = Readonly<Record<string, ArrayInput>> | readonly ArrayInput[];

/** The element types of kernel arguments and values. */
export type FloatDtype = 'float32' | 'float64';

/** Checked inputs: one dtype, the sizes M and N, and the data by variable index. */
export interface PreparedArgs {
  dtype: FloatDtype;
  M: number;
  N: number;
  arrays: Map<number, Float32Array | Float64Array>;
  /** Leading batch dims (absent when the arrays have none): the broadcast shape and per-argument strides. */
  batch?: BatchLayout;
}

const CAT_NAMES = ['Vi', 'Vj', 'Pm'];

function describeShape(a: ArgInfo): string {
  return a.cat === 0 ? `(M, ${a.dim})${a.dim === 1 ? ' or (M,)' : ''}` : a.cat === 1 ? `(N, ${a.dim})${a.dim === 1 ? ' or (N,)' : ''}` : `(${a.dim},)`;
}

/**
 * Check kernel arguments against the kernel's signature and infer M and N: Vi arrays are (M, dim)
 * (or (M,) when dim is 1), Vj arrays (N, dim), Pm arrays (dim,); all float32 or all float64. With no
 * i-variable M is 1, with no j-variable N is 1 (as KeOps). Throws InputError, one line, on any problem.
 */
export function prepareArgs(kernel: Pick<Kernel, 'args' | 'name'>, args: ArgsInput): PreparedArgs {
  const specs = kernel.args;
  const byName = new Map<string, ArrayInput>();
  if (typeof args !== 'object' || args === null || ArrayBuffer.isView(args)) {
    const one = ArrayBuffer.isView(args) ? `; wrap it: [array] or { ${specs[0]?.name ?? 'x'}: array }` : '';
    throw new InputError(`kernel ${kernel.name} takes its arrays by name ({ ${specs.map((s) => s.name).join(', ')} }) or as a list, got ${typeName(args)}${one}`);
  }
  if (Array.isArray(args)) {
    if (args.length !== specs.length) {
      throw new InputError(`kernel ${kernel.name} takes ${specs.length} arrays (${specs.map((s) => s.name).join(', ')}), got ${args.length}`);
    }
    specs.forEach((s, k) => byName.set(s.name, (args as readonly ArrayInput[])[k]!));
  } else {
    for (const [k, v] of Object.entries(args as Record<string, ArrayInput>)) byName.set(k, v);
    const extra = [...byName.keys()].filter((k) => !specs.some((s) => s.name === k));
    if (extra.length) throw new InputError(`kernel ${kernel.name} has no argument named ${extra.map((e) => `'${e}'`).join(', ')}; its arguments are ${specs.map((s) => s.name).join(', ') || '(none)'}`);
    const missing = specs.filter((s) => !byName.has(s.name));
    if (missing.length) throw new InputError(`missing argument${missing.length > 1 ? 's' : ''} ${missing.map((s) => `${s.name}: ${CAT_NAMES[s.cat]}(${s.dim}), shape ${describeShape(s)}`).join('; ')}`);
  }
  let dtype: FloatDtype | undefined;
  let dtypeFrom = '';
  const datas = new Map<string, { data: Float32Array | Float64Array; shape?: number[] }>();
  for (const s of specs) {
    const input = byName.get(s.name)!;
    if (typeof input !== 'object' || input === null) throw new InputError(`argument ${s.name} must be a Float32Array or Float64Array (or { data, shape } holding one), got ${typeName(input)}`);
    const isTyped = input instanceof Float32Array || input instanceof Float64Array;
    const data = isTyped ? input : (input as { data: unknown }).data;
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      throw new InputError(`argument ${s.name} must be a Float32Array or Float64Array (or { data, shape } holding one), got ${typeName(data)}`);
    }
    const dt: FloatDtype = data instanceof Float32Array ? 'float32' : 'float64';
    if (dtype && dt !== dtype) throw new InputError(`arguments mix dtypes: ${dtypeFrom} is ${dtype} but ${s.name} is ${dt}; convert them all to one dtype`);
    if (!dtype) [dtype, dtypeFrom] = [dt, s.name];
    const rawShape = isTyped ? undefined : (input as { shape?: unknown }).shape;
    if (!isTyped && (!Array.isArray(rawShape) || !rawShape.every((n) => Number.isInteger(n) && n >= 0))) {
      throw new InputError(`argument ${s.name}: { data, shape } needs shape as a list of non-negative integers, got ${typeName(rawShape)}`);
    }
    const shape = isTyped ? undefined : [...(rawShape as number[])];
    if (shape && shape.reduce((a, b) => a * b, 1) !== data.length) {
      throw new InputError(`argument ${s.name} has shape (${shape.join(', ')}) but ${data.length} values`);
    }
    datas.set(s.name, { data, shape });
  }
  // batch dims: the leading dims before (rows, dim) of a Vi/Vj array, before (dim,) of a Pm array
  const batchOf = (s: ArgInfo): number => {
    const shape = datas.get(s.name)!.shape;
    return shape ? shape.length - (s.cat === 2 ? 1 : 2) : 0;
  };
  const batched = specs.filter((s) => batchOf(s) > 0);
  const nb = batched.length ? batchOf(batched[0]!) : 0;
  if (batched.length) {
    const first = batched[0]!;
    const firstShape = shapeText(datas.get(first.name)!.shape!);
    for (const s of specs) {
      const { shape } = datas.get(s.name)!;
      const want = `${s.cat === 2 ? `(B…, ${s.dim})` : `(B…, ${s.cat === 0 ? 'M' : 'N'}, ${s.dim})`} with ${nb} batch dim${nb > 1 ? 's' : ''}`;
      if (!shape) throw new InputError(`argument ${s.name} is a flat array but ${first.name} has batch dims (shape ${firstShape}); give every argument as { data, shape } of shape ${want}`);
      if (batchOf(s) !== nb) {
        const explicit = s.dim === 1 && s.cat !== 2 && batchOf(s) < nb ? ` (with batch dims a dim-1 variable needs its explicit last dim of 1)` : '';
        throw new InputError(`arguments have different numbers of batch dims: ${first.name} has shape ${firstShape} (${nb}) but ${s.name} (${CAT_NAMES[s.cat]}(${s.dim})) has shape ${shapeText(shape)}; expected ${want}${explicit}`);
      }
    }
  }
  const batchShape: number[] = new Array<number>(nb).fill(1);
  const batchFrom: string[] = new Array<string>(nb).fill('');
  const sizes: [number | undefined, number | undefined] = [undefined, undefined];
  const sizeFrom = ['', ''];
  const arrays = new Map<number, Float32Array | Float64Array>();
  for (const s of specs) {
    const { data, shape: fullShape } = datas.get(s.name)!;
    const own = fullShape ? fullShape.slice(0, nb) : [];
    const shape = fullShape?.slice(nb);
    for (let d = 0; d < nb; d++) {
      if (own[d] === 1) continue;
      if (batchShape[d] !== 1 && batchShape[d] !== own[d]) {
        throw new InputError(
          `batch dims do not broadcast: ${batchFrom[d]} has shape ${shapeText(datas.get(batchFrom[d]!)!.shape!)} but ${s.name} has shape ${shapeText(fullShape!)} (batch dim ${d}: ${batchShape[d]} vs ${own[d]}); each batch dim must be equal across arguments or 1`,
        );
      }
      batchShape[d] = own[d]!;
      batchFrom[d] = s.name;
    }
    if (s.cat === 2) {
      const ok = shape ? shape.length === 1 && shape[0] === s.dim : data.length === s.dim;
      if (!ok) throw new InputError(`argument ${s.name} is Pm(${s.dim}): expected shape ${nb ? `(B…, ${s.dim})` : `(${s.dim},)`}, got ${fullShape ? `(${fullShape.join(', ')})` : `${data.length} values`}`);
    } else {
      let rows: number;
      if (shape) {
        const ok = (shape.length === 2 && shape[1] === s.dim) || (shape.length === 1 && s.dim === 1 && nb === 0);
        if (!ok) throw new InputError(`argument ${s.name} is ${CAT_NAMES[s.cat]}(${s.dim}): expected shape ${nb ? `(B…, ${s.cat === 0 ? 'M' : 'N'}, ${s.dim})` : describeShape(s)}, got (${fullShape!.join(', ')})`);
        rows = shape[0]!;
      } else {
        if (data.length % s.dim !== 0) throw new InputError(`argument ${s.name} is ${CAT_NAMES[s.cat]}(${s.dim}) but has ${data.length} values, not a multiple of ${s.dim}`);
        rows = data.length / s.dim;
      }
      const c = s.cat;
      const prev = sizes[c];
      if (prev !== undefined && prev !== rows) {
        const which = c === 0 ? 'M' : 'N';
        throw new InputError(`${which} mismatch: ${sizeFrom[c]} has ${prev} rows but ${s.name} has ${rows}; all ${CAT_NAMES[c]} arrays share ${which}`);
      }
      sizes[c] = rows;
      sizeFrom[c] = s.name;
    }
    arrays.set(s.index, data);
  }
  const M = sizes[0] ?? 1;
  const N = sizes[1] ?? 1;
  let batch: BatchLayout | undefined;
  if (nb > 0) {
    const strides = new Map<number, number[]>();
    for (const s of specs) strides.set(s.index, broadcastStrides(datas.get(s.name)!.shape!.slice(0, nb), (s.cat === 0 ? M : s.cat === 1 ? N : 1) * s.dim));
    batch = { shape: batchShape, strides };
  }
  return { dtype: dtype ?? 'float64', M, N, arrays, ...(batch ? { batch } : {}) };
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}
