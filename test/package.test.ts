import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { symlinkSync, mkdirSync, readdirSync } from 'node:fs';

const root = resolve(import.meta.dirname, '..');

describe('the package', function () {
  this.timeout(120000);

  before(function () {
    if (!existsSync(join(root, 'dist/src/index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm ci does it through `prepare`)');
  });

  it("resolves `import { compile } from 'keopsc'` inside the checkout (self-reference, types first)", async () => {
    const pkg = (await import('../package.json', { with: { type: 'json' } })).default as unknown as { exports: Record<string, Record<string, string>> };
    expect(Object.keys(pkg.exports['.']!)[0]).to.equal('types');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', "import { compile } from 'keopsc'; console.log(typeof compile)"], { cwd: root, encoding: 'utf8' });
    expect(out.trim()).to.equal('function');
  });

  it('works from another project that installs it, with the keopsc bin', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keopsc-user-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user', version: '1.0.0', type: 'module', private: true }));
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--ignore-scripts', root], { cwd: dir, stdio: 'pipe' });
      writeFileSync(join(dir, 'use.mjs'), "import { compile } from 'keopsc';\nconst k = compile('Sum_Reduction(SqNorm2(x - y), 1)', ['x = Vi(3)', 'y = Vj(3)']);\nconst r = k.run({ x: Float64Array.from([1,2,3,4,5,6,7,8,9]), y: Float64Array.from([3,4,5,6,7,8]) });\nconsole.log(Array.from(r.values.data).join(','));\n");
      expect(execFileSync(process.execPath, ['use.mjs'], { cwd: dir, encoding: 'utf8' }).trim()).to.equal('63,90');
      writeFileSync(join(dir, 'bad.keo'), 'x = Vi(0, 3)\nk = Sum_Reduction(Exp(x) + Foo(x), 0)\n');
      const r = spawnSync(join(dir, 'node_modules/.bin/keopsc'), ['check', 'bad.keo'], { cwd: dir, encoding: 'utf8' });
      expect(r.status).to.equal(1);
      expect(r.stderr + r.stdout).to.contain("bad.keo:2:28 - error KEO2001: unknown operation 'Foo'");
      expect(r.stderr + r.stdout).to.not.match(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // issue 16 items 2 and 5: what ships in the tarball, installed in a fresh project
  describe('packed as a tarball and installed in a fresh project', () => {
    let dir: string;
    before(function () {
      dir = mkdtempSync(join(tmpdir(), 'keopsc-tarball-'));
      const tgz = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir, root], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop()!;
      const pkg = join(dir, 'node_modules/keopsc');
      mkdirSync(pkg, { recursive: true });
      execFileSync('tar', ['-xzf', join(dir, tgz), '-C', pkg, '--strip-components=1']);
      // the registry is out of reach here: link the dependencies npm would install (the production
      // closure, from this checkout) and what a TypeScript user adds (typescript, @types/node)
      const prod = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' })
        .split('\n')
        .map((l) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(l.replace(root, ''))?.[1])
        .filter((n): n is string => n !== undefined && !n.includes('/node_modules/'));
      for (const name of new Set([...prod, 'typescript', '@types/node'])) {
        if (name.startsWith('@')) mkdirSync(join(dir, 'node_modules', name.split('/')[0]!), { recursive: true });
        if (!existsSync(join(dir, 'node_modules', name))) symlinkSync(join(root, 'node_modules', name), join(dir, 'node_modules', name));
      }
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user', version: '1.0.0', type: 'module', private: true }));
      expect(readdirSync(join(dir, 'node_modules/@types'))).to.deep.equal(['node']);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('exports loadNpy, saveNpy, loadNpz, saveNpz and the in-memory codecs from the root', () => {
      writeFileSync(
        join(dir, 'npy.mjs'),
        [
          "import { loadNpy, saveNpy, loadNpz, saveNpz, parseNpy, encodeNpy, parseNpz, encodeNpz, ndarray } from 'keopsc';",
          "saveNpy('a.npy', ndarray(Float32Array.from([1.5, 2, 3, 4]), [2, 2]));",
          "const a = loadNpy('a.npy');",
          "saveNpz('z.npz', { a, i: ndarray(BigInt64Array.from([7n, 8n]), [2]) }, { compress: true });",
          "const z = loadNpz('z.npz');",
          'const m = parseNpz(encodeNpz({ b: parseNpy(encodeNpy(a)) }));',
          "console.log(a.dtype, a.shape.join('x'), Array.from(a.data).join(','), [...z.keys()].join(','), Array.from(z.get('i').data).join(','), Array.from(m.get('b').data).join(','));",
        ].join('\n'),
      );
      expect(execFileSync(process.execPath, ['npy.mjs'], { cwd: dir, encoding: 'utf8' }).trim()).to.equal('float32 2x2 1.5,2,3,4 a,i 7,8 1.5,2,3,4');
      // the browser entry has the codecs but no file helpers (no node:fs)
      const browser = execFileSync(process.execPath, ['--input-type=module', '-e', "import * as k from 'keopsc/browser'; console.log(typeof k.parseNpy, typeof k.encodeNpz, typeof k.loadNpy)"], { cwd: dir, encoding: 'utf8' });
      expect(browser.trim()).to.equal('function function undefined');
    });

    it('its declarations compile with skipLibCheck: false (no global the package does not bring)', () => {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] }, include: ['use.ts'] }));
      writeFileSync(
        join(dir, 'use.ts'),
        [
          "import { compile, loadNpy, saveNpy, ndarray, webgpuStatus, blockSparseRanges, Vi, Vj, type NdArray, type WebGpuStatus } from 'keopsc';",
          "const k = compile('Sum_Reduction(SqNorm2(x - y), 1)', ['x = Vi(3)', 'y = Vj(3)']);",
          'const r = k.run({ x: new Float64Array(9), y: new Float64Array(6) });',
          'const a: NdArray = ndarray(Float64Array.from([1, 2]), [2]);',
          "saveNpy('b.npy', a);",
          "const b: NdArray = loadNpy('b.npy');",
          'const s: Promise<WebGpuStatus> = webgpuStatus();',
          'const bs = blockSparseRanges(new Float64Array(4), new Float64Array(4), { eps: 1, cutoff: 1 });',
          'const d = Vi(new Float64Array(6), 3).sqdist(Vj(new Float64Array(6), 3));',
          'export { r, b, s, bs, d };',
        ].join('\n'),
      );
      const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
      expect(tsc.status, tsc.stdout + tsc.stderr).to.equal(0);
    });
  });
});
