/**
 * The CLI's output files: every check that can fail runs before any work (so a long computation never
 * ends in "cannot write"), and files are written whole or not at all (runtime/npy writeFileAtomic).
 * @module
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../diagnostics/index.js';

/** The directory entry `path` names, with its directory's symbolic links resolved (the file's own are not). */
function entryOf(path: string, option: string): string {
  try {
    return join(realpathSync(dirname(resolve(path))), basename(path));
  } catch {
    throw new InputError(`${option} ${path}: its directory does not exist; create it first`);
  }
}

/** The paths by which `path` is read: its entry and, when it is a link, the file it leads to. */
function readPaths(path: string): string[] {
  const out = [resolve(path)];
  try {
    out.push(realpathSync(path));
    out.push(join(realpathSync(dirname(resolve(path))), basename(path)));
  } catch {
    /* missing: loading it fails later with its own message */
  }
  return out;
}

/**
 * Check output paths before any work: each one's directory exists, no output is one of the `inputs`
 * (by any spelling or link), and no two outputs are the same file.
 *
 * @param outputs the option that names each output (e.g. `-o`) and its path
 * @throws InputError naming the first problem
 */
export function checkOutputs(outputs: readonly { option: string; path: string }[], inputs: readonly string[]): void {
  const read = new Map<string, string>();
  for (const i of inputs) for (const p of readPaths(i)) read.set(p, i);
  const seen = new Map<string, string>();
  for (const { option, path } of outputs) {
    const entry = entryOf(path, option);
    const input = read.get(entry);
    if (input !== undefined) throw new InputError(`${option} ${path} is the input ${input}; writing it would destroy the input: choose another output file`);
    const other = seen.get(entry);
    if (other !== undefined) throw new InputError(`${option} ${path} and ${other} are the same file; give each output its own file`);
    seen.set(entry, `${option} ${path}`);
  }
}

/**
 * The checks of `keopsc run -o FILE` that need only the kernel: `.npy` for one output, `.npz` for any
 * number (two outputs need `.npz`).
 */
export function checkRunOutput(output: string, outputNames: readonly string[]): void {
  if (output.endsWith('.npz')) return;
  if (!output.endsWith('.npy')) throw new InputError(`-o ${output}: the output file must end in .npy or .npz`);
  if (outputNames.length > 1) throw new InputError(`this kernel returns ${outputNames.join(' and ')}; write them to a .npz file (-o out.npz)`);
}
