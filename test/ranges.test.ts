import { expect } from 'chai';
import { coalesce, coarsen, rangesFor, swapAxes, toRanges, validateRanges } from '../runtime/ranges/index.js';

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

  it('coarsen merges touching clusters with equal reduction lists, and only those; the pairs and their order are kept', () => {
    // clusters [0,2) [2,3) [3,5) [6,8) [8,9): lists {[0,4)}, {[0,2),[2,4)} (equal once merged), {[0,4)},
    // then [6,8) {[1,2)} and [8,9) {[1,2)} (equal, touching) and [9,9) (empty rows: kept apart)
    const t = {
      out: Int32Array.of(0, 2, 2, 3, 3, 5, 6, 8, 8, 9, 9, 9),
      slices: Int32Array.of(1, 3, 4, 5, 6, 7),
      red: Int32Array.of(0, 4, 0, 2, 2, 4, 0, 4, 1, 2, 1, 2, 1, 2),
    };
    const c = coarsen(t);
    expect(Array.from(c.out)).to.deep.equal([0, 5, 6, 9, 9, 9]);
    expect(Array.from(c.slices)).to.deep.equal([1, 2, 3]);
    expect(Array.from(c.red)).to.deep.equal([0, 4, 1, 2, 1, 2]);
    // not touching ([0,2) then [3,5)), or different lists: nothing merges
    const apart = coarsen({ out: Int32Array.of(0, 2, 3, 5, 5, 6), slices: Int32Array.of(1, 2, 3), red: Int32Array.of(0, 4, 0, 4, 0, 3) });
    expect(Array.from(apart.out)).to.deep.equal([0, 2, 3, 5, 5, 6]);
    expect(Array.from(apart.slices)).to.deep.equal([1, 2, 3]);
    // the (row, column) pairs visited, in order, are those of the input
    const visits = (r: { out: Int32Array; slices: Int32Array; red: Int32Array }): string[] => {
      const v: string[] = [];
      for (let k = 0; k < r.slices.length; k++)
        for (let i = r.out[2 * k]!; i < r.out[2 * k + 1]!; i++)
          for (let l = k === 0 ? 0 : r.slices[k - 1]!; l < r.slices[k]!; l++) for (let j = r.red[2 * l]!; j < r.red[2 * l + 1]!; j++) v.push(`${i},${j}`);
      return v.sort();
    };
    expect(visits(c)).to.deep.equal(visits(t));
    // coalesce keeps every cluster (others index them): only the intervals merge
    const kept = coalesce(t);
    expect(Array.from(kept.out)).to.deep.equal(Array.from(t.out));
    expect(Array.from(kept.slices)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(Array.from(kept.red)).to.deep.equal([0, 4, 0, 4, 0, 4, 1, 2, 1, 2, 1, 2]);
  });

  it('toRanges checks Int32Array input without converting it, and copies it', () => {
    const ri = Int32Array.of(0, 2);
    const out = toRanges({ ranges_i: ri, slices_i: [1], redranges_j: [0, 1], ranges_j: [0, 1], slices_j: [1], redranges_i: [0, 2] });
    expect(out.ranges_i).to.not.equal(ri);
    expect(Array.from(out.ranges_i)).to.deep.equal([0, 2]);
    expect(() => toRanges({ ranges_i: Int32Array.of(0, -3), slices_i: [1], redranges_j: [0, 1], ranges_j: [0, 1], slices_j: [1], redranges_i: [0, 2] })).to.throw(/ranges_i\[1\] = -3 is not a non-negative 32-bit integer/);
  });

  it('swapAxes exchanges the triplets; validateRanges accepts good ranges', () => {
    expect(Array.from(swapAxes(r).ranges_i)).to.deep.equal([0, 5]);
    expect(() => validateRanges(r, 4, 5)).to.not.throw();
    expect(() => validateRanges(r, 3, 5)).to.throw(/ranges_i\[1\] = \[2, 4\) is out of bounds for M = 3/);
  });
});
