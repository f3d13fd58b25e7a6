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

/** The widest source line a code frame shows; longer lines are cut around the caret with `...`. */
const FRAME_WIDTH = 160;

/** `text` cut to FRAME_WIDTH columns around column `col` (1-based): the shown text and its new `col`. */
function clip(text: string, col: number): { text: string; col: number } {
  if (text.length <= FRAME_WIDTH) return { text, col };
  const from = Math.max(0, Math.min(col - 1 - FRAME_WIDTH / 2, text.length - FRAME_WIDTH));
  const head = from > 0 ? '...' : '';
  const tail = from + FRAME_WIDTH < text.length ? '...' : '';
  return { text: `${head}${text.slice(from, from + FRAME_WIDTH)}${tail}`, col: col - from + head.length };
}

function codeFrame(src: SourceFile, start: number, end: number): string[] {
  const pos = src.position(start);
  const line = pos.line;
  const { text, col } = clip(src.lineText(line), pos.col);
  const gutter = String(line).length;
  const out: string[] = [];
  if (line > 1) {
    const prev = clip(src.lineText(line - 1), 1).text;
    if (prev.trim() !== '') out.push(`  ${String(line - 1).padStart(gutter)} | ${prev}`);
  }
  out.push(`  ${String(line).padStart(gutter)} | ${text}`);
  const endOnLine = Math.min(end - start, Math.max(1, text.length - col + 1));
  const width = Math.max(1, endOnLine);
  out.push(`  ${' '.repeat(gutter)} | ${' '.repeat(Math.max(0, col - 1))}${'^'.repeat(width)}`);
  return out;
}
