/**
 * Print the parser's grammar (its serialized GAST) as EBNF. grammar/keo.ebnf is this function's
 * output, written by scripts/gen-grammar.ts (`npm run grammar`); a test checks that the file is
 * up to date, so the reference cannot drift from the parser.
 */
import type { ISerializedGast } from 'chevrotain';
import { allTokens, tokenDocs } from './lexer.js';
import { keoParser } from './parser.js';

type Gast = ISerializedGast & { definition?: Gast[]; name?: string; pattern?: string };

function terminal(t: Gast): string {
  if (t.name === 'EOF') return 'EOF';
  // Fixed tokens are created from a string pattern: print them as quoted literals.
  const type = allTokens.find((k) => k.name === t.name);
  if (type && typeof type.PATTERN === 'string') return JSON.stringify(type.PATTERN);
  return t.name ?? '?';
}

/** A sequence of items. */
function seq(items: Gast[]): string {
  return items.map(item).join(' ');
}

/** The body of a bracket-like construct: an alternation alone needs no extra parentheses. */
function body(items: Gast[]): string {
  if (items.length === 1 && items[0]!.type === 'Alternation') return alternatives(items[0]!);
  return seq(items);
}

function alternatives(alt: Gast): string {
  return (alt.definition ?? []).map((a) => seq(a.definition ?? [])).join(' | ');
}

function item(g: Gast): string {
  const def = g.definition ?? [];
  switch (g.type) {
    case 'NonTerminal':
      return g.name ?? '?';
    case 'Terminal':
      return terminal(g);
    case 'Alternative':
      return seq(def);
    case 'Alternation':
      return `( ${alternatives(g)} )`;
    case 'Option':
      return `[ ${body(def)} ]`;
    case 'Repetition':
      return `{ ${body(def)} }`;
    case 'RepetitionMandatory':
      return `${def.length === 1 ? body(def) : `( ${body(def)} )`} { ${body(def)} }`;
    case 'RepetitionWithSeparator':
    case 'RepetitionMandatoryWithSeparator': {
      const sep = (g as Gast & { separator?: Gast }).separator;
      const s = sep ? ` ${terminal(sep)} ` : ' ';
      const once = def.length === 1 ? body(def) : `( ${body(def)} )`;
      const more = `${once} {${s}${body(def)} }`;
      return g.type === 'RepetitionWithSeparator' ? `[ ${more} ]` : more;
    }
    default:
      return `(* ${g.type} *)`;
  }
}

const HEADER = `(* keo.ebnf: the grammar of keopsc formula strings and .keo modules.
   Generated from grammar/parser.ts by \`npm run grammar\`; do not edit by hand.
   grammar/README.md explains the language.
   Notation (ISO 14977 style, with concatenation written as a space): "x" a fixed token,
   Name a token class, a | b choice, ( ) grouping, [ x ] optional, { x } zero or more. *)`;

const LEXICAL = `(* Lexical grammar. White space (space, tab, CR, form feed) and comments, from "#" to the end
   of the line, are skipped. A Newline inside ( ) or [ ] is dropped, so a formula may span lines
   inside brackets. A run of separators (Newline or ";") counts as one. A number that runs into
   letters, as in 2x, is an invalid number, not a number and a name. *)`;

const SYNTAX = `(* Syntax. Entry points: module (a .keo file) and formula (one formula string, in which Newline
   counts as white space). EOF is the end of the input. *)`;

/** The grammar as EBNF text: a header, the lexical rules, then one rule per parser production. */
export function grammarToEbnf(): string {
  const lines: string[] = [HEADER, '', LEXICAL];
  const lexPad = Math.max(...tokenDocs.map((d) => d.name.length));
  for (const d of tokenDocs) {
    if (d.doc) lines.push(`(* ${d.name}: ${d.doc} *)`);
    lines.push(`${d.name.padEnd(lexPad)} = ${d.ebnf} ;`);
  }
  const fixed = allTokens.filter((t) => typeof t.PATTERN === 'string').map((t) => JSON.stringify(t.PATTERN));
  lines.push(`(* Fixed tokens, the longest match first: ${fixed.join(' ')} *)`, '', SYNTAX);

  const rules = keoParser().getSerializedGastProductions() as Gast[];
  const pad = Math.max(...rules.map((r) => (r.name ?? '').length));
  for (const r of rules) {
    const def = r.definition ?? [];
    const head = `${(r.name ?? '?').padEnd(pad)} =`;
    if (def.length === 1 && def[0]!.type === 'Alternation') {
      const alts = (def[0]!.definition ?? []).map((a) => seq(a.definition ?? []));
      lines.push(`${head} ${alts[0]}`);
      for (const a of alts.slice(1)) lines.push(`${' '.repeat(pad)} | ${a}`);
      lines[lines.length - 1] += ' ;';
    } else {
      lines.push(`${head} ${seq(def)} ;`);
    }
  }
  return `${lines.join('\n')}\n`;
}
