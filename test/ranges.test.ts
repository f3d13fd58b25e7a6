import { expect } from 'chai';
import { coalesce, rangesFor, swapAxes, toRanges, validateRanges } from '../runtime/ranges/index.js';

describe('runtime/ranges', () => {
  const r = toRanges({ ranges_i: [0, 2, 2, 4], slices_i: [3, 5], redranges_j: [0, 2, 2, 3, 3, 5, 0, 2, 0, 2], ranges_j: [0, 5], slices_j: [1], redranges_i: [0, 4] });

  it('coalesce merges adjacent intervals only, keeping order and duplicates', () => {
    const c = coalesce(rangesFor(r, 0));
    expect(Array.from(c.red)).to.deep.equal([0, 5, 0, 2, 0, 2]); // [0,2)+[2,3)+[3,5) → [0,5); the repeated [0,2) stay
    expect(Array.from(c.slices)).to.deep.equal([1, 3]);
    const empty = coalesce({ out: Int32Array.of(0, 1), slices: Int32Array.of(2), red: Int32Array.of(1, 1, 3, 3) });
    expect(Array.from(empty.red)).to.deep.equal([]);
    expect(Array.from(empty.slices)).to.deep.equal([0]);
  });

  it('swapAxes exchanges the triplets; validateRanges accepts good ranges', () => {
    expect(Array.from(swapAxes(r).ranges_i)).to.deep.equal([0, 5]);
    expect(() => validateRanges(r, 4, 5)).to.not.throw();
    expect(() => validateRanges(r, 3, 5)).to.throw(/ranges_i\[1\] = \[2, 4\) is out of bounds for M = 3/);
  });
});
