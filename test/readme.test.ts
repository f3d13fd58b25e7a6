import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expectClose } from './helpers/data.js';

const root = resolve(import.meta.dirname, '..');

/** The first ```ts block of the README section whose heading starts with `heading`. */
export function readmeBlock(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = new RegExp(`\n#+ ${heading}`).exec(readme)?.index;
  if (at === undefined) throw new Error(`README.md has no section '${heading}'`);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at + 1).replace(/\n#+ [\s\S]*$/, ''));
  if (!block) throw new Error(`README.md section '${heading}' has no ts block`);
  return block[1]!;
}

/** Run a README block as a module (importing keopsc from this checkout) and return the names asked for. */
async function runBlock(heading: string, names: string[]): Promise<Record<string, unknown>> {
  const file = join(import.meta.dirname, `.readme-${heading.replace(/\W+/g, '-').toLowerCase()}.gen.ts`);
  writeFileSync(file, `${readmeBlock(heading).replace(/from 'keopsc'/g, "from '../src/index.js'")}\nexport { ${names.join(', ')} };\n`);
  try {
    return (await import(file)) as Record<string, unknown>;
  } finally {
    rmSync(file, { force: true });
  }
}

// issue 16 item 3: the README shows how a LazyTensor is made and used, and that code runs
describe("the README's LazyTensor example", function () {
  this.timeout(120000);
  it('computes the Gaussian kernel product, the kNN indices and the gradient', async () => {
    const r = await runBlock('LazyTensor', ['M', 'N', 'xs', 'ys', 'b', 'e', 'a', 'knn', 'nearest', 'g']);
    const M = r.M as number, N = r.N as number;
    const [xs, ys, b, e] = [r.xs, r.ys, r.b, r.e] as Float64Array[];
    const a = r.a as { data: Float64Array; shape: number[] };
    const knn = r.knn as { data: BigInt64Array; shape: number[] };
    const g = r.g as { data: Float64Array; shape: number[] };
    expect(a.shape).to.deep.equal([M]);
    expect(knn.shape).to.deep.equal([M, 5]);
    expect(g.shape).to.deep.equal([M, 3]);
    const aRef = new Float64Array(M), gRef = new Float64Array(3 * M), knnRef: number[] = [];
    for (let i = 0; i < M; i++) {
      const d2 = Array.from({ length: N }, (_, j) => [0, 1, 2].reduce((s, c) => s + (xs![3 * i + c]! - ys![3 * j + c]!) ** 2, 0));
      for (let j = 0; j < N; j++) {
        const k = Math.exp(-d2[j]! / 2) * b![j]!;
        aRef[i]! += k;
        for (let c = 0; c < 3; c++) gRef[3 * i + c]! += -(xs![3 * i + c]! - ys![3 * j + c]!) * k * e![i]!;
      }
      knnRef.push(...d2.map((d, j) => [d, j] as const).sort((u, v) => u[0] - v[0] || u[1] - v[1]).slice(0, 5).map(([, j]) => j));
    }
    expectClose(a.data, aRef, 1e-12, 1e-14);
    expectClose(g.data, gRef, 1e-11, 1e-13);
    expect(Array.from(knn.data, Number)).to.deep.equal(knnRef);
    expect(r.nearest).to.deep.equal(knnRef);
  });
});

// issue 16 item 1: the README's block-sparse run on arrays in their original order
describe("the README's block-sparse example", function () {
  this.timeout(120000);
  it('bs.run gives the dense values in the original order, on a fraction of the pairs', async () => {
    const r = await runBlock('Block-sparse runs on the original order', ['bs', 'sparse', 'dense']);
    const sparse = r.sparse as { values: { data: Float64Array } };
    const dense = r.dense as { values: { data: Float64Array } };
    expect((r.bs as { keptFraction: number }).keptFraction).to.be.within(0.2, 0.8);
    expectClose(sparse.values.data, dense.values.data, 1e-10, 1e-12);
  });
});
