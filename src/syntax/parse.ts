/**
 * Source text → AST (src/syntax/ast.ts), with every lexing or parsing problem turned into a
 * Diagnostic with a precise span. The grammar itself lives in grammar/ (lexer.ts, parser.ts).
 *
 * Guarantees: `parseModule` and `parseFormula` never throw, whatever the input; nesting deeper than
 * MAX_NESTING gives a diagnostic instead of a stack overflow; at most one syntax error is reported per
 * statement (the first; the rest would mostly be consequences of it), while every lexical error is
 * reported.
 */
import type { CstNode, IToken, IRecognitionException, TokenType } from 'chevrotain';
import { EOF } from 'chevrotain';
import {
  Bar,
  Comma,
  comparisonTokens,
  Equals,
  Identifier,
  LBracket,
  LParen,
  Minus,
  Newline,
  NumberTok,
  Plus,
  Pow,
  RBracket,
  RParen,
  Semicolon,
  Slash,
  Star,
  tokenize,
  type LexProblem,
  VALID_NUMBER,
} from '../../grammar/lexer.js';
import { decodeParseError, keoParser, type ParseErrorInfo } from '../../grammar/parser.js';
import { diag, SourceFile, type Diagnostic, type Span } from '../diagnostics/index.js';
import { LIMITS } from '../passes/limits.js';
import type { BinaryOp, Expr, Module, Statement } from './ast.js';

/** The deepest nesting of brackets, `**` chains and unary signs accepted. */
export const MAX_NESTING = 200;
/** At most this many diagnostics are returned for one source. */
const MAX_DIAGNOSTICS = 100;

export interface ParseModuleResult {
  module: Module | undefined;
  diagnostics: Diagnostic[];
}

export interface ParseFormulaResult {
  expr: Expr | undefined;
  diagnostics: Diagnostic[];
}

/** Parse a `.keo` module: statements separated by newlines or `;`. Never throws. */
export function parseModule(text: string, file = '<formula>'): ParseModuleResult {
  try {
    const r = run(String(text), file, 'module');
    if (!r.cst) return { module: undefined, diagnostics: r.diagnostics };
    const module: Module = {
      file,
      statements: r.conv.module(r.cst),
      span: r.src.span(0, r.src.text.length),
    };
    return { module, diagnostics: r.diagnostics };
  } catch (e) {
    return { module: undefined, diagnostics: [internal(e, file, text)] };
  }
}

/**
 * Parse a single expression (a formula string given to the API). Newlines are plain white space here;
 * `;` and `name = ...` are errors. Never throws.
 */
export function parseFormula(text: string, file = '<formula>'): ParseFormulaResult {
  try {
    const r = run(String(text), file, 'formula');
    if (!r.cst) return { expr: undefined, diagnostics: r.diagnostics };
    return { expr: r.conv.formula(r.cst), diagnostics: r.diagnostics };
  } catch (e) {
    return { expr: undefined, diagnostics: [internal(e, file, text)] };
  }
}

// ------------------------------------------------------------------------------------------------

interface RunResult {
  src: SourceFile;
  cst: CstNode | undefined;
  conv: Converter;
  diagnostics: Diagnostic[];
}

function run(text: string, file: string, entry: 'module' | 'formula'): RunResult {
  const src = new SourceFile(file, text);
  const conv = new Converter(src);
  if (text.length > LIMITS.sourceChars) {
    // refused before lexing: the time to say no never grows with the input
    const d = diag('SourceTooLarge', `the ${entry === 'formula' ? 'formula' : 'source'} is ${text.length} characters long; the limit is ${LIMITS.sourceChars}`, src.span(0, 0), 'split it into several kernels or files, or name repeated parts once (`a = ...`)');
    return { src, cst: undefined, conv, diagnostics: [d] };
  }
  const lexed = tokenize(text);
  let tokens = lexed.tokens;
  if (entry === 'formula') tokens = tokens.filter((t) => t.tokenType !== Newline);
  const diagnostics = lexed.problems.map((p) => lexDiagnostic(src, p));
  const done = (cst?: CstNode): RunResult => ({ src, cst, conv, diagnostics: finish(diagnostics) });

  const meaningful = tokens.filter((t) => t.tokenType !== Newline && t.tokenType !== Semicolon);
  if (meaningful.length === 0) {
    if (diagnostics.length === 0) {
      const what = entry === 'formula' ? 'the formula is empty' : 'the source is empty';
      diagnostics.push(
        diag(
          'EmptySource',
          text.trim() === '' ? what : `${what} (it holds only comments)`,
          src.span(0, 0),
          entry === 'formula'
            ? 'write a formula, e.g. Exp(-SqDist(x, y)) * b'
            : 'write a kernel, e.g. Sum_Reduction(Exp(-SqDist(x, y)) * b, 0)',
        ),
      );
    }
    return done();
  }

  // Garbage in: the lexical errors are all we report.
  if (diagnostics.length >= MAX_DIAGNOSTICS) return done();

  const tooDeep = checkNesting(tokens);
  if (tooDeep) {
    diagnostics.push(
      diag(
        'SyntaxError',
        `expression nested too deeply (more than ${MAX_NESTING} levels)`,
        tokenSpan(src, tooDeep),
        'split the formula into named definitions: `a = ...` on one line, then use `a`',
      ),
    );
    return done();
  }

  // a formula too deep for elaboration (KEO1106) is refused here, before the parser builds it
  const deep = checkDepth(tokens);
  if (deep) {
    diagnostics.push(
      diag(
        'TooDeep',
        `this formula is nested more than ${LIMITS.depth} levels deep`,
        tokenSpan(src, deep),
        'split it into named definitions (`A = ...` then use A); a chain a + b + c + ... counts one level per operator',
      ),
    );
    return done();
  }

  let cst: CstNode | undefined;
  let errors: IRecognitionException[];
  const parser = keoParser();
  try {
    parser.input = tokens;
    cst = entry === 'formula' ? parser.formula() : parser.module();
    errors = [...parser.errors];
  } catch (e) {
    if (e instanceof RangeError) {
      diagnostics.push(
        diag(
          'SyntaxError',
          'expression nested too deeply',
          src.span(0, Math.min(1, text.length)),
          'split the formula into named definitions',
        ),
      );
      return done();
    }
    throw e;
  } finally {
    parser.input = [];
  }

  const ctx = new ErrorContext(src, tokens, entry);
  // One syntax error per statement, and none in a statement that already has a lexical error.
  const statementsWithErrors = new Set<number>();
  for (const p of lexed.problems) statementsWithErrors.add(ctx.statementOfOffset(p.offset));
  for (const e of errors) {
    const idx = ctx.indexOf(e.token);
    const stmt = ctx.statementOfIndex(idx);
    if (statementsWithErrors.has(stmt)) continue;
    statementsWithErrors.add(stmt);
    diagnostics.push(ctx.describe(e, idx));
    if (diagnostics.length > MAX_DIAGNOSTICS) break;
  }
  if (diagnostics.length > 0) return done();
  return done(cst);
}

function finish(ds: Diagnostic[]): Diagnostic[] {
  const sorted = ds
    .map((d, k) => ({ d, k }))
    .sort((a, b) => (a.d.span?.start ?? 0) - (b.d.span?.start ?? 0) || a.k - b.k)
    .map((x) => x.d);
  if (sorted.length <= MAX_DIAGNOSTICS) return sorted;
  const kept = sorted.slice(0, MAX_DIAGNOSTICS);
  const last = kept[kept.length - 1]!;
  kept[kept.length - 1] = { ...last, message: `${last.message} (${sorted.length - MAX_DIAGNOSTICS} more errors not shown)` };
  return kept;
}

function internal(e: unknown, file: string, text: string): Diagnostic {
  const msg = e instanceof Error ? e.message : String(e);
  return diag('SyntaxError', `could not parse the input (${msg.slice(0, 200)})`, new SourceFile(file, String(text)).span(0, 0));
}

// --- spans and token helpers --------------------------------------------------------------------

function isEof(t: IToken | undefined): boolean {
  return !t || t.tokenType === EOF || Number.isNaN(t.startOffset);
}

function tokenSpan(src: SourceFile, t: IToken): Span {
  if (isEof(t)) return src.span(src.text.length, src.text.length);
  const end = t.endOffset !== undefined && !Number.isNaN(t.endOffset) ? t.endOffset + 1 : t.startOffset + t.image.length;
  return src.span(t.startOffset, end);
}

const OPEN: ReadonlySet<TokenType> = new Set([LParen, LBracket]);
const CLOSE: ReadonlySet<TokenType> = new Set([RParen, RBracket]);
const COMPARISONS: ReadonlySet<TokenType> = new Set(comparisonTokens);
const BINARY_ONLY: ReadonlySet<TokenType> = new Set([Star, Slash, Pow, Bar, ...comparisonTokens]);

/** Can this token end an operand (so that an operand or `(` right after it lacks an operator)? */
function endsOperand(t: IToken | undefined): boolean {
  return !!t && (t.tokenType === Identifier || t.tokenType === NumberTok || t.tokenType === RParen || t.tokenType === RBracket);
}

/** Can this token start an operand? */
function startsOperand(t: IToken | undefined): boolean {
  return !!t && (t.tokenType === Identifier || t.tokenType === NumberTok || t.tokenType === LParen || t.tokenType === LBracket);
}

function isSeparator(t: IToken | undefined): boolean {
  return !!t && (t.tokenType === Newline || t.tokenType === Semicolon);
}

function closerOf(open: IToken): string {
  return open.tokenType === LParen ? ')' : ']';
}

/** A short description of a token for messages: `'x'`, `end of input`, `end of line`. */
function describeToken(t: IToken | undefined): string {
  if (isEof(t)) return 'end of input';
  if (t!.tokenType === Newline) return 'end of line';
  const image = t!.image.length > 30 ? `${t!.image.slice(0, 27)}...` : t!.image;
  return `'${image}'`;
}

/**
 * Returns the first token at which the nesting (brackets, plus chains of `**` and unary signs, which
 * the parser and later passes handle recursively) exceeds MAX_NESTING; undefined when it never does.
 */
function checkNesting(tokens: IToken[]): IToken | undefined {
  const chains: number[] = [0];
  let total = 0;
  let prev: IToken | undefined;
  for (const t of tokens) {
    const type = t.tokenType;
    if (OPEN.has(type)) {
      chains.push(0);
    } else if (CLOSE.has(type)) {
      if (chains.length > 1) total -= chains.pop()!;
    } else if (type === Pow || ((type === Minus || type === Plus) && !endsOperand(prev))) {
      chains[chains.length - 1]!++;
      total++;
    } else if (type === Comma || BINARY_ONLY.has(type) || type === Minus || type === Plus) {
      total -= chains[chains.length - 1]!;
      chains[chains.length - 1] = 0;
    } else if (isSeparator(t)) {
      chains.length = 1;
      chains[0] = 0;
      total = 0;
    }
    if (chains.length - 1 + total > MAX_NESTING) return t;
    prev = t;
  }
  return undefined;
}

/**
 * The first token at which a lower bound of the formula's depth (as elaboration counts it: one level
 * per binary operator of a left-associative chain, per call and per list) passes LIMITS.depth; undefined
 * when it never does. One pass over the tokens with a stack of bracket frames: a chain of a million
 * additions is refused in the time it takes to read it. Signs and `**` count nothing here (their
 * chains are bounded by checkNesting), so a formula this accepts may still be refused by elaboration.
 */
function checkDepth(tokens: readonly IToken[]): IToken | undefined {
  // the open chains of the current segment, innermost first: an operand (atom), a product, a sum, a
  // scalar product, a comparison; undefined where none is open
  interface Segment {
    atom?: number;
    prod?: number;
    sum?: number;
    bar?: number;
    cmp?: number;
  }
  interface Frame {
    seg: Segment;
    nodes: boolean; // a call or a list (a level of its own), not a parenthesised expression
    args: number;
  }
  const join = (acc: number | undefined, v: number | undefined): number | undefined => (v === undefined ? acc : acc === undefined ? v : 1 + Math.max(acc, v));
  const frames: Frame[] = [];
  let seg: Segment = {};
  let prev: IToken | undefined;
  const endAtom = () => ((seg.prod = join(seg.prod, seg.atom)), (seg.atom = undefined));
  const endProd = () => (endAtom(), (seg.sum = join(seg.sum, seg.prod)), (seg.prod = undefined));
  const endSum = () => (endProd(), (seg.bar = join(seg.bar, seg.sum)), (seg.sum = undefined));
  const endBar = () => (endSum(), (seg.cmp = join(seg.cmp, seg.bar)), (seg.bar = undefined));
  const endSegment = (): number => {
    endBar();
    const v = seg.cmp ?? 0;
    seg = {};
    return v;
  };
  const operand = (d: number) => (seg.atom = seg.atom === undefined ? d : Math.max(seg.atom, d));
  const deepest = (): number => Math.max(seg.atom ?? 0, seg.prod ?? 0, seg.sum ?? 0, seg.bar ?? 0, seg.cmp ?? 0);
  for (const t of tokens) {
    const type = t.tokenType;
    if (OPEN.has(type)) {
      frames.push({ seg, nodes: type === LBracket || prev?.tokenType === Identifier, args: 0 });
      seg = {};
    } else if (CLOSE.has(type)) {
      const f = frames.pop();
      if (f) {
        const inner = Math.max(f.args, endSegment());
        seg = f.seg;
        operand(f.nodes ? 1 + inner : inner);
      }
    } else if (type === Identifier || type === NumberTok) operand(1);
    else if (type === Star || type === Slash) endAtom();
    else if ((type === Plus || type === Minus) && endsOperand(prev)) endProd();
    else if (type === Bar) endSum();
    else if (COMPARISONS.has(type)) endBar();
    else if (type === Comma) {
      const f = frames[frames.length - 1];
      const v = endSegment();
      if (f) f.args = Math.max(f.args, v);
    } else if (type === Equals || (isSeparator(t) && frames.length === 0)) {
      endSegment();
      frames.length = 0;
    }
    if (deepest() > LIMITS.depth) return t;
    prev = t;
  }
  return undefined;
}

// --- lexical diagnostics ------------------------------------------------------------------------

const CHAR_HINTS: Record<string, [string, string]> = {
  '^': ["'^' is not an operator; use '**' for powers", 'write x**2, or Powf(x, y) for a non-integer exponent'],
  '&': ["'&' is not an operator", 'comparisons give 0 or 1: combine them with *, e.g. (a < b) * (c < d)'],
  '%': ["'%' is not an operator", 'use Mod(x, n, 0) for a remainder'],
  '!': ["'!' is not an operator", "use '!=' for 'not equal'"],
  '@': ["'@' is not an operator", 'use MatVecMult, VecMatMult or TensorDot for matrix products'],
  '.': ["unexpected '.'", "names have no attributes or methods: call ops as functions, e.g. Sum(x); write numbers as 0.5"],
  '{': ["unexpected '{'", "use '(' ')' to group and '[' ']' for lists"],
  '}': ["unexpected '}'", "use '(' ')' to group and '[' ']' for lists"],
  '"': ['unexpected \'"\'', 'formulas have no strings: write names and numbers without quotes'],
  "'": ["unexpected \"'\"", 'formulas have no strings: write names and numbers without quotes'],
  '\\': ["unexpected '\\'", 'a formula continues on the next line when it is inside ( ) or [ ]'],
  ':': ["unexpected ':'", "declare variables with '=', e.g. x = Vi(0, 3)"],
  '\u2212': ["unexpected '\u2212' (Unicode minus sign)", "use the ASCII '-'"],
  '\u00d7': ["unexpected '\u00d7' (Unicode multiplication sign)", "use the ASCII '*'"],
  '\u00f7': ["unexpected '\u00f7' (Unicode division sign)", "use the ASCII '/'"],
};

function printable(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out += c < 0x20 || c === 0x7f || (c >= 0x80 && c < 0xa0) || c === 0xfffd || (c >= 0xd800 && c < 0xe000)
      ? `U+${c.toString(16).toUpperCase().padStart(4, '0')}`
      : ch;
  }
  return out;
}

function lexDiagnostic(src: SourceFile, p: LexProblem): Diagnostic {
  const span = src.span(p.offset, p.offset + p.length);
  if (p.kind === 'InvalidNumber') {
    const t = p.text;
    if (VALID_NUMBER.test(t)) return diag('InvalidNumber', `number '${t}' is too large`, span, 'numbers must be finite in double precision (below about 1.8e308)');
    let hint = 'numbers are written like 3, 0.5, .5, 2. or 1e-3';
    const m = /^(\d+(?:\.\d*)?|\.\d+)([A-Za-z_][A-Za-z0-9_]*)$/.exec(t);
    if (m && !/^[eE]\d*$/.test(m[2]!)) hint = `a name cannot start with a digit; to multiply, write ${m[1]}*${m[2]}`;
    else if ((t.match(/\./g) ?? []).length > 1) hint = "a number has at most one '.'";
    else if (/[eE][+-]?$/.test(t)) hint = 'an exponent needs digits, e.g. 1e3 or 1e-3';
    return diag('InvalidNumber', `invalid number '${printable(t)}'`, span, hint);
  }
  const first = p.text[0] ?? '';
  const known = p.text.length === 1 || [...p.text].every((c) => c === first) ? CHAR_HINTS[first] : undefined;
  if (known) return diag('UnexpectedCharacter', known[0], span, known[1]);
  const chars = [...p.text];
  const what = chars.length === 1 ? 'character' : 'characters';
  const cut = chars.length > 20 ? chars.slice(0, 20) : chars;
  const plain = cut.every((c) => printable(c) === c);
  const shown = plain ? `'${cut.join('')}${cut.length < chars.length ? '...' : ''}'` : cut.map(printable).join(' ') + (cut.length < chars.length ? ' ...' : '');
  let hint: string | undefined;
  // eslint-disable-next-line no-control-regex -- the ASCII range, on purpose
  if (/[^\x00-\x7f]/.test(p.text)) {
    hint = /\p{L}/u.test(p.text)
      ? "names use only ASCII letters, digits and '_'"
      : /\s/u.test(p.text)
        ? 'replace it with a plain space'
        : 'formulas are written in ASCII';
  }
  return diag('UnexpectedCharacter', `unexpected ${what} ${shown}`, span, hint);
}

// --- syntax diagnostics -------------------------------------------------------------------------

class ErrorContext {
  private readonly byOffset = new Map<number, number>();
  /** sepsBefore[k] = number of separator tokens among tokens[0..k-1]. */
  private readonly sepsBefore: number[] = [0];

  constructor(
    private readonly src: SourceFile,
    private readonly tokens: IToken[],
    private readonly entry: 'module' | 'formula',
  ) {
    tokens.forEach((t, k) => {
      this.byOffset.set(t.startOffset, k);
      this.sepsBefore.push(this.sepsBefore[k]! + (isSeparator(t) ? 1 : 0));
    });
  }

  /** Index of a token in the token vector; tokens.length for EOF (or anything unknown). */
  indexOf(t: IToken | undefined): number {
    if (isEof(t)) return this.tokens.length;
    return this.byOffset.get(t!.startOffset) ?? this.tokens.length;
  }

  statementOfIndex(idx: number): number {
    return this.sepsBefore[Math.min(idx, this.tokens.length)]!;
  }

  statementOfOffset(offset: number): number {
    // index of the first token starting at or after offset
    let lo = 0;
    let hi = this.tokens.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.tokens[mid]!.startOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return this.sepsBefore[lo]!;
  }

  /** The innermost bracket still open just before token `idx`, within its statement. */
  private openBracket(idx: number): IToken | undefined {
    const stack: IToken[] = [];
    for (let k = 0; k < idx && k < this.tokens.length; k++) {
      const t = this.tokens[k]!;
      if (isSeparator(t)) stack.length = 0;
      else if (OPEN.has(t.tokenType)) stack.push(t);
      else if (CLOSE.has(t.tokenType)) stack.pop();
    }
    return stack[stack.length - 1];
  }

  /** Tokens of the current statement before idx, at the same bracket depth as idx. */
  private sameLevelBefore(idx: number): IToken[] {
    const out: IToken[] = [];
    let depth = 0;
    for (let k = idx - 1; k >= 0; k--) {
      const t = this.tokens[k]!;
      if (isSeparator(t)) break;
      if (CLOSE.has(t.tokenType)) depth++;
      else if (OPEN.has(t.tokenType)) {
        if (depth === 0) break;
        depth--;
      } else if (depth === 0) out.push(t);
    }
    return out;
  }

  /** Tokens of the current statement before idx. */
  private statementBefore(idx: number): IToken[] {
    const out: IToken[] = [];
    for (let k = idx - 1; k >= 0 && !isSeparator(this.tokens[k]); k--) out.push(this.tokens[k]!);
    return out;
  }

  /** `* x` at the start of an expression: a binary operator with nothing on its left. */
  private missingLeft(t: IToken | undefined, prev: IToken | undefined): Diagnostic | undefined {
    if (!t || !BINARY_ONLY.has(t.tokenType)) return undefined;
    if (prev && !isSeparator(prev) && !OPEN.has(prev.tokenType) && prev.tokenType !== Comma && prev.tokenType !== Equals) return undefined;
    return diag('SyntaxError', `expected an expression before '${t.image}'`, this.span(t), `'${t.image}' needs an operand on each side`);
  }

  private at(line: IToken): string {
    const { line: l, col } = this.src.position(line.startOffset);
    return `${l}:${col}`;
  }

  private span(t: IToken | undefined): Span {
    return tokenSpan(this.src, t ?? ({ tokenType: EOF, startOffset: NaN } as IToken));
  }

  /** A span just after `prev` (or at the end of input). */
  private after(prev: IToken | undefined): Span {
    if (!prev) return this.src.span(this.src.text.length, this.src.text.length);
    const s = tokenSpan(this.src, prev);
    return this.src.span(s.end, s.end);
  }

  describe(e: IRecognitionException, idx: number): Diagnostic {
    const info: ParseErrorInfo = decodeParseError(e.message) ?? { kind: 'noViableAlt', rule: '?' };
    const t = idx < this.tokens.length ? this.tokens[idx] : undefined;
    const prev = idx > 0 ? this.tokens[idx - 1] : undefined;
    const eof = t === undefined;
    const type = t?.tokenType;
    const found = describeToken(t);
    const open = this.openBracket(idx);

    // `a < b < c`: a comparison right after a complete comparison.
    if (type && COMPARISONS.has(type) && endsOperand(prev) && info.kind !== 'noViableAlt') {
      const earlier = this.sameLevelBefore(idx).find((x) => COMPARISONS.has(x.tokenType));
      return diag(
        'ChainedComparison',
        earlier
          ? `comparisons cannot be chained: '${t!.image}' follows '${earlier.image}' at ${this.at(earlier)}`
          : `comparisons cannot be chained: unexpected '${t!.image}'`,
        this.span(t),
        'compare two values at a time; comparisons give 0 or 1, so (a < b) * (b < c) means both hold',
      );
    }

    if (type === Equals) return this.unexpectedEquals(t!, prev, open);

    const expectsCloser = info.kind === 'mismatch' && (info.expected === 'RParen' || info.expected === 'RBracket');
    if (expectsCloser && open) {
      const closer = closerOf(open);
      const listLike = open.tokenType === LBracket || (this.tokens[this.indexOf(open) - 1]?.tokenType === Identifier);
      const nonEmpty = prev !== open;
      const expected = listLike && nonEmpty ? `',' or '${closer}'` : `'${closer}'`;
      const message = `expected ${expected} to close '${open.image}' opened at ${this.at(open)}, found ${found}`;
      if (eof || isSeparator(t)) {
        return diag('UnclosedBracket', message, this.span(open), `add the missing '${closer}'`);
      }
      if (type === Comma && (prev === open || prev?.tokenType === Comma)) {
        return diag('SyntaxError', "expected an expression before ','", this.span(t), 'remove the extra comma');
      }
      let hint: string | undefined;
      if (startsOperand(t) && endsOperand(prev)) {
        hint = listLike ? "separate arguments with ','" : "insert an operator, e.g. '*'";
      } else if (type && CLOSE.has(type)) {
        hint = `'${t!.image}' does not match '${open.image}'`;
      }
      return diag('SyntaxError', message, this.span(t), hint);
    }

    if (info.kind === 'mismatch' && info.expected === 'EOF') {
      // A complete statement followed by something that cannot continue it.
      if (type && CLOSE.has(type)) {
        return diag(
          'SyntaxError',
          `unmatched '${t!.image}'`,
          this.span(t),
          `remove it, or add the matching '${type === RParen ? '(' : '['}' before it`,
        );
      }
      const left = this.missingLeft(t, prev);
      if (left) return left;
      if (type === Semicolon) {
        return diag('SyntaxError', "unexpected ';'", this.span(t), 'a formula is a single expression; use a .keo module for several statements');
      }
      if (type === Comma) {
        return diag('SyntaxError', "unexpected ','", this.span(t), "',' separates arguments inside ( ) or [ ] only");
      }
      if (startsOperand(t) && endsOperand(prev)) {
        return diag(
          'SyntaxError',
          `unexpected ${found} after ${describeToken(prev)}: missing operator`,
          this.span(t),
          this.entry === 'module'
            ? "insert an operator, e.g. '*', or start a new statement on a new line or after ';'"
            : "insert an operator, e.g. '*'",
        );
      }
      return diag('SyntaxError', `unexpected ${found}`, this.span(t));
    }

    // Otherwise an expression was expected at t.
    if (eof) {
      return diag(
        'UnexpectedEnd',
        prev ? `unexpected end of input: expected an expression after ${describeToken(prev)}` : 'unexpected end of input',
        this.after(prev),
        open ? `'${open.image}' opened at ${this.at(open)} is also still open` : undefined,
      );
    }
    if (isSeparator(t)) {
      const where = prev && !isSeparator(prev) ? ` after ${describeToken(prev)}` : '';
      return diag(
        'SyntaxError',
        `expected an expression${where}, found ${found}`,
        this.span(t),
        type === Newline ? 'to continue a formula on the next line, put it inside ( )' : undefined,
      );
    }
    if (type && CLOSE.has(type) && !open) {
      return diag('SyntaxError', `unmatched '${t!.image}'`, this.span(t), `add the matching '${type === RParen ? '(' : '['}' before it, or remove it`);
    }
    if (type && CLOSE.has(type) && prev === open) {
      return diag('SyntaxError', `empty '${open!.image}${t!.image}': expected an expression inside`, this.span(t));
    }
    const left = this.missingLeft(t, prev);
    if (left) return left;
    const where = prev && !isSeparator(prev) ? ` after ${describeToken(prev)}` : '';
    return diag('SyntaxError', `expected an expression${where}, found ${found}`, this.span(t));
  }

  private unexpectedEquals(t: IToken, prev: IToken | undefined, open: IToken | undefined): Diagnostic {
    let hint = this.entry === 'formula' ? "a formula is one expression, with no '=' in it; use '==' to compare" : "use '==' to compare";
    if (open && prev?.tokenType === Identifier) {
      hint = "ops take no keyword arguments: pass the value alone; use '==' to compare";
    } else if (!open && this.entry === 'module') {
      const before = this.statementBefore(this.indexOf(t));
      if (before.some((x) => x.tokenType === Equals)) hint = "a statement has one '=': `name = formula`; use '==' to compare";
      else if (before.length > 1 || (before.length === 1 && before[0]!.tokenType !== Identifier)) {
        hint = "only a plain name can be assigned: `name = formula`; use '==' to compare";
      }
    }
    return diag('SyntaxError', "unexpected '='", this.span(t), hint);
  }
}

// --- CST → AST ----------------------------------------------------------------------------------

/** An expression with its outer extent (which includes enclosing parentheses and unary plus signs). */
interface Ext {
  e: Expr;
  start: number;
  end: number;
}

function nodes(n: CstNode, key: string): CstNode[] {
  return (n.children[key] ?? []) as CstNode[];
}
function toks(n: CstNode, key: string): IToken[] {
  return (n.children[key] ?? []) as IToken[];
}
function one<T>(xs: T[], what: string): T {
  const x = xs[0];
  if (!x) throw new Error(`malformed syntax tree: missing ${what}`);
  return x;
}

class Converter {
  constructor(private readonly src: SourceFile) {}

  private tokStart(t: IToken): number {
    return t.startOffset;
  }
  private tokEnd(t: IToken): number {
    return t.endOffset !== undefined && !Number.isNaN(t.endOffset) ? t.endOffset + 1 : t.startOffset + t.image.length;
  }
  private span(start: number, end: number): Span {
    return this.src.span(start, end);
  }

  module(cst: CstNode): Statement[] {
    return nodes(cst, 'statement').map((s) => this.statement(s));
  }

  formula(cst: CstNode): Expr {
    return this.expression(one(nodes(cst, 'expression'), 'expression')).e;
  }

  private statement(n: CstNode): Statement {
    const a = nodes(n, 'assignment')[0];
    if (a) {
      const name = one(toks(a, 'Identifier'), 'name');
      const v = this.expression(one(nodes(a, 'expression'), 'expression'));
      return {
        kind: 'assign',
        name: name.image,
        nameSpan: this.span(this.tokStart(name), this.tokEnd(name)),
        value: v.e,
        span: this.span(this.tokStart(name), v.end),
      };
    }
    const v = this.expression(one(nodes(n, 'expression'), 'expression'));
    return { kind: 'expr', value: v.e, span: this.span(v.start, v.end) };
  }

  private binary(op: BinaryOp, opTok: IToken, l: Ext, r: Ext): Ext {
    return {
      e: {
        kind: 'binary',
        op,
        left: l.e,
        right: r.e,
        opSpan: this.span(this.tokStart(opTok), this.tokEnd(opTok)),
        span: this.span(l.start, r.end),
      },
      start: l.start,
      end: r.end,
    };
  }

  /** A left-associative chain: operands[0] op[0] operands[1] op[1] ... */
  private chain(operands: Ext[], ops: IToken[]): Ext {
    let acc = one(operands, 'operand');
    if (operands.length !== ops.length + 1) throw new Error('malformed syntax tree: operands and operators do not alternate');
    for (let k = 0; k < ops.length; k++) acc = this.binary(ops[k]!.image as BinaryOp, ops[k]!, acc, operands[k + 1]!);
    return acc;
  }

  private expression(n: CstNode): Ext {
    return this.chain(nodes(n, 'scalprod').map((x) => this.scalprod(x)), toks(n, 'op'));
  }
  private scalprod(n: CstNode): Ext {
    return this.chain(nodes(n, 'sum').map((x) => this.sum(x)), toks(n, 'op'));
  }
  private sum(n: CstNode): Ext {
    return this.chain(nodes(n, 'product').map((x) => this.product(x)), toks(n, 'op'));
  }
  private product(n: CstNode): Ext {
    return this.chain(nodes(n, 'unary').map((x) => this.unary(x)), toks(n, 'op'));
  }

  private unary(n: CstNode): Ext {
    let acc = this.power(one(nodes(n, 'power'), 'operand'));
    const signs = toks(n, 'sign');
    for (let k = signs.length - 1; k >= 0; k--) {
      const s = signs[k]!;
      const start = this.tokStart(s);
      acc =
        s.tokenType === Minus
          ? { e: { kind: 'unary', op: '-', operand: acc.e, span: this.span(start, acc.end) }, start, end: acc.end }
          : { e: acc.e, start, end: acc.end };
    }
    return acc;
  }

  private power(n: CstNode): Ext {
    const base = this.primary(one(nodes(n, 'primary'), 'operand'));
    const op = toks(n, 'op')[0];
    if (!op) return base;
    return this.binary('**', op, base, this.unary(one(nodes(n, 'unary'), 'exponent')));
  }

  private primary(n: CstNode): Ext {
    const num = toks(n, 'Number')[0];
    if (num) {
      const start = this.tokStart(num);
      const end = this.tokEnd(num);
      return {
        e: { kind: 'number', value: Number(num.image), text: num.image, isInt: /^\d+$/.test(num.image), span: this.span(start, end) },
        start,
        end,
      };
    }
    const id = toks(n, 'Identifier')[0];
    if (id) {
      const start = this.tokStart(id);
      const end = this.tokEnd(id);
      return { e: { kind: 'name', name: id.image, span: this.span(start, end) }, start, end };
    }
    const call = nodes(n, 'call')[0];
    if (call) {
      const callee = one(toks(call, 'Identifier'), 'callee');
      const start = this.tokStart(callee);
      const end = this.tokEnd(one(toks(call, 'RParen'), "')'"));
      const args = this.arguments(nodes(call, 'arguments')[0]);
      return {
        e: {
          kind: 'call',
          callee: callee.image,
          calleeSpan: this.span(start, this.tokEnd(callee)),
          args,
          span: this.span(start, end),
        },
        start,
        end,
      };
    }
    const par = nodes(n, 'parenthesized')[0];
    if (par) {
      const inner = this.expression(one(nodes(par, 'expression'), 'expression'));
      return {
        e: inner.e,
        start: this.tokStart(one(toks(par, 'LParen'), "'('")),
        end: this.tokEnd(one(toks(par, 'RParen'), "')'")),
      };
    }
    const list = one(nodes(n, 'list'), 'operand');
    const start = this.tokStart(one(toks(list, 'LBracket'), "'['"));
    const end = this.tokEnd(one(toks(list, 'RBracket'), "']'"));
    return { e: { kind: 'list', items: this.arguments(nodes(list, 'arguments')[0]), span: this.span(start, end) }, start, end };
  }

  private arguments(n: CstNode | undefined): Expr[] {
    if (!n) return [];
    return nodes(n, 'expression').map((x) => this.expression(x).e);
  }
}
