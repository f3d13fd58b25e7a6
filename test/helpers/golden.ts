import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFORMANCE_CASES } from './conformance.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The golden modules: every valid `.keo` file of the repository (test/fixtures, examples; the must-fail
 * files are invalid by design) and the `.keo` source of every conformance case (test/helpers/conformance.ts).
 */
export function goldenModules(): { where: string; text: string }[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.keo')) files.push(p);
    }
  };
  for (const d of ['test/fixtures', 'examples']) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return [
    ...files.map((f) => ({ where: relative(ROOT, f), text: readFileSync(f, 'utf8') })),
    ...CONFORMANCE_CASES.map((c) => ({ where: c.name, text: c.source })),
  ];
}

/** The source without its `#ifndef __CUDACC_RTC__` blocks: the part NVRTC compiles. */
export function deviceOnly(source: string): string {
  return source.replace(/^#ifndef __CUDACC_RTC__\n[\s\S]*?^#endif.*$/gm, '');
}

