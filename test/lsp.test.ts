import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { checkSource } from '../src/passes/pipeline.js';

/** A JSON-RPC message or part of one (JSON.parse's type: the tests look into them freely). */
type Json = ReturnType<typeof JSON.parse>;

/**
 * The language server, driven as an editor drives it: `keopsc lsp --stdio` in a child process,
 * JSON-RPC messages with Content-Length headers on its stdin and stdout.
 */
class LspClient {
  private readonly proc: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, (msg: { result?: unknown; error?: unknown }) => void>();
  private readonly waiters: { method: string; pred: (p: Json) => boolean; resolve: (p: Json) => void }[] = [];
  readonly notifications: { method: string; params: Json }[] = [];
  stderr = '';

  constructor() {
    this.proc = spawn(process.execPath, ['--import', 'tsx', join('test', 'helpers', 'keopsc-cli.ts'), 'lsp', '--stdio'], { stdio: 'pipe' });
    this.proc.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.proc.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const head = this.buffer.indexOf('\r\n\r\n');
      if (head < 0) return;
      const m = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, head).toString('ascii'));
      if (!m) throw new Error(`bad header from the server: ${this.buffer.subarray(0, head).toString()}`);
      const len = Number(m[1]);
      if (this.buffer.length < head + 4 + len) return;
      const msg = JSON.parse(this.buffer.subarray(head + 4, head + 4 + len).toString('utf8'));
      this.buffer = this.buffer.subarray(head + 4 + len);
      if (msg.id !== undefined && !msg.method) this.pending.get(msg.id)?.(msg);
      else if (msg.method) {
        this.notifications.push(msg);
        for (let k = this.waiters.length - 1; k >= 0; k--) {
          const w = this.waiters[k]!;
          if (w.method === msg.method && w.pred(msg.params)) {
            this.waiters.splice(k, 1);
            w.resolve(msg.params);
          }
        }
      }
    }
  }

  private send(msg: object): void {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }), 'utf8');
    this.proc.stdin.write(`Content-Length: ${body.length}\r\n\r\n`);
    this.proc.stdin.write(body);
  }

  request<T = Json>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (msg) => (msg.error ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg.result as T)));
      this.send({ id, method, params });
    });
  }

  notify(method: string, params: unknown): void {
    this.send({ method, params });
  }

  /** The next notification `method` whose params satisfy `pred` (including one already received after `since`). */
  waitFor(method: string, pred: (p: Json) => boolean = () => true, since = 0): Promise<Json> {
    const seen = this.notifications.slice(since).find((n) => n.method === method && pred(n.params));
    if (seen) return Promise.resolve(seen.params);
    return new Promise((resolve) => this.waiters.push({ method, pred, resolve }));
  }

  exited(): Promise<number | null> {
    return new Promise((resolve) => {
      if (this.proc.exitCode !== null) resolve(this.proc.exitCode);
      else this.proc.on('exit', (code) => resolve(code));
    });
  }

  kill(): void {
    this.proc.kill();
  }
}

const uriOf = (name: string) => pathToFileURL(join(process.cwd(), name)).href;

/** Offset → LSP position in `text`. */
function pos(text: string, needle: string, delta = 0): { line: number; character: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${needle} not in the text`);
  const before = text.slice(0, at + delta);
  const line = before.split('\n').length - 1;
  return { line, character: before.length - before.lastIndexOf('\n') - 1 };
}

describe('keopsc lsp --stdio', function () {
  this.timeout(60000);
  let c: LspClient;
  let version = 1;
  const open = (uri: string, text: string) => c.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'keo', version: version++, text } });

  before(async () => {
    c = new LspClient();
    const init = await c.request('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
    expect(init.capabilities.hoverProvider).to.equal(true);
    expect(init.capabilities.semanticTokensProvider.legend.tokenTypes).to.include('function');
    c.notify('initialized', {});
  });
  after(() => c?.kill());

  it('publishes the diagnostics of keopsc check, with codes, ranges and hints, for every must-fail file', async () => {
    const dir = join('test', 'must-fail');
    const files = readdirSync(dir).filter((f) => f.endsWith('.keo'));
    let withErrors = 0;
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      const uri = uriOf(join(dir, f));
      const since = c.notifications.length;
      open(uri, text);
      const got = await c.waitFor('textDocument/publishDiagnostics', (p) => p.uri === uri, since);
      // some must-fail files fail only in a later pass (`keopsc check` passes them): then none here either
      const want = checkSource(text, join(process.cwd(), dir, f)).diagnostics;
      if (want.length) withErrors++;
      expect(got.diagnostics.map((d: Json) => d.code), f).to.deep.equal(want.map((d) => d.code));
      for (let k = 0; k < want.length; k++) {
        const w = want[k]!;
        const g = got.diagnostics[k];
        expect(g.source).to.equal('keopsc');
        expect(g.message, f).to.equal(w.hint ? `${w.message}\nhint: ${w.hint}` : w.message);
        if (w.span) expect([g.range.start.line + 1, g.range.start.character + 1], f).to.deep.equal([w.span.line, w.span.col]);
      }
      c.notify('textDocument/didClose', { textDocument: { uri } });
    }
    expect(withErrors).to.be.greaterThan(40);
  });

  it('checks unsaved text as it changes (debounced): an error appears, then goes', async () => {
    const uri = 'untitled:Untitled-1';
    const good = 'x = Vi(0, 3)\ny = Vj(1, 3)\nk = Sum_Reduction(SqDist(x, y), 0)\n';
    let since = c.notifications.length;
    open(uri, good);
    expect((await c.waitFor('textDocument/publishDiagnostics', (p) => p.uri === uri, since)).diagnostics).to.deep.equal([]);
    // three quick edits: y becomes 2-D; only the last version gets diagnostics
    since = c.notifications.length;
    for (const [k, t] of ['y = Vj(1, ', 'y = Vj(1, 2', 'y = Vj(1, 2)'].entries()) {
      c.notify('textDocument/didChange', { textDocument: { uri, version: 100 + k }, contentChanges: [{ text: good.replace('y = Vj(1, 3)', t) }] });
    }
    const bad = await c.waitFor('textDocument/publishDiagnostics', (p) => p.uri === uri, since);
    expect(bad.version).to.equal(102);
    expect(bad.diagnostics.map((d: Json) => d.code)).to.deep.equal(['KEO3001']);
    expect(bad.diagnostics[0].range.start).to.deep.equal({ line: 2, character: 28 });
    expect(c.notifications.slice(since).filter((n) => n.method === 'textDocument/publishDiagnostics' && n.params.uri === uri)).to.have.length(1);
    // an incremental edit fixes it
    since = c.notifications.length;
    c.notify('textDocument/didChange', { textDocument: { uri, version: 103 }, contentChanges: [{ range: { start: { line: 1, character: 10 }, end: { line: 1, character: 11 } }, text: '3' }] });
    expect((await c.waitFor('textDocument/publishDiagnostics', (p) => p.uri === uri && p.version === 103, since)).diagnostics).to.deep.equal([]);
  });

  const gauss = readFileSync(join('examples', 'gaussian.keo'), 'utf8');
  const gaussUri = uriOf(join('examples', 'gaussian.keo'));

  it('hovers: an op shows its signature, meaning and dimension rule, and the dimensions at that call', async () => {
    open(gaussUri, gauss);
    const h = await c.request('textDocument/hover', { textDocument: { uri: gaussUri }, position: pos(gauss, 'SqDist', 2) });
    expect(h.contents.value).to.contain('SqDist(f, g)');
    expect(h.contents.value).to.contain('the result has dimension 1; the arguments have equal dimensions');
    expect(h.contents.value).to.contain('Here: arguments of dimension 3, 3, result of dimension 1');
    const r = await c.request('textDocument/hover', { textDocument: { uri: gaussUri }, position: pos(gauss, 'Sum_Reduction', 1) });
    expect(r.contents.value).to.contain('Sum_Reduction(f, tag)');
    expect(r.contents.value).to.contain('Σ f over the reduction index');
  });

  it('hovers: a name shows its declaration, category and dimension', async () => {
    const y = await c.request('textDocument/hover', { textDocument: { uri: gaussUri }, position: pos(gauss, 'SqDist(x, y)', 10) });
    expect(y.contents.value).to.contain('y = Vj(1, 3)');
    expect(y.contents.value).to.contain('input 1, j-variable (Vj): one row per j, dimension 3');
    const K = await c.request('textDocument/hover', { textDocument: { uri: gaussUri }, position: pos(gauss, 'K * b') });
    expect(K.contents.value).to.contain('K = Exp(-SqDist(x, y) / 2)');
    expect(K.contents.value).to.contain('definition, dimension 1, depends on i, j');
    const k = await c.request('textDocument/hover', { textDocument: { uri: gaussUri }, position: pos(gauss, 'gauss =') });
    expect(k.contents.value).to.contain('kernel, Sum reduction: one output row per i, reduced over j');
    expect(await c.request('textDocument/hover', { textDocument: { uri: gaussUri }, position: { line: 0, character: 3 } })).to.equal(null);
  });

  it('goes to the definition of a name, and lists kernels, definitions and declarations', async () => {
    const d = await c.request('textDocument/definition', { textDocument: { uri: gaussUri }, position: pos(gauss, 'K * b') });
    expect(d).to.deep.equal({ uri: gaussUri, range: { start: pos(gauss, 'K = Exp'), end: pos(gauss, 'K = Exp', 1) } });
    const syms = await c.request('textDocument/documentSymbol', { textDocument: { uri: gaussUri } });
    expect(syms.map((s: Json) => [s.name, s.kind, s.detail])).to.deep.equal([
      ['x', 13, 'Vi(0, 3)'],
      ['y', 13, 'Vj(1, 3)'],
      ['b', 13, 'Vj(2, 1)'],
      ['K', 14, 'dimension 1'],
      ['gauss', 12, 'Sum_Reduction'],
    ]);
  });

  it('completes ops as snippets with their signatures, reductions and declared names', async () => {
    const items = await c.request('textDocument/completion', { textDocument: { uri: gaussUri }, position: pos(gauss, 'K * b') });
    const by = new Map(items.map((i: Json) => [i.label, i]));
    expect(by.get('SqDist')).to.include({ detail: 'SqDist(f, g)', insertText: 'SqDist(${1:f}, ${2:g})', insertTextFormat: 2 });
    expect(by.get('KMin_ArgKMin_Reduction')).to.include({ detail: 'KMin_ArgKMin_Reduction(f, K, tag)' });
    expect(by.get('x')).to.include({ detail: 'x = Vi(0, 3)' });
    expect(by.get('K')).to.include({ detail: 'K = Exp(-SqDist(x, y) / 2)' });
    expect(by.has('GradSoftDTW_SqDist')).to.equal(false); // internal ops are not offered
    // nothing inside a comment
    expect(await c.request('textDocument/completion', { textDocument: { uri: gaussUri }, position: pos(gauss, 'M points') })).to.deep.equal([]);
  });

  it('gives semantic tokens for ops, constructors, names and numbers', async () => {
    const text = 'x = Vi(0, 3)\nk = Sum_Reduction(Exp(-x), 0)\n';
    const uri = 'untitled:tokens';
    open(uri, text);
    const { data } = await c.request('textDocument/semanticTokens/full', { textDocument: { uri } });
    const rows: number[][] = [];
    let line = 0;
    let ch = 0;
    for (let k = 0; k < data.length; k += 5) {
      line += data[k];
      ch = data[k] ? data[k + 1] : ch + data[k + 1];
      rows.push([line, ch, data[k + 2], data[k + 3], data[k + 4]]);
    }
    // [line, char, length, type (function parameter variable type number operator), modifiers (declaration 1, readonly 2, defaultLibrary 4)]
    expect(rows).to.deep.equal([
      [0, 0, 1, 1, 1], [0, 4, 2, 3, 0], [0, 7, 1, 4, 0], [0, 10, 1, 4, 0],
      [1, 0, 1, 0, 1], [1, 4, 13, 0, 4], [1, 18, 3, 0, 4], [1, 22, 1, 5, 0], [1, 23, 1, 1, 0], [1, 27, 1, 4, 0],
    ]);
  });

  it('works on a file with syntax errors: the statements that parse still have hover, definition and symbols', async () => {
    const text = 'x = Vi(0, 3)\ny = Vj(1, 3\nK = Exp(-SqDist(x, x))\nk = Sum_Reduction(K, 0)\nz = 3 +\n';
    const uri = 'untitled:broken';
    const since = c.notifications.length;
    open(uri, text);
    const got = await c.waitFor('textDocument/publishDiagnostics', (p) => p.uri === uri, since);
    expect(got.diagnostics.map((d: Json) => d.code)).to.deep.equal(checkSource(text, 'untitled:broken').diagnostics.map((d) => d.code));
    expect(got.diagnostics.length).to.equal(2);
    const syms = await c.request('textDocument/documentSymbol', { textDocument: { uri } });
    expect(syms.map((s: Json) => s.name)).to.deep.equal(['x', 'K', 'k']);
    const h = await c.request('textDocument/hover', { textDocument: { uri }, position: pos(text, 'K, 0') });
    expect(h.contents.value).to.contain('definition, dimension 1, depends on i');
    const d = await c.request('textDocument/definition', { textDocument: { uri }, position: pos(text, 'x))') });
    expect(d.range.start).to.deep.equal({ line: 0, character: 0 });
  });

  it('answers every request at every position of a hostile text', async () => {
    const text = 'x = Vi(0, 3)\ny = Vj(1, 3\u2212 2)\r\nK = Exp(-SqDist(x, y)) ^ 2 # é 😀\n' + '('.repeat(300) + 'x' + ')'.repeat(299) + '\nk = Sum_Reduction(K, 0)\nz = .5.5 + $ ; w = Var(0, 3, 7)\n';
    const uri = 'untitled:hostile';
    const since = c.notifications.length;
    open(uri, text);
    const got = await c.waitFor('textDocument/publishDiagnostics', (p) => p.uri === uri, since);
    expect(got.diagnostics.length).to.be.greaterThan(2);
    const lines = text.split('\n');
    for (let line = 0; line < lines.length; line++)
      for (let character = 0; character <= lines[line]!.length; character += line === 3 ? 37 : 1) {
        const position = { line, character };
        await c.request('textDocument/hover', { textDocument: { uri }, position });
        await c.request('textDocument/definition', { textDocument: { uri }, position });
        expect(await c.request('textDocument/completion', { textDocument: { uri }, position })).to.be.an('array');
      }
    expect(await c.request('textDocument/documentSymbol', { textDocument: { uri } })).to.be.an('array');
    expect((await c.request('textDocument/semanticTokens/full', { textDocument: { uri } })).data.length % 5).to.equal(0);
  });

  it('shuts down and exits with status 0', async () => {
    await c.request('shutdown', null);
    c.notify('exit', null);
    expect(await c.exited()).to.equal(0);
    expect(c.stderr).to.equal('');
  });
});
