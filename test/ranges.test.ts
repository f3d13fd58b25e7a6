import { expect } from 'chai';
import { checkedRanges, coalesce, coarsen, coarsenedFor, keepsEveryPair, rangesFor, swapAxes, toRanges, validateRanges } from '../runtime/ranges/index.js';
import { compile } from '../src/index.js';
import { cpuStatus } from '../runtime/cpu/index.js';
import { expectClose } from './helpers/data.js';

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

  describe('checkedRanges: checked once per ranges object, changes seen', () => {
    const fresh = () => ({
      ranges_i: Int32Array.of(0, 2, 2, 4),
      slices_i: Int32Array.of(2, 3),
      redranges_j: Int32Array.of(0, 2, 2, 5, 1, 3),
      ranges_j: Int32Array.of(0, 5),
      slices_j: Int32Array.of(1),
      redranges_i: Int32Array.of(0, 4),
    });

    it('the same unchanged object gives the same private copy (and the same coarsened triplet)', () => {
      const input = fresh();
      const a = checkedRanges(input, 4, 5);
      expect(a.redranges_j).to.not.equal(input.redranges_j);
      expect(Array.from(a.redranges_j)).to.deep.equal([0, 2, 2, 5, 1, 3]);
      expect(checkedRanges(input, 4, 5)).to.equal(a);
      const c = coarsenedFor(a, 0);
      expect(coarsenedFor(a, 0)).to.equal(c);
      expect(Array.from(c.red)).to.deep.equal([0, 5, 1, 3]);
      // ranges the cache did not hand out are coarsened each time (nothing promises they stay unchanged)
      const other = toRanges(input);
      expect(coarsenedFor(other, 0)).to.not.equal(coarsenedFor(other, 0));
      expect(Array.from(coarsenedFor(other, 0).red)).to.deep.equal([0, 5, 1, 3]);
    });

    it('an array changed in place, or replaced, is copied and checked again', () => {
      const input = fresh();
      const a = checkedRanges(input, 4, 5);
      input.redranges_j[5] = 4;
      const b = checkedRanges(input, 4, 5);
      expect(b).to.not.equal(a);
      expect(Array.from(b.redranges_j)).to.deep.equal([0, 2, 2, 5, 1, 4]);
      expect(Array.from(coarsenedFor(b, 0).red)).to.deep.equal([0, 5, 1, 4]);
      input.redranges_j[5] = 9; // past N = 5: refused, not taken from the cache
      expect(() => checkedRanges(input, 4, 5)).to.throw(/redranges_j\[2\] = \[1, 9\) is out of bounds for N = 5/);
      input.redranges_j[5] = 4;
      input.slices_i = Int32Array.of(1, 3);
      expect(Array.from(checkedRanges(input, 4, 5).slices_i)).to.deep.equal([1, 3]);
    });

    it('other sizes are checked again; other inputs (plain lists) are checked every time', () => {
      const input = fresh();
      checkedRanges(input, 4, 5);
      expect(() => checkedRanges(input, 3, 5)).to.throw(/ranges_i\[1\] = \[2, 4\) is out of bounds for M = 3/);
      expect(() => checkedRanges(input, 4, 4)).to.throw(/redranges_j\[1\] = \[2, 5\) is out of bounds for N = 4/);
      expect(() => checkedRanges(input, 4, 5)).to.not.throw();
      const list = { ...fresh(), slices_i: [2, 3] };
      expect(checkedRanges(list, 4, 5)).to.not.equal(checkedRanges(list, 4, 5));
      list.slices_i[1] = 7;
      expect(() => checkedRanges(list, 4, 5)).to.throw(/slices_i\[1\] = 7 is past the end of redranges_j/);
    });

    it('a kernel run again after its ranges changed in place uses the new ranges', () => {
      const k = compile('x = Vi(0, 1); y = Vj(1, 1)\ns = Sum_Reduction(Exp(-SqDist(x, y)) * y, 0)');
      const x = Float64Array.of(0, 0.5, 1, 1.5), y = Float64Array.of(0.1, 0.2, 0.3, 0.4, 0.5);
      const input = fresh();
      for (const backend of cpuStatus().ok ? (['cpu', 'js', 'ref'] as const) : (['js', 'ref'] as const)) {
        const before = k.run({ x, y }, { backend, ranges: input }).values.data;
        input.redranges_j[5] = 4;
        const after = k.run({ x, y }, { backend, ranges: input }).values.data;
        input.redranges_j[5] = 3;
        // row 2 (cluster 1) now also reduces over j = 3
        expect(after[2]! - before[2]!).to.be.closeTo(Math.exp(-((1 - 0.4) ** 2)) * 0.4, 1e-12);
        expectClose(k.run({ x, y }, { backend, ranges: input }).values.data, before as Float64Array, 0, 0);
      }
    });
  });

  describe('ranges that keep every pair', () => {
    const M = 37, N = 53;
    // clusters [0,10) [10,20) [20,37), each over [0,N) in pieces: every pair, in the dense order
    const full = {
      ranges_i: Int32Array.of(0, 10, 10, 20, 20, 37),
      slices_i: Int32Array.of(2, 3, 6),
      redranges_j: Int32Array.of(0, 30, 30, 53, 0, 53, 0, 1, 1, 40, 40, 53),
      ranges_j: Int32Array.of(0, N),
      slices_j: Int32Array.of(1),
      redranges_i: Int32Array.of(0, M),
    };
    it('keepsEveryPair: one cluster over everything after coarsening, and nothing less', () => {
      expect(keepsEveryPair(coarsen(rangesFor(toRanges(full), 0)), M, N)).to.equal(true);
      expect(keepsEveryPair(coarsen(rangesFor(toRanges(full), 1)), N, M)).to.equal(true);
      expect(keepsEveryPair(coarsen(rangesFor(toRanges(full), 0)), M + 1, N)).to.equal(false);
      expect(keepsEveryPair(coarsen(rangesFor(toRanges(full), 0)), M, N + 1)).to.equal(false);
      const order = { ...full, redranges_j: Int32Array.of(30, 53, 0, 30, 0, 53, 0, 1, 1, 40, 40, 53) }; // other order
      expect(keepsEveryPair(coarsen(rangesFor(toRanges(order), 0)), M, N)).to.equal(false);
    });

    it('cpu: they give the dense values bit for bit; one pair less is not dense', function () {
      if (!cpuStatus().ok) this.skip();
      const k = compile('x = Vi(0, 3); y = Vj(1, 3); b = Vj(2, 1)\ns = Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)');
      const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
      const args = { x: { data: rnd(3 * M, 1), shape: [M, 3] }, y: { data: rnd(3 * N, 2), shape: [N, 3] }, b: { data: rnd(N, 3), shape: [N, 1] } };
      const dense = k.run(args, { backend: 'cpu', threads: 1 }).values.data;
      expect(Array.from(k.run(args, { backend: 'cpu', threads: 2, ranges: full }).values.data)).to.deep.equal(Array.from(dense));
      // drop j = 0 for cluster 1 (rows 10..19): those rows lose the term of j = 0
      const less = { ...full, redranges_j: Int32Array.of(0, 30, 30, 53, 1, 53, 0, 1, 1, 40, 40, 53) };
      const got = k.run(args, { backend: 'cpu', threads: 1, ranges: less }).values.data;
      const ref = k.run(args, { backend: 'ref', ranges: less }).values.data;
      expectClose(got, ref as Float64Array, 1e-5, 1e-6);
      const term = (i: number) => Math.exp(-[0, 1, 2].reduce((s, c) => s + (args.x.data[3 * i + c]! - args.y.data[c]!) ** 2, 0)) * args.b.data[0]!;
      for (let i = 10; i < 20; i++) expect(dense[i]! - got[i]!).to.be.closeTo(term(i), 1e-5);
    });
  });
});
