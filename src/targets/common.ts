import type { SExpr } from '../lower/scalar.js';

/**
 * Pieces every printer of the scalar kernel IR shares: the name of a scalar node (a literal for a
 * constant, `x<index>_<comp>` for an input component, `t<id>` for a statement), and the infix spelling
 * of the arithmetic functions, which is the same in JS, C++, CUDA and WGSL.
 */
export function scalarRef(n: SExpr, lit: (v: number) => string): string {
  if (n.fn === 'const') return lit(n.value);
  if (n.fn === 'input') return `x${n.input!.index}_${n.input!.comp}`;
  return `t${n.id}`;
}

/** `a + b`, `a - b`, `a * b`, `a / b`, `-a` for the arithmetic scalar functions; undefined otherwise. */
export function infixArith(fn: SExpr['fn'], a: readonly string[]): string | undefined {
  switch (fn) {
    case 'add': return `${a[0]} + ${a[1]}`;
    case 'sub': return `${a[0]} - ${a[1]}`;
    case 'mul': return `${a[0]} * ${a[1]}`;
    case 'div': return `${a[0]} / ${a[1]}`;
    case 'neg': return `-${a[0]}`;
    default: return undefined;
  }
}
