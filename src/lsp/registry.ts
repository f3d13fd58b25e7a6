/**
 * What the language server says about ops, reductions and variable constructors: signatures,
 * one-line meanings and dimension rules, all read from the op registry (src/ir/ops) and the
 * reduction table (src/ir/reductions.ts). Nothing here knows an op by name.
 */
import { OP_LIST, OPS } from '../ir/ops/index.js';
import { REDUCTION_LIST, reductionOf, type ReductionDef } from '../ir/reductions.js';
import { VAR_CTORS } from '../passes/elaborate.js';
import type { OpDef } from '../ir/types.js';

/** The argument names shown for a registry signature: formulas f, g, h, ...; integers k, l, ...; lists. */
function argNames(sig: readonly string[]): string[] {
  const formulas = ['f', 'g', 'h', 'u', 'v', 'w'];
  const ints = ['k', 'l', 'm', 'n', 'p', 'q'];
  let nf = 0;
  let ni = 0;
  return sig.map((s) => {
    const optional = s.endsWith('?') ? '?' : '';
    const kind = s.replace('?', '');
    if (kind === 'f') return `${formulas[nf++] ?? `f${nf}`}${optional}`;
    if (kind === 'l') return `[${ints[ni++] ?? 'k'}, ...]${optional}`;
    return `${ints[ni++] ?? `k${ni}`}${optional}`;
  });
}

/** `Name(f, g)`: the signature of an op as written in a formula. */
export function opSignature(def: OpDef, name = def.name): string {
  return `${name}(${argNames(def.sig).join(', ')})`;
}

/** The argument names of a reduction, as its diagnostics name them. */
function reductionArgNames(red: ReductionDef): string[] {
  return red.sig.map((s) => ({ f: 'f', K: 'K', tag: 'tag', g: 'g', D: 'D' })[s]);
}

/** `Sum_Reduction(f, tag)`. */
export function reductionSignature(red: ReductionDef): string {
  return `${red.name}_Reduction(${reductionArgNames(red).join(', ')})`;
}

/** The output dimension of `def` for these argument dims, or undefined when its rule rejects them. */
function probe(def: OpDef, dims: number[], params: (number | number[])[]): number | undefined {
  try {
    const d = def.dim(dims, params);
    return Number.isInteger(d) ? d : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The dimension rule of an op in words, found by asking its registry `dim` rule about a few argument
 * dimensions (the rule is code; this describes what it does). Only patterns the probes establish are
 * stated; other ops get a general sentence (their one-line doc says more).
 */
export function dimensionRule(def: OpDef): string {
  const nf = def.sig.filter((s) => s === 'f').length;
  const params = def.sig.filter((s) => s !== 'f' && !s.endsWith('?')).map((s) => (s === 'l' ? [1] : 1));
  const hasParams = def.sig.some((s) => s !== 'f');
  const general = hasParams ? 'the dimension of the result depends on its integer arguments' : 'the dimension of the result depends on the dimensions of its arguments';
  if (nf === 0) return hasParams ? 'the dimension is given by its integer arguments' : 'a scalar (dimension 1)';
  if (def.group === 'autodiff') return general;
  const at = (...dims: number[]) => probe(def, dims, params);
  const sizes = [2, 4, 6];
  const outs = sizes.map((d) => at(...Array<number>(nf).fill(d)));
  const same = outs.every((o, k) => o === sizes[k]);
  const scalar = outs.every((o) => o === 1);
  if (nf === 1) {
    const complex = at(3) === undefined && at(4) !== undefined ? '; the argument has an even dimension (complex)' : '';
    if (same) return `the result has its argument's dimension${complex}`;
    if (hasParams) return general;
    if (outs.every((o) => o !== undefined && o === outs[0])) return `the result has dimension ${outs[0]}${complex}`;
    if (outs.every((o, k) => o === sizes[k]! / 2)) return `the result has half its argument's dimension${complex}`;
    if (outs.every((o, k) => o === 2 * sizes[k]!)) return `the result has twice its argument's dimension (a complex vector)${complex}`;
    if (outs.every((o, k) => o === sizes[k]! * sizes[k]!)) return 'the result has dimension d² for an argument of dimension d';
    return general;
  }
  // one argument of dimension `d` at position `k`, the others of dimension `rest`
  const mixed = (k: number, d: number, rest: number) => at(...Array.from({ length: nf }, (_, n) => (n === k ? d : rest)));
  const positions = Array.from({ length: nf }, (_, k) => k);
  const equalOnly = positions.every((k) => mixed(k, 6, 4) === undefined);
  const broadcasts = (b: number, want: number) => positions.every((k) => mixed(k, b, 4) === want);
  if (same && equalOnly && broadcasts(1, 4)) return 'the result has the dimension of its arguments, which are equal, or 1 (a scalar, broadcast)';
  if (same && equalOnly && broadcasts(2, 4)) return 'the result has the dimension of its arguments, which are equal and even, or 2 (a complex scalar, broadcast)';
  if (scalar && equalOnly && broadcasts(1, 1)) return 'the result has dimension 1; the arguments have equal dimensions, or dimension 1 (a scalar, broadcast)';
  if (nf === 2 && at(4, 2) === 6 && at(2, 4) === 6 && at(1, 1) === 2) return 'the result has the sum of the dimensions of its arguments';
  return general;
}

/** What a variable constructor declares. */
export function varCtorDoc(name: string): { signature: string; doc: string } {
  const cat = VAR_CTORS[name];
  if (cat === undefined) return { signature: `${name}(index, dim, cat)`, doc: OPS.Var!.doc };
  const what = ['an input indexed by i (one row per output row, M rows)', 'an input indexed by j (N rows, reduced over)', 'a parameter (one vector shared by every pair)'][cat]!;
  return { signature: `${name}(index, dim) or ${name}(dim)`, doc: `${what}; without an index, the smallest index no declaration uses` };
}

/** Markdown for an op, a reduction or a variable constructor named `callee`, or undefined. */
export function calleeMarkdown(callee: string): string | undefined {
  const red = reductionOf(callee);
  if (red) {
    return [
      code(reductionSignature(red)),
      red.doc,
      'tag 0: one output row per i, reducing over j; tag 1: one output row per j, reducing over i.' + (red.sig.includes('K') ? ' K: how many values are kept.' : ''),
    ].join('\n\n');
  }
  if (callee in VAR_CTORS) {
    const v = varCtorDoc(callee);
    return [code(v.signature), v.doc].join('\n\n');
  }
  const def = OPS[callee];
  if (!def) return undefined;
  return [code(opSignature(def, callee)), def.doc, `Dimensions: ${dimensionRule(def)}.`].join('\n\n');
}

/** A fenced keo code block. */
export function code(text: string): string {
  return `\`\`\`keo\n${text}\n\`\`\``;
}

/** An entry for completion: a name to insert with a snippet of its arguments. */
export interface CalleeEntry {
  name: string;
  signature: string;
  doc: string;
  /** LSP snippet syntax: `Exp(${1:f})`. */
  snippet: string;
  kind: 'op' | 'reduction' | 'variable';
}

function snippet(name: string, args: string[]): string {
  return `${name}(${args.map((a, k) => `\${${k + 1}:${a.replace(/[$}\\]/g, '\\$&')}}`).join(', ')})`;
}

/** Every op users may write (not the internal ones), every reduction and the variable constructors. */
export const CALLEES: readonly CalleeEntry[] = (() => {
  const out: CalleeEntry[] = [];
  for (const name of Object.keys(VAR_CTORS)) {
    const v = varCtorDoc(name);
    out.push({ name, signature: v.signature, doc: v.doc, kind: 'variable', snippet: name === 'Var' ? snippet(name, ['index', 'dim', 'cat']) : snippet(name, ['index', 'dim']) });
  }
  for (const def of OP_LIST) {
    if (def.internal || def.group === 'internal' || def.name in VAR_CTORS) continue;
    out.push({ name: def.name, signature: opSignature(def), doc: def.doc, kind: 'op', snippet: snippet(def.name, argNames(def.sig).filter((a) => !a.endsWith('?'))) });
  }
  for (const red of REDUCTION_LIST) {
    const args = reductionArgNames(red).map((a) => (a === 'tag' ? '0' : a));
    out.push({ name: `${red.name}_Reduction`, signature: reductionSignature(red), doc: red.doc, kind: 'reduction', snippet: snippet(`${red.name}_Reduction`, args) });
  }
  return out;
})();
