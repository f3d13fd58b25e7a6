/**
 * Regenerate the README's performance table from a bench report:
 *
 *   npm run bench -- --json bench/results.json     # the figures, as JSON (bench/report.ts)
 *   npm run bench:readme                           # README.md between <!-- bench:start --> and <!-- bench:end -->
 *   npm run bench:readme -- other.json             # from another report
 *
 * bench/results.json is the committed report the README's table comes from; test/readme-bench.test.ts
 * fails when the table is not what this script makes of it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseReport, replaceBenchTable } from '../bench/report.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const README_PATH = join(root, 'README.md');
export const RESULTS_PATH = join(root, 'bench', 'results.json');

/** The bench report in `file`, checked. */
export function readReport(file: string): ReturnType<typeof parseReport> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`${file}: cannot be read (write it with npm run bench -- --json ${file})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message})`);
  }
  return parseReport(json, file);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = resolve(process.argv[2] ?? RESULTS_PATH);
  try {
    const next = replaceBenchTable(readFileSync(README_PATH, 'utf8'), readReport(file));
    writeFileSync(README_PATH, next);
    console.log(`README.md: performance table regenerated from ${file}`);
  } catch (e) {
    console.error(`readme-bench: ${(e as Error).message}`);
    process.exitCode = 1;
  }
}
