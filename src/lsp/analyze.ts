/**
 * One analysis of a `.keo` text for the language server: the diagnostics `keopsc check` reports
 * (from `checkSource`, the same function), the statements, the names they define, and the IR node
 * (hence the dimension) of every expression the type-checker elaborated. Nothing is checked here by
 * rules of its own: the parser and the type-checker are the compiler's.
 *
 * Files with syntax errors: the parser returns no module, so the statements that hold a syntax error
 * are blanked out (same offsets, newlines kept) and the rest is parsed and type-checked again, only
 * for the outline, hover and go-to-definition; the diagnostics stay those of the whole text.
 */
import { Identifier, LParen, Newline, Semicolon, tokenize } from '../../grammar/lexer.js';
import type { Diagnostic, Span } from '../diagnostics/index.js';
import { SourceFile } from '../diagnostics/index.js';
import type { Node } from '../ir/types.js';
import { reductionOf } from '../ir/reductions.js';
import { checkSource } from '../passes/pipeline.js';
import { elaborate, VAR_CTORS } from '../passes/elaborate.js';
import { parseModule } from '../syntax/parse.js';
import type { AssignStmt, Expr, Module, Statement } from '../syntax/ast.js';

/** What a name stands for: an input (declaration), a sub-formula (definition) or a kernel. */
export type NameKind = 'declaration' | 'definition' | 'kernel';

/** A name assigned by a statement. */
export interface NameInfo {
  name: string;
  kind: NameKind;
  statement: AssignStmt;
  /** The elaborated value (declarations and definitions that type-check). */
  node?: Node;
}

/** The analysis of one text. */
export interface Analysis {
  source: SourceFile;
  /** Exactly what `keopsc check` reports for this text. */
  diagnostics: Diagnostic[];
  /** The statements that parse (all of them when the text has no syntax error). */
  statements: Statement[];
  /** Each assigned name, at its first assignment. */
  names: Map<string, NameInfo>;
  /** Elaborated expressions with their IR nodes, innermost last for equal starts. */
  typed: { expr: Expr; node: Node }[];
}

/** The kind of name an assignment defines. */
export function nameKind(st: AssignStmt): NameKind {
  const value = st.value;
  if (value.kind !== 'call') return 'definition';
  if (value.callee in VAR_CTORS) return 'declaration';
  return reductionOf(value.callee) ? 'kernel' : 'definition';
}

/** Analyse `text` (named `file` in diagnostics). Never throws on user input. */
export function analyze(text: string, file: string): Analysis {
  const typed: { expr: Expr; node: Node }[] = [];
  const onExpr = (expr: Expr, node: Node): void => {
    typed.push({ expr, node });
  };
  const checked = checkSource(text, file, { onExpr });
  const module = checked.module ?? recover(text, file, checked.diagnostics, onExpr);
  const statements = module?.statements ?? [];
  const names = new Map<string, NameInfo>();
  const nodeOf = new Map<Expr, Node>(typed.map((t) => [t.expr, t.node]));
  for (const st of statements) {
    if (st.kind !== 'assign' || names.has(st.name)) continue;
    const info: NameInfo = { name: st.name, kind: nameKind(st), statement: st };
    const node = nodeOf.get(st.value);
    if (node) info.node = node;
    names.set(st.name, info);
  }
  return { source: checked.source, diagnostics: checked.diagnostics, statements, names, typed };
}

/**
 * The module of the statements of `text` that parse: each statement holding a syntax error is
 * replaced by spaces (newlines kept, so offsets, lines and columns are unchanged), a few rounds at
 * most. The recovered module is type-checked for its nodes; its own diagnostics are not reported.
 */
function recover(text: string, file: string, diagnostics: Diagnostic[], onExpr: (e: Expr, n: Node) => void): Module | undefined {
  let current = text;
  let ds = diagnostics;
  for (let round = 0; round < 4; round++) {
    const bounds = statementBounds(current);
    const chars = current.split('');
    for (const d of ds) {
      const at = d.span?.start ?? 0;
      const b = bounds.find(([s, e]) => at >= s && at <= e) ?? [at, at];
      for (let k = b[0]; k < Math.min(b[1], chars.length); k++) if (chars[k] !== '\n') chars[k] = ' ';
    }
    const next = chars.join('');
    if (next === current) return undefined;
    current = next;
    const parsed = parseModule(current, file);
    if (parsed.module && !parsed.diagnostics.length) {
      elaborate(parsed.module, new SourceFile(file, current), { onExpr });
      return parsed.module;
    }
    ds = parsed.diagnostics;
  }
  return undefined;
}

/** [start, end) of each statement of `text`, split where the lexer puts its separators. */
function statementBounds(text: string): [number, number][] {
  const { tokens } = tokenize(text);
  const out: [number, number][] = [];
  let start = 0;
  for (const t of tokens) {
    if (t.tokenType === Newline || t.tokenType === Semicolon) {
      out.push([start, t.startOffset]);
      start = t.startOffset + 1;
    }
  }
  out.push([start, text.length]);
  return out;
}

/** The identifier token of `text` that covers `offset` (or ends there), with whether a `(` follows it. */
export function identifierAt(text: string, offset: number): { name: string; span: [number, number]; isCall: boolean } | undefined {
  const { tokens } = tokenize(text);
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.tokenType !== Identifier) continue;
    const end = t.startOffset + t.image.length;
    if (offset >= t.startOffset && offset <= end) return { name: t.image, span: [t.startOffset, end], isCall: tokens[k + 1]?.tokenType === LParen };
  }
  return undefined;
}

/** The innermost elaborated expression whose span is exactly [start, end), or that covers `start`. */
export function typedAt(a: Analysis, start: number, end: number): { expr: Expr; node: Node } | undefined {
  let best: { expr: Expr; node: Node } | undefined;
  for (const t of a.typed) {
    const s: Span = t.expr.span;
    if (s.start === start && s.end === end) return t;
    if (s.start <= start && end <= s.end && (!best || s.end - s.start < best.expr.span.end - best.expr.span.start)) best = t;
  }
  return best;
}
