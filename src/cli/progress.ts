/**
 * The progress line of `keopsc run` on a terminal: percent of rows done, pairs per second and the time
 * left, redrawn in place on stderr (the `cli-progress` package) and cleared at the end. It appears only
 * when a run lasts longer than {@link PROGRESS_DELAY_MS}, and never when stderr is not a terminal.
 */
import cliProgress from 'cli-progress';
import { runChunked, runPairs } from '../api/chunked.js';
import { toRanges } from '../../runtime/ranges/index.js';

/** A run shorter than this shows no progress line (`KEOPSC_PROGRESS_DELAY_MS` overrides it). */
export const PROGRESS_DELAY_MS = 500;

function progressDelay(): number {
  const v = Number(process.env.KEOPSC_PROGRESS_DELAY_MS);
  return process.env.KEOPSC_PROGRESS_DELAY_MS !== undefined && Number.isFinite(v) && v >= 0 ? v : PROGRESS_DELAY_MS;
}

/** Compact SI: 1.23 G, 456 M, 12.3 k. */
export function si(x: number): string {
  const units = ['', ' k', ' M', ' G', ' T'];
  let u = 0;
  while (x >= 1000 && u < units.length - 1) {
    x /= 1000;
    u++;
  }
  return `${x >= 100 || u === 0 ? x.toFixed(0) : x.toPrecision(3)}${units[u]}`;
}

/** The progress line of one run. `update` is the run's `onProgress`; `stop` clears the line. */
export class ProgressLine {
  private bar: cliProgress.SingleBar | undefined;
  private readonly started = Date.now();
  private last: { done: number; total: number } | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /**
   * @param label - shown before the bar (the kernel's name)
   * @param pairsPerRow - (row, index) pairs per output row, for pairs/s
   * @param stream - where to draw; nothing is drawn unless it is a terminal
   */
  constructor(
    private readonly label: string,
    private readonly pairsPerRow: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    if (!stream.isTTY) return;
    this.timer = setTimeout(() => this.show(), progressDelay());
    this.timer.unref();
  }

  private show(): void {
    if (this.stopped || this.bar) return;
    this.bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: `${this.label} {bar} {percentage}% | {rate} pairs/s | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        fps: 10,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    const { done, total } = this.last ?? { done: 0, total: 1 };
    this.bar.start(total, done, { rate: this.rate(done) });
  }

  private rate(done: number): string {
    const s = (Date.now() - this.started) / 1000;
    return s > 0 ? si((done * this.pairsPerRow) / s) : '-';
  }

  /** Record progress: `done` of `total` rows. */
  update(done: number, total: number): void {
    this.last = { done, total };
    if (!this.bar) return;
    if (total !== this.bar.getTotal()) this.bar.setTotal(total);
    this.bar.update(done, { rate: this.rate(done) });
  }

  /** Clear the line (if it was drawn) and stop drawing. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.bar?.stop();
    this.bar = undefined;
  }
}

/** The kernel, arguments and options of a `keopsc run`, as the chunked runner takes them. */
type Runnable = Parameters<typeof runChunked>[0];

/**
 * `keopsc run`'s run: in row blocks (so the event loop stays live), with the progress line on a
 * terminal unless `quiet`, and Ctrl-C ending the process with status 130 before anything is written.
 */
export async function runWithProgress<R extends Awaited<ReturnType<Runnable['run']>>>(
  kernel: Runnable & { readonly tag: 0 | 1 },
  args: { [name: string]: { data: Float32Array | Float64Array; shape: number[] } },
  options: Parameters<typeof runChunked>[2],
  quiet: boolean,
): Promise<R> {
  const shapeOf = (cat: number) => kernel.args.filter((a) => a.cat === cat).map((a) => args[a.name]?.shape[0])[0] ?? 0;
  const [rows, redLen] = kernel.tag === 0 ? [shapeOf(0), shapeOf(1)] : [shapeOf(1), shapeOf(0)];
  let pairs = rows * redLen;
  try {
    if (options.ranges) pairs = runPairs(toRanges(options.ranges), kernel.tag, rows, redLen);
  } catch {
    // bad ranges: the run reports them
  }
  const line = quiet ? undefined : new ProgressLine(`keopsc run ${kernel.name}`, rows ? pairs / rows : 0);
  const interrupted = (): void => {
    line?.stop();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  try {
    return (await runChunked(kernel, args, { ...options, onProgress: line ? (d, t) => line.update(d, t) : undefined })) as R;
  } finally {
    process.off('SIGINT', interrupted);
    line?.stop();
  }
}
