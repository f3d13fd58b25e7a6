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
