import type { Diagnostic } from './diagnostic.js';
import { SourceFile } from './diagnostic.js';

/**
 * Format one diagnostic as `file:line:col - error KEO1001: message`, followed by a code frame with a
 * caret under the offending range and the hint, if any.
 */
export function formatDiagnostic(d: Diagnostic, source?: SourceFile): string {
  const where = d.span ? `${d.span.file}:${d.span.line}:${d.span.col} - ` : '';
  const lines = [`${where}${d.severity} ${d.code}: ${d.message}`];
  if (d.span && source) lines.push(...codeFrame(source, d.span.start, d.span.end));
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join('\n');
}

/** Format several diagnostics, separated by blank lines, with a final count. */
export function formatDiagnostics(ds: Diagnostic[], source?: SourceFile): string {
  const body = ds.map((d) => formatDiagnostic(d, source)).join('\n\n');
  const n = ds.filter((d) => d.severity === 'error').length;
  return ds.length > 1 ? `${body}\n\nFound ${n} error${n === 1 ? '' : 's'}.` : body;
}

function codeFrame(src: SourceFile, start: number, end: number): string[] {
  const { line, col } = src.position(start);
  const text = src.lineText(line);
  const gutter = String(line).length;
  const out: string[] = [];
  if (line > 1) {
    const prev = src.lineText(line - 1);
    if (prev.trim() !== '') out.push(`  ${String(line - 1).padStart(gutter)} | ${prev}`);
  }
  out.push(`  ${String(line).padStart(gutter)} | ${text}`);
  const endOnLine = Math.min(end - start, Math.max(1, text.length - col + 1));
  const width = Math.max(1, endOnLine);
  out.push(`  ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, col - 1))}${'^'.repeat(width)}`);
  return out;
}
