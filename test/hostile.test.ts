import { expect } from 'chai';
import { compile, type Backend, type RunResult } from '../src/index.js';
import { cpuStatus } from '../runtime/cpu/index.js';
import { webgpuOrSkip } from './helpers/webgpu.js';

/**
 * Hostile input and faults (issue 20): each case once failed silently or with a stack trace. The
 * fuzz test (test/fuzz.test.ts) keeps the class closed on random input.
 */

const SYNC: Backend[] = ['ref', 'js', 'cpu'];
const available = (b: Backend): boolean => b !== 'cpu' || cpuStatus().ok;

describe('hostile input: ranges with zero clusters (issue 20, item 1)', () => {
  const M = 5, N = 4;
  const x = Float64Array.from({ length: M * 2 }, (_, k) => 0.3 * k);
  const y = Float64Array.from({ length: N * 2 }, (_, k) => 0.2 * k + 0.1);
  const b = Float64Array.from({ length: N }, (_, k) => k + 1);
  const I = (...v: number[]) => Int32Array.from(v);
  const cases: { name: string; ranges: Int32Array[] }[] = [
    { name: 'ranges_i of shape (0, 2)', ranges: [I(), I(), I(), I(0, N), I(1), I(0, M)] },
    { name: 'all six arrays empty', ranges: [I(), I(), I(), I(), I(), I()] },
  ];
  const formulas = [
    { src: 'Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)', neutral: 0, width: 1, rows: M },
    { src: 'Max_Reduction(Exp(-SqDist(x, y)) * b, 0)', neutral: -Infinity, width: 1, rows: M },
    { src: 'Sum_Reduction(Exp(-SqDist(x, y)) * b, 1)', neutral: 0, width: 1, rows: N },
  ];
  const check = (r: RunResult, f: (typeof formulas)[number], what: string, tag: 0 | 1, c: (typeof cases)[number]) => {
    // tag 1 reads the second triplet: empty only in the second case
    const empty = tag === 0 || c.name === 'all six arrays empty';
    const values = Array.from(r.values!.data as Float64Array | Float32Array);
    expect(values, what).to.have.length(f.rows * f.width);
    if (empty) expect(values, what).to.deep.equal(new Array(f.rows * f.width).fill(f.neutral));
    else expect(values.every((v) => v !== f.neutral && Number.isFinite(v)), what).to.equal(true);
  };
  for (const backend of SYNC) {
    it(`${backend}: every row gets the neutral value`, function () {
      if (!available(backend)) this.skip();
      for (const f of formulas)
        for (const c of cases)
          for (const dtype of ['float64', 'float32'] as const) {
            const k = compile(f.src, ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)']);
            const conv = (a: Float64Array) => (dtype === 'float32' ? Float32Array.from(a) : a);
            const r = k.run({ x: conv(x), y: conv(y), b: conv(b) }, { backend: backend as 'js', ranges: c.ranges as never });
            check(r, f, `${backend} ${dtype} ${f.src} ${c.name}`, f.src.endsWith('1)') ? 1 : 0, c);
          }
    });
  }
  describe('webgpu', () => {
    webgpuOrSkip();
    it('webgpu: every row gets the neutral value', async () => {
      for (const f of formulas)
        for (const c of cases) {
          const k = compile(f.src, ['x = Vi(2)', 'y = Vj(2)', 'b = Vj(1)']);
          const r = await k.run({ x: Float32Array.from(x), y: Float32Array.from(y), b: Float32Array.from(b) }, { backend: 'webgpu', ranges: c.ranges as never });
          check(r, f, `webgpu ${f.src} ${c.name}`, f.src.endsWith('1)') ? 1 : 0, c);
        }
    });
  });
});
