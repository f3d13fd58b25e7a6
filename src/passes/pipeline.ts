import { diag, formatDiagnostics, KeopsError, SourceFile, type Diagnostic } from '../diagnostics/index.js';
import { parseModule } from '../syntax/parse.js';
import type { Module } from '../syntax/ast.js';
import type { Kernel } from '../ir/kernel.js';
import { DimError } from '../ir/types.js';
import { typecheck, type Program, type TypecheckOptions } from './typecheck.js';
import { expandMacros } from './expand.js';
import { autodiff } from './autodiff.js';
import { simplify } from './simplify.js';
import { cse } from './cse.js';
import { PassError } from './error.js';

/** One optimisation pass over a kernel. */
export interface Pass {
  name: string;
  doc: string;
  /** Transform a kernel (returns a new one; IR nodes are immutable). */
  run(kernel: Kernel): Kernel;
}

/**
 * THE pass pipeline, in order. Typecheck (elaboration from the AST, src/passes/typecheck.ts) comes
 * first and produces the kernels these passes transform. `keopsc compile --emit ir` prints the IR
 * after each of them.
 */
export const PASSES: readonly Pass[] = [
  { name: 'expand', doc: 'macro expansion: SqDist, Norm2, WeightedSqNorm, ... into core ops', run: expandMacros },
  { name: 'autodiff', doc: 'symbolic differentiation: Grad, Diff, Divergence, Laplacian, GradMatrix', run: autodiff },
  { name: 'simplify', doc: 'algebraic rewrite rules with exact rational constants', run: simplify },
  { name: 'cse', doc: 'common-subexpression elimination (hash-consing plus commutative twins)', run: cse },
];

/** Called after each stage with its name and the kernel, for IR dumps. */
export type PassHook = (stage: string, kernel: Kernel) => void;

/** Parse and type-check a `.keo` text. Throws KeopsError with every diagnostic. */
export function frontend(text: string, file = '<formula>', options: TypecheckOptions = {}): { program: Program; source: SourceFile; module: Module } {
  const source = new SourceFile(file, text);
  const parsed = parseModule(text, file);
  if (parsed.diagnostics.length || !parsed.module) throw fail(parsed.diagnostics, source);
  const checked = typecheck(parsed.module, source, options);
  if (checked.diagnostics.length || !checked.program) throw fail(checked.diagnostics, source);
  return { program: checked.program, source, module: parsed.module };
}

/** Run the pass pipeline on one kernel. Throws KeopsError for user errors found by a pass. */
export function optimize(kernel: Kernel, hook?: PassHook): Kernel {
  hook?.('typecheck', kernel);
  let k = kernel;
  for (const pass of PASSES) {
    try {
      k = pass.run(k);
    } catch (e) {
      if (e instanceof PassError) throw fail([diag(e.kind, e.message, e.span, e.hint)], kernel.source);
      if (e instanceof DimError) {
        const kind = e.kind === 'BadConstant' ? 'DivisionByZero' : e.kind;
        const at = new PassError(kind, e.message, kernel, kind === 'DivisionByZero' ? 'Divide' : undefined, e.hint);
        throw fail([diag(kind, e.message, at.span, e.hint)], kernel.source);
      }
      throw e;
    }
    hook?.(pass.name, k);
  }
  return k;
}

/** The KeopsError carrying `ds`, formatted with code frames. */
export function fail(ds: Diagnostic[], source: SourceFile): KeopsError {
  return new KeopsError(ds, formatDiagnostics(ds, source));
}

/**
 * Parse and type-check a `.keo` text without throwing: what `keopsc check` reports and the language
 * server publishes. Type-checking runs only when the text parses (as `frontend`).
 */
export function checkSource(text: string, file = '<formula>', options: TypecheckOptions = {}): { module?: Module; program?: Program; source: SourceFile; diagnostics: Diagnostic[] } {
  const source = new SourceFile(file, text);
  const parsed = parseModule(text, file);
  if (parsed.diagnostics.length || !parsed.module) return { module: parsed.module, source, diagnostics: parsed.diagnostics };
  const checked = typecheck(parsed.module, source, options);
  return { module: parsed.module, program: checked.program, source, diagnostics: checked.diagnostics };
}
