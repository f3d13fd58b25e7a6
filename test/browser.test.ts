import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildBrowserExample } from '../examples/browser/build.mjs';
import { serve } from '../examples/browser/serve.mjs';

/**
 * The browser example (examples/browser): bundled by esbuild with the keopsc browser entry, served over
 * http://127.0.0.1 (a secure context, as WebGPU needs), driven in headless Chromium. Chromium's
 * SwiftShader gives a WebGPU adapter without a GPU with the flags below (no extra Vulkan/ANGLE flag).
 * Without /usr/bin/chromium the suite is skipped with the reason, unless KEOPSC_REQUIRE_WEBGPU is set.
 */
const CHROMIUM = process.env['KEOPSC_CHROMIUM'] ?? '/usr/bin/chromium';
const REQUIRE = !!process.env['KEOPSC_REQUIRE_WEBGPU'] && process.env['KEOPSC_REQUIRE_WEBGPU'] !== '0';
const FLAGS = ['--enable-unsafe-webgpu', '--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const GAUSS = `x = Vi(0, 3)
y = Vj(1, 3)
b = Vj(2, 1)
gauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)`;

describe('browser example', function () {
  this.timeout(180000);

  if (!existsSync(CHROMIUM)) {
    const reason = `${CHROMIUM} is missing (apt-get install chromium; or set KEOPSC_CHROMIUM)`;
    if (REQUIRE)
      it('needs Chromium (KEOPSC_REQUIRE_WEBGPU is set) but it is missing', () => {
        throw new Error(reason);
      });
    else
      it(`is skipped: ${reason}`, function () {
        this.skip();
      });
    return;
  }

  let dir: string;
  let built: Awaited<ReturnType<typeof buildBrowserExample>>;
  let server: Server | undefined;
  let url: string;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keopsc-browser-'));
    built = await buildBrowserExample({ outdir: dir, logLevel: 'silent' });
    ({ url, server } = await serve({ dir, port: 0 }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    await page.goto(url);
    await page.waitForSelector('#diagnostics[data-state=ok]');
    await page.waitForFunction(() => document.getElementById('gpu-status')?.dataset['state'] !== 'checking');
  });

  after(async () => {
    await browser?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(pageErrors, 'errors in the page').to.deep.equal([]);
  });

  it('bundles the keopsc browser entry with no Node-only import', () => {
    // the build fails (naming the importer) if src/browser.ts reaches a node: module
    expect(built.bytes).to.be.above(50_000);
    const code = readFileSync(built.bundle, 'utf8');
    expect(code).not.to.match(/\bfrom\s*["']node:|require\(["']node:/);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).to.contain('<script type="module" src="./main.js">');
  });

  it('compiles the default Gaussian kernel and shows its WGSL and arguments', async () => {
    expect(await page.$$eval('#args tbody tr', (rows) => rows.map((r) => (r as HTMLTableRowElement).cells[0]!.textContent))).to.deep.equal(['x', 'y', 'b']);
    expect(await page.getAttribute('#wgsl-panel', 'data-state')).to.equal('ok');
    const wgsl = (await page.textContent('#wgsl')) ?? '';
    expect(wgsl).to.contain('@compute').and.to.contain('@workgroup_size');
  });

  it('shows a diagnostic with its code and line:col as the user types, and clears it when fixed', async () => {
    await page.fill('#formula', GAUSS);
    await page.waitForSelector('#diagnostics[data-state=ok]');
    await page.click('#formula');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\nk2 = Sum_Reduction(x - Vj(3, 2), 0)');
    await page.waitForSelector('#diagnostics[data-state=error]');
    const items: Record<string, string | undefined>[] = await page.$$eval('li.diagnostic', (ls) => ls.map((l) => ({ ...(l as HTMLElement).dataset, text: l.textContent ?? '' })));
    expect(items).to.have.length(1);
    expect(items[0]).to.include({ code: 'KEO3001', line: '5', col: '24' });
    expect(items[0]!['text']).to.contain('5:24').and.to.contain('KEO3001');
    expect(await page.textContent('#diagnostics-text')).to.contain('formula.keo:5:24 - error KEO3001');
    expect(await page.isDisabled('#run')).to.equal(true);
    expect(await page.getAttribute('#wgsl-panel', 'data-state')).to.equal('pending');

    // a syntax error on another line
    await page.fill('#formula', 'x = Vi(0, 3)\ny = Vj(1, 3)\nk = Sum_Reduction(SqDist(x, y, 0)');
    await page.waitForSelector('#diagnostics[data-state=error]');
    const codes = await page.$$eval('li.diagnostic', (ls) => ls.map((l) => `${(l as HTMLElement).dataset['code']} ${(l as HTMLElement).dataset['line']}:${(l as HTMLElement).dataset['col']}`));
    expect(codes.length).to.be.at.least(1);
    expect(codes[0]).to.match(/^KEO1\d{3} 3:\d+$/);

    await page.fill('#formula', GAUSS);
    await page.waitForSelector('#diagnostics[data-state=ok]');
    expect(await page.$$('li.diagnostic')).to.have.length(0);
    expect(await page.isDisabled('#run')).to.equal(false);
  });

  it('runs the Gaussian kernel sum on WebGPU and agrees with the JS backend', async function () {
    const gpu = await page.$eval('#gpu-status', (e) => ({ state: e.dataset['state'], text: e.textContent ?? '' }));
    if (gpu.state !== 'ok') {
      if (REQUIRE) throw new Error(`KEOPSC_REQUIRE_WEBGPU is set but the page says: ${gpu.text}`);
      console.log(`      (WebGPU unavailable in Chromium: ${gpu.text}; skipped)`);
      this.skip();
    }
    await page.fill('#formula', GAUSS);
    await page.waitForSelector('#diagnostics[data-state=ok]');
    await page.fill('#M', '4000');
    await page.fill('#N', '3000');
    await page.click('#run');
    await page.waitForSelector('#result[data-state=done], #result[data-state=error]', { timeout: 150000 });
    const r: Record<string, string | undefined> = await page.$eval('#result', (e) => ({ ...e.dataset, message: document.getElementById('result-message')?.textContent ?? '' }));
    expect(r['state'], r['message']).to.equal('done');
    expect(r).to.include({ webgpu: 'ran', m: '4000', n: '3000', kernel: 'gauss', agree: 'true' });
    expect(Number(r['relErr'])).to.be.below(1e-4);
    expect(Number(r['webgpuMs'])).to.be.above(0);
    console.log(`      ${gpu.text}; M=4000 N=3000: WebGPU first run ${r['webgpuFirstMs']} ms, second ${r['webgpuMs']} ms, JS ${r['jsMs']} ms, rel. error ${Number(r['relErr']).toExponential(2)}; bundle ${(built.bytes / 1024).toFixed(0)} KiB`);
  });

  // issue 16 item 7: a result computed from another formula is marked stale, and unmarked when it is back
  it('marks the shown result stale when the formula or sizes change, and not when they come back', async () => {
    await page.fill('#formula', GAUSS);
    await page.waitForSelector('#diagnostics[data-state=ok]');
    await page.fill('#M', '200');
    await page.fill('#N', '300');
    await page.click('#run');
    await page.waitForSelector('#result[data-state=done], #result[data-state=error]', { timeout: 150000 });
    const summary = await page.textContent('#result-summary');
    expect(await page.getAttribute('#result', 'data-stale')).to.equal(null);
    // an edit that introduces an error: the old verdict must not stand as if it were current
    await page.click('#formula');
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\nk2 = Sum_Reduction(x - Vj(3, 2), 0)');
    await page.waitForSelector('#diagnostics[data-state=error]');
    expect(await page.getAttribute('#result', 'data-stale')).to.equal('true');
    expect(await page.textContent('#result-summary')).to.contain('stale').and.not.contain('agrees');
    await page.fill('#formula', GAUSS);
    await page.waitForSelector('#diagnostics[data-state=ok]');
    expect(await page.getAttribute('#result', 'data-stale')).to.equal(null);
    expect(await page.textContent('#result-summary')).to.equal(summary);
    await page.fill('#M', '201');
    expect(await page.getAttribute('#result', 'data-stale')).to.equal('true');
    await page.fill('#M', '200');
    expect(await page.getAttribute('#result', 'data-stale')).to.equal(null);
  });

  it('tells a browser without WebGPU which browsers and flags work (no advice meant for Node)', async () => {
    const context = await browser!.newContext();
    try {
      const p = await context.newPage();
      // a string, not a function: tsx would wrap a function in helpers the page does not have
      await p.addInitScript({ content: "Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });" });
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(String(e)));
      p.on('console', (m) => errors.push(`console: ${m.text()}`));
      await p.goto(url);
      await p.waitForSelector('#gpu-status[data-state=unavailable]', { timeout: 5000 }).catch(async (e) => {
        throw new Error(`${String(e)}; status: ${await p.textContent('#gpu-status')}; ${errors.join(' | ')}`);
      });
      const text = (await p.textContent('#gpu-status')) ?? '';
      expect(text).to.contain('this browser has no WebGPU (navigator.gpu is missing)');
      for (const s of ['Chrome and Edge 113+', 'Safari 26+', 'Firefox 141+', 'chrome://flags/#enable-unsafe-webgpu', 'The JS backend still runs']) expect(text).to.contain(s);
      expect(text).to.not.match(/apt-get|VK_ICD_FILENAMES|Node|webgpu package/);
      // and the page still runs the JS backend
      await p.fill('#M', '50');
      await p.fill('#N', '60');
      await p.click('#run');
      await p.waitForSelector('#result[data-state=done]');
      expect(await p.getAttribute('#result', 'data-webgpu')).to.equal('unavailable');
      expect(await p.textContent('#result-message')).to.contain('ran the JS backend only');
    } finally {
      await context.close();
    }
  });
});
