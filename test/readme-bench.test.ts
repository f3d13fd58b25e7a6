import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_MARKERS, formatValue, parseReport, renderTable, replaceBenchTable, type BenchReport } from '../bench/report.js';
import { README_PATH, RESULTS_PATH, readReport } from '../scripts/readme-bench.js';

/** Issue 13: the README's performance table is generated from `npm run bench -- --json` (bench/report.ts). */
describe("the README's performance table (npm run bench:readme)", () => {
  const fixture = readReport(join(import.meta.dirname, 'fixtures', 'bench-report.json'));

  it('renders every row of a fixture report, grouped by section in first-seen order, with machine, load and note', () => {
    const t = renderTable(fixture).split('\n');
    expect(t[0]).to.equal('Measured by `npm run bench -- --sizes 1000,10000` on 2026-12-04 (09:10 UTC): 2 cores (AMD EPYC), Node v20.20.2, load average 0.52 at the start and 1.25 at the end.');
    expect(t.slice(2, 4)).to.deep.equal(['| figure | keopsc | reference | goal |', '|---|---|---|---|']);
    expect(t.slice(4)).to.deep.equal([
      '| **JS backend on one thread ÷ a hand-written one-thread JS loop (float32)** | | | |',
      '| N = M = 1e3 (rounds 1.88–1.97×) | 1.93× | plain loop: 55.3 M pairs/s | ≥ 1.20× ✓ |',
      '| N = M = 1e4 | 1.10× | | ≥ 1.20× ✗ |',
      '| **Block-sparse \\| tutorial** | | | |',
      '| M = N = 20000: preprocessing (first call) ÷ sparse | 42 % | | ≤ 30 % ✗ |',
      '| M = N = 20000: dense convolution | 1.73 s | KeOps 2.3 cpu: 23.1 s | |',
      // rows the renderer has never seen (another helper's kNN row) appear with no change to it
      '| **kNN against NumPy** | | | |',
      '| N = 1e5, D = 768 | 2.51 G pairs/s | NumPy: 820 M pairs/s | |',
      '| a figure in a unit the table does not know | 12.3 widgets | | |',
      '',
      'A reduced run.',
    ]);
  });

  it('formats each unit', () => {
    expect(formatValue(0.4234, 'ms')).to.equal('0.42 ms');
    expect(formatValue(87.2, 'ms')).to.equal('87.2 ms');
    expect(formatValue(5.3, '%')).to.equal('5.3 %');
    expect(formatValue(3.3e9, 'pairs/s')).to.equal('3.30 G pairs/s');
    expect(formatValue(412.7, 'µs')).to.equal('413 µs');
  });

  it('replaces only the text between the markers, and says when they are missing', () => {
    const doc = `# t\n\nbefore\n${BENCH_MARKERS.start}\nold table\n${BENCH_MARKERS.end}\nafter\n`;
    const out = replaceBenchTable(doc, fixture);
    expect(out).to.equal(`# t\n\nbefore\n${BENCH_MARKERS.start}\n${renderTable(fixture)}\n${BENCH_MARKERS.end}\nafter\n`);
    expect(replaceBenchTable(out, fixture)).to.equal(out);
    expect(() => replaceBenchTable('# no markers\n', fixture)).to.throw(/no <!-- bench:start -->/);
  });

  it('rejects a report that is not what --json writes, with a one-line reason', () => {
    const bad = (x: unknown) => () => parseReport(x, 'r.json');
    expect(bad([])).to.throw(/r.json: meta must hold/);
    expect(bad({ meta: fixture.meta, rows: {} })).to.throw(/rows must be an array/);
    expect(bad({ meta: fixture.meta, rows: [{ section: 's', name: 'n', value: '1', unit: 'x' }] })).to.throw(/row 0 must hold section, name, value \(a number\) and unit/);
    expect(bad({ meta: fixture.meta, rows: [{ section: 's', name: 'n', value: 1, unit: 'x', goal: { cmp: '>', value: 1 } }] })).to.throw(/row 0: goal/);
  });

  it("is the README's table: README.md holds exactly what bench/results.json renders to", () => {
    const readme = readFileSync(README_PATH, 'utf8');
    const report: BenchReport = readReport(RESULTS_PATH);
    expect(report.rows.length).to.be.greaterThan(10);
    expect(readme, 'run npm run bench:readme').to.equal(replaceBenchTable(readme, report));
  });
});
