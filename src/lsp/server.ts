/**
 * The keopsc language server (`keopsc lsp --stdio`): diagnostics as you type, hover, completion,
 * go to definition, document symbols and semantic tokens for `.keo` files, over the Language Server
 * Protocol (the `vscode-languageserver` package). A thin layer over src/lsp/analyze.ts (the
 * compiler's own parser and type-checker) and src/lsp/registry.ts (the op registry).
 */
import { fileURLToPath } from 'node:url';
import {
  CompletionItemKind,
  createConnection,
  DiagnosticSeverity,
  InsertTextFormat,
  SemanticTokensBuilder,
  StreamMessageReader,
  StreamMessageWriter,
  SymbolKind,
  TextDocuments,
  TextDocumentSyncKind,
  type CompletionItem,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type DocumentSymbol,
  type Hover,
  type Location,
  type Range,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { Identifier, keoLexer, LParen, NumberTok } from '../../grammar/lexer.js';
import type { Diagnostic } from '../diagnostics/index.js';
import { OPS } from '../ir/ops/index.js';
import { reductionOf } from '../ir/reductions.js';
import { DEP_I, DEP_J, DEP_P, type Node } from '../ir/types.js';
import { VAR_CTORS } from '../passes/elaborate.js';
import type { AssignStmt, Expr } from '../syntax/ast.js';
import { analyze, identifierAt, type Analysis, type NameInfo } from './analyze.js';
import { CALLEES, calleeMarkdown, code } from './registry.js';

/** Milliseconds of quiet after an edit before the text is checked again. */
export const DEBOUNCE_MS = 200;

/** The semantic token types and modifiers the server reports (indices into these lists). */
export const SEMANTIC_LEGEND = {
  tokenTypes: ['function', 'parameter', 'variable', 'type', 'number', 'operator'],
  tokenModifiers: ['declaration', 'readonly', 'defaultLibrary'],
};
const TOKEN = { function: 0, parameter: 1, variable: 2, type: 3, number: 4, operator: 5 } as const;
const MOD = { declaration: 1, readonly: 2, defaultLibrary: 4 } as const;

const CATEGORY = ['i-variable (Vi): one row per i', 'j-variable (Vj): one row per j', 'parameter (Pm): one vector for all pairs'];

/** The file name diagnostics show for a document URI. */
function fileOf(uri: string): string {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : uri;
  } catch {
    return uri;
  }
}

/** An LSP diagnostic for a compiler diagnostic: same code, range and message; the hint on its own line. */
export function toLspDiagnostic(d: Diagnostic, doc: TextDocument): LspDiagnostic {
  const start = d.span?.start ?? 0;
  let end = d.span?.end ?? start;
  // an empty span (the end of a line or of the file) is shown on the character it points at
  if (end <= start && start < doc.getText().length && doc.getText()[start] !== '\n') end = start + 1;
  return {
    range: { start: doc.positionAt(start), end: doc.positionAt(end) },
    severity: d.severity === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Error,
    code: d.code,
    source: 'keopsc',
    message: d.hint ? `${d.message}\nhint: ${d.hint}` : d.message,
  };
}

function range(doc: TextDocument, start: number, end: number): Range {
  return { start: doc.positionAt(start), end: doc.positionAt(end) };
}

function dependsOn(node: Node): string {
  const parts = [node.deps & DEP_I ? 'i' : '', node.deps & DEP_J ? 'j' : '', node.deps & DEP_P ? 'parameters' : ''].filter(Boolean);
  return parts.length ? `depends on ${parts.join(', ')}` : 'a constant';
}

function statementText(a: Analysis, st: AssignStmt): string {
  return a.source.text.slice(st.span.start, st.span.end);
}

/** Hover text for a name: its statement, what it is and its dimension. */
function nameMarkdown(a: Analysis, info: NameInfo): string {
  const text = code(statementText(a, info.statement));
  const node = info.node;
  if (info.kind === 'declaration') {
    if (!node) return `${text}\n\ninput (its declaration has an error)`;
    const [index, dim, cat] = node.params as number[];
    return `${text}\n\ninput ${index}, ${CATEGORY[cat!] ?? `category ${cat}`}, dimension ${dim}`;
  }
  if (info.kind === 'definition') return node ? `${text}\n\ndefinition, dimension ${node.dim}, ${dependsOn(node)}` : `${text}\n\ndefinition (it has an error)`;
  const call = info.statement.value as Extract<Expr, { kind: 'call' }>;
  const red = reductionOf(call.callee)!;
  const tagArg = call.args[red.sig.indexOf('tag')];
  const tag = tagArg?.kind === 'number' ? tagArg.value : undefined;
  const where = tag === 0 ? ': one output row per i, reduced over j' : tag === 1 ? ': one output row per j, reduced over i' : '';
  return `${text}\n\nkernel, ${red.name} reduction${where}`;
}

/** The typed call whose callee starts at `offset`. */
function typedCall(a: Analysis, offset: number): Node | undefined {
  return a.typed.find((t) => t.expr.kind === 'call' && t.expr.calleeSpan.start === offset)?.node;
}

function hover(a: Analysis, doc: TextDocument, offset: number): Hover | null {
  const id = identifierAt(a.source.text, offset);
  if (!id) return null;
  const r = range(doc, id.span[0], id.span[1]);
  const info = a.names.get(id.name);
  if (id.isCall || !info) {
    const md = calleeMarkdown(id.name);
    if (md) {
      const node = id.isCall ? typedCall(a, id.span[0]) : undefined;
      const here = node ? `\n\nHere: ${node.args.length ? `arguments of dimension ${node.args.map((n) => n.dim).join(', ')}, ` : ''}result of dimension ${node.dim}` : '';
      return { contents: { kind: 'markdown', value: md + here }, range: r };
    }
  }
  if (info) return { contents: { kind: 'markdown', value: nameMarkdown(a, info) }, range: r };
  return null;
}

function completion(a: Analysis, doc: TextDocument, offset: number): CompletionItem[] {
  const text = a.source.text;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  if (text.slice(lineStart, offset).includes('#')) return [];
  const items: CompletionItem[] = [];
  for (const info of a.names.values()) {
    items.push({
      label: info.name,
      kind: info.kind === 'kernel' ? CompletionItemKind.Function : info.kind === 'declaration' ? CompletionItemKind.Variable : CompletionItemKind.Constant,
      detail: statementText(a, info.statement),
      sortText: `0${info.name}`,
    });
  }
  for (const c of CALLEES) {
    items.push({
      label: c.name,
      kind: c.kind === 'reduction' ? CompletionItemKind.Method : c.kind === 'variable' ? CompletionItemKind.Keyword : CompletionItemKind.Function,
      detail: c.signature,
      documentation: { kind: 'markdown', value: c.doc },
      insertText: c.snippet,
      insertTextFormat: InsertTextFormat.Snippet,
      sortText: `${c.kind === 'op' ? 1 : c.kind === 'reduction' ? 2 : 3}${c.name}`,
    });
  }
  void doc;
  return items;
}

function definition(a: Analysis, doc: TextDocument, uri: string, offset: number): Location | null {
  const id = identifierAt(a.source.text, offset);
  const info = id && !id.isCall ? a.names.get(id.name) : undefined;
  if (!info) return null;
  const s = info.statement.nameSpan;
  return { uri, range: range(doc, s.start, s.end) };
}

function symbols(a: Analysis, doc: TextDocument): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const st of a.statements) {
    if (st.kind === 'assign') {
      const info = a.names.get(st.name);
      if (info?.statement !== st) continue;
      out.push({
        name: st.name,
        detail: info.kind === 'declaration' ? a.source.text.slice(st.value.span.start, st.value.span.end) : info.kind === 'kernel' ? (st.value as Extract<Expr, { kind: 'call' }>).callee : info.node ? `dimension ${info.node.dim}` : 'definition',
        kind: info.kind === 'kernel' ? SymbolKind.Function : info.kind === 'declaration' ? SymbolKind.Variable : SymbolKind.Constant,
        range: range(doc, st.span.start, st.span.end),
        selectionRange: range(doc, st.nameSpan.start, st.nameSpan.end),
      });
    } else if (st.value.kind === 'call' && reductionOf(st.value.callee)) {
      out.push({
        name: `(unnamed) ${st.value.callee}`,
        kind: SymbolKind.Function,
        range: range(doc, st.span.start, st.span.end),
        selectionRange: range(doc, st.value.calleeSpan.start, st.value.calleeSpan.end),
      });
    }
  }
  return out;
}

/** Semantic tokens: ops and reductions, variable constructors, declared names, definitions, kernels, numbers, operators. */
function semanticTokens(a: Analysis, doc: TextDocument): number[] {
  const builder = new SemanticTokensBuilder();
  const tokens = keoLexer().tokenize(a.source.text).tokens;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    let type: number | undefined;
    let mods = 0;
    if (t.tokenType === NumberTok) type = TOKEN.number;
    else if (t.tokenType === Identifier) {
      const isCall = tokens[k + 1]?.tokenType === LParen;
      const info = a.names.get(t.image);
      if (isCall && t.image in VAR_CTORS) type = TOKEN.type;
      else if (isCall && (OPS[t.image] || reductionOf(t.image))) {
        type = TOKEN.function;
        mods = MOD.defaultLibrary;
      } else if (info) {
        type = info.kind === 'declaration' ? TOKEN.parameter : info.kind === 'kernel' ? TOKEN.function : TOKEN.variable;
        if (info.statement.nameSpan.start === t.startOffset) mods |= MOD.declaration;
        if (info.kind === 'definition') mods |= MOD.readonly;
      }
    } else if (/^[-+*/|<>=!]+$/.test(t.image) && t.image !== '=') type = TOKEN.operator;
    if (type === undefined) continue;
    const p = doc.positionAt(t.startOffset);
    builder.push(p.line, p.character, t.image.length, type, mods);
  }
  return builder.build().data;
}

/**
 * Serve the language server on a connection until the client says `exit`. `startStdio` is the usual
 * entry point; this one takes any connection (tests, other transports).
 */
export function serve(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const cache = new Map<string, { version: number; analysis: Analysis }>();
  const timers = new Map<string, NodeJS.Timeout>();

  const analysisOf = (doc: TextDocument): Analysis => {
    const hit = cache.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.analysis;
    const analysis = analyze(doc.getText(), fileOf(doc.uri));
    cache.set(doc.uri, { version: doc.version, analysis });
    return analysis;
  };
  const publish = (uri: string): void => {
    timers.delete(uri);
    const doc = documents.get(uri);
    if (!doc) return;
    const a = analysisOf(doc);
    void connection.sendDiagnostics({ uri, version: doc.version, diagnostics: a.diagnostics.map((d) => toLspDiagnostic(d, doc)) });
  };
  const schedule = (uri: string, delay: number): void => {
    clearTimeout(timers.get(uri));
    timers.set(uri, setTimeout(() => publish(uri), delay));
  };

  connection.onInitialize(() => ({
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      completionProvider: { resolveProvider: false },
      definitionProvider: true,
      documentSymbolProvider: true,
      semanticTokensProvider: { legend: SEMANTIC_LEGEND, full: true },
    },
    serverInfo: { name: 'keopsc', version: '0.1.0' },
  }));
  documents.onDidOpen((e) => schedule(e.document.uri, 0));
  documents.onDidChangeContent((e) => schedule(e.document.uri, DEBOUNCE_MS));
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    timers.delete(e.document.uri);
    cache.delete(e.document.uri);
    void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  const withDoc = <T>(uri: string, empty: T, f: (doc: TextDocument, a: Analysis) => T): T => {
    const doc = documents.get(uri);
    return doc ? f(doc, analysisOf(doc)) : empty;
  };
  connection.onHover((p) => withDoc(p.textDocument.uri, null, (doc, a) => hover(a, doc, doc.offsetAt(p.position))));
  connection.onCompletion((p) => withDoc(p.textDocument.uri, [], (doc, a) => completion(a, doc, doc.offsetAt(p.position))));
  connection.onDefinition((p) => withDoc(p.textDocument.uri, null, (doc, a) => definition(a, doc, p.textDocument.uri, doc.offsetAt(p.position))));
  connection.onDocumentSymbol((p) => withDoc(p.textDocument.uri, [], (doc, a) => symbols(a, doc)));
  connection.languages.semanticTokens.on((p) => ({ data: withDoc(p.textDocument.uri, [], (doc, a) => semanticTokens(a, doc)) }));
  documents.listen(connection);
  connection.listen();
}

/**
 * Run the language server on stdin/stdout (`keopsc lsp --stdio`). Resolves with the exit code when
 * the client closes the connection or sends `exit` (0 after a `shutdown` request, 1 otherwise).
 */
export function startStdio(): Promise<number> {
  const connection = createConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  let shutdown = false;
  connection.onShutdown(() => {
    shutdown = true;
  });
  return new Promise((resolve) => {
    connection.onExit(() => resolve(shutdown ? 0 : 1));
    // the client went away without `exit`: stop (the process serves nothing else)
    process.stdin.on('end', () => {
      resolve(shutdown ? 0 : 1);
      setImmediate(() => process.exit(shutdown ? 0 : 1));
    });
    serve(connection);
  });
}
