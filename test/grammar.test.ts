import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { grammarToEbnf } from '../grammar/ebnf.js';
import { diagramsHtml, operationsMarkdown } from '../scripts/gen-grammar.js';
import type { Diagnostic } from '../src/diagnostics/index.js';
import type { Expr, Statement } from '../src/syntax/ast.js';
import { MAX_NESTING, parseFormula, parseModule } from '../src/syntax/parse.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The AST as a fully parenthesised string. */
function show(e: Expr): string {
  switch (e.kind) {
    case 'number':
      return e.text;
    case 'name':
      return e.name;
    case 'call':
      return `${e.callee}(${e.args.map(show).join(', ')})`;
    case 'list':
      return `[${e.items.map(show).join(', ')}]`;
    case 'unary':
      return `(-${show(e.operand)})`;
    case 'binary':
      return `(${show(e.left)} ${e.op} ${show(e.right)})`;
  }
}

function showStmt(s: Statement): string {
  return s.kind === 'assign' ? `${s.name} = ${show(s.value)}` : show(s.value);
}

/** Parse a formula that must be valid, and print it. */
function p(text: string): string {
  const r = parseFormula(text);
  expect(r.diagnostics, `${text}: ${r.diagnostics.map((d) => d.message).join('; ')}`).to.deep.equal([]);
  return show(r.expr!);
}

/** Parse a module and print its statements. */
function stmts(text: string): string[] {
  const r = parseModule(text);
  expect(r.diagnostics.map((d) => d.message)).to.deep.equal([]);
  return r.module!.statements.map(showStmt);
}

/** The diagnostics of a module, as `CODE line:col`. */
function errs(text: string): string[] {
  return parseModule(text, 'm.keo').diagnostics.map((d) => `${d.code} ${d.span?.line}:${d.span?.col}`);
}

function only(text: string): Diagnostic {
  const ds = parseModule(text, 'm.keo').diagnostics;
  expect(ds, JSON.stringify(ds)).to.have.length(1);
  return ds[0]!;
}

describe('grammar: precedence and associativity', () => {
  const cases: Array<[string, string]> = [
    ['a + b * c', '(a + (b * c))'],
    ['a * b + c', '((a * b) + c)'],
    ['a - b - c', '((a - b) - c)'],
    ['a / b / c', '((a / b) / c)'],
    ['a / b * c', '((a / b) * c)'],
    ['-x**2', '(-(x ** 2))'],
    ['x**-2', '(x ** (-2))'],
    ['2**3**2', '(2 ** (3 ** 2))'],
    ['-2**-2', '(-(2 ** (-2)))'],
    ['(-x)**2', '((-x) ** 2)'],
    ['x**2*y', '((x ** 2) * y)'],
    ['-a * b', '((-a) * b)'],
    ['a * -b', '(a * (-b))'],
    ['--x', '(-(-x))'],
    ['+x', 'x'],
    ['a - -b', '(a - (-b))'],
    ['x*2|y', '((x * 2) | y)'],
    ['a|b|c', '((a | b) | c)'],
    ['a + b | c + d', '((a + b) | (c + d))'],
    ['a + b < c | d', '((a + b) < (c | d))'],
    ['a <= b', '(a <= b)'],
    ['a > b', '(a > b)'],
    ['a >= b', '(a >= b)'],
    ['a == b + 1', '(a == (b + 1))'],
    ['a != b', '(a != b)'],
    ['(a < b) < c', '((a < b) < c)'],
    ['((a))', 'a'],
    ['(a + b) * c', '((a + b) * c)'],
    ['Exp(-SqDist(x, y) / 2) * b', '(Exp(((-SqDist(x, y)) / 2)) * b)'],
    ['Sum_Reduction(Exp(-SqDist(x,y))*b, 0)', 'Sum_Reduction((Exp((-SqDist(x, y))) * b), 0)'],
    ['TensorDot(x, y, [2, 3], [3], [1], [0])', 'TensorDot(x, y, [2, 3], [3], [1], [0])'],
    ['f()', 'f()'],
    ['f(a, b,)', 'f(a, b)'],
    ['[1, 2,]', '[1, 2]'],
    ['[]', '[]'],
    ['[[1], -2]', '[[1], (-2)]'],
    ['Var(0, 3, 0) | Var(1, 3, 1)', '(Var(0, 3, 0) | Var(1, 3, 1))'],
  ];
  for (const [src, want] of cases) it(`${src}  =>  ${want}`, () => expect(p(src)).to.equal(want));

  it('reads number literals', () => {
    const nums = (text: string): unknown => {
      const e = parseFormula(text).expr!;
      return e.kind === 'number' ? [e.value, e.isInt] : e.kind;
    };
    expect(nums('3')).to.deep.equal([3, true]);
    expect(nums('3.0')).to.deep.equal([3, false]);
    expect(nums('.5')).to.deep.equal([0.5, false]);
    expect(nums('2.')).to.deep.equal([2, false]);
    expect(nums('1e-3')).to.deep.equal([0.001, false]);
    expect(nums('1.5E+2')).to.deep.equal([150, false]);
    expect(nums('1.e2')).to.deep.equal([100, false]);
  });
});

describe('grammar: statements, layout, spans', () => {
  it('splits statements on newlines and semicolons, collapsing repeats', () => {
    expect(stmts('x = Vi(0, 3); y = Vj(1, 3)\n\n;;\nx + y;')).to.deep.equal(['x = Vi(0, 3)', 'y = Vj(1, 3)', '(x + y)']);
    expect(stmts('\n\n  a\n')).to.deep.equal(['a']);
  });

  it('tells assignments from expressions', () => {
    expect(stmts('a = b == c\na == b')).to.deep.equal(['a = (b == c)', '(a == b)']);
    expect(stmts('f = f(x)')).to.deep.equal(['f = f(x)']);
  });

  it('continues a formula across lines inside brackets', () => {
    expect(stmts('g = Exp(-SqDist(x,\n   y)\n   / 2)\nh = [1,\n2]')).to.deep.equal([
      'g = Exp(((-SqDist(x, y)) / 2))',
      'h = [1, 2]',
    ]);
  });

  it('skips comments and handles CRLF line ends', () => {
    expect(stmts('# a kernel\r\nx = 1 # one\r\n# end')).to.deep.equal(['x = 1']);
  });

  it('gives accurate spans', () => {
    const text = ['# gaussian kernel', 'x = Vi(0, 3)', 'K = Exp(-SqDist(x,', '        y)) * b', '  Sum_Reduction(K, 0)'].join('\n');
    const { module, diagnostics } = parseModule(text, 'k.keo');
    expect(diagnostics).to.deep.equal([]);
    const [s1, s2, s3] = module!.statements;
    const at = (sp: { line: number; col: number; start: number; end: number }): string =>
      `${sp.line}:${sp.col} ${text.slice(sp.start, sp.end)}`;
    expect(module!.span.start).to.equal(0);
    expect(module!.span.end).to.equal(text.length);
    expect(s1!.kind).to.equal('assign');
    expect(at(s1!.span)).to.equal('2:1 x = Vi(0, 3)');
    if (s1!.kind !== 'assign') throw new Error();
    expect(at(s1!.nameSpan)).to.equal('2:1 x');
    expect(s1!.span.file).to.equal('k.keo');
    if (s2?.kind !== 'assign') throw new Error();
    expect(at(s2.span)).to.equal('3:1 K = Exp(-SqDist(x,\n        y)) * b');
    const mul = s2.value;
    if (mul.kind !== 'binary') throw new Error();
    expect(at(mul.opSpan)).to.equal('4:13 *');
    expect(at(mul.span)).to.equal('3:5 Exp(-SqDist(x,\n        y)) * b');
    const exp = mul.left;
    if (exp.kind !== 'call') throw new Error();
    expect(at(exp.calleeSpan)).to.equal('3:5 Exp');
    expect(at(exp.span)).to.equal('3:5 Exp(-SqDist(x,\n        y))');
    const neg = exp.args[0]!;
    if (neg.kind !== 'unary') throw new Error();
    expect(at(neg.span)).to.equal('3:9 -SqDist(x,\n        y)');
    const sq = neg.operand;
    if (sq.kind !== 'call') throw new Error();
    expect(at(sq.args[1]!.span)).to.equal('4:9 y');
    expect(at(mul.right.span)).to.equal('4:15 b');
    expect(s3!.kind).to.equal('expr');
    expect(at(s3!.span)).to.equal('5:3 Sum_Reduction(K, 0)');
  });

  it('lets binary spans cover parenthesised operands', () => {
    const e = parseFormula('(a + b) * c').expr!;
    if (e.kind !== 'binary' || e.left.kind !== 'binary') throw new Error();
    expect([e.span.start, e.span.end]).to.deep.equal([0, 11]);
    expect([e.left.span.start, e.left.span.end]).to.deep.equal([1, 6]);
    expect([e.left.opSpan.start, e.left.opSpan.end]).to.deep.equal([3, 4]);
  });

  it('parses formula strings with newlines as white space', () => {
    expect(p('Exp(x)\n * y')).to.equal('(Exp(x) * y)');
  });
});

describe('grammar: diagnostics', () => {
  it('UnexpectedCharacter, with a hint for ^', () => {
    const d = only('x = y ^ 2');
    expect([d.code, d.kind, d.span!.line, d.span!.col]).to.deep.equal(['KEO1001', 'UnexpectedCharacter', 1, 7]);
    expect(d.message).to.include("use '**'");
    expect(errs('a = 1\nb = x @ y')).to.deep.equal(['KEO1001 2:7']);
    expect(errs('α = 1')).to.deep.equal(['KEO1001 1:1']);
  });

  it('InvalidNumber', () => {
    expect(errs('a = 2x\nb = 1.2.3 + 1e\nc = 1e999')).to.deep.equal(['KEO1002 1:5', 'KEO1002 2:5', 'KEO1002 2:13', 'KEO1002 3:5']);
    expect(only('a = 2x').hint).to.include('2*x');
  });

  it('SyntaxError', () => {
    const d = only('a = f(x y)');
    expect([d.code, d.kind, d.span!.line, d.span!.col]).to.deep.equal(['KEO1101', 'SyntaxError', 1, 9]);
    expect(d.message).to.equal("expected ',' or ')' to close '(' opened at 1:6, found 'y'");
    expect(only('a = 1 +\nb = 2').message).to.equal("expected an expression after '+', found end of line");
    expect(only('x = = 1').message).to.equal("unexpected '='");
    expect(only('f(a = 1)').hint).to.include('keyword');
    expect(only('a b').message).to.include('missing operator');
    expect(errs('a)')).to.deep.equal(['KEO1101 1:2']);
    expect(only('(a]').message).to.equal("expected ')' to close '(' opened at 1:1, found ']'");
    expect(only('* 2').message).to.equal("expected an expression before '*'");
  });

  it('UnclosedBracket points at the opening bracket', () => {
    const d = only('a = 1\nb = Exp(SqDist(x, y)\n');
    expect([d.code, d.kind, d.span!.line, d.span!.col]).to.deep.equal(['KEO1102', 'UnclosedBracket', 2, 8]);
    expect(d.message).to.equal("expected ',' or ')' to close '(' opened at 2:8, found end of input");
    expect(errs('v = [1, 2')).to.deep.equal(['KEO1102 1:5']);
    // an assignment on the next line ends the unclosed bracket
    expect(errs('a = Exp(x\nb = 2 +')).to.deep.equal(['KEO1102 1:8', 'KEO1103 2:8']);
  });

  it('UnexpectedEnd', () => {
    const d = only('a = Exp(x) *');
    expect([d.code, d.kind, d.span!.line, d.span!.col]).to.deep.equal(['KEO1103', 'UnexpectedEnd', 1, 13]);
    expect(d.message).to.include("after '*'");
  });

  it('ChainedComparison', () => {
    const d = only('c = a < b < c');
    expect([d.code, d.kind, d.span!.line, d.span!.col]).to.deep.equal(['KEO1104', 'ChainedComparison', 1, 11]);
    expect(d.message).to.include('1:7');
    expect(errs('f(a <= b == c)')).to.deep.equal(['KEO1104 1:10']);
    expect(parseFormula('a > b >= c').diagnostics.map((d) => d.code)).to.deep.equal(['KEO1104']);
  });

  it('EmptySource', () => {
    for (const text of ['', '   \n\n', '# only a comment\n# another', ';;']) {
      const d = only(text);
      expect([d.code, d.kind]).to.deep.equal(['KEO1105', 'EmptySource']);
    }
    expect(parseFormula('  ').diagnostics.map((d) => d.code)).to.deep.equal(['KEO1105']);
  });

  it('reports several errors in one file, in order, one syntax error per statement', () => {
    const text = ['x = Vi(0, 3)', 'y = 1 +', 'z = (2', 'w = a < b < c', 'v = 3 ^ 2', 'u = f(a b c d)', 'ok = 1', 't = 2q'].join('\n');
    const r = parseModule(text, 'm.keo');
    expect(r.module).to.equal(undefined);
    expect(r.diagnostics.map((d) => `${d.kind} ${d.span!.line}:${d.span!.col}`)).to.deep.equal([
      'SyntaxError 2:8',
      'UnclosedBracket 3:5',
      'ChainedComparison 4:11',
      'UnexpectedCharacter 5:7',
      'SyntaxError 6:9',
      'InvalidNumber 8:5',
    ]);
  });

  it('parseFormula rejects statements', () => {
    expect(parseFormula('x = 1').diagnostics.map((d) => d.message)).to.deep.equal(["unexpected '='"]);
    expect(parseFormula('a; b').diagnostics.map((d) => d.message)).to.deep.equal(["unexpected ';'"]);
  });

  it('never throws', () => {
    const nasty = [
      '\u0000\u0001\u0002',
      '\ud800\udfff\ud800',
      '\uffff'.repeat(100),
      'x'.repeat(100000),
      '('.repeat(100000),
      ')'.repeat(1000),
      '('.repeat(MAX_NESTING + 1) + 'x' + ')'.repeat(MAX_NESTING + 1),
      'x' + '**x'.repeat(5000),
      '-'.repeat(10000) + 'x',
      'f(' + ','.repeat(1000) + ')',
      '[[[[]]]]]]]]',
      '= = = =',
      '1e',
      '. .. ...',
      '#',
      '\r\r\r',
      'a = (\n b = [\n c = f(\n',
      '😀 = 1',
    ];
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let k = 0; k < 200; k++) {
      const alphabet = 'ab(),[]+-*/|<>=!;\n#.09eE^_ x';
      let s = '';
      const n = Math.floor(rnd() * 40);
      for (let i = 0; i < n; i++) s += rnd() < 0.1 ? String.fromCharCode(Math.floor(rnd() * 65536)) : alphabet[Math.floor(rnd() * alphabet.length)];
      nasty.push(s);
    }
    for (const text of nasty) {
      const r = parseModule(text);
      const f = parseFormula(text);
      expect(r.module !== undefined || r.diagnostics.length > 0, JSON.stringify(text)).to.equal(true);
      expect(f.expr !== undefined || f.diagnostics.length > 0, JSON.stringify(text)).to.equal(true);
      for (const d of [...r.diagnostics, ...f.diagnostics]) {
        expect(d.message, JSON.stringify(text)).to.not.include('could not parse');
        expect(d.span, JSON.stringify(text)).to.not.equal(undefined);
      }
    }
  });

  it('guards deep nesting with a diagnostic', () => {
    const ok = '('.repeat(MAX_NESTING - 1) + 'x' + ')'.repeat(MAX_NESTING - 1);
    expect(parseFormula(ok).diagnostics).to.deep.equal([]);
    const deep = 'f('.repeat(MAX_NESTING + 5) + 'x' + ')'.repeat(MAX_NESTING + 5);
    const d = parseFormula(deep).diagnostics;
    expect(d.map((x) => x.code)).to.deep.equal(['KEO1101']);
    expect(d[0]!.message).to.include('nested too deeply');
    expect(parseFormula('x' + '**x'.repeat(1000)).diagnostics[0]!.message).to.include('nested too deeply');
    // long flat chains are not nesting, but a chain of more than LIMITS.depth operators is too deep
    // (KEO1106), refused before the parser builds it
    expect(parseFormula(Array(900).fill('x**2').join(' + ')).diagnostics).to.deep.equal([]);
    expect(parseFormula(Array(2000).fill('x**2').join(' + ')).diagnostics.map((x) => x.code)).to.deep.equal(['KEO1106']);
  });
});

describe('grammar: reference files', () => {
  it('grammar/keo.ebnf is up to date (npm run grammar)', () => {
    const file = readFileSync(join(root, 'grammar', 'keo.ebnf'), 'utf8');
    expect(file).to.equal(grammarToEbnf());
    expect(file).to.include('power         = primary [ "**" unary ] ;');
  });

  it('grammar/operations.md is up to date (npm run grammar) and lists every op and reduction', () => {
    const md = readFileSync(join(root, 'grammar', 'operations.md'), 'utf8');
    expect(md).to.equal(operationsMarkdown());
    for (const name of ['Exp', 'SqDist', 'GradSoftDTW_SqDist', 'BSpline', 'Sum_Reduction', 'KMin_ArgKMin_Reduction']) expect(md).to.include(`| \`${name}\``);
  });

  it('grammar/diagrams.html is up to date, self-contained, and its scripts build the diagrams', () => {
    const html = readFileSync(join(root, 'grammar', 'diagrams.html'), 'utf8');
    expect(html).to.equal(diagramsHtml());
    expect(html).to.not.match(/<script[^>]*\bsrc\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).to.not.match(/<link[^>]*\bhref\s*=\s*["']?\s*(https?:)?\/\//i);
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
    const ctx: Record<string, unknown> = {};
    ctx.window = ctx;
    vm.createContext(ctx);
    // everything but the last script, which draws into the page's DOM
    for (const s of scripts.slice(0, -1)) vm.runInContext(s, ctx);
    const builder = ctx.diagrams_builder as { buildSyntaxDiagramsText(g: unknown): string };
    const svg = builder.buildSyntaxDiagramsText(ctx.serializedGrammar);
    expect(svg).to.include('<h2 class="diagramHeader">expression</h2>');
    expect(svg).to.include('<svg');
  });
});

describe('grammar: Chevrotain validations', () => {
  // the shared parser and lexer skip them for start-up time; a grammar change must still pass them
  it('the parser and the lexer pass them (built with validate on)', async () => {
    const { KeoParser } = await import('../grammar/parser.js');
    const { createKeoLexer } = await import('../grammar/lexer.js');
    // with validations on, Chevrotain throws on a grammar definition error (ambiguity, left recursion)
    expect(() => new KeoParser({ validate: true })).to.not.throw();
    const lexer = createKeoLexer(true);
    expect(lexer.lexerDefinitionErrors).to.deep.equal([]);
    expect(lexer.tokenize('a = Vi(0, 3)\n').errors).to.deep.equal([]);
  });

  it("each RegExp token's start_chars_hint lists exactly the characters its matches can start with", async () => {
    // the lexer dispatches on the first character from these lists alone: a missing character would
    // make it fail on input that matches, an extra one would only slow it down
    const { allTokens } = await import('../grammar/lexer.js');
    const regexTokens = allTokens.filter((t) => t.PATTERN instanceof RegExp);
    expect(regexTokens.map((t) => t.name)).to.deep.equal(['WhiteSpace', 'Comment', 'Newline', 'Number', 'Identifier']);
    for (const t of regexTokens) {
      const sticky = new RegExp((t.PATTERN as RegExp).source, 'y');
      const matches = (text: string): boolean => {
        sticky.lastIndex = 0;
        return sticky.test(text);
      };
      const starts: string[] = [];
      for (let c = 0; c <= 0xffff; c++) {
        const ch = String.fromCharCode(c);
        if (['', '0', 'a', ' '].some((rest) => matches(ch + rest))) starts.push(ch);
      }
      expect(t.START_CHARS_HINT?.map((h) => (typeof h === 'number' ? String.fromCharCode(h) : h)).sort(), t.name).to.deep.equal(starts.sort());
    }
  });
});
