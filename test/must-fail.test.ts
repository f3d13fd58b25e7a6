/**
 * The must-fail suite (in the spirit of Halide's test/error): every `.keo` file in test/must-fail/ is
 * a small bad program that must be rejected with exactly the diagnostics its header announces.
 *
 * Header directives (comment lines at the top of the file):
 *
 *   # expect: KEO3001 at 3:12 "SqDist needs equal dimensions"
 *       one per diagnostic, in the order they must be reported: the code, the 1-based line:col of the
 *       diagnostic's span, and a fragment of its message (optional). The file must produce exactly
 *       these diagnostics, no more.
 *   # hint: did you mean 'Exp'?
 *       the hint of the preceding `expect` must contain this text.
 *   # hint-not: ...
 *       the hint of the preceding `expect` (if any) must not contain this text.
 *   # stage: run
 *       the errors are only found when compiling for execution (`compileModule`, which runs the pass
 *       pipeline); the default stage `check` is parse + typecheck (`frontend`).
 *   # known-issue: <one line>
 *       the compiler does not meet the expectation yet: the test is reported as pending, with the
 *       reason. Once the file passes, the test fails to say the marker should be removed.
 *
 * Besides the per-diagnostic checks, every failure must be a KeopsError (never another exception)
 * whose formatted message has a `file:line:col - error CODE` line and a caret line under the span.
 *
 * The last tests run the CLI in-process (`keopsc check`) on some of these files and on
 * test/fixtures/good.keo.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeopsError, type Diagnostic } from '../src/diagnostics/index.js';
import { frontend } from '../src/passes/pipeline.js';
import { compileModule } from '../src/api/compile.js';
import { main } from '../src/cli/main.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const DIR = join(HERE, 'must-fail');
const GOOD = join(DIR, '..', 'fixtures', 'good.keo');

interface Expectation {
  code: string;
  line: number;
  col: number;
  fragment?: string;
  hints: string[];
  hintsNot: string[];
}

interface Spec {
  expectations: Expectation[];
  stage: 'check' | 'run';
  knownIssue?: string;
}

/** Parse the header directives of a must-fail file. Throws on a malformed header. */
function parseHeader(file: string, text: string): Spec {
  const spec: Spec = { expectations: [], stage: 'check' };
  const lines = text.split(/\r?\n/);
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k]!;
    if (!line.startsWith('#')) break; // the header ends at the first line that is not a comment
    const m = /^#\s*([a-z-]+):\s*(.*?)\s*$/.exec(line);
    if (!m) continue; // a plain comment
    const [, key, value] = m as unknown as [string, string, string];
    const where = `${file}:${k + 1}`;
    const last = spec.expectations[spec.expectations.length - 1];
    switch (key) {
      case 'expect': {
        const e = /^(KEO\d{4})\s+at\s+(\d+):(\d+)(?:\s+"(.*)")?$/.exec(value);
        if (!e) throw new Error(`${where}: malformed '# expect:' line; write: # expect: KEO3001 at 3:12 "message fragment"`);
        spec.expectations.push({ code: e[1]!, line: Number(e[2]), col: Number(e[3]), fragment: e[4], hints: [], hintsNot: [] });
        break;
      }
      case 'hint':
      case 'hint-not':
        if (!last) throw new Error(`${where}: '# ${key}:' must follow an '# expect:' line`);
        (key === 'hint' ? last.hints : last.hintsNot).push(value);
        break;
      case 'stage':
        if (value !== 'check' && value !== 'run') throw new Error(`${where}: '# stage:' must be 'check' or 'run', got '${value}'`);
        spec.stage = value;
        break;
      case 'known-issue':
        if (!value) throw new Error(`${where}: '# known-issue:' needs a one-line reason`);
        spec.knownIssue = value;
        break;
      default:
        throw new Error(`${where}: unknown directive '# ${key}:' (expect, hint, hint-not, stage, known-issue)`);
    }
  }
  if (spec.expectations.length === 0) throw new Error(`${file}: no '# expect:' line in the header`);
  return spec;
}

function describeDiagnostics(ds: readonly Diagnostic[]): string {
  return ds
    .map((d) => `  ${d.code} at ${d.span ? `${d.span.line}:${d.span.col}` : '?'} "${d.message}"${d.hint ? ` (hint: ${d.hint})` : ''}`)
    .join('\n');
}

/** Run the stage and return the KeopsError; anything else (no error, another exception) fails. */
function runStage(file: string, text: string, stage: Spec['stage']): KeopsError {
  try {
    if (stage === 'run') compileModule(text, { file });
    else frontend(text, file);
  } catch (e) {
    if (e instanceof KeopsError) return e;
    const what = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    throw new Error(`${file}: a non-diagnostic exception escaped the ${stage} stage: ${what}`);
  }
  throw new Error(`${file}: expected diagnostics, but the ${stage} stage succeeded`);
}

/** All the checks of one file; throws an AssertionError (or Error) describing the first failure. */
function checkFile(file: string, text: string, spec: Spec): void {
  const err = runStage(file, text, spec.stage);
  const ds = err.diagnostics;
  const context = `\nexpected:\n${spec.expectations.map((e) => `  ${e.code} at ${e.line}:${e.col}${e.fragment ? ` "${e.fragment}"` : ''}`).join('\n')}\nactual:\n${describeDiagnostics(ds)}`;
  expect(ds.length, `number of diagnostics${context}`).to.equal(spec.expectations.length);

  // The formatted text: one block per diagnostic (separated by blank lines), then a count if several.
  const blocks = err.message.split('\n\n');
  spec.expectations.forEach((e, k) => {
    const d = ds[k]!;
    const label = `diagnostic ${k + 1}${context}`;
    expect(d.code, `code of ${label}`).to.equal(e.code);
    expect(d.span, `span of ${label}`).to.not.equal(undefined);
    expect(`${d.span!.line}:${d.span!.col}`, `position of ${label}`).to.equal(`${e.line}:${e.col}`);
    if (e.fragment !== undefined) expect(d.message, `message of ${label}`).to.include(e.fragment);
    for (const h of e.hints) expect(d.hint ?? '', `hint of ${label}`).to.include(h);
    for (const h of e.hintsNot) expect(d.hint ?? '', `hint of ${label}`).to.not.include(h);

    const head = `${file}:${e.line}:${e.col} - error ${e.code}`;
    expect(err.message, `formatted message of ${label}\n--- formatted:\n${err.message}`).to.include(head);
    const block = blocks.find((b) => b.startsWith(head)) ?? '';
    const caret = block.split('\n').find((l) => /^\s+\|\s*\^+$/.test(l));
    expect(caret, `caret line of ${label}\n--- formatted:\n${err.message}`).to.not.equal(undefined);
    // The caret sits under column `col` of the code line: `  N | <code>` / `    | <spaces>^` (a line
    // longer than the frame is cut around the caret: then the caret sits under the same character).
    const at = caret!.slice(caret!.indexOf('|') + 2).indexOf('^');
    const srcLine = text.split('\n')[e.line - 1]!;
    if (srcLine.length <= 160) expect(at, `caret column of ${label}\n--- formatted:\n${err.message}`).to.equal(e.col - 1);
    const lines = block.split('\n');
    const code = lines[lines.indexOf(caret!) - 1]!;
    expect(code.slice(code.indexOf('|') + 2)[at], `character above the caret of ${label}\n--- formatted:\n${err.message}`).to.equal(srcLine[e.col - 1]);
  });
  if (ds.length > 1) expect(err.message).to.match(new RegExp(`\\n\\nFound ${ds.length} errors\\.$`));
}

const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.keo'))
  .sort();

describe('must-fail: every bad .keo file is rejected with its announced diagnostics', function () {
  it('has at least 45 must-fail files', function () {
    expect(FILES.length).to.be.at.least(45);
  });

  for (const file of FILES) {
    it(file, function () {
      const text = readFileSync(join(DIR, file), 'utf8');
      const spec = parseHeader(file, text);
      if (spec.knownIssue === undefined) {
        checkFile(file, text, spec);
        return;
      }
      let stillFailing = false;
      try {
        checkFile(file, text, spec);
      } catch {
        stillFailing = true;
      }
      if (!stillFailing) {
        throw new Error(`${file} meets its expectations now: remove its '# known-issue:' line`);
      }
      if (this.test) this.test.title = `${file} [known issue: ${spec.knownIssue}]`;
      this.skip();
    });
  }
});

describe('must-fail: keopsc check (CLI, in-process)', function () {
  async function check(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['node', 'keopsc', 'check', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  const noStack = (s: string): void => {
    expect(s).to.not.match(/^\s+at .+[:(]\d+:\d+\)?$/m, 'a stack trace was printed');
    expect(s).to.not.include('internal error');
  };

  it('exits 1 on a bad file and prints its diagnostic with a code frame, without a stack trace', async function () {
    const file = join(DIR, 'dim-sqdist.keo');
    const r = await check(file);
    const all = `${r.out}\n${r.err}`;
    expect(r.code).to.equal(1);
    expect(all).to.include(`${file}:5:34 - error KEO3001: SqDist needs equal dimensions, got 3 and 2`);
    expect(all).to.match(/^\s+\|\s*\^+$/m);
    expect(all).to.include('hint: SqDist needs equal dims');
    noStack(all);
  });

  it('exits 1 on a file with several errors and prints all of them with a count', async function () {
    const file = join(DIR, 'several-errors.keo');
    const r = await check(file);
    const all = `${r.out}\n${r.err}`;
    expect(r.code).to.equal(1);
    for (const code of ['KEO2001', 'KEO3001', 'KEO2002', 'KEO3004']) expect(all).to.include(`- error ${code}:`);
    expect(all).to.include('Found 4 errors.');
    noStack(all);
  });

  it('exits 0 on test/fixtures/good.keo and names its kernel', async function () {
    const r = await check(GOOD);
    expect(r.code, `${r.out}\n${r.err}`).to.equal(0);
    expect(r.out).to.include('ok');
    expect(r.out).to.include('gauss');
    expect(r.err).to.equal('');
    // The fixture is good for execution too, not only for check.
    expect(compileModule(readFileSync(GOOD, 'utf8'), { file: GOOD }).kernels.map((k) => k.name)).to.deep.equal(['gauss']);
  });

  it('--json on a bad file prints JSON with ok: false and the diagnostics', async function () {
    const file = join(DIR, 'unknown-op-typo.keo');
    const r = await check('--json', file);
    expect(r.code).to.equal(1);
    const j = JSON.parse(r.out) as { file: string; ok: boolean; kernels: string[]; diagnostics: Diagnostic[] };
    expect(j.ok).to.equal(false);
    expect(j.file).to.equal(file);
    expect(j.diagnostics).to.have.length(1);
    const d = j.diagnostics[0]!;
    expect(d.code).to.equal('KEO2001');
    expect(d.message).to.include("unknown operation 'Exq'");
    expect(d.hint).to.include("did you mean 'Exp'?");
    expect(d.span).to.include({ line: 5, col: 19 });
  });

  it('--json on a good file prints ok: true, the kernels and no diagnostics', async function () {
    const r = await check('--json', GOOD);
    expect(r.code).to.equal(0);
    const j = JSON.parse(r.out) as { ok: boolean; kernels: string[]; diagnostics: Diagnostic[] };
    expect(j).to.deep.include({ ok: true, kernels: ['gauss'], diagnostics: [] });
  });

  it('exits 1 on a missing file with a one-line KEO5001 message, without a stack trace', async function () {
    const r = await check(join(DIR, 'no-such-file.keo'));
    const all = `${r.out}\n${r.err}`;
    expect(r.code).to.equal(1);
    expect(all).to.include('KEO5001');
    expect(all).to.include('no such file');
    noStack(all);
  });
});
