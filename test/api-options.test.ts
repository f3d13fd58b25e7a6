import { expect } from 'chai';
import { compile, cpuStatus, InputError, webgpuStatus } from '../src/index.js';

/**
 * Issue 20, item 9: API misuse gets the same one-line InputError on every backend (one validation path,
 * src/api/options.ts): null arguments and options, a string as options, thread counts, `out`
 * sharing memory with an input, unknown or null option keys.
 */
describe('run options and arguments: the same answer on every backend', function () {
  this.timeout(120000);
  const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ng = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
  const x = Float32Array.from({ length: 6 }, (_, i) => i / 10), y = Float32Array.from({ length: 9 }, (_, i) => i / 7), b = Float32Array.of(1, 2, 3);
  const backends = ['ref', 'js', 'cpu', 'webgpu'] as const;

  /** The error of a call on one backend (webgpu rejects its Promise), or undefined. */
  async function errorOf(fn: () => unknown): Promise<Error | undefined> {
    try {
      await fn();
    } catch (e) {
      return e as Error;
    }
    return undefined;
  }

  const cases: [string, (backend: string) => unknown, RegExp][] = [
    ['run(null)', (backend) => k.run(null as never, { backend } as never), /kernel g takes its arrays by name \(\{ x, y, b \}\) or as a list, got null/],
    ['an argument that is null', (backend) => k.run({ x: null, y, b } as never, { backend } as never), /argument x must be a Float32Array or Float64Array \(or \{ data, shape \} holding one\), got null/],
    ['{ data, shape: null }', (backend) => k.run({ x: { data: x, shape: null }, y, b } as never, { backend } as never), /argument x: \{ data, shape \} needs shape as a list of non-negative integers, got null/],
    ['options null', () => k.run({ x, y, b }, null as never), /run: run options must be an object such as \{ backend: 'cpu' \}, got null/],
    ['options a string', () => k.run({ x, y, b }, 'cpu' as never), /run: run options must be an object .*got the string "cpu"; write \{ backend: 'cpu' \}/],
    ['ranges: null', (backend) => k.run({ x, y, b }, { backend, ranges: null } as never), /run: ranges is null; leave the option out for its default/],
    ['threads: 1e9', (backend) => k.run({ x, y, b }, { backend, threads: 1e9 } as never), /run: threads must be a positive integer \(at most 1024\), got number 1000000000/],
    ['threads: 0', (backend) => k.run({ x, y, b }, { backend, threads: 0 } as never), /run: threads must be a positive integer \(at most 1024\), got number 0/],
    ['out aliasing an input', (backend) => k.run({ x, y, b: new Float32Array(x.buffer, 0, 3) }, { backend, out: new Float32Array(x.buffer, 4, 2) } as never), /out shares memory with the input x; pass a separate array/],
    ['an unknown option', (backend) => k.run({ x, y, b }, { backend, sumscheme: 'kahan' } as never), /run: unknown option 'sumscheme'; did you mean 'sumScheme'\?/],
  ];
  for (const [what, fn, re] of cases) {
    it(`${what}: one line, every backend`, async () => {
      const webgpu = (await webgpuStatus()).ok;
      const messages = new Set<string>();
      for (const backend of backends) {
        if (backend === 'cpu' && !cpuStatus().ok) continue;
        if (backend === 'webgpu' && !webgpu) continue;
        const e = await errorOf(() => fn(backend));
        expect(e, `${backend}: should throw`).to.be.instanceOf(InputError);
        expect(e!.message, backend).to.match(re);
        expect(e!.message.split('\n'), backend).to.have.length(1);
        messages.add(e!.message);
      }
      expect([...messages], 'the same message everywhere').to.have.length(1);
    });
  }

  it('an out array that does not overlap the inputs still works on every backend', async () => {
    const buf = new Float32Array(20);
    const xs = buf.subarray(0, 6);
    xs.set(x);
    for (const backend of ['ref', 'js', 'cpu'] as const) {
      if (backend === 'cpu' && !cpuStatus().ok) continue;
      const out = buf.subarray(6, 8); // same buffer, disjoint bytes
      const r = k.run({ x: xs, y, b }, { backend, out });
      expect(r.values!.data).to.equal(out);
      expect(Number(out[0])).to.be.closeTo(Number(k.run({ x, y, b }, { backend: 'ref' }).values!.data[0]), 1e-5);
    }
  });

  it('compile options are strict too', () => {
    expect(() => compile('Sum_Reduction(x, 0)', ['x = Vi(1)'], { fiel: 'a.keo' } as never)).to.throw(InputError, /compile: unknown option 'fiel'; did you mean 'file'\?/);
    expect(() => compile('Sum_Reduction(x, 0)', { backend: 'cpu' } as never)).to.throw(InputError, /compile: option backend is not supported: backend is a run option: pass it to kernel.run\(args, \{ backend \}\)/);
    expect(() => compile(null as never)).to.throw(InputError, /compile: the source must be a string/);
  });
});
