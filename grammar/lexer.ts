/**
 * The tokens of the keopsc formula language (`.keo` modules and formula strings), and `tokenize`,
 * which runs the Chevrotain lexer and post-processes its token vector:
 *
 * - `^` (a common mistake for `**`) is reported and replaced by a `**` token so parsing goes on;
 * - Newline tokens inside `( )` or `[ ]` are dropped, so a formula may span lines inside brackets
 *   (a line that starts with `name =` ends an unclosed bracket: it cannot continue an expression);
 * - runs of separators (Newline, `;`) are collapsed into one token.
 *
 * The lexer knows nothing about diagnostics: it returns plain `LexProblem`s that src/syntax/parse.ts
 * turns into Diagnostics.
 */
import { createToken, createTokenInstance, Lexer, type IToken, type TokenType } from 'chevrotain';

// Every token with a RegExp pattern lists the characters its matches can start with
// (`start_chars_hint`): the lexer's first-character dispatch table then needs no analysis of the
// patterns, which is most of the lexer's build time (keopsc check's start-up). test/grammar.test.ts
// checks each list against its pattern.

// --- skipped ---------------------------------------------------------------------------------
export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\f\v\uFEFF]+/, start_chars_hint: [' ', '\t', '\r', '\f', '\v', '\uFEFF'], group: Lexer.SKIPPED });
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, start_chars_hint: ['#'], group: Lexer.SKIPPED });

// --- separators ------------------------------------------------------------------------------
export const Newline = createToken({ name: 'Newline', pattern: /\n/, start_chars_hint: ['\n'], label: 'Newline' });
export const Semicolon = createToken({ name: 'Semicolon', pattern: ';', label: "';'" });

// --- literals and names ----------------------------------------------------------------------
/**
 * A number-looking run: it starts with a digit (or `.` and a digit) and takes every letter, digit, `_`
 * and `.` after it (and a sign right after an exponent letter), so `2x`, `1.2.3` and `1e` are one token,
 * reported as an invalid number by `tokenize` rather than split into confusing pieces.
 * A valid literal matches VALID_NUMBER.
 */
export const NumberTok = createToken({
  name: 'Number',
  pattern: /(?:\d|\.\d)(?:[eE][+-]\d|[A-Za-z0-9_.])*/,
  start_chars_hint: [...'0123456789.'],
});
/** The form of a valid numeric literal: digits with an optional fraction and exponent, or `.5`. */
export const VALID_NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, start_chars_hint: [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_'] });

// --- operators (longest first where one is a prefix of another) -----------------------------
export const Pow = createToken({ name: 'Pow', pattern: '**', label: "'**'" });
export const Star = createToken({ name: 'Star', pattern: '*', label: "'*'" });
export const Slash = createToken({ name: 'Slash', pattern: '/', label: "'/'" });
export const Plus = createToken({ name: 'Plus', pattern: '+', label: "'+'" });
export const Minus = createToken({ name: 'Minus', pattern: '-', label: "'-'" });
export const Bar = createToken({ name: 'Bar', pattern: '|', label: "'|'" });
export const LessEq = createToken({ name: 'LessEq', pattern: '<=', label: "'<='" });
export const Less = createToken({ name: 'Less', pattern: '<', label: "'<'" });
export const GreaterEq = createToken({ name: 'GreaterEq', pattern: '>=', label: "'>='" });
export const Greater = createToken({ name: 'Greater', pattern: '>', label: "'>'" });
export const EqEq = createToken({ name: 'EqEq', pattern: '==', label: "'=='" });
export const NotEq = createToken({ name: 'NotEq', pattern: '!=', label: "'!='" });
export const Equals = createToken({ name: 'Equals', pattern: '=', label: "'='" });

// --- punctuation -----------------------------------------------------------------------------
export const LParen = createToken({ name: 'LParen', pattern: '(', label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: ')', label: "')'" });
export const LBracket = createToken({ name: 'LBracket', pattern: '[', label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: ']', label: "']'" });
export const Comma = createToken({ name: 'Comma', pattern: ',', label: "','" });

/** Every token type, in lexing priority order. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  Newline,
  Semicolon,
  NumberTok,
  Identifier,
  Pow,
  Star,
  Slash,
  Plus,
  Minus,
  Bar,
  LessEq,
  Less,
  GreaterEq,
  Greater,
  EqEq,
  NotEq,
  Equals,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Comma,
];

/** The comparison operator tokens (non-associative, loosest binding). */
export const comparisonTokens: TokenType[] = [Less, LessEq, Greater, GreaterEq, EqEq, NotEq];

/**
 * The tokens whose text varies, described in EBNF for the grammar reference (grammar/keo.ebnf).
 * The lexer patterns above are the truth; test/grammar.test.ts checks examples against both.
 */
export const tokenDocs: ReadonlyArray<{ name: string; ebnf: string; doc: string }> = [
  { name: 'Identifier', ebnf: 'letter { letter | digit }', doc: 'an op, a variable or a definition' },
  {
    name: 'Number',
    ebnf: '( digit { digit } [ "." { digit } ] | "." digit { digit } ) [ ( "e" | "E" ) [ "+" | "-" ] digit { digit } ]',
    doc: '3, 0.5, .5, 2., 1e-3',
  },
  { name: 'Newline', ebnf: '? a line feed ?', doc: 'ends a statement' },
  { name: 'letter', ebnf: '"A" | ... | "Z" | "a" | ... | "z" | "_"', doc: 'ASCII only' },
  { name: 'digit', ebnf: '"0" | ... | "9"', doc: '' },
];

/**
 * A lexer of the language. `positionTracking: 'onlyOffset'`: spans are computed from offsets by
 * SourceFile. `validate` runs Chevrotain's token validations (the grammar tests do; the shared
 * {@link keoLexer} skips them, which halves its start-up).
 */
export function createKeoLexer(validate = false): Lexer {
  return new Lexer(allTokens, { positionTracking: 'onlyOffset', ensureOptimizations: false, skipValidations: !validate });
}

let shared: Lexer | undefined;
/** The lexer, built without validations (see {@link createKeoLexer}) on first use, then reused. */
export function keoLexer(): Lexer {
  return (shared ??= createKeoLexer());
}

/** A lexing problem, turned into a Diagnostic by src/syntax/parse.ts. */
export interface LexProblem {
  kind: 'UnexpectedCharacter' | 'InvalidNumber';
  /** Offset of the first offending character. */
  offset: number;
  /** Number of offending characters (UTF-16 code units). */
  length: number;
  /** The offending text. */
  text: string;
}

export interface TokenizeResult {
  /** The post-processed tokens (no skipped tokens, no Newline inside brackets, no repeated separators). */
  tokens: IToken[];
  problems: LexProblem[];
}

function isSeparator(t: IToken): boolean {
  return t.tokenType === Newline || t.tokenType === Semicolon;
}

function makeToken(type: TokenType, image: string, start: number, end: number): IToken {
  return createTokenInstance(type, image, start, end, NaN, NaN, NaN, NaN);
}

/** Lex `text` and post-process the token vector (see the module comment). Never throws. */
export function tokenize(text: string): TokenizeResult {
  const res = keoLexer().tokenize(text);
  const problems: LexProblem[] = [];
  const raw: IToken[] = [];
  const errors = [...res.errors].sort((a, b) => a.offset - b.offset);
  let e = 0;
  const pushErrorsBefore = (offset: number): void => {
    while (e < errors.length && errors[e]!.offset < offset) {
      const err = errors[e++]!;
      const bad = text.slice(err.offset, err.offset + err.length);
      problems.push({ kind: 'UnexpectedCharacter', offset: err.offset, length: err.length, text: bad });
      // `^` is a frequent slip for `**`: report it and lex it as `**` so the rest parses as meant.
      if (bad === '^') raw.push(makeToken(Pow, '**', err.offset, err.offset));
    }
  };
  for (const t of res.tokens) {
    pushErrorsBefore(t.startOffset);
    if (t.tokenType === NumberTok && (!VALID_NUMBER.test(t.image) || !Number.isFinite(Number(t.image)))) {
      problems.push({ kind: 'InvalidNumber', offset: t.startOffset, length: t.image.length, text: t.image });
    }
    raw.push(t);
  }
  pushErrorsBefore(Infinity);

  // Drop newlines inside brackets; a newline followed by `name =` (an assignment, which cannot occur
  // inside brackets) is kept and closes every open bracket for the purpose of this pass.
  const tokens: IToken[] = [];
  let depth = 0;
  for (let k = 0; k < raw.length; k++) {
    const t = raw[k]!;
    const type = t.tokenType;
    if (type === LParen || type === LBracket) depth++;
    else if (type === RParen || type === RBracket) depth = Math.max(0, depth - 1);
    else if (type === Newline && depth > 0) {
      let n = k + 1;
      while (n < raw.length && raw[n]!.tokenType === Newline) n++;
      const a = raw[n];
      const b = raw[n + 1];
      if (a?.tokenType === Identifier && b?.tokenType === Equals) depth = 0;
      else continue;
    }
    if (isSeparator(t) && tokens.length > 0 && isSeparator(tokens[tokens.length - 1]!)) continue;
    tokens.push(t);
  }
  return { tokens, problems };
}
