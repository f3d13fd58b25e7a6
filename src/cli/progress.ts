/**
 * The progress line of `keopsc run` on a terminal: percent of rows done, pairs per second and the time
 * left, redrawn in place on stderr (the `cli-progress` package) and cleared at the end. It appears only
 * when a run lasts longer than {@link PROGRESS_DELAY_MS}, and never when stderr is not a terminal.
 */
import cliProgress from 'cli-progress';

/** A run shorter than this shows no progress line. */
export const PROGRESS_DELAY_MS = 500;

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
    this.timer = setTimeout(() => this.show(), PROGRESS_DELAY_MS);
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
