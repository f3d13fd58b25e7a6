import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strict as assert } from 'node:assert';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'snapshots');

/**
 * Compare generated code with test/snapshots/NAME (one readable file per target). KEOPSC_BLESS=1
 * rewrites the file; a missing file is an error that says so.
 */
export function matchSnapshot(name: string, text: string): void {
  matchFile(join(DIR, name), text, 'generated code');
}

/**
 * Compare `text` with the file at `file` (a snapshot or a baseline such as test/ir/NAME.ir.txt):
 * KEOPSC_BLESS=1 rewrites the file; a missing file is an error that says so. `what` names the text.
 */
export function matchFile(file: string, text: string, what: string): void {
  if (process.env.KEOPSC_BLESS === '1') {
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file)) throw new Error(`no baseline at ${file}: run the test with KEOPSC_BLESS=1`);
  assert.equal(text, readFileSync(file, 'utf8'), `${what} differs from ${file} (KEOPSC_BLESS=1 re-blesses after review)`);
}
