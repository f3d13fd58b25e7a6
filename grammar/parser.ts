/**
 * The grammar of the keopsc formula language, as a Chevrotain CstParser: pure grammar, no embedded
 * actions. src/syntax/parse.ts turns the CST into the AST of src/syntax/ast.ts and the parser's
 * errors into Diagnostics. grammar/keo.ebnf and grammar/diagrams.html are generated from this file
 * (`npm run grammar`).
 *
 * Precedence, loosest first (as in Python): comparisons (non-chaining), `|`, `+ -`, `* /`,
 * unary `- +`, `**` (right-associative; its right operand is a unary expression).
 */
import { CstParser, EOF, type IParserErrorMessageProvider } from 'chevrotain';
import {
  allTokens,
  Bar,
  Comma,
  EqEq,
  Equals,
  Greater,
  GreaterEq,
  Identifier,
  LBracket,
  Less,
  LessEq,
  LParen,
  Minus,
  Newline,
  NotEq,
  NumberTok,
  Plus,
  Pow,
  RBracket,
  RParen,
  Semicolon,
  Slash,
  Star,
} from './lexer.js';

/**
 * What a parser error is about, JSON-encoded in the error's message so that src/syntax/parse.ts can
 * write a precise message of its own (Chevrotain's are generic).
 */
export interface ParseErrorInfo {
  kind: 'mismatch' | 'noViableAlt' | 'earlyExit' | 'notAllInput';
  /** For `mismatch`: the name of the expected token type. */
  expected?: string;
  /** The rule being parsed. */
  rule: string;
}

const encode = (info: ParseErrorInfo): string => JSON.stringify(info);

/** Decode the message of a parser error made by this parser; undefined for any other message. */
export function decodeParseError(message: string): ParseErrorInfo | undefined {
  try {
    const v = JSON.parse(message) as unknown;
    if (v && typeof v === 'object' && 'kind' in v && 'rule' in v) return v as ParseErrorInfo;
  } catch {
    /* not ours */
  }
  return undefined;
}

const errorMessageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, ruleName }) => encode({ kind: 'mismatch', expected: expected.name, rule: ruleName }),
  buildNotAllInputParsedMessage: ({ ruleName }) => encode({ kind: 'notAllInput', rule: ruleName }),
  buildNoViableAltMessage: ({ ruleName }) => encode({ kind: 'noViableAlt', rule: ruleName }),
  buildEarlyExitMessage: ({ ruleName }) => encode({ kind: 'earlyExit', rule: ruleName }),
};

export class KeoParser extends CstParser {
  /**
   * @param options.validate run Chevrotain's grammar validations (ambiguities, left recursion, ...)
   * while building the parser: a third of the build time, so the shared {@link keoParser} skips them
   * and the grammar tests build a validated parser.
   */
  constructor(options: { validate?: boolean } = {}) {
    super(allTokens, { recoveryEnabled: true, maxLookahead: 3, errorMessageProvider, skipValidations: !options.validate });
    this.performSelfAnalysis();
  }

  /** module := [statement] { (Newline | ';') [statement] } EOF */
  public module = this.RULE('module', () => {
    this.OPTION(() => this.SUBRULE(this.statement));
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(Newline) }, { ALT: () => this.CONSUME(Semicolon) }]);
      this.OPTION2(() => this.SUBRULE2(this.statement));
    });
    this.CONSUME(EOF);
  });

  /** One formula (used for formula strings given to the API): expression EOF. */
  public formula = this.RULE('formula', () => {
    this.SUBRULE(this.expression);
    this.CONSUME(EOF);
  });

  /** statement := assignment | expression (told apart by two tokens of lookahead: `name =`). */
  public statement = this.RULE('statement', () => {
    this.OR([{ ALT: () => this.SUBRULE(this.assignment) }, { ALT: () => this.SUBRULE(this.expression) }]);
  });

  public assignment = this.RULE('assignment', () => {
    this.CONSUME(Identifier);
    this.CONSUME(Equals);
    this.SUBRULE(this.expression);
  });

  /** Comparisons do not chain: `a < b < c` is an error. */
  public expression = this.RULE('expression', () => {
    this.SUBRULE(this.scalprod);
    this.OPTION(() => {
      this.OR([
        { ALT: () => this.CONSUME(Less, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(LessEq, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(Greater, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(GreaterEq, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(EqEq, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(NotEq, { LABEL: 'op' }) },
      ]);
      this.SUBRULE2(this.scalprod);
    });
  });

  /** `f | g`: scalar product, left-associative. */
  public scalprod = this.RULE('scalprod', () => {
    this.SUBRULE(this.sum);
    this.MANY(() => {
      this.CONSUME(Bar, { LABEL: 'op' });
      this.SUBRULE2(this.sum);
    });
  });

  public sum = this.RULE('sum', () => {
    this.SUBRULE(this.product);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Plus, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(Minus, { LABEL: 'op' }) },
      ]);
      this.SUBRULE2(this.product);
    });
  });

  public product = this.RULE('product', () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Star, { LABEL: 'op' }) },
        { ALT: () => this.CONSUME(Slash, { LABEL: 'op' }) },
      ]);
      this.SUBRULE2(this.unary);
    });
  });

  /** Prefix signs; `-x**2` is `-(x**2)` because `**` is parsed below. */
  public unary = this.RULE('unary', () => {
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(Minus, { LABEL: 'sign' }) },
        { ALT: () => this.CONSUME(Plus, { LABEL: 'sign' }) },
      ]);
    });
    this.SUBRULE(this.power);
  });

  /** `a ** b`, right-associative; the exponent is a unary expression (`x**-2`). */
  public power = this.RULE('power', () => {
    this.SUBRULE(this.primary);
    this.OPTION(() => {
      this.CONSUME(Pow, { LABEL: 'op' });
      this.SUBRULE(this.unary);
    });
  });

  public primary = this.RULE('primary', () => {
    this.OR([
      { ALT: () => this.CONSUME(NumberTok) },
      { ALT: () => this.SUBRULE(this.call) },
      { ALT: () => this.CONSUME(Identifier) },
      { ALT: () => this.SUBRULE(this.parenthesized) },
      { ALT: () => this.SUBRULE(this.list) },
    ]);
  });

  public call = this.RULE('call', () => {
    this.CONSUME(Identifier);
    this.CONSUME(LParen);
    this.OPTION(() => this.SUBRULE(this.arguments));
    this.CONSUME(RParen);
  });

  /** Comma-separated expressions, with an optional trailing comma. */
  public arguments = this.RULE('arguments', () => {
    this.SUBRULE(this.expression);
    this.MANY(() => {
      this.CONSUME(Comma);
      this.SUBRULE2(this.expression);
    });
    this.OPTION(() => this.CONSUME2(Comma));
  });

  public parenthesized = this.RULE('parenthesized', () => {
    this.CONSUME(LParen);
    this.SUBRULE(this.expression);
    this.CONSUME(RParen);
  });

  public list = this.RULE('list', () => {
    this.CONSUME(LBracket);
    this.OPTION(() => this.SUBRULE(this.arguments));
    this.CONSUME(RBracket);
  });
}

let shared: KeoParser | undefined;
/**
 * The one parser instance (Chevrotain parsers are meant to be reused: set `input`, call a rule), built
 * on first use: a command that parses nothing (`keopsc --version`) does not pay for it.
 */
export function keoParser(): KeoParser {
  return (shared ??= new KeoParser());
}
