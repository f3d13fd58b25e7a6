import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
});
