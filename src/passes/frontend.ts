/**
 * The front end: source text to type-checked kernels (parse, src/syntax/parse.ts, then elaboration,
 * ./elaborate.ts), with every problem a diagnostic. On its own, apart from the pass pipeline
 * (./pipeline.ts, which re-exports it), so that `keopsc check` and the language server load no pass,
 * lowering or target.
 * @module
 */
import { formatDiagnostics, KeopsError, SourceFile, type Diagnostic } from '../diagnostics/index.js';
import { parseModule } from '../syntax/parse.js';
import type { Module } from '../syntax/ast.js';
import { elaborate, type ElaborateOptions, type Program } from './elaborate.js';

/** Parse and type-check a `.keo` text. Throws KeopsError with every diagnostic. */
export function frontend(text: string, file = '<formula>', options: ElaborateOptions = {}): { program: Program; source: SourceFile; module: Module } {
  const source = new SourceFile(file, text);
  const parsed = parseModule(text, file);
  if (parsed.diagnostics.length || !parsed.module) throw fail(parsed.diagnostics, source);
  const checked = elaborate(parsed.module, source, options);
  if (checked.diagnostics.length || !checked.program) throw fail(checked.diagnostics, source);
  return { program: checked.program, source, module: parsed.module };
}

/** The KeopsError carrying `ds`, formatted with code frames. */
export function fail(ds: Diagnostic[], source: SourceFile): KeopsError {
  return new KeopsError(ds, formatDiagnostics(ds, source));
}

/**
 * Parse and type-check a `.keo` text without throwing: what `keopsc check` reports and the language
 * server publishes. Type-checking runs only when the text parses (as `frontend`).
 */
export function checkSource(text: string, file = '<formula>', options: ElaborateOptions = {}): { module?: Module; program?: Program; source: SourceFile; diagnostics: Diagnostic[] } {
  const source = new SourceFile(file, text);
  const parsed = parseModule(text, file);
  if (parsed.diagnostics.length || !parsed.module) return { module: parsed.module, source, diagnostics: parsed.diagnostics };
  const checked = elaborate(parsed.module, source, options);
  return { module: parsed.module, program: checked.program, source, diagnostics: checked.diagnostics };
}
