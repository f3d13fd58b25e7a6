import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileModule } from '../src/api/compile.js';
import { printKernel } from '../src/ir/print.js';
import { verifyKernel } from '../src/ir/verify.js';
import { mk, Var } from '../src/ir/node.js';
import { REDUCTIONS } from '../src/ir/reductions.js';
import { printPlan } from '../src/lower/print-plan.js';
import { verifyPlan } from '../src/lower/verify.js';
import { frontend, lower, optimize, verifyOptions } from '../src/passes/pipeline.js';
import { goldenModules } from './helpers/golden.js';
import { matchFile } from './helpers/snapshot.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'ir');

/** What `keopsc compile --emit ir` and `--emit plan` print for a module: every stage, then the plan. */
function dump(text: string, file: string): string {
  const parts: string[] = [];
  const mod = compileModule(text, { file, onPass: (stage, k) => parts.push(`# ${k.name} after ${stage}\n${printKernel(k)}`) });
  for (const k of mod.kernels) lower(k.ir, (_stage, plan) => parts.push(printPlan(plan)));
  return `${parts.join('\n\n')}\n`;
}

describe('IR baselines (test/ir/*.keo -> .ir.txt; KEOPSC_BLESS=1 re-blesses)', () => {
  let was = false;
  before(() => {
    was = verifyOptions.enabled;
    verifyOptions.enabled = true;
  });
  after(() => {
    verifyOptions.enabled = was;
  });
  const files = readdirSync(DIR).filter((f) => f.endsWith('.keo')).sort();
  it('has baselines to check', () => expect(files.length).to.be.at.least(4));
  for (const f of files) {
    it(f, () => {
      matchFile(join(DIR, f.replace(/\.keo$/, '.ir.txt')), dump(readFileSync(join(DIR, f), 'utf8'), f), 'the IR dump');
    });
  }
});

describe('the IR verifier', () => {
  it('accepts every golden module after every stage, and its plan', () => {
    let checked = 0;
    for (const { where, text } of goldenModules()) {
      for (const k of frontend(text, where).program.kernels) {
        const opt = optimize(k, (stage, kk) => {
          expect(verifyKernel(kk, stage === 'cse' ? { noAutodiff: true, lowerable: true } : {}), `${where} ${kk.name} after ${stage}`).to.deep.equal([]);
          checked++;
        });
        expect(verifyPlan(lower(opt)), `${where} ${k.name} plan`).to.deep.equal([]);
      }
    }
    expect(checked).to.be.at.least(50);
  });

  it('reports a node whose dimension disagrees with its rule, a missing argument and a missing weight', () => {
    const { program } = frontend('x = Vi(0, 3)\ny = Vj(1, 3)\nr = Sum_Reduction(SqDist(x, y), 0)');
    const k = program.kernels[0]!;
    const forged = { ...mk('Exp', [Var(0, 3, 0)]), dim: 2 };
    expect(verifyKernel({ ...k, formula: forged }).join('\n')).to.match(/not the hash-consed node[\s\S]*has dimension 2, its rule gives 3/);
    expect(verifyKernel({ ...k, args: k.args.slice(1) })).to.deep.equal(['variable 0 is used but is not a kernel argument']);
    expect(verifyKernel({ ...k, reduction: REDUCTIONS.SumSoftMaxWeight! })).to.include('SumSoftMaxWeight needs weight formula');
    expect(verifyKernel(k, { lowerable: true }).join('\n')).to.match(/SqDist#\d+ has no lowering/);
  });

  it('reports a plan statement that uses a value before it is computed', () => {
    const plan = lower(optimize(frontend('x = Vi(0, 3)\ny = Vj(1, 3)\nr = Sum_Reduction(Exp(-SqDist(x, y)), 0)').program.kernels[0]!));
    const broken = { ...plan, stmts: { ...plan.stmts, inner: [...plan.stmts.inner].reverse() } };
    expect(verifyPlan(broken).join('\n')).to.match(/uses #\d+ before it is computed/);
    expect(verifyPlan({ ...plan, f: [] })).to.include('f has 0 components, the reduction says D = 1');
  });
});
