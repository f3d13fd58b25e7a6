/**
 * Reading the `.keo` file a command is given.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { InputError } from '../diagnostics/index.js';

/** The text of a source file, or a one-line InputError. */
export function readSource(file: string): string {
  if (!existsSync(file)) throw new InputError(`cannot read ${file}: no such file`);
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${file}: ${(e as Error).message}`);
  }
}
