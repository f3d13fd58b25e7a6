import { expect } from 'chai';
import { compile, webgpuStatus } from '../src/index.js';
import { CHUNKING, runChunked, runChunkedSync } from '../src/api/chunked.js';
import { uniform } from './helpers/data.js';

/** Ranges with an uncovered gap (rows 20..25 of 37) and overlapping reduction intervals. */
const RANGES = {
  ranges_i: Int32Array.of(0, 10, 10, 20, 25, 37), slices_i: Int32Array.of(2, 3, 4), redranges_j: Int32Array.of(0, 5, 10, 15, 3, 23, 0, 23),
  ranges_j: Int32Array.of(0, 12, 12, 23), slices_j: Int32Array.of(1, 3), redranges_i: Int32Array.of(0, 37, 5, 9, 30, 37),
};

describe('runs in row blocks (progress)', () => {
  const saved = { ...CHUNKING };
  before(() => Object.assign(CHUNKING, { firstPairs: 1, maxRows: 4 }));
  after(() => Object.assign(CHUNKING, saved));
  const M = 37;
  const N = 23;
  const args = { x: { data: uniform(M * 3, 1), shape: [M, 3] }, y: { data: uniform(N * 3, 2), shape: [N, 3] }, b: { data: uniform(N, 3), shape: [N, 1] }, p: { data: uniform(1, 4), shape: [1] } };
  const cases = [
    ['Sum, tag 0', 'x = Vi(0, 3); y = Vj(1, 3); b = Vj(2, 1); p = Pm(3, 1)\nk = Sum_Reduction(Exp(-p * SqDist(x, y)) * b, 0)'],
    ['Sum, tag 1', 'x = Vi(0, 3); y = Vj(1, 3); b = Vj(2, 1); p = Pm(3, 1)\nk = Sum_Reduction(Exp(-p * SqDist(x, y)) * x, 1)'],
    ['ArgKMin (indices)', 'x = Vi(0, 3); y = Vj(1, 3); b = Vj(2, 1); p = Pm(3, 1)\nk = KMin_ArgKMin_Reduction(SqDist(x, y) + p * b, 3, 0)'],
    ['LogSumExp', 'x = Vi(0, 3); y = Vj(1, 3); b = Vj(2, 1); p = Pm(3, 1)\nk = LogSumExp_Reduction(-SqDist(x, y) + p * b, 0)'],
  ] as const;
  for (const [what, text] of cases) {
    for (const ranges of [undefined, RANGES]) {
      it(`${what}${ranges ? ', block-sparse' : ''}: the blocks give exactly the whole run's results, with progress in rows`, () => {
        const k = compile(text);
        const used = Object.fromEntries(k.args.map((a) => [a.name, args[a.name as keyof typeof args]]));
        for (const backend of ['js', 'ref'] as const) {
          const whole = k.run(used, { backend, ranges });
          const seen: [number, number][] = [];
          const blocks = runChunkedSync(k, used, { backend, ranges, onProgress: (d: number, t: number) => seen.push([d, t]) });
          const rows = k.tag === 0 ? M : N;
          expect(seen[0]).to.deep.equal([0, rows]);
          expect(seen[seen.length - 1]).to.deep.equal([rows, rows]);
          expect(seen.length).to.be.greaterThan(rows / 4);
          for (let s = 1; s < seen.length; s++) expect(seen[s]![0]).to.be.greaterThan(seen[s - 1]![0]);
          expect(blocks.outputs.map((o) => o.shape)).to.deep.equal(whole.outputs.map((o) => o.shape));
          blocks.outputs.forEach((o, n) => expect(Array.from(o.data as Float64Array), `${backend} output ${n}`).to.deep.equal(Array.from(whole.outputs[n]!.data as Float64Array)));
        }
      });
    }
  }

  it('kernel.run takes onProgress (synchronous backends report during the call; webgpu in its Promise)', async () => {
    const k = compile(cases[0][1]);
    const whole = k.run(args, { backend: 'js' });
    const seen: number[] = [];
    const r = k.run(args, { backend: 'js', onProgress: (d) => seen.push(d) });
    expect(seen[0]).to.equal(0);
    expect(seen[seen.length - 1]).to.equal(M);
    expect(seen.length).to.be.greaterThan(3);
    expect(Array.from(r.values!.data as Float64Array)).to.deep.equal(Array.from(whole.values!.data as Float64Array));
    if (!(await webgpuStatus()).ok) return;
    const f32 = Object.fromEntries(Object.entries(args).map(([n, a]) => [n, { data: Float32Array.from(a.data), shape: a.shape }]));
    const gpuSeen: number[] = [];
    const g = await k.run(f32, { backend: 'webgpu', onProgress: (d) => gpuSeen.push(d) });
    const gWhole = await k.run(f32, { backend: 'webgpu' });
    expect(gpuSeen[gpuSeen.length - 1]).to.equal(M);
    expect(gpuSeen.length).to.be.greaterThan(3);
    expect(Array.from(g.values!.data as Float32Array)).to.deep.equal(Array.from(gWhole.values!.data as Float32Array));
  });

  it('the asynchronous form lets the event loop turn between blocks and fills out=', async () => {
    const k = compile(cases[0][1]);
    const whole = k.run(args, { backend: 'js' });
    let ticks = 0;
    let done = false;
    const tick = (): void => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    const out = new Float64Array(M);
    const r = await runChunked(k, args, { backend: 'js', out });
    done = true;
    expect(ticks).to.be.greaterThan(2);
    expect(r.values!.data).to.equal(out);
    expect(Array.from(out)).to.deep.equal(Array.from(whole.values!.data as Float64Array));
  });
});
