/** Deterministic test data: a seeded PRNG (mulberry32) and array makers. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [lo, hi). */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** n standard normal values (Box–Muller). */
export function normal(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
}

/** Assert two arrays are close: |a - b| <= atol + rtol·|b| elementwise (NaN equals NaN, inf equals inf). */
export function expectClose(actual: ArrayLike<number | bigint>, expected: ArrayLike<number>, rtol = 1e-12, atol = 1e-12, what = 'value'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != expected ${expected.length}`);
  for (let k = 0; k < expected.length; k++) {
    const a = Number(actual[k]);
    const b = expected[k]!;
    if (Number.isNaN(b) && Number.isNaN(a)) continue;
    if (a === b) continue;
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      throw new Error(`${what}[${k}]: got ${a}, expected ${b} (rtol ${rtol}, atol ${atol})\n  actual:   [${Array.from(actual).slice(0, 12).join(', ')}]\n  expected: [${Array.from(expected).slice(0, 12).join(', ')}]`);
    }
  }
}
