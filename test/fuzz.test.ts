/**
 * Fuzz tests (issue 20): random `.npy`/`.npz` mutations and random formulas through every entry
 * point, asserting "a clean error or a correct result": an InputError / KeopsError (never another
 * exception, never an internal error of the CLI), or arrays that are consistent, or results that
 * agree with the float64 reference.
 *
 * Budget: KEOPSC_FUZZ_RUNS cases per property (default 60 with a fixed seed, bounded for CI; `npm run
 * fuzz` runs 2000 with a random seed, printed so that a failure can be replayed with KEOPSC_FUZZ_SEED).
 * Every fifth source that compiles also runs on cpu (a C++ compilation each).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './helpers/cli.js';
import { compile, KeopsError } from '../src/index.js';
import { InputError } from '../src/diagnostics/diagnostic.js';
import { checkNdArray, encodeNpy, encodeNpz, ndarray, parseNpy, parseNpz, type NdArray } from '../runtime/npy/index.js';
import { cpuStatus } from '../runtime/cpu/index.js';

const RUNS = Number(process.env['KEOPSC_FUZZ_RUNS'] ?? 60);
const SEED = process.env['KEOPSC_FUZZ_SEED'] !== undefined ? Number(process.env['KEOPSC_FUZZ_SEED']) : process.env['KEOPSC_FUZZ_RUNS'] ? Date.now() % 2 ** 31 : 20261204;
const params = { numRuns: RUNS, seed: SEED };

/** A clean error: an InputError or another KeopsError (diagnostics); anything else is rethrown. */
function cleanOr<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof KeopsError) return undefined;
    throw e;
  }
}

/** A byte mutation: flip, set, truncate, insert or delete. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
);
function mutate(b: Uint8Array, ms: readonly { kind: string; at: number; value: number }[]): Uint8Array {
  let out = b.slice();
  for (const m of ms) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === 'set') out[at] = m.value;
    else if (m.kind === 'flip') out[at]! ^= m.value;
    else if (m.kind === 'cut') out = out.slice(0, at);
    else if (m.kind === 'insert') out = Uint8Array.from([...out.subarray(0, at), m.value, ...out.subarray(at)]);
    else out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + 1)]);
  }
  return out;
}

const anArray = fc
  .record({
    dtype: fc.constantFrom('float64', 'float32', 'int32', 'int64', 'uint8', 'float16', 'bool'),
    shape: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 3 }),
    seed: fc.integer(),
  })
  .map(({ dtype, shape, seed }): NdArray => {
    const n = shape.reduce((a, b) => a * b, 1);
    const v = Array.from({ length: n }, (_, k) => ((seed + k * 7919) % 200) - 100);
    const data =
      dtype === 'float64' ? Float64Array.from(v) : dtype === 'float32' || dtype === 'float16' ? Float32Array.from(v) : dtype === 'int32' ? Int32Array.from(v) : dtype === 'int64' ? BigInt64Array.from(v.map(BigInt)) : Uint8Array.from(v.map((x) => (dtype === 'bool' ? x & 1 : x & 255)));
    return ndarray(data, shape, dtype as never);
  });

describe('fuzz: .npy and .npz files', function () {
  this.timeout(600_000);
  before(() => console.log(`      (${RUNS} runs per property, seed ${SEED})`));

  it('a mutated .npy is an InputError or a consistent array; an unmutated one round-trips', () => {
    fc.assert(
      fc.property(anArray, fc.array(mutation, { maxLength: 4 }), (arr, ms) => {
        const bytes = encodeNpy(arr);
        const back = parseNpy(bytes);
        expect(back.shape).to.deep.equal(arr.shape);
        const bad = mutate(bytes, ms);
        try {
          checkNdArray(parseNpy(bad, 'fuzz.npy'));
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
        }
      }),
      params,
    );
  });

  it('a mutated .npz is an InputError or consistent arrays (CRC on every member)', () => {
    fc.assert(
      fc.property(fc.array(anArray, { minLength: 1, maxLength: 3 }), fc.boolean(), fc.array(mutation, { maxLength: 3 }), (arrays, compress, ms) => {
        const bytes = encodeNpz(Object.fromEntries(arrays.map((a, k) => [`a${k}`, a])), { compress });
        expect(parseNpz(bytes).size).to.equal(arrays.length);
        const bad = mutate(bytes, ms);
        try {
          const m = parseNpz(bad, 'fuzz.npz');
          for (const a of m.values()) checkNdArray(a);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
        }
      }),
      params,
    );
  });
});

// ------------------------------------------------------------------------------------------------
// random formulas

const DECLS = ['x = Vi(0, 2)', 'y = Vj(1, 2)', 'b = Vj(2, 1)', 'p = Pm(3, 1)'];
const leaf = fc.constantFrom('x', 'y', 'b', 'p', '0.5', '2', '1.5', 'IntCst(3)');
const formula: fc.Arbitrary<string> = fc.letrec((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.tuple(fc.constantFrom('Exp', 'Sqrt', 'Abs', 'Square', 'Sin', 'Cos', 'Log', 'Inv', 'Sum', 'Norm2', 'Normalize', 'Minus'), tie('f')).map(([op, a]) => `${op}(${a})`),
    fc.tuple(fc.constantFrom('+', '-', '*', '/'), tie('f'), tie('f')).map(([op, a, b]) => `(${a} ${op} ${b})`),
    fc.tuple(fc.constantFrom('SqDist', 'Concat', 'Scalprod'), tie('f'), tie('f')).map(([op, a, b]) => `${op}(${a}, ${b})`),
    fc.tuple(tie('f'), fc.integer({ min: -3, max: 3 })).map(([a, k]) => `${a}**${k}`),
  ),
})).f;
/** A source: a reduction of a random formula, sometimes with a random edit (a char inserted or removed). */
const source = fc
  .tuple(formula, fc.constantFrom('Sum', 'Max', 'Min', 'LogSumExp', 'KMin'), fc.integer({ min: 0, max: 1 }), fc.option(fc.tuple(fc.nat(), fc.constantFrom('(', ')', ',', '+', '**', 'x', '1e999', '', 'Vi(9, 99999)', '[')), { freq: 4 }))
  .map(([f, red, tag, edit]) => {
    let s = red === 'KMin' ? `KMin_Reduction(${f}, 2, ${tag})` : `${red}_Reduction(${f}, ${tag})`;
    if (edit) {
      const at = edit[0] % (s.length + 1);
      s = edit[1] === '' ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + edit[1] + s.slice(at);
    }
    return s;
  });

const close = (a: number, b: number): boolean => (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= 1e-6 * (1 + Math.abs(a) + Math.abs(b));

describe('fuzz: random formulas through every entry point', function () {
  this.timeout(600_000);
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'keopsc-fuzz-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const M = 3, N = 4;
  const data = { x: Float64Array.from({ length: M * 2 }, (_, k) => 0.2 + 0.1 * k), y: Float64Array.from({ length: N * 2 }, (_, k) => 0.15 + 0.07 * k), b: Float64Array.from({ length: N }, (_, k) => 0.5 + k), p: Float64Array.of(0.7) };

  it('the API: a KeopsError, or js (and sometimes cpu) agree with the reference', () => {
    let compiled = 0;
    let cpuRuns = 0;
    fc.assert(
      fc.property(source, (src) => {
        const k = cleanOr(() => compile(src, DECLS));
        if (!k) return;
        compiled++;
        const args = Object.fromEntries(k.args.map((a) => [a.name, data[a.name as keyof typeof data]]));
        const ref = cleanOr(() => k.run(args, { backend: 'ref' }));
        if (!ref) return;
        const backends: ('js' | 'cpu')[] = ['js'];
        if (compiled % 5 === 1 && cpuStatus().ok) {
          backends.push('cpu');
          cpuRuns++;
        }
        for (const backend of backends) {
          const got = k.run(args, { backend });
          got.outputs.forEach((o, q) => {
            const want = ref.outputs[q]!.data as Float64Array;
            Array.from(o.data as Float64Array).forEach((v, i) => expect(close(v, want[i]!), `${backend} ${src} [${i}]: ${v} vs ${want[i]}`).to.equal(true));
          });
        }
      }),
      params,
    );
    console.log(`      ${compiled} of ${RUNS} sources compiled; ${cpuRuns} also ran on cpu`);
  });

  it('the CLI: check and compile (every target) never report an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(source, async (src) => {
        const file = join(dir, 'f.keo');
        writeFileSync(file, `${DECLS.join('\n')}\nk = ${src}\n`);
        for (const args of [['check', file], ...['js', 'cpp', 'cuda', 'wgsl'].map((t) => ['compile', file, '--target', t])]) {
          const r = await cli(...args);
          expect(r.err, `${args.join(' ')}: ${src}`).to.not.match(/internal error/);
          expect(r.code, `${args.join(' ')}: ${src}`).to.be.oneOf([0, 1]);
        }
      }),
      { ...params, numRuns: Math.max(10, Math.floor(RUNS / 2)) },
    );
  });
});
