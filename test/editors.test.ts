import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import vsctm from 'vscode-textmate';
import oniguruma from 'vscode-oniguruma';
import { Comment, keoLexer } from '../grammar/lexer.js';
import { keoTmGrammarText, TM_GRAMMAR_PATH, IDENTIFIER_SCOPES, TOKEN_SCOPES } from '../scripts/gen-textmate.js';

const ext = join('editors', 'vscode');

/** Every .keo file of the repository outside node_modules. */
function keoFiles(dir = '.'): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.') || e.name === 'dist') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...keoFiles(p));
    else if (e.name.endsWith('.keo')) out.push(p);
  }
  return out;
}

async function loadGrammar(): Promise<vsctm.IGrammar> {
  const wasm = readFileSync(createRequire(import.meta.url).resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p), createOnigString: (s: string) => new oniguruma.OnigString(s) }),
    loadGrammar: async (scope: string) => (scope === 'source.keo' ? vsctm.parseRawGrammar(readFileSync(TM_GRAMMAR_PATH, 'utf8'), TM_GRAMMAR_PATH) : null),
  });
  const g = await registry.loadGrammar('source.keo');
  if (!g) throw new Error('the keo grammar did not load');
  return g;
}

describe('editors/vscode', () => {
  it('the TextMate grammar is generated from the lexer and the op registry (npm run grammar)', () => {
    expect(readFileSync(TM_GRAMMAR_PATH, 'utf8')).to.equal(keoTmGrammarText());
  });

  it('declares the keo language for *.keo, its grammar, comments and brackets, and starts keopsc lsp', () => {
    const pkg = JSON.parse(readFileSync(join(ext, 'package.json'), 'utf8'));
    expect(pkg.contributes.languages[0]).to.include({ id: 'keo', configuration: './language-configuration.json' });
    expect(pkg.contributes.languages[0].extensions).to.deep.equal(['.keo']);
    expect(pkg.contributes.grammars[0]).to.deep.equal({ language: 'keo', scopeName: 'source.keo', path: './syntaxes/keo.tmLanguage.json' });
    const conf = JSON.parse(readFileSync(join(ext, 'language-configuration.json'), 'utf8'));
    expect(conf.comments).to.deep.equal({ lineComment: '#' });
    expect(conf.brackets).to.deep.equal([['(', ')'], ['[', ']']]);
    const client = readFileSync(join(ext, pkg.main), 'utf8');
    expect(client).to.contain("'lsp', '--stdio'");
    const check = spawnSync(process.execPath, ['--check', join(ext, pkg.main)], { encoding: 'utf8' });
    expect(check.status, check.stderr).to.equal(0); // the client is plain JavaScript, shipped as written
  });

  it('gives every lexer token of every example and fixture its scope', async () => {
    const grammar = await loadGrammar();
    const files = keoFiles();
    expect(files.length).to.be.greaterThan(50);
    let checked = 0;
    const identifierScopes = Object.values(IDENTIFIER_SCOPES) as string[];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      // the lexer's tokens, comments included (the lexer skips them)
      const tokens = keoLexer().tokenize(text).tokens.map((t) => ({ type: t.tokenType.name, start: t.startOffset, image: t.image }));
      const comment = new RegExp((Comment.PATTERN as RegExp).source, 'g');
      for (let m = comment.exec(text); m; m = comment.exec(text)) tokens.push({ type: 'Comment', start: m.index, image: m[0] });
      // TextMate's tokens, with offsets into the whole text
      const tm: { start: number; end: number; scopes: string[] }[] = [];
      let state = vsctm.INITIAL;
      let offset = 0;
      for (const line of text.split('\n')) {
        const r = grammar.tokenizeLine(line, state);
        for (const t of r.tokens) tm.push({ start: offset + t.startIndex, end: offset + Math.min(t.endIndex, line.length), scopes: t.scopes });
        state = r.ruleStack;
        offset += line.length + 1;
      }
      tokens.sort((a, b) => a.start - b.start);
      let cursor = 0;
      for (const t of tokens) {
        while (cursor < tm.length && tm[cursor]!.end <= t.start) cursor++;
        const want = TOKEN_SCOPES[t.type];
        if (want === null) continue;
        expect(want, `${file}: lexer token ${t.type} has no scope`).to.be.a('string');
        const at = tm[cursor];
        const where = `${file} offset ${t.start}: ${t.type} '${t.image}'`;
        expect(at, where).to.not.equal(undefined);
        expect(at!.start, where).to.equal(t.start);
        expect(at!.end, where).to.equal(t.start + t.image.length);
        const scope = at!.scopes[at!.scopes.length - 1]!;
        if (t.type === 'Identifier') expect(identifierScopes, where).to.include(scope);
        else expect(scope, where).to.equal(want);
        checked++;
      }
    }
    expect(checked).to.be.greaterThan(2000);
  });

  it('tells ops, reductions, constructors, definitions and other names apart', async () => {
    const grammar = await loadGrammar();
    const line = 'K = Exp(-SqDist(x, Vj(1, 3))) ; k = Sum_Reduction(K * b, 0) # done';
    const got = grammar.tokenizeLine(line, vsctm.INITIAL).tokens.map((t) => [line.slice(t.startIndex, t.endIndex), t.scopes[t.scopes.length - 1]]);
    const scopeOf = (text: string) => got.find(([s]) => s === text)?.[1];
    expect(scopeOf('K')).to.equal('entity.name.variable.keo');
    expect(scopeOf('Exp')).to.equal('support.function.keo');
    expect(scopeOf('Vj')).to.equal('storage.type.variable.keo');
    expect(scopeOf('Sum_Reduction')).to.equal('support.function.reduction.keo');
    expect(scopeOf('x')).to.equal('variable.other.keo');
    expect(scopeOf('3')).to.equal('constant.numeric.keo');
    expect(scopeOf('# done')).to.equal('comment.line.number-sign.keo');
    expect(scopeOf(';')).to.equal('punctuation.terminator.statement.keo');
  });
});
