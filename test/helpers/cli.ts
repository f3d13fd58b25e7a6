import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

const root = join(import.meta.dirname, '../..');

/**
 * Which CLI the tests run: the sources (in-process, the default) or, with KEOPSC_TEST_CLI=bundle, the
 * built command line `bin/keopsc.cjs` (dist/cli, `npm run build`) as a process.
 */
export const cliUnderTest: 'sources' | 'bundle' = process.env.KEOPSC_TEST_CLI === 'bundle' ? 'bundle' : 'sources';

/** The node arguments that run the CLI under test as a process (the arguments of the command follow). */
export function cliProcessArgs(): string[] {
  return cliUnderTest === 'bundle' ? [join(root, 'bin/keopsc.cjs')] : ['--import', 'tsx', join(root, 'test/helpers/keopsc-cli.ts')];
}

/** Run the CLI under test; returns the exit code and what it printed (without the last line break). */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  if (cliUnderTest === 'bundle') {
    const child = spawn(process.execPath, [...cliProcessArgs(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 2));
    });
    return { code, out: out.replace(/\n$/, ''), err: err.replace(/\n$/, '') };
  }
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'keopsc', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
