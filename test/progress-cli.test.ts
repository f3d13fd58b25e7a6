import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveNpy } from '../runtime/npy/index.js';
import { cpuStatus, webgpuStatus } from '../src/index.js';
import { uniform } from './helpers/data.js';
import { cliProcessArgs } from './helpers/cli.js';

/**
 * `keopsc run` as a user at a terminal sees it: the CLI runs under a pseudo-terminal (util-linux
 * `script`), so stderr is a TTY; Ctrl-C is the byte 0x03 typed into that terminal.
 */
const CLI = cliProcessArgs();
const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

function shellQuote(args: string[]): string {
  return args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

describe('keopsc run: progress and Ctrl-C', function () {
  this.timeout(240_000);
  let dir: string;
  const p = (name: string) => join(dir, name);
  before(function () {
    if (!hasScript) {
      console.log('      (skipped: util-linux `script` is not installed, so no pseudo-terminal)');
      this.skip();
    }
    dir = mkdtempSync(join(tmpdir(), 'keopsc-progress-'));
    writeFileSync(p('g.keo'), 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)\n');
    const n = 60_000;
    saveNpy(p('x.npy'), { dtype: 'float32', shape: [n, 3], data: Float32Array.from(uniform(3 * n, 1)) });
    saveNpy(p('b.npy'), { dtype: 'float32', shape: [n, 1], data: Float32Array.from(uniform(n, 2)) });
    saveNpy(p('xs.npy'), { dtype: 'float32', shape: [2000, 3], data: Float32Array.from(uniform(6000, 3)) });
    saveNpy(p('bs.npy'), { dtype: 'float32', shape: [2000, 1], data: Float32Array.from(uniform(2000, 4)) });
    saveNpy(p('xm.npy'), { dtype: 'float32', shape: [8000, 3], data: Float32Array.from(uniform(24000, 5)) });
    saveNpy(p('bm.npy'), { dtype: 'float32', shape: [8000, 1], data: Float32Array.from(uniform(8000, 6)) });
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  const runArgs = (x: string, b: string, out: string, ...extra: string[]) => ['run', p('g.keo'), '--arg', `x=${p(x)}`, '--arg', `y=${p(x)}`, '--arg', `b=${p(b)}`, '-o', p(out), ...extra];

  /** Run the CLI in a pseudo-terminal; `onOutput` sees the terminal's text as it comes. */
  function inTerminal(args: string[], env: Record<string, string> = {}, onOutput?: (text: string, write: (s: string) => void) => void): Promise<{ code: number | null; text: string; exitedAt: number }> {
    const child = spawn('script', ['-qfec', `${shellQuote([process.execPath, ...CLI, ...args])}`, '/dev/null'], { env: { ...process.env, ...env }, stdio: 'pipe' });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      onOutput?.(text, (s) => child.stdin.write(s));
    });
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, text, exitedAt: Date.now() })));
  }

  it('draws a progress line (percent, pairs/s, ETA) on a terminal and clears it at the end', async () => {
    const r = await inTerminal(runArgs('xm.npy', 'bm.npy', 'out.npy', '--backend', 'js'), { KEOPSC_PROGRESS_DELAY_MS: '0' });
    expect(r.code, r.text).to.equal(0);
    expect(r.text).to.match(/keopsc run g .* \d+% \| [\d.]+( [kMG])? pairs\/s \| ETA/);
    expect(r.text).to.contain('100%');
    expect(r.text.endsWith('\x1b[2K'), JSON.stringify(r.text.slice(-40))).to.equal(true); // the line is cleared
    expect(existsSync(p('out.npy'))).to.equal(true);
  });

  it('draws nothing with --quiet, nor when stderr is not a terminal, nor for a run under 0.5 s', async () => {
    const q = await inTerminal(runArgs('xs.npy', 'bs.npy', 'q.npy', '--backend', 'js', '--quiet'), { KEOPSC_PROGRESS_DELAY_MS: '0' });
    expect(q.code).to.equal(0);
    expect(q.text).to.equal('');
    const fast = await inTerminal(runArgs('xs.npy', 'bs.npy', 'f.npy', '--backend', 'js'));
    expect(fast.code).to.equal(0);
    expect(fast.text).to.equal('');
    const piped = spawnSync(process.execPath, [...CLI, ...runArgs('xs.npy', 'bs.npy', 'p.npy', '--backend', 'js')], { env: { ...process.env, KEOPSC_PROGRESS_DELAY_MS: '0' }, encoding: 'utf8' });
    expect(piped.status).to.equal(0);
    expect(piped.stderr).to.equal('');
  });

  for (const backend of ['cpu', 'js', 'webgpu'] as const) {
    it(`${backend}: Ctrl-C stops the run within 1 s with status 130 and writes no output file`, async function () {
      if (backend === 'cpu' && !cpuStatus().ok) return this.skip();
      if (backend === 'webgpu' && !(await webgpuStatus()).ok) return this.skip();
      let sentAt = 0;
      const r = await inTerminal(runArgs('x.npy', 'b.npy', `${backend}.npy`, '--backend', backend), {}, (text, write) => {
        if (!sentAt && /\d+% \|/.test(text)) {
          sentAt = Date.now();
          write('\x03');
        }
      });
      expect(sentAt, `no progress line before the run ended: ${r.text}`).to.be.greaterThan(0);
      expect(r.code).to.equal(130);
      expect(r.exitedAt - sentAt).to.be.lessThan(1000);
      expect(existsSync(p(`${backend}.npy`))).to.equal(false);
      expect(r.text).to.not.contain('Error');
    });
  }
});
