/**
 * `keopsc cache ls`: one line per cached CPU library or CUDA image, saying which kernel it holds
 * (its name, dtype, tag and arguments, read from the file itself), its size and its age.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { cacheDir, cacheList } from '../../runtime/cpu/index.js';
import { cudaCacheList } from '../../runtime/cuda/index.js';
import { loadAddon } from '../../runtime/native/addon.js';

const CAT = ['Vi', 'Vj', 'Pm'];

/** The first `max` bytes of a file as latin1 text ('' when it cannot be read). */
function head(file: string, max = 1 << 20): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, 0);
    return buf.subarray(0, n).toString('latin1');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * What a cache file holds, from its own bytes: a CPU library carries its `keopsc_info` JSON (native/ABI.md),
 * a CUDA image its kernels' symbols `keopsc_NAME_dense`.
 */
export function describeCacheFile(file: string): string {
  if (file.endsWith('.so')) {
    // ABI 2: the info is a C struct; the addon reads it (without running anything)
    const addon = loadAddon();
    if (addon) {
      try {
        const info = addon.info(addon.load(file));
        const args = info.args.map((a) => `${CAT[a.cat] ?? '?'}(${a.index}, ${a.dim})`).join(' ');
        return `cpu   ${info.name} (${info.dtype}, tag ${info.tag}, ${info.outputs.map((o) => (o.kind === 'index' ? 'indices' : 'values')).join('+')}) ${args}`;
      } catch {
        /* an older library (JSON info) or a damaged one: read its bytes below */
      }
    }
  }
  const text = head(file);
  const at = text.indexOf('{"abi":');
  if (at >= 0) {
    try {
      const info = JSON.parse(text.slice(at, text.indexOf('\0', at))) as { name: string; dtype: string; tag: number; args: { index: number; dim: number; cat: number }[]; outputs?: { name: string }[] };
      const args = info.args.map((a) => `${CAT[a.cat] ?? '?'}(${a.index}, ${a.dim})`).join(' ');
      return `cpu   ${info.name} (${info.dtype}, tag ${info.tag}${info.outputs ? `, ${info.outputs.map((o) => o.name).join('+')}` : ''}) ${args}`;
    } catch {
      /* not the JSON we know: fall through */
    }
  }
  const cuda = /keopsc_(\w+?)_dense/.exec(text);
  if (cuda) return `cuda  ${cuda[1]} (${file.endsWith('.ptx') ? 'PTX' : 'cubin'})`;
  return `?     (unrecognised: not written by this keopsc)`;
}

/** "12 s", "5 min", "3 h", "2 d" */
function age(ms: number): string {
  const s = Math.max(0, ms / 1000);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** The lines of `keopsc cache ls`, oldest entry first, then a summary. */
export function cacheListing(now = Date.now()): string[] {
  const entries = [...cacheList(), ...cudaCacheList()].sort((a, b) => a.mtime.getTime() - b.mtime.getTime());
  const lines = entries.map((e) => `${basename(e.file).slice(0, 12)}  ${`${(e.size / 1024).toFixed(0)} KiB`.padStart(8)}  ${age(now - e.mtime.getTime()).padStart(6)} ago  ${describeCacheFile(e.file)}`);
  const total = entries.reduce((s, e) => s + e.size, 0);
  lines.push(`${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} in ${cacheDir()} (${(total / 1048576).toFixed(1)} MiB)`);
  return lines;
}
