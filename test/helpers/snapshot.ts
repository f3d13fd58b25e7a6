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
  const file = join(DIR, name);
  if (process.env.KEOPSC_BLESS === '1') {
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file)) throw new Error(`no snapshot at ${file}: run the test with KEOPSC_BLESS=1`);
  assert.equal(text, readFileSync(file, 'utf8'), `generated code differs from ${file} (KEOPSC_BLESS=1 re-blesses after review)`);
}
