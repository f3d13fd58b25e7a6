/**
 * The C text of a kernel's `keopsc_info` (native/ABI.md, ABI 2): the metadata struct the native addon
 * reads to validate a call. One function, used by the C++ printer and by the tests' hand-written kernels.
 * @module
 */

/** The kernel ABI version printed kernels follow and the native addon runs. */
export const KERNEL_ABI = 2;

/** What `keopsc_info` describes. */
export interface KernelInfo {
  name: string;
  dtype: 'float32' | 'float64';
  tag: 0 | 1;
  /** cat 0 = i (M rows), 1 = j (N rows), 2 = parameter (1 row). */
  args: readonly { index: number; dim: number; cat: 0 | 1 | 2 }[];
  /** kind 'float': values of the dtype; 'index': int64. width = values per output row. */
  outputs: readonly { name: string; kind: 'float' | 'index'; width: number }[];
}

/** The ABI's C declarations of the info struct (after `#include <cstdint>`). */
export const KERNEL_INFO_DECLS = [
  'struct keopsc_arg { int32_t index, dim, cat; };',
  'struct keopsc_output { const char* name; int32_t kind, width; };',
  'struct keopsc_kernel_info {',
  '  int32_t abi, f64, tag, n_args, n_outputs;',
  '  const char* name;',
  '  const keopsc_arg* args;',
  '  const keopsc_output* outputs;',
  '  const char* key;',
  '};',
].join('\n');

/** A C string literal of `s` (ASCII escapes for everything else). */
function cString(s: string): string {
  let out = '"';
  for (const b of new TextEncoder().encode(s)) out += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c && b !== 0x3f ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`;
  return `${out}"`;
}

/**
 * The C definition of `keopsc_info()` for `info`, after {@link KERNEL_INFO_DECLS}. Its `key` is the macro
 * `KEOPSC_KEY`: the kernel cache defines it (`-DKEOPSC_KEY="<cache key>"`) so a library records the key
 * it was built under; a build without it records "".
 */
export function printKernelInfo(info: KernelInfo): string {
  const args = info.args.map((a) => `{${a.index}, ${a.dim}, ${a.cat}}`);
  const outs = info.outputs.map((o) => `{${cString(o.name)}, ${o.kind === 'index' ? 1 : 0}, ${o.width}}`);
  return [
    '#ifndef KEOPSC_KEY',
    '#define KEOPSC_KEY ""',
    '#endif',
    `static const keopsc_arg keopsc_args_[] = {${args.length ? args.join(', ') : '{0, 0, 0}'}};`,
    `static const keopsc_output keopsc_outputs_[] = {${outs.join(', ')}};`,
    `static const keopsc_kernel_info keopsc_info_ = {${KERNEL_ABI}, ${info.dtype === 'float64' ? 1 : 0}, ${info.tag}, ${info.args.length}, ${info.outputs.length}, ${cString(info.name)}, keopsc_args_, keopsc_outputs_, KEOPSC_KEY};`,
    'extern "C" __attribute__((visibility("default"))) const keopsc_kernel_info* keopsc_info(void) { return &keopsc_info_; }',
  ].join('\n');
}
