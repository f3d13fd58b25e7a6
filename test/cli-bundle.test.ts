// The built command line (bin/keopsc.cjs and dist/cli, scripts/bundle-cli.mjs): what its code-cached
// script holds, when its code cache is used, and the commands through it. test/cli.test.ts runs every
// CLI test against it as well with KEOPSC_TEST_CLI=bundle.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { loadNpy, ndarray, saveNpy } from '../runtime/npy/index.js';
import { cli } from './helpers/cli.js';
import { expectClose, uniform } from './helpers/data.js';

const root = resolve(import.meta.dirname, '..');

/** Run `bin/keopsc.cjs` of the folder `at` (the checkout unless told) as a process. */
function bin(args: string[], env: Record<string, string> = {}, at = root): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(at, 'bin/keopsc.cjs'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('the CLI bundle (dist/cli)', function () {
  this.timeout(60000);
  let dir: string;

  before(() => {
    if (!existsSync(join(root, 'dist/cli/keopsc.cjs'))) throw new Error('dist/cli is missing: run `npm run build` (npm ci does it through `prepare`)');
    dir = mkdtempSync(join(tmpdir(), 'keopsc-bundle-'));
    writeFileSync(join(dir, 'g.keo'), 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ngauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)\n');
    writeFileSync(join(dir, 'bad.keo'), 'x = Vi(0, 3)\nk = Sum_Reduction(Exp(x) + Foo(x), 0)\n');
    saveNpy(join(dir, 'x.npy'), ndarray(uniform(30, 1), [10, 3]));
    saveNpy(join(dir, 'y.npy'), ndarray(uniform(24, 2), [8, 3]));
    saveNpy(join(dir, 'b.npy'), ndarray(uniform(8, 3), [8, 1]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('its code-cached script holds commander and the front end, no pass, target, runtime or backend', async () => {
    const { scriptOptions } = await import('../scripts/bundle-cli.mjs');
    const r = await build({ ...scriptOptions(), write: false, metafile: true, logLevel: 'silent' });
    const inputs = Object.keys((r.metafile as Metafile).inputs).map((f) => relative(root, resolve(root, f)));
    expect(inputs).to.include.members(['src/cli/main.ts', 'src/passes/frontend.ts', 'src/syntax/parse.ts', 'src/passes/elaborate.ts', 'node_modules/commander/index.js']);
    expect(inputs.some((f) => f.startsWith('node_modules/chevrotain/'))).to.equal(true);
    const heavy = inputs.filter((f) => /^(runtime\/|src\/(targets|lower|api\/compile|lsp|cli\/(commands|doctor))|node_modules\/(webgpu|bullmq|ioredis|fflate)\/)/.test(f) || /^src\/passes\/(pipeline|simplify|autodiff|cse|expand)\.ts$/.test(f));
    expect(heavy).to.deep.equal([]);
  });

  it('uses its code cache, and a check through it gives what the sources give', async () => {
    const r = bin(['check', join(dir, 'g.keo')], { KEOPSC_DEBUG_STARTUP: '1' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/^keopsc: code cache used /);
    expect(r.stdout.trimEnd()).to.equal((await cli('check', join(dir, 'g.keo'))).out);
    const bad = bin(['check', join(dir, 'bad.keo')]);
    expect(bad.status).to.equal(1);
    expect(bad.stdout).to.contain("bad.keo:2:28 - error KEO2001: unknown operation 'Foo'");
    expect(bin(['--version']).stdout.trim()).to.equal(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });

  it('ignores a code cache made for another script or one V8 rejects, and runs as well without', () => {
    // a copy of the package's CLI to spoil: bin/keopsc.cjs finds dist/cli beside it
    const copy = join(dir, 'pkg');
    mkdirSync(join(copy, 'bin'), { recursive: true });
    copyFileSync(join(root, 'bin/keopsc.cjs'), join(copy, 'bin/keopsc.cjs'));
    cpSync(join(root, 'dist/cli'), join(copy, 'dist/cli'), { recursive: true });
    const script = join(copy, 'dist/cli/keopsc.cjs');
    const check = () => bin(['check', join(dir, 'g.keo')], { KEOPSC_DEBUG_STARTUP: '1' }, copy);
    expect(check().stderr).to.match(/code cache used/);
    // the same length with other content (V8 alone would take the cache): a new build id on line 1
    const text = readFileSync(script, 'utf8');
    writeFileSync(script, text.replace(/^\/\/ keopsc-build ([0-9a-f])/, (_m, c: string) => `// keopsc-build ${c === '0' ? '1' : '0'}`));
    let r = check();
    expect(r.stderr).to.match(/code cache absent/);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/g\.keo: ok \(1 kernel: gauss\)/);
    // the right header with data V8 cannot use
    writeFileSync(script, text);
    const cache = readFileSync(`${script}.cache`);
    const header = cache.indexOf(10) + 1;
    writeFileSync(`${script}.cache`, Buffer.concat([cache.subarray(0, header), Buffer.alloc(cache.length - header, 7)]));
    r = check();
    expect(r.stderr).to.match(/code cache rejected/);
    expect(r.status, r.stderr).to.equal(0);
    rmSync(`${script}.cache`);
    r = check();
    expect(r.stderr).to.match(/code cache absent/);
    expect(r.stdout).to.match(/g\.keo: ok/);
  });

  it('runs the commands kept in its chunks: run, compile, and their input errors as one line', async () => {
    const args = ['run', join(dir, 'g.keo'), '-a', `x=${join(dir, 'x.npy')}`, '-a', `y=${join(dir, 'y.npy')}`, '-a', `b=${join(dir, 'b.npy')}`, '-b', 'js', '-q'];
    const r = bin([...args, '-o', join(dir, 'out.npy')]);
    expect(r.status, r.stderr).to.equal(0);
    expect((await cli(...args, '-o', join(dir, 'ref.npy'))).code).to.equal(0);
    expectClose(loadNpy(join(dir, 'out.npy')).data as Float64Array, Array.from(loadNpy(join(dir, 'ref.npy')).data as Float64Array), 0);
    const plan = bin(['compile', join(dir, 'g.keo'), '--emit', 'plan']);
    expect(plan.status, plan.stderr).to.equal(0);
    expect(plan.stdout.trimEnd()).to.equal((await cli('compile', join(dir, 'g.keo'), '--emit', 'plan')).out);
    // an InputError made by the chunks' copy of the diagnostics is a user error (status 1), not an internal one
    const missing = bin(['run', join(dir, 'g.keo'), '-a', `x=${join(dir, 'nope.npy')}`]);
    expect(missing.status).to.equal(1);
    expect(missing.stderr.trim()).to.match(/^error KEO\d+: cannot read \.npy file '.*nope\.npy': no such file/);
    expect(missing.stderr.trim().split('\n')).to.have.length(1);
  });
});
