import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compile } from '../src/index.js';
import { printCuda } from '../src/targets/cuda.js';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const SNAP = join(HERE, 'snapshots', 'cuda.snap.txt');
const DECLS = 'x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 2)\nc = Vi(3, 2)\np = Pm(4, 2)\n';

const KERNELS: [string, string][] = [
  ['gauss', 'Sum_Reduction(Exp(-SqDist(x, y) * Elem(p, 0) * Elem(p, 0)) * Exp(b), 0)'],
  ['sum_tag1', 'Sum_Reduction(Exp(-SqDist(x, y) / 2 + Elem(p, 1)) * Exp(c) + Square(Elem(y, 2)), 1)'],
  ['sum_math', 'Sum_Reduction(Atan2(Elem(x, 0), Elem(y, 1)) + Round(Elem(x, 1) * 3, 0) + Rsqrt(Abs(Elem(y, 2))) + Pow(Abs(Elem(x, 2)), 3) + IfElse(Elem(x, 0) - Elem(y, 0), Sin(Elem(x, 1)), Cos(Elem(y, 1))), 0)'],
  ['sum_zero', 'Sum_Reduction(0 * Exp(x - y), 0)'],
  ['max', 'Max_Reduction(Concat(-SqDist(x, y), Elem(y, 0) - Elem(c, 1)), 0)'],
  ['min_tag1', 'Min_Reduction(SqDist(x, y) + c, 1)'],
  ['argmin', 'ArgMin_Reduction(SqDist(x, y) - Elem(b, 0), 0)'],
  ['argmax_tag1', 'ArgMax_Reduction(Floor(x * y * 2), 1)'],
  ['min_argmin', 'Min_ArgMin_Reduction(Concat(Floor(SqDist(x, y) * 2), Elem(y, 1)), 0)'],
  ['max_argmax_tag1', 'Max_ArgMax_Reduction(Elem(x, 0) * Elem(y, 1) - c, 1)'],
  ['kmin', 'KMin_Reduction(SqDist(x, y), 3, 0)'],
  ['argkmin_tag1', 'ArgKMin_Reduction(Floor(SqDist(x, y)), 4, 1)'],
  ['kmin_argkmin_vec', 'KMin_ArgKMin_Reduction(x - y, 5, 0)'],
  ['lse', 'LogSumExp_Reduction(-SqDist(x, y) * 3, 0)'],
  ['lse_w', 'LogSumExpWeight_Reduction(-SqDist(x, y), 0, b)'],
  ['ssm_w', 'SumSoftMaxWeight_Reduction(-SqDist(x, y), 1, b)'],
  ['mss', 'Max_SumShiftExp_Reduction(-SqDist(x, y), 1)'],
  ['mssw', 'Max_SumShiftExpWeight_Reduction(-SqDist(x, y), 0, b)'],
];

function nvccOk(): string | null {
  try {
    execFileSync('nvcc', ['--version'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `nvcc --version failed (${(e as Error).message.split('\n')[0]})`;
  }
}

function emit(name: string, text: string, dtype: 'float32' | 'float64') {
  return printCuda(compile(`${DECLS}${name} = ${text}`).plan, { dtype });
}

describe('CUDA target (src/targets/cuda.ts)', function () {
  this.timeout(120_000);

  it('prints every reduction, both dtypes, with a matching header', () => {
    for (const dtype of ['float32', 'float64'] as const)
      for (const [n, t] of KERNELS) {
        const { source, header } = emit(n, t, dtype);
        assert.match(source, new RegExp(`__global__ void keopsc_${n}_dense`));
        assert.match(source, new RegExp(`__global__ void keopsc_${n}_ranges`));
        assert.match(source, /#ifndef __CUDACC_RTC__\n#include <cuda_runtime.h>/);
        assert.match(header, new RegExp(`cudaError_t keopsc_${n}_launch\\(`));
      }
  });

  describe('with nvcc', function () {
    const why = nvccOk();
    before(function () {
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
    });

    it('compiles to PTX for sm_80 and sm_90 (float32 and float64), and the header compiles', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keopsc-cuda-'));
      const jobs: Promise<unknown>[] = [];
      for (const dtype of ['float32', 'float64'] as const) {
        const src = KERNELS.map(([n, t]) => emit(n, t, dtype).source).join('\n');
        const file = join(dir, `all_${dtype}.cu`);
        writeFileSync(file, src);
        for (const arch of ['sm_80', 'sm_90']) jobs.push(run('nvcc', ['-ptx', `-arch=${arch}`, file, '-o', join(dir, `all_${dtype}_${arch}.ptx`)]));
      }
      // the headers: declare every launcher in one translation unit
      const headers = KERNELS.map(([n, t]) => {
        const h = emit(n, t, 'float32').header;
        writeFileSync(join(dir, `${n}.h`), h);
        return `#include "${n}.h"`;
      });
      writeFileSync(join(dir, 'use.cu'), [...headers, 'int main() { return keopsc_gauss_block_rows == nullptr; }', ''].join('\n'));
      jobs.push(run('nvcc', ['-c', join(dir, 'use.cu'), '-o', join(dir, 'use.o')]));
      // a few at a time
      await Promise.all(jobs.slice(0, 2));
      await Promise.all(jobs.slice(2));
    });
  });

  it('matches the snapshot of Gaussian Sum, ArgKMin and LogSumExp (KEOPSC_BLESS=1 re-blesses)', () => {
    const snap = [
      ['gauss', 'Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)', 'float32'],
      ['argkmin', 'ArgKMin_Reduction(SqDist(x, y), 3, 0)', 'float64'],
      ['lse', 'LogSumExp_Reduction(-SqDist(x, y), 1)', 'float32'],
    ] as const;
    const text = snap.map(([n, t, d]) => `==== ${n} (${d}): ${t}\n${emit(n, t, d).source}`).join('\n');
    if (process.env.KEOPSC_BLESS === '1' || !existsSync(SNAP)) {
      if (process.env.KEOPSC_BLESS !== '1') throw new Error(`no snapshot at ${SNAP}: run with KEOPSC_BLESS=1`);
      writeFileSync(SNAP, text);
      return;
    }
    assert.equal(text, readFileSync(SNAP, 'utf8'));
  });
});
