/**
 * The keopsc browser example: type a `.keo` formula, see its diagnostics as you type and the WGSL it
 * compiles to, and run it on random point clouds with WebGPU, timed and checked against the JS backend.
 * Plain DOM, no framework; bundled by ./build.mjs (esbuild) with the keopsc browser entry.
 *
 * Stable hooks for tests (test/browser.test.ts): `#gpu-status[data-state=ok|unavailable]`,
 * `#diagnostics[data-state=ok|error]` with one `li.diagnostic[data-code][data-line][data-col]` each,
 * `#wgsl-panel[data-state=ok|error]`, and `#result[data-state=idle|running|done|error]` whose dataset
 * carries the numbers of the last run (webgpu, webgpuMs, webgpuFirstMs, jsMs, relErr, absDiff, ...)
 * and `data-stale=true` while the formula, kernel, sizes or seed differ from that run's.
 */
import { compileModule, KeopsError, webgpuStatus, type CompiledKernel, type Diagnostic, type KernelOutput } from '../../src/browser.js';

/** The examples of the drop-down: the default Gaussian kernel sum, two other reductions and a mistake. */
const EXAMPLES: { name: string; text: string }[] = [
  {
    name: 'Gaussian kernel sum',
    text: `x = Vi(0, 3)                     # M points in 3D, indexed by i
y = Vj(1, 3)                     # N points in 3D, indexed by j
b = Vj(2, 1)                     # one weight per y_j
gauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)`,
  },
  {
    name: 'Gaussian, scale as a parameter',
    text: `x = Vi(0, 3)
y = Vj(1, 3)
b = Vj(2, 2)                     # two weights per y_j
s = Pm(3, 1)                     # 1 / (2 sigma^2), the same for every pair
K = Exp(-s * SqDist(x, y))
conv = Sum_Reduction(K * b, 0)`,
  },
  {
    name: 'log-sum-exp (soft-min distance)',
    text: `x = Vi(0, 2)
y = Vj(1, 2)
lse = LogSumExp_Reduction(-SqDist(x, y) / 0.1, 0)`,
  },
  {
    name: 'nearest neighbour (ArgMin)',
    text: `x = Vi(0, 3)
y = Vj(1, 3)
nn = ArgMin_Reduction(SqDist(x, y), 0)`,
  },
  {
    name: 'a mistake (dimension mismatch)',
    text: `x = Vi(0, 3)
y = Vj(1, 2)
k = Sum_Reduction(SqDist(x, y), 0)`,
  },
];

const CATEGORY = ['i (M rows)', 'j (N rows)', 'parameter'] as const;

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`index.html has no #${id}`);
  return e as T;
}

const ui = {
  formula: el<HTMLTextAreaElement>('formula'),
  examples: el<HTMLSelectElement>('examples'),
  kernel: el<HTMLSelectElement>('kernel'),
  kernelLabel: el('kernel-label'),
  M: el<HTMLInputElement>('M'),
  N: el<HTMLInputElement>('N'),
  seed: el<HTMLInputElement>('seed'),
  run: el<HTMLButtonElement>('run'),
  gpuStatus: el('gpu-status'),
  diagnostics: el('diagnostics'),
  diagnosticsSummary: el('diagnostics-summary'),
  diagnosticList: el<HTMLUListElement>('diagnostic-list'),
  diagnosticsText: el<HTMLPreElement>('diagnostics-text'),
  args: el<HTMLTableElement>('args'),
  outputs: el('outputs'),
  ir: el<HTMLPreElement>('ir'),
  wgslPanel: el('wgsl-panel'),
  wgslSummary: el('wgsl-summary'),
  wgsl: el<HTMLPreElement>('wgsl'),
  result: el('result'),
  resultSummary: el('result-summary'),
  resultMessage: el('result-message'),
  resultTable: el<HTMLTableElement>('result-table'),
  webgpuFirstMs: el('webgpu-first-ms'),
  webgpuMs: el('webgpu-ms'),
  jsMs: el('js-ms'),
  relErr: el('rel-err'),
  absDiff: el('abs-diff'),
  indexRow: el('index-row'),
  indexMismatches: el('index-mismatches'),
};

/** The kernel compiled from the current text (undefined while the text has errors). */
let current: CompiledKernel | undefined;
/** WebGPU's availability, once known. */
let gpu: { ok: true; adapter: string } | { ok: false; reason: string } | undefined;
let running = false;

// ---------------------------------------------------------------- compile as the user types

/** Compile the text, then show its diagnostics, arguments, optimised kernel and WGSL. */
function refresh(): void {
  compileText();
  markStale();
}

function compileText(): void {
  const text = ui.formula.value;
  const t0 = performance.now();
  let kernels: CompiledKernel[];
  try {
    kernels = compileModule(text, { file: 'formula.keo' }).kernels;
  } catch (e) {
    current = undefined;
    showDiagnostics(e);
    showKernel(undefined);
    return;
  }
  const ms = performance.now() - t0;
  // several kernels: let the user pick one (keep the previous choice when it still exists)
  const names = kernels.map((k) => k.name);
  const keep = names.includes(ui.kernel.value) ? ui.kernel.value : names[names.length - 1]!;
  ui.kernel.replaceChildren(...names.map((n) => new Option(n, n, false, n === keep)));
  ui.kernelLabel.hidden = kernels.length < 2;
  current = kernels.find((k) => k.name === keep)!;
  ui.diagnostics.dataset.state = 'ok';
  ui.diagnosticsSummary.textContent = `— no errors (compiled in ${ms.toFixed(1)} ms)`;
  ui.diagnosticList.replaceChildren();
  ui.diagnosticsText.hidden = true;
  showKernel(current);
}

function showDiagnostics(e: unknown): void {
  ui.diagnostics.dataset.state = 'error';
  ui.diagnosticsText.hidden = false;
  if (!(e instanceof KeopsError)) {
    // not a user error: a bug of keopsc; show it all the same
    ui.diagnosticsSummary.textContent = '— internal error';
    ui.diagnosticList.replaceChildren();
    ui.diagnosticsText.textContent = e instanceof Error ? (e.stack ?? e.message) : String(e);
    return;
  }
  const ds = e.diagnostics;
  ui.diagnosticsSummary.textContent = `— ${ds.length} error${ds.length === 1 ? '' : 's'}`;
  ui.diagnosticList.replaceChildren(...ds.map(diagnosticItem));
  ui.diagnosticsText.textContent = e.message; // formatted: file:line:col, code frame with a caret, hint
}

function diagnosticItem(d: Diagnostic): HTMLLIElement {
  const li = document.createElement('li');
  li.className = 'diagnostic';
  li.dataset.code = d.code;
  const where = document.createElement('span');
  where.className = 'where';
  if (d.span) {
    li.dataset.line = String(d.span.line);
    li.dataset.col = String(d.span.col);
    where.textContent = `${d.span.line}:${d.span.col} `;
    const { start, end } = d.span;
    li.title = 'select in the editor';
    li.addEventListener('click', () => {
      ui.formula.focus();
      ui.formula.setSelectionRange(start, Math.max(end, start + 1));
    });
  }
  const code = document.createElement('span');
  code.className = 'code';
  code.textContent = d.code;
  li.append(where, code, ` ${d.message}`);
  if (d.hint) {
    const hint = document.createElement('div');
    hint.className = 'hint';
    hint.textContent = `hint: ${d.hint}`;
    li.append(hint);
  }
  return li;
}

function showKernel(k: CompiledKernel | undefined): void {
  const body = ui.args.tBodies[0]!;
  ui.run.disabled = !k || running;
  if (!k) {
    body.replaceChildren();
    ui.outputs.textContent = '';
    ui.ir.textContent = '';
    ui.wgslPanel.dataset.state = 'pending';
    ui.wgslSummary.textContent = '— fix the errors first';
    return;
  }
  const { M, N } = sizes();
  body.replaceChildren(
    ...k.args.map((a) => {
      const tr = document.createElement('tr');
      const rows = a.cat === 0 ? M : a.cat === 1 ? N : 1;
      for (const c of [a.name, String(a.index), CATEGORY[a.cat], String(a.dim), a.cat === 2 ? `(${a.dim},)` : `(${rows}, ${a.dim})`]) tr.insertCell().textContent = c;
      return tr;
    }),
  );
  ui.outputs.textContent = `${k.name} returns ${k
    .outputShapes(M, N)
    .map((o) => `${o.name} (${o.shape.join(', ')})`)
    .join(' and ')}; reduction over ${k.tag === 0 ? 'j, one row per i' : 'i, one row per j'}.`;
  ui.ir.textContent = k.toString();
  try {
    const shader = k.wgslSource();
    ui.wgsl.textContent = shader.code;
    ui.wgslPanel.dataset.state = 'ok';
    ui.wgslSummary.textContent = `— ${shader.code.split('\n').length} lines, workgroup size ${shader.workgroupSize}${shader.tiled ? ', tiled' : ''}`;
  } catch (e) {
    ui.wgsl.textContent = e instanceof Error ? e.message : String(e);
    ui.wgslPanel.dataset.state = 'error';
    ui.wgslSummary.textContent = '— not available for this kernel';
  }
}

function sizes(): { M: number; N: number; seed: number } {
  const int = (input: HTMLInputElement, dflt: number) => {
    const v = Math.floor(Number(input.value));
    return Number.isFinite(v) && v >= 1 ? v : dflt;
  };
  return { M: int(ui.M, 1), N: int(ui.N, 1), seed: Math.floor(Number(ui.seed.value)) || 0 };
}

// ---------------------------------------------------------------- run: WebGPU, then JS, compared

/** A small seeded generator (mulberry32), so a run can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform float32 data in [0, 1) for every argument: Vi (M, dim), Vj (N, dim), Pm (dim,). */
function randomArgs(k: CompiledKernel, M: number, N: number, seed: number): Record<string, { data: Float32Array; shape: number[] }> {
  const rand = random(seed);
  const args: Record<string, { data: Float32Array; shape: number[] }> = {};
  for (const a of k.args) {
    const shape = a.cat === 2 ? [a.dim] : [a.cat === 0 ? M : N, a.dim];
    const data = new Float32Array(shape.reduce((p, x) => p * x, 1));
    for (let t = 0; t < data.length; t++) data[t] = rand();
    args[a.name] = { data, shape };
  }
  return args;
}

/** How far two outputs are apart: values by max |a - b| / max |b|, indices by the count that differ. */
function compareOutputs(gpuOut: KernelOutput, jsOut: KernelOutput): { absDiff: number; relErr: number; mismatches: number } {
  const a = gpuOut.data;
  const b = jsOut.data;
  if (a.length !== b.length) throw new Error(`${gpuOut.name}: WebGPU gave ${a.length} numbers, JS ${b.length}`);
  if (a instanceof BigInt64Array || b instanceof BigInt64Array) {
    let mismatches = 0;
    for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) mismatches++;
    return { absDiff: NaN, relErr: NaN, mismatches };
  }
  let absDiff = 0;
  let scale = 0;
  let mismatches = 0; // non-finite values that disagree (e.g. +inf against a number)
  for (let k = 0; k < a.length; k++) {
    const x = a[k]!;
    const y = b[k]!;
    if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      mismatches++;
      continue;
    }
    absDiff = Math.max(absDiff, Math.abs(x - y));
    scale = Math.max(scale, Math.abs(y));
  }
  for (let k = 0; k < b.length; k++) if (Number.isFinite(b[k]!)) scale = Math.max(scale, Math.abs(b[k]!));
  return { absDiff, relErr: mismatches > 0 ? Infinity : absDiff === 0 ? 0 : absDiff / scale, mismatches };
}

/** Let the page repaint before a long synchronous step. */
const repaint = () => new Promise<void>((ok) => requestAnimationFrame(() => setTimeout(ok, 0)));

function setResult(state: 'idle' | 'running' | 'done' | 'error', summary: string, message: string): void {
  ui.result.dataset.state = state;
  ui.resultSummary.textContent = summary;
  ui.resultMessage.textContent = message;
  delete ui.result.dataset.stale;
}

/** What the shown result was computed from: the formula text, the kernel and the sizes. */
let shownFrom: string | undefined;
const runInputs = (): string => JSON.stringify([ui.formula.value, current?.name, ui.M.value, ui.N.value, ui.seed.value]);
let shownSummary = '';

/** Mark the shown result stale when the formula (or kernel, sizes, seed) changed since it ran, and unmark it when they are back. */
function markStale(): void {
  const state = ui.result.dataset.state;
  if (shownFrom === undefined || (state !== 'done' && state !== 'error')) return;
  const stale = runInputs() !== shownFrom;
  if (stale === (ui.result.dataset.stale === 'true')) return;
  if (stale) {
    shownSummary = ui.resultSummary.textContent ?? '';
    ui.result.dataset.stale = 'true';
    ui.resultSummary.textContent = '— stale: the formula or sizes changed since this run (run again)';
  } else {
    delete ui.result.dataset.stale;
    ui.resultSummary.textContent = shownSummary;
  }
}

async function run(): Promise<void> {
  const k = current;
  if (!k || running) return;
  running = true;
  ui.run.disabled = true;
  const { M, N, seed } = sizes();
  const data = ui.result.dataset;
  for (const key of Object.keys(data)) if (key !== 'state') delete data[key];
  ui.resultTable.hidden = true;
  try {
    setResult('running', '— running…', `Making random data: M = ${M}, N = ${N}, seed ${seed}…`);
    await repaint();
    const args = randomArgs(k, M, N, seed);
    data.m = String(M);
    data.n = String(N);
    data.kernel = k.name;

    let gpuResult: Awaited<ReturnType<CompiledKernel['runAsync']>> | undefined;
    if (gpu?.ok) {
      setResult('running', '— running…', 'WebGPU: compiling the shader and running…');
      await repaint();
      const t0 = performance.now();
      await k.run(args, { backend: 'webgpu' });
      const first = performance.now() - t0;
      const t1 = performance.now();
      gpuResult = await k.run(args, { backend: 'webgpu' });
      const second = performance.now() - t1;
      data.webgpu = 'ran';
      data.webgpuFirstMs = first.toFixed(2);
      data.webgpuMs = second.toFixed(2);
      ui.webgpuFirstMs.textContent = `${first.toFixed(1)} ms`;
      ui.webgpuMs.textContent = `${second.toFixed(1)} ms`;
    } else {
      data.webgpu = 'unavailable';
      ui.webgpuFirstMs.textContent = ui.webgpuMs.textContent = '—';
    }

    setResult('running', '— running…', 'JS backend: running on this thread…');
    await repaint();
    const t2 = performance.now();
    const jsResult = k.run(args, { backend: 'js' });
    const jsMs = performance.now() - t2;
    data.jsMs = jsMs.toFixed(2);
    ui.jsMs.textContent = `${jsMs.toFixed(1)} ms`;

    let summary = '— done';
    ui.relErr.textContent = ui.absDiff.textContent = '—';
    ui.indexRow.hidden = true;
    if (gpuResult) {
      let relErr = 0;
      let absDiff = 0;
      let indexMismatches = 0;
      let hasValues = false;
      for (const out of gpuResult.outputs) {
        const ref = jsResult.outputs.find((o) => o.name === out.name);
        if (!ref) throw new Error(`the JS backend returned no ${out.name}`);
        const c = compareOutputs(out, ref);
        if (out.name === 'indices') indexMismatches += c.mismatches;
        else {
          hasValues = true;
          relErr = Math.max(relErr, c.relErr);
          absDiff = Math.max(absDiff, c.absDiff);
        }
      }
      if (hasValues) {
        data.relErr = String(relErr);
        data.absDiff = String(absDiff);
        ui.relErr.textContent = relErr.toExponential(2);
        ui.absDiff.textContent = absDiff.toExponential(2);
      }
      if (gpuResult.indices) {
        data.indexMismatches = String(indexMismatches);
        ui.indexRow.hidden = false;
        ui.indexMismatches.textContent = `${indexMismatches} of ${gpuResult.indices.data.length}`;
      }
      const agree = (!hasValues || relErr < 1e-4) && indexMismatches === 0;
      data.agree = String(agree);
      summary = agree ? '— WebGPU agrees with JS' : '— WebGPU and JS differ';
    }
    ui.resultTable.hidden = false;
    const pairs = M * N;
    const rate = (ms: number) => `${(pairs / ms / 1e3).toFixed(0)} M pairs/s`;
    setResult(
      'done',
      summary,
      gpuResult
        ? `M × N = ${pairs.toLocaleString('en')} pairs: WebGPU ${rate(Number(data.webgpuMs))}, JS ${rate(jsMs)}.`
        : `${gpu && !gpu.ok ? 'WebGPU is unavailable (see the top of the page)' : 'WebGPU is still being checked'}: ran the JS backend only, ${rate(jsMs)}.`,
    );
  } catch (e) {
    data.error = e instanceof KeopsError ? e.code : 'error';
    setResult('error', '— failed', e instanceof Error ? e.message : String(e));
  } finally {
    running = false;
    ui.run.disabled = !current;
    shownFrom = runInputs();
  }
}

// ---------------------------------------------------------------- wiring

let timer: ReturnType<typeof setTimeout> | undefined;
function refreshSoon(): void {
  clearTimeout(timer);
  ui.diagnostics.dataset.state = 'pending';
  timer = setTimeout(refresh, 150);
  markStale();
}

ui.examples.replaceChildren(...EXAMPLES.map((e, k) => new Option(e.name, String(k))));
ui.examples.addEventListener('change', () => {
  ui.formula.value = EXAMPLES[Number(ui.examples.value)]!.text;
  refresh();
});
ui.formula.addEventListener('input', refreshSoon);
ui.kernel.addEventListener('change', refresh);
for (const input of [ui.M, ui.N, ui.seed]) {
  input.addEventListener('input', () => {
    if (current) showKernel(current);
    markStale();
  });
}
ui.run.addEventListener('click', () => void run());
ui.formula.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    clearTimeout(timer);
    refresh();
    void run();
  }
});

refresh();
/** Which browsers run WebGPU, and how to turn it on: what a visitor without it needs to read. */
export const WEBGPU_BROWSERS =
  'WebGPU runs in Chrome and Edge 113+ on Windows, macOS and ChromeOS (Android: 121+), Safari 26+ (macOS, iOS, iPadOS) and Firefox 141+ on Windows; ' +
  'on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu (and #enable-vulkan), Firefox elsewhere needs dom.webgpu.enabled in about:config (or Nightly), ' +
  'and older Safari the WebGPU feature flag (Develop > Feature Flags)';

/** Why this browser has no WebGPU, in a browser's terms (the library's reason speaks of Node). */
function noWebGpuMessage(): string {
  const nav = navigator as Navigator & { gpu?: unknown };
  const why = !window.isSecureContext
    ? `this page is not a secure context: open it over https:// or http://localhost (${location.origin} is neither)`
    : !nav.gpu
      ? 'this browser has no WebGPU (navigator.gpu is missing)'
      : 'this browser has WebGPU but found no adapter (the GPU may be blocklisted: chrome://gpu says why; chrome://flags/#enable-unsafe-webgpu overrides it)';
  return `WebGPU unavailable: ${why}. ${WEBGPU_BROWSERS}. The JS backend still runs.`;
}

webgpuStatus().then(
  (s) => {
    gpu = s.ok ? { ok: true, adapter: s.adapter } : { ok: false, reason: noWebGpuMessage() };
    ui.gpuStatus.dataset.state = s.ok ? 'ok' : 'unavailable';
    ui.gpuStatus.textContent = s.ok ? `WebGPU: ${s.adapter}` : gpu.ok ? '' : gpu.reason;
  },
  () => {
    gpu = { ok: false, reason: noWebGpuMessage() };
    ui.gpuStatus.dataset.state = 'unavailable';
    ui.gpuStatus.textContent = gpu.reason;
  },
);
