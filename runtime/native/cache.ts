/**
 * The on-disk kernel cache shared by the native backends (cpu libraries, cuda images): the folder and
 * its listing. Each backend keys and fills its own entries (runtime/cpu/compiler.ts, runtime/cuda).
 * @module
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError } from '../../src/diagnostics/diagnostic.js';

/**
 * The kernel cache directory: `$KEOPSC_CACHE_DIR`, else `~/.cache/keopsc`; created with mode 0700.
 * Refuses (EnvironmentError, KEO5002) a directory that other users can write to, since its libraries
 * get loaded, and one it cannot create.
 */
export function cacheDir(): string {
  const dir = process.env['KEOPSC_CACHE_DIR'] || join(homedir(), '.cache', 'keopsc');
  let st: Stats;
  try {
    const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (created !== undefined) chmodSync(dir, 0o700);
    st = statSync(dir);
  } catch (e) {
    throw new EnvironmentError(`keopsc cache: cannot create ${dir} (${(e as Error).message}); set KEOPSC_CACHE_DIR to a directory of yours`);
  }
  if (!st.isDirectory()) throw new EnvironmentError(`keopsc cache: ${dir} is not a directory; remove it or set KEOPSC_CACHE_DIR`);
  if ((st.mode & 0o022) !== 0) throw new EnvironmentError(`keopsc cache: ${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 700 on it or set KEOPSC_CACHE_DIR`);
  return dir;
}

/** How old a temporary file of the cache must be before {@link sweepTemps} takes it for a leftover. */
export const TEMP_MAX_AGE_MS = 5 * 60 * 1000;

/**
 * Delete the temporary files (`.tmp-*`) of a cache folder older than `maxAgeMs`: leftovers of
 * compilations that were killed (younger ones may belong to a compilation running now; the slowest
 * kernel compiles in seconds). Called before every compilation and by the cache's clear. Returns how
 * many were removed.
 */
export function sweepTemps(dir: string, maxAgeMs = TEMP_MAX_AGE_MS): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith('.tmp-')) continue;
    const file = join(dir, name);
    try {
      if (now - statSync(file).mtimeMs > maxAgeMs) {
        rmSync(file, { force: true });
        n++;
      }
    } catch {
      /* removed meanwhile */
    }
  }
  return n;
}

/** One cached library. */
export interface CacheEntry {
  file: string;
  size: number;
  mtime: Date;
}

/** The files of a cache folder whose names match, oldest first (none when the folder does not exist). */
export function cacheFiles(dir: string, match: RegExp): CacheEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: CacheEntry[] = [];
  for (const name of names) {
    if (!match.test(name)) continue;
    try {
      const st = statSync(join(dir, name));
      if (st.isFile()) out.push({ file: join(dir, name), size: st.size, mtime: st.mtime });
    } catch {
      /* removed meanwhile */
    }
  }
  return out.sort((a, b) => a.mtime.getTime() - b.mtime.getTime());
}
