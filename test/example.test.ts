import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/** The block-sparse tutorial example (the README's main job) runs end to end and writes its figures. */
describe('examples/block-sparse.ts (the KeOps block-sparse tutorial)', function () {
  this.timeout(120000);
  it('prints the tutorial lines, keeps ~13% with a small error, and writes two SVG figures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keopsc-example-'));
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', 'examples/block-sparse.ts', '--size', '2000', '--backend', 'js', '--out', dir], { cwd: root, encoding: 'utf8' });
      for (const line of ['Perform clustering', 'Compute ranges+centroids', 'Sort the points', 'Process the ranges', 'Total time (synchronized)', 'Full convolution, js backend', 'Sparse convolution, js backend', 'Relative time', 'Relative error']) expect(out).to.contain(line);
      const kept = Number(/= (\d+)% of the original kernel matrix/.exec(out)![1]);
      expect(kept).to.be.within(10, 16);
      const err = Number(/Relative error: ([\d.]+)%/.exec(out)![1]);
      expect(err).to.be.below(0.5);
      for (const f of ['mask.svg', 'clusters.svg']) expect(readFileSync(join(dir, f), 'utf8')).to.match(/^<svg [\s\S]*<\/svg>\n$/);
      expect(readFileSync(join(dir, 'clusters.svg'), 'utf8')).to.contain('fill="magenta"').and.to.contain('fill="cyan"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// issue 16 item 8: the slips a new user meets in the examples
describe('the examples say what they run', function () {
  this.timeout(120000);
  it("every `npm run NAME` in an example's header is a script that runs that example", () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const file of ['examples/gaussian.ts', 'examples/block-sparse.ts']) {
      const header = /^\/\*\*[\s\S]*?\*\//.exec(readFileSync(join(root, file), 'utf8'))?.[0] ?? '';
      for (const [, name] of header.matchAll(/npm run ([\w:-]+)/g)) expect(pkg.scripts[name!], `${file} names npm run ${name}`).to.contain(file);
    }
  });

  it('block-sparse with every backend says when it leaves the slow ref backend out (above 4e6 pairs)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keopsc-example-'));
    try {
      const out = execFileSync(process.execPath, ['--import', 'tsx', 'examples/block-sparse.ts', '--size', '2001', '--out', dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(out).to.contain('ref backend skipped: the float64 reference evaluator is slow, and M·N = 4.00e+6 pairs is above 4e6 (ask for it with --backend ref)');
      expect(out).to.not.contain('convolution, ref backend');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
