import { expect } from 'chai';
import { compile } from '../src/index.js';
import { uniform } from './helpers/data.js';

/**
 * The JS target's dense Sum loop takes rows in blocks of 4 that share the reduction-side values
 * (src/targets/js.ts, rowBlock) and the remaining rows one at a time: every row must get exactly the
 * value it gets alone (one row: the one-row loop only), for each sum scheme and data type, and the
 * float64 reference's value up to rounding.
 */
describe('JS target: blocks of rows in the dense Sum loop', function () {
  this.timeout(60000);
  const M = 11, N = 37; // two blocks of 4 rows, then 3 rows one at a time
  const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 2)\np = Pm(3, 1)\nk = Sum_Reduction(Exp(-SqDist(x, y) * p) * b + Elem(x, 1), 0)');
  const data = (ctor: Float32ArrayConstructor | Float64ArrayConstructor) => ({
    x: ctor.from(uniform(M * 3, 1)),
    y: ctor.from(uniform(N * 3, 2)),
    b: ctor.from(uniform(N * 2, 3)),
    p: ctor.from([0.7]),
  });
  for (const dtype of ['float32', 'float64'] as const)
    for (const sumScheme of ['block', 'kahan', 'direct'] as const)
      it(`${dtype}, ${sumScheme} sum: each row as computed alone, and the reference's value`, () => {
        const d = data(dtype === 'float32' ? Float32Array : Float64Array);
        const all = k.run(d, { backend: 'js', threads: 1, sumScheme }).values!.data;
        const ref = k.run(d, { backend: 'ref' }).values!.data;
        expect(all.length).to.equal(2 * M);
        for (let i = 0; i < M; i++) {
          const alone = k.run({ ...d, x: d.x.slice(3 * i, 3 * i + 3) }, { backend: 'js', threads: 1, sumScheme }).values!.data;
          expect([all[2 * i], all[2 * i + 1]], `row ${i}`).to.deep.equal([alone[0], alone[1]]);
          for (let c = 0; c < 2; c++) expect(Number(all[2 * i + c])).to.be.closeTo(Number(ref[2 * i + c]), dtype === 'float32' ? 1e-4 : 1e-12);
        }
      });
});
