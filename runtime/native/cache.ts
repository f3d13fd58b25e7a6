/**
 * The on-disk kernel cache shared by the native backends (cpu libraries, cuda images): the folder and
 * its listing. Each backend keys and fills its own entries (runtime/cpu/compiler.ts, runtime/cuda).
 * @module
 */
import { chmodSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The kernel cache directory: `$KEOPSC_CACHE_DIR`, else `~/.cache/keopsc`; created with mode 0700.
 * Refuses (throws) a directory that other users can write to, since its libraries get loaded.
 */
export function cacheDir(): string {
  const dir = process.env['KEOPSC_CACHE_DIR'] || join(homedir(), '.cache', 'keopsc');
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) chmodSync(dir, 0o700);
  const st = statSync(dir);
  if (!st.isDirectory()) throw new Error(`keopsc cache: ${dir} is not a directory`);
  if ((st.mode & 0o022) !== 0) throw new Error(`keopsc cache: ${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 700 on it or set KEOPSC_CACHE_DIR`);
  return dir;
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
