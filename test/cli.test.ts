import { expect } from 'chai';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float32String } from '../src/cli/commands.js';
import { cli, cliProcessArgs } from './helpers/cli.js';
import { loadNpy, loadNpz, saveNpy, saveNpz, ndarray } from '../runtime/npy/index.js';
import { expectClose, uniform } from './helpers/data.js';


/** Run `f` with the kernel cache in `dir` (KEOPSC_CACHE_DIR), restoring the variable afterwards. */
async function withCacheDir(dir: string, f: () => Promise<void>): Promise<void> {
  const saved = process.env.KEOPSC_CACHE_DIR;
  process.env.KEOPSC_CACHE_DIR = dir;
  try {
    await f();
  } finally {
    if (saved === undefined) delete process.env.KEOPSC_CACHE_DIR;
    else process.env.KEOPSC_CACHE_DIR = saved;
  }
}

describe('keopsc run', () => {
  let dir: string;
  const p = (name: string) => join(dir, name);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keopsc-cli-'));
    writeFileSync(p('sum.keo'), 'x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x + y, 0)\n');
    writeFileSync(p('two.keo'), 'x = Vi(0, 1)\ny = Vj(1, 1)\nlo = Min_ArgMin_Reduction(x + y, 0)\nhi = Max_Reduction(x + y, 1)\n');
    saveNpy(p('x.npy'), ndarray(Float64Array.from([0, 1, 2, 3, 4, 5]), [6, 1]));
    saveNpy(p('x1d.npy'), ndarray(Float64Array.from([0, 1, 2, 3, 4, 5]), [6]));
    saveNpy(p('y.npy'), ndarray(Float64Array.from([0, 10, 20, 30, 40]), [5, 1]));
    saveNpy(p('y32.npy'), ndarray(Float32Array.from([0, 10, 20, 30, 40]), [5, 1]));
    saveNpy(p('y2.npy'), ndarray(Float64Array.from([0, 10, 20, 30, 40, 50]), [3, 2]));
    saveNpy(p('yint.npy'), ndarray(Int32Array.from([0, 10, 20, 30, 40]), [5, 1]));
    writeFileSync(p('junk.npy'), 'not a numpy file');
    const I = (a: number[], ...shape: number[]) => ndarray(BigInt64Array.from(a.map(BigInt)), shape);
    saveNpz(p('ranges.npz'), {
      ranges_i: I([0, 2, 2, 4], 2, 2), slices_i: I([1, 3], 2), redranges_j: I([0, 2, 0, 2, 2, 5], 3, 2),
      ranges_j: I([0, 2, 2, 5], 2, 2), slices_j: I([2, 3], 2), redranges_i: I([0, 2, 2, 4, 2, 4], 3, 2),
    });
    saveNpz(p('bad-ranges.npz'), {
      ranges_i: I([0, 2, 2, 9], 2, 2), slices_i: I([1, 3], 2), redranges_j: I([0, 2, 0, 2, 2, 5], 3, 2),
      ranges_j: I([0, 2, 2, 5], 2, 2), slices_j: I([2, 3], 2), redranges_i: I([0, 2, 2, 4, 2, 4], 3, 2),
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the result as .npy with the inputs dtype', async () => {
    const r = await cli('run', p('sum.keo'), '--arg', `x=${p('x.npy')}`, '--arg', `y=${p('y.npy')}`, '-o', p('out.npy'));
    expect(r.code, r.err).to.equal(0);
    const out = loadNpy(p('out.npy'));
    expect(out.dtype).to.equal('float64');
    expect(out.shape).to.deep.equal([6, 1]);
    expectClose(out.data as Float64Array, [100, 105, 110, 115, 120, 125]);
  });

  it('accepts (M,) arrays for dim-1 variables and honours --ranges (§3.2)', async () => {
    const r = await cli('run', p('sum.keo'), '-a', `x=${p('x1d.npy')}`, '-a', `y=${p('y.npy')}`, '--ranges', p('ranges.npz'), '-o', p('r.npy'));
    expect(r.code, r.err).to.equal(0);
    expectClose(loadNpy(p('r.npy')).data as Float64Array, [10, 12, 110, 115, 0, 0]);
  });

  it('writes two-output reductions as .npz with values and int64 indices, choosing --kernel', async () => {
    const r = await cli('run', p('two.keo'), '--kernel', 'lo', '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '-o', p('two.npz'));
    expect(r.code, r.err).to.equal(0);
    const z = loadNpz(p('two.npz'));
    expect([...z.keys()]).to.deep.equal(['values', 'indices']);
    expect(z.get('indices')!.dtype).to.equal('int64');
    expectClose(z.get('values')!.data as Float64Array, [0, 1, 2, 3, 4, 5]);
  });

  it('prints the result without -o', async () => {
    const r = await cli('run', p('two.keo'), '-k', 'hi', '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`);
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.contain('values: shape (5, 1)');
    expect(r.out).to.contain('[45]');
  });

  // issue 16 item 8: float32 results printed with float64 digits (0.10000000149011612)
  it('prints float32 results as their shortest float32 decimal', async () => {
    saveNpy(p('x32.npy'), ndarray(Float32Array.from([0.1, 0.2, 1 / 3, 1e-8, 3.4e38, -0]), [6, 1]));
    saveNpy(p('z32.npy'), ndarray(Float32Array.from([0]), [1, 1]));
    const r = await cli('run', p('sum.keo'), '-a', `x=${p('x32.npy')}`, '-a', `y=${p('z32.npy')}`, '--backend', 'js');
    expect(r.code, r.err).to.equal(0);
    expect(r.out.split('\n').slice(1).join(' ')).to.equal('  [0.1]   [0.2]   [0.33333334]   [1e-8]   [3.4e+38]   [0]');
    for (const v of [0.1, 1 / 3, 1e-8, 3.4e38, 1.17549435e-38, 1.4e-45, 16777217, Math.PI]) {
      const f = Math.fround(v);
      const s = float32String(f);
      expect(Math.fround(Number(s))).to.equal(f);
      expect(s.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').length).to.be.at.most(9);
    }
  });

  const bad: [string, () => string[], RegExp][] = [
    ['a missing argument', () => ['run', p('sum.keo'), '-a', `x=${p('x.npy')}`], /missing argument y: Vj\(1\), shape \(N, 1\)/],
    ['an unknown argument', () => ['run', p('sum.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '-a', `z=${p('y.npy')}`], /no argument named 'z'/],
    ['a wrong shape', () => ['run', p('sum.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y2.npy')}`], /y is Vj\(1\): expected shape \(N, 1\) or \(N,\), got \(3, 2\)/],
    ['mixed dtypes', () => ['run', p('sum.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y32.npy')}`], /mix dtypes/],
    ['an integer array', () => ['run', p('sum.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('yint.npy')}`], /dtype int32; kernel arguments must be float32 or float64/],
    ['a malformed .npy', () => ['run', p('sum.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('junk.npy')}`], /junk\.npy/],
    ['a missing file', () => ['run', p('sum.keo'), '-a', `x=${p('nope.npy')}`, '-a', `y=${p('y.npy')}`], /nope\.npy/],
    ['ranges out of bounds', () => ['run', p('sum.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '--ranges', p('bad-ranges.npz')], /ranges_i\[1\] = \[2, 9\) is out of bounds for M = 6/],
    ['two kernels without --kernel', () => ['run', p('two.keo'), '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`], /choose one with --kernel/],
    ['two outputs to .npy', () => ['run', p('two.keo'), '-k', 'lo', '-a', `x=${p('x.npy')}`, '-a', `y=${p('y.npy')}`, '-o', p('o.npy')], /\.npz/],
    ['a bad --arg', () => ['run', p('sum.keo'), '-a', 'x'], /NAME=PATH/],
    ['an unknown backend', () => ['run', p('sum.keo'), '--backend', 'tpu'], /tpu/],
    ['a missing .keo file', () => ['run', p('none.keo')], /none\.keo/],
  ];
  for (const [what, args, msg] of bad) {
    it(`fails with one clear line on ${what}`, async () => {
      const r = await cli(...args());
      expect(r.code).to.equal(1);
      expect(r.err).to.match(msg);
      expect(r.err).to.not.match(/\n\s+at /); // no stack trace
      expect(r.err.trim().split('\n')).to.have.length(1);
    });
  }
});

describe('keopsc compile --emit', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keopsc-cli-'));
    writeFileSync(join(dir, 'g.keo'), 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ir prints the kernel after every pass', async () => {
    const r = await cli('compile', join(dir, 'g.keo'), '--emit', 'ir');
    expect(r.code, r.err).to.equal(0);
    for (const s of ['typecheck', 'expand', 'autodiff', 'simplify', 'cse']) expect(r.out).to.contain(`# after ${s}`);
    const [typed, , , simplified] = r.out.split('# after ').slice(1);
    expect(typed).to.contain('SqDist(x,y)');
    expect(simplified).to.contain('g = Sum_Reduction(b*Exp((-1/2)*Sum((x-y)**2)), 0)');
  });

  it('plan prints the kernel plan: the reduction, the loads and statements of each stage, f', async () => {
    const r = await cli('compile', join(dir, 'g.keo'), '--emit', 'plan');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.contain('# plan of g: Sum_Reduction over j, one output row per i');
    expect(r.out).to.contain('reduction Sum (D=1; family sum, sum-like)');
    expect(r.out).to.match(/outer \(once per output row\): 3 loads, 0 statements\n {2}load x\[0\], x\[1\], x\[2\]/);
    expect(r.out).to.match(/ = exp\(t\d+\)/);
    expect(r.out).to.match(/f = \[t\d+\]/);
  });

  it('ast prints the syntax tree as JSON', async () => {
    const r = await cli('compile', join(dir, 'g.keo'), '--emit', 'ast');
    expect(r.code, r.err).to.equal(0);
    const ast = JSON.parse(r.out);
    expect(ast.statements).to.have.length(4);
    expect(ast.statements[3].value.callee).to.equal('Sum_Reduction');
  });
});

describe('keopsc cluster', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'keopsc-cluster-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes sorted clouds, permutations and ranges that keopsc run accepts', async () => {
    const xs = Float64Array.from({ length: 40 }, (_, k) => ((k * 37) % 40) / 40);
    const ys = Float64Array.from({ length: 30 }, (_, k) => ((k * 11) % 30) / 30);
    saveNpy(join(dir, 'x.npy'), ndarray(xs, [40, 1]));
    saveNpy(join(dir, 'y.npy'), ndarray(ys, [30, 1]));
    const r = await cli('cluster', join(dir, 'x.npy'), join(dir, 'y.npy'), '--eps', '0.1', '--cutoff', '0.05', '-o', join(dir, 'c'));
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.match(/the ranges keep \d+\.\d% of the 40 x 30 pairs/);
    const perm = loadNpy(join(dir, 'c/perm_x.npy'));
    expect(perm.dtype).to.equal('int64');
    const sorted = loadNpy(join(dir, 'c/x_sorted.npy')).data as Float64Array;
    Array.from(perm.data as BigInt64Array).forEach((p, k) => expect(sorted[k]).to.equal(xs[Number(p)]));
    writeFileSync(join(dir, 'k.keo'), 'x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(Exp(-SqDist(x, y) / 0.0001), 0)\n');
    const run = await cli('run', join(dir, 'k.keo'), '-a', `x=${join(dir, 'c/x_sorted.npy')}`, '-a', `y=${join(dir, 'c/y_sorted.npy')}`, '--ranges', join(dir, 'c/ranges.npz'), '-o', join(dir, 'out.npy'));
    expect(run.code, run.err).to.equal(0);
  });

  // issue 16 item 1: the original b with the sorted clouds gave a 39.5 % error without a word
  it('run --cluster DIR takes the original arrays and returns the result in the original order', async () => {
    const M = 400, N = 300;
    const xs = uniform(2 * M, 11, 0, 1), ys = uniform(2 * N, 12, 0, 1), bs = uniform(N, 13, -1, 1);
    saveNpy(join(dir, 'px.npy'), ndarray(xs, [M, 2]));
    saveNpy(join(dir, 'py.npy'), ndarray(ys, [N, 2]));
    saveNpy(join(dir, 'pb.npy'), ndarray(bs, [N, 1]));
    saveNpy(join(dir, 'pb-short.npy'), ndarray(bs.subarray(0, 200), [200, 1]));
    const c = await cli('cluster', join(dir, 'px.npy'), join(dir, 'py.npy'), '--eps', '0.1', '--cutoff', '0.5', '-o', join(dir, 'pc'));
    expect(c.code, c.err).to.equal(0);
    expect(c.out).to.contain(`keopsc run FILE.keo --arg x=${join(dir, 'px.npy')} --arg y=${join(dir, 'py.npy')} ... --cluster ${join(dir, 'pc')}`);
    writeFileSync(join(dir, 'g.keo'), 'x = Vi(0, 2)\ny = Vj(1, 2)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) * 200) * b, 0)\n');
    const args = ['-a', `x=${join(dir, 'px.npy')}`, '-a', `y=${join(dir, 'py.npy')}`, '-a', `b=${join(dir, 'pb.npy')}`];
    const r = await cli('run', join(dir, 'g.keo'), ...args, '--cluster', join(dir, 'pc'), '--backend', 'js', '-o', join(dir, 'bs.npy'));
    expect(r.code, r.err).to.equal(0);
    const dense = await cli('run', join(dir, 'g.keo'), ...args, '--backend', 'ref', '-o', join(dir, 'dense.npy'));
    expect(dense.code, dense.err).to.equal(0);
    expectClose(loadNpy(join(dir, 'bs.npy')).data as Float64Array, loadNpy(join(dir, 'dense.npy')).data as Float64Array, 1e-12, 1e-15);
    // --ranges alone: the record in ranges.npz refuses what does not match, with what to do
    const sorted = ['-a', `x=${join(dir, 'pc/x_sorted.npy')}`, '-a', `y=${join(dir, 'pc/y_sorted.npy')}`];
    const ranges = ['--ranges', join(dir, 'pc/ranges.npz'), '--backend', 'js'];
    for (const [argv, msg] of [
      [[...sorted, '-a', `b=${join(dir, 'pb.npy')}`, ...ranges], /the order of b cannot be checked against .*ranges\.npz.*run with --cluster .*pc instead of --ranges.*or add --presorted if you permuted b with .*perm_y\.npy yourself/],
      [[...args, ...ranges], /argument x is in the original order of the clustered points, but .*ranges\.npz refers to the sorted order: run with --cluster/],
      [[...sorted, '-a', `b=${join(dir, 'pb-short.npy')}`, ...ranges], /made by keopsc cluster for N = 300 j-points, but argument b \(a j-variable\) has 200 rows/],
      [[...args, '--cluster', join(dir, 'pc'), '--ranges', join(dir, 'pc/ranges.npz')], /--cluster DIR brings its own ranges/],
      [[...args, '--cluster', join(dir, 'c')], /--cluster .*(perm_x\.npy \/ perm_y\.npy do not belong to its ranges\.npz|has 40 entries|is missing)|rows but the clustering was made/],
    ] as [string[], RegExp][]) {
      const bad = await cli('run', join(dir, 'g.keo'), ...argv);
      expect(bad.code, argv.join(' ')).to.equal(1);
      expect(bad.err).to.match(msg);
      expect(bad.err.trim().split('\n')).to.have.length(1);
    }
    // --presorted with b permuted by hand: the result in sorted-x order
    const perm = Array.from(loadNpy(join(dir, 'pc/perm_y.npy')).data as BigInt64Array, Number);
    saveNpy(join(dir, 'pb-sorted.npy'), ndarray(Float64Array.from(perm, (p) => bs[p]!), [N, 1]));
    const pre = await cli('run', join(dir, 'g.keo'), ...sorted, '-a', `b=${join(dir, 'pb-sorted.npy')}`, ...ranges, '--presorted', '-o', join(dir, 'pre.npy'));
    expect(pre.code, pre.err).to.equal(0);
    const permX = Array.from(loadNpy(join(dir, 'pc/perm_x.npy')).data as BigInt64Array, Number);
    const denseV = loadNpy(join(dir, 'dense.npy')).data as Float64Array;
    expectClose(loadNpy(join(dir, 'pre.npy')).data as Float64Array, permX.map((p) => denseV[p]!), 1e-12, 1e-15);
  });

  it('fails with one clear line on bad input', async () => {
    saveNpy(join(dir, 'i.npy'), ndarray(Int32Array.from([1, 2]), [2]));
    for (const [args, msg] of [
      [['cluster', join(dir, 'i.npy'), join(dir, 'i.npy'), '--eps', '1', '--cutoff', '1', '-o', dir], /dtype int32/],
      [['cluster', join(dir, 'x.npy'), join(dir, 'y.npy'), '--eps', 'abc', '--cutoff', '1', '-o', dir], /--eps must be a number/],
      [['cluster', join(dir, 'x.npy'), join(dir, 'y.npy'), '--eps', '0', '--cutoff', '1', '-o', dir], /eps/],
    ] as [string[], RegExp][]) {
      const r = await cli(...args);
      expect(r.code).to.equal(1);
      expect(r.err).to.match(msg);
      expect(r.err.trim().split('\n')).to.have.length(1);
    }
  });
});

describe('keopsc compile --target and keopsc cache', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keopsc-target-'));
    writeFileSync(join(dir, 'g.keo'), 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--target cpp writes a standalone file that g++ compiles alone', async function () {
    const gpp = spawnSync('g++', ['--version']);
    if (gpp.status !== 0) this.skip();
    const r = await cli('compile', join(dir, 'g.keo'), '--target', 'cpp', '--dtype', 'float64', '-o', join(dir, 'k.cpp'));
    expect(r.code, r.err).to.equal(0);
    const src = readFileSync(join(dir, 'k.cpp'), 'utf8');
    expect(src).to.contain('keopsc_run').and.to.contain('keopsc_info');
    const c = spawnSync('g++', ['-O3', '-shared', '-fPIC', join(dir, 'k.cpp'), '-o', join(dir, 'k.so')], { encoding: 'utf8' });
    expect(c.status, c.stderr).to.equal(0);
  });

  it('--target js prints the generated JavaScript', async () => {
    const r = await cli('compile', join(dir, 'g.keo'), '--target', 'js');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.contain('return function kernel(A, O, M, N, r0, r1, R)');
  });

  it('cache dir | ls | clear', async () => {
    await withCacheDir(join(dir, 'cache'), async () => {
      expect((await cli('cache', 'dir')).out).to.equal(join(dir, 'cache'));
      const ls = await cli('cache', 'ls');
      expect(ls.code).to.equal(0);
      expect(ls.out).to.match(/entr(y|ies) in /);
      expect((await cli('cache', 'clear')).out).to.match(/^removed \d+ entries/);
      expect((await cli('cache', 'purge')).code).to.equal(1);
    });
  });
});

describe('keopsc compile --target cuda | wgsl', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keopsc-gpu-target-'));
    writeFileSync(join(dir, 'g.keo'), 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--target cuda -o FILE.cu writes the kernels and FILE.h, which nvcc -c compiles', async function () {
    const r = await cli('compile', join(dir, 'g.keo'), '--target', 'cuda', '--dtype', 'float64', '-o', join(dir, 'k.cu'));
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.equal('');
    const src = readFileSync(join(dir, 'k.cu'), 'utf8');
    expect(src).to.contain('extern "C" __global__ void keopsc_g_dense').and.to.contain('typedef double T;').and.to.contain('extern "C" cudaError_t keopsc_g_launch(');
    const h = readFileSync(join(dir, 'k.h'), 'utf8');
    expect(h).to.contain('#ifndef KEOPSC_G_H').and.to.contain('extern "C" cudaError_t keopsc_g_launch(');
    if (spawnSync('nvcc', ['--version']).status !== 0) {
      console.log('      (nvcc not found: the .cu is not compiled here)');
      return;
    }
    const c = spawnSync('nvcc', ['-c', join(dir, 'k.cu'), '-o', join(dir, 'k.o')], { encoding: 'utf8' });
    expect(c.status, c.stderr).to.equal(0);
  });

  it('--target cuda prints to stdout without -o, and --header chooses the header path', async () => {
    const r = await cli('compile', join(dir, 'g.keo'), '--target', 'cuda');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.contain('typedef float T;').and.to.contain('keopsc_g_ranges');
    const h = await cli('compile', join(dir, 'g.keo'), '--target', 'cuda', '-o', join(dir, 'out.cu'), '--header', join(dir, 'inc.h'));
    expect(h.code, h.err).to.equal(0);
    expect(readFileSync(join(dir, 'inc.h'), 'utf8')).to.contain('keopsc_g_block_rows');
    const k = await cli('compile', join(dir, 'g.keo'), '--target', 'cuda', '--sum-scheme', 'kahan');
    expect(k.code).to.equal(1);
    expect(k.err).to.match(/backend 'cuda' has no sumScheme 'kahan'/);
    const wrong = await cli('compile', join(dir, 'g.keo'), '--target', 'cpp', '--header', join(dir, 'x.h'));
    expect(wrong.code).to.equal(1);
    expect(wrong.err).to.match(/--header is for --target cuda/);
  });

  it('--target wgsl prints the shader; --dtype float64 is an error (WGSL has no float64)', async () => {
    const r = await cli('compile', join(dir, 'g.keo'), '--target', 'wgsl');
    expect(r.code, r.err).to.equal(0);
    expect(r.out).to.contain('@compute');
    const f64 = await cli('compile', join(dir, 'g.keo'), '--target', 'wgsl', '--dtype', 'float64');
    expect(f64.code).to.equal(1);
    expect(f64.err).to.match(/WGSL has no float64/);
    expect(f64.err.trim().split('\n')).to.have.length(1);
  });
});

// issue 16 item 6: a closed pipe ends quietly; cache ls says what each entry is
describe('keopsc CLI hygiene', function () {
  this.timeout(120000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keopsc-hygiene-'));
    writeFileSync(join(dir, 'gauss.keo'), 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ngauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)\n');
    saveNpy(join(dir, 'x.npy'), ndarray(uniform(30, 1), [10, 3]));
    saveNpy(join(dir, 'b.npy'), ndarray(uniform(10, 2), [10, 1]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every command ends with status 0 and no stack trace when the reader closes the pipe (| head)', () => {
    for (const args of [['cache', 'ls'], ['compile', join(dir, 'gauss.keo'), '--target', 'cpp'], ['check', join(dir, 'gauss.keo'), '--json'], ['--help']]) {
      const quoted = args.map((a) => `'${a}'`).join(' ');
      const node = [process.execPath, ...cliProcessArgs()].map((a) => `'${a}'`).join(' ');
      const r = spawnSync('bash', ['-c', `set -o pipefail; ${node} ${quoted} | true`], { encoding: 'utf8' });
      expect(r.stderr, args.join(' ')).to.not.match(/EPIPE|\n\s+at /);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
    }
  });

  it("cache ls shows each entry's kernel name, dtype, tag and arguments, its size and age", async function () {
    let ran = -1;
    await withCacheDir(join(dir, 'cache'), async () => {
      mkdirSync(join(dir, 'cache/cuda'), { recursive: true, mode: 0o700 });
      writeFileSync(join(dir, 'cache/cuda', `${'ab'.repeat(32)}.ptx`), '.version 7.8\n.visible .entry keopsc_gauss_dense(\n');
      ran = (await cli('run', join(dir, 'gauss.keo'), '--backend', 'cpu', '-a', `x=${join(dir, 'x.npy')}`, '-a', `y=${join(dir, 'x.npy')}`, '-a', `b=${join(dir, 'b.npy')}`)).code;
      const ls = await cli('cache', 'ls');
      expect(ls.code).to.equal(0);
      expect(ls.out).to.match(/^abababababab\s+0 KiB\s+\d+ s ago {2}cuda {2}gauss \(PTX\)$/m);
      if (ran !== 0) return; // no cpu backend here: the cuda line was checked
      expect(ls.out).to.match(/^[0-9a-f]{12}\s+\d+ KiB\s+\d+ s ago {2}cpu {3}gauss \(float64, tag 0, values\) Vi\(0, 3\) Vj\(1, 3\) Vj\(2, 1\)$/m);
      expect(ls.out).to.match(/^2 entries in .* \(\d+\.\d MiB\)$/m);
    });
    if (ran !== 0) this.skip();
  });
});

describe('keopsc doctor', function () {
  this.timeout(120000);

  it('prints one line per backend, saying why one is unavailable', async () => {
    const r = await cli('doctor');
    expect(r.code, r.err).to.equal(0);
    const lines = r.out.split('\n');
    expect(lines[0]).to.match(/^keopsc doctor: Node v\d+/);
    expect(lines.slice(1).map((l) => l.split(' ')[0])).to.deep.equal(['ref', 'js', 'cpu', 'cuda', 'webgpu']);
    for (const l of lines.slice(1)) expect(l).to.match(/^\w+ +(ok {2}\S|no {2}unavailable: \S)/);
    const cuda = lines.find((l) => l.startsWith('cuda'))!;
    expect(cuda).to.match(/^cuda +(ok {2}GPU .* \(sm_\d+, .*driver .*NVRTC|no {2}unavailable: .*(libcuda|GPU|NVRTC|libnvrtc|addon))/);
  });

  it('--json gives the same report as an object', async () => {
    const r = await cli('doctor', '--json');
    expect(r.code, r.err).to.equal(0);
    const rep = JSON.parse(r.out) as { backends: Record<string, { ok: boolean; summary: string; reason?: string; details: Record<string, unknown> }> };
    expect(Object.keys(rep.backends)).to.deep.equal(['ref', 'js', 'cpu', 'cuda', 'webgpu']);
    for (const b of Object.values(rep.backends)) {
      expect(b.ok).to.be.a('boolean');
      if (!b.ok) expect(b.reason).to.be.a('string').and.not.equal('');
    }
    expect(rep.backends.cuda!.details).to.have.keys(['driver', 'nvrtc', 'device']);
  });
});
