export { DIAGNOSTICS, type DiagnosticKind } from './catalogue.js';
export { diag, SourceFile, KeopsError, isKeopsError, InputError, EnvironmentError, LimitError, type Diagnostic, type Span } from './diagnostic.js';
export { formatDiagnostic, formatDiagnostics } from './format.js';
