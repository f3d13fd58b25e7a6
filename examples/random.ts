/**
 * What the ported tutorials take from NumPy and the command line: a seeded generator standing in for
 * `np.random.seed(s)`, `np.random.rand()` (mulberry32) and `np.random.randn()` (Box-Muller), and
 * `--name value` options.
 */
export function seeded(seed: number): { rand: () => number; randn: () => number } {
  let s = seed | 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const randn = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return { rand, randn };
}

/** The value after `--name` on the command line, or undefined. */
export function option(name: string): string | undefined {
  const argv = process.argv.slice(2);
  const k = argv.indexOf(`--${name}`);
  return k >= 0 ? argv[k + 1] : undefined;
}
