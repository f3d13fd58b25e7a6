import type { DiagnosticKind } from '../diagnostics/catalogue.js';
import type { Span } from '../diagnostics/index.js';
import type { Kernel } from '../ir/kernel.js';

/** A user error found by a pass after elaboration. `op` locates it: the first user-written node with
 * that op gives the span; otherwise the kernel's span is used. */
export class PassError extends Error {
  readonly span: Span;
  constructor(
    readonly kind: DiagnosticKind,
    message: string,
    kernel: Kernel,
    op?: string,
    readonly hint?: string,
  ) {
    super(message);
    let span = kernel.span;
    if (op) for (const [n, s] of kernel.spans) if (n.op === op && s.start >= kernel.span.start && s.end <= kernel.span.end) { span = s; break; }
    this.span = span;
  }
}
