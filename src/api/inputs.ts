import { InputError } from '../diagnostics/index.js';
import type { ArgInfo, Kernel } from '../ir/kernel.js';

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
  const sizes: [number | undefined, number | undefined] = [undefined, undefined];
  const sizeFrom = ['', ''];
  const arrays = new Map<number, Float32Array | Float64Array>();
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
    if (s.cat === 2) {
      const ok = shape ? shape.length === 1 && shape[0] === s.dim : data.length === s.dim;
      if (!ok) throw new InputError(`argument ${s.name} is Pm(${s.dim}): expected shape (${s.dim},), got ${shape ? `(${shape.join(', ')})` : `${data.length} values`}`);
    } else {
      let rows: number;
      if (shape) {
        const ok = (shape.length === 2 && shape[1] === s.dim) || (shape.length === 1 && s.dim === 1);
        if (!ok) throw new InputError(`argument ${s.name} is ${CAT_NAMES[s.cat]}(${s.dim}): expected shape ${describeShape(s)}, got (${shape.join(', ')})`);
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
  return { dtype: dtype ?? 'float64', M: sizes[0] ?? 1, N: sizes[1] ?? 1, arrays };
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  return (v as object).constructor?.name ?? 'object';
}
