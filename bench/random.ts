// Seeded uniform random numbers for the benchmarks' data.

/**
 * A 32-bit linear congruential generator in integer arithmetic (Numerical Recipes' constants): uniform
 * values in [0, 1), period 2^32. (The float form `(seed * 1103515245 + 12345) % 2 ** 31` it replaces
 * lost bits above 2^53 and cycled after 15 824 values, so that large clouds repeated their points.)
 */
export function uniformLcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
