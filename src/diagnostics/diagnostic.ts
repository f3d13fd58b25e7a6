import { DIAGNOSTICS, type DiagnosticKind } from './catalogue.js';

/** A half-open character range [start, end) in one source text, with 1-based line/column of start. */
export interface Span {
  /** File name as shown to the user (`<formula>` for strings given to the API). */
  file: string;
  /** Offset of the first character. */
  start: number;
  /** Offset one past the last character. */
  end: number;
  /** 1-based line of `start`. */
  line: number;
  /** 1-based column of `start`. */
  col: number;
}

/** One user-facing problem: a stable code, a message, an optional hint and where it is. */
export interface Diagnostic {
  code: string;
  kind: DiagnosticKind;
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
  span?: Span;
}

/** Build a diagnostic from the catalogue. */
export function diag(kind: DiagnosticKind, message: string, span?: Span, hint?: string): Diagnostic {
  const d: Diagnostic = { code: DIAGNOSTICS[kind].code, kind, severity: 'error', message };
  if (span) d.span = span;
  if (hint) d.hint = hint;
  return d;
}

/** Map offsets of a source text to 1-based line/column pairs. */
export class SourceFile {
  private readonly lineStarts: number[] = [0];
  constructor(readonly name: string, readonly text: string) {
    for (let k = 0; k < text.length; k++) if (text.charCodeAt(k) === 10) this.lineStarts.push(k + 1);
  }
  /** 1-based line and column of an offset. */
  position(offset: number): { line: number; col: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - this.lineStarts[lo]! + 1 };
  }
  /** The text of a 1-based line, without its newline. */
  lineText(line: number): string {
    const s = this.lineStarts[line - 1] ?? this.text.length;
    const e = line < this.lineStarts.length ? this.lineStarts[line]! - 1 : this.text.length;
    return this.text.slice(s, e).replace(/\r$/, '');
  }
  get lineCount(): number {
    return this.lineStarts.length;
  }
  /** A span for [start, end). */
  span(start: number, end: number): Span {
    const { line, col } = this.position(start);
    return { file: this.name, start, end: Math.max(end, start), line, col };
  }
}

/** Marks every {@link KeopsError}, whichever copy of keopsc made it (see {@link isKeopsError}). */
const KEOPS_ERROR = Symbol.for('keopsc.KeopsError');

/**
 * The error thrown by every public entry point when user input is wrong. `message` is the formatted
 * text the CLI prints (all diagnostics, with code frames); `diagnostics` holds the structured list.
 */
export class KeopsError extends Error {
  constructor(readonly diagnostics: Diagnostic[], formatted: string) {
    super(formatted);
    this.name = 'KeopsError';
    Object.defineProperty(this, KEOPS_ERROR, { value: true });
  }
  /** The code of the first diagnostic, e.g. `KEO3001`. */
  get code(): string {
    return this.diagnostics[0]?.code ?? 'KEO0000';
  }
}

/**
 * Whether `e` is a {@link KeopsError}, also one made by another copy of keopsc loaded in the same
 * process, which `instanceof` does not recognise: the CLI bundle (scripts/bundle-cli.mjs) runs its front
 * end from one script and the other commands from chunks with their own copy of this module.
 */
export function isKeopsError(e: unknown): e is KeopsError {
  return e instanceof KeopsError || (e instanceof Error && (e as unknown as Record<symbol, unknown>)[KEOPS_ERROR] === true);
}

/**
 * The machine cannot serve a request as set up (an unsafe cache directory, a size a target cannot hold):
 * one line saying what is wrong and how to fix it; not a bug of keopsc.
 */
export class EnvironmentError extends KeopsError {
  constructor(message: string) {
    super([diag('BadEnvironment', message)], `error ${DIAGNOSTICS.BadEnvironment.code}: ${message}`);
    this.name = 'EnvironmentError';
  }
}

/** A formula over a target's size limit found while printing it (no source span): one line. */
export class LimitError extends KeopsError {
  constructor(message: string) {
    super([diag('TooLarge', message)], `error ${DIAGNOSTICS.TooLarge.code}: ${message}`);
    this.name = 'LimitError';
  }
}

/** An input error found at run time (shapes, dtypes, ranges): one line saying what is wrong and how to fix it. */
export class InputError extends KeopsError {
  constructor(message: string) {
    super([diag('BadInput', message)], `error ${DIAGNOSTICS.BadInput.code}: ${message}`);
    this.name = 'InputError';
  }
}
