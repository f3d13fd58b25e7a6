/**
 * The figures of `npm run bench` as data: every figure the bench prints is also recorded here as one
 * named row, `npm run bench -- --json FILE` writes them (with the machine and the load) as JSON, and
 * `npm run bench:readme` (scripts/readme-bench.ts) turns that JSON into the README's performance table
 * with {@link renderTable}. The rows are an open list: a new figure is one more {@link record} call,
 * and it appears in the table with no change to the renderer.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';

/** The units the table knows how to print; anything else is printed as a number and the unit. */
export type Unit = 'ms' | 's' | 'µs' | 'pairs/s' | 'x' | '%' | (string & {});

/** A target a figure is held to: `value cmp target`. */
export interface Goal {
  cmp: '>=' | '<=';
  value: number;
}

/** One figure of a bench run. */
export interface BenchRow {
  /** The group it belongs to (a table heading row), e.g. "JS backend vs a hand-written loop". */
  section: string;
  /** What it is, e.g. "N = M = 1e4: js, 1 thread / plain loop". */
  name: string;
  value: number;
  unit: Unit;
  /** A comparison figure (KeOps's, the hand-written loop's), in the same unit or its own. */
  ref?: { label: string; value: number; unit?: Unit };
  goal?: Goal;
  /** A short remark (spread over repeated measurements, how it was measured). */
  note?: string;
}

/** Where and when a bench run happened. */
export interface BenchMeta {
  date: string;
  node: string;
  cores: number;
  cpu: string;
  /** 1-minute load average at the start and at the end of the run. */
  load: { start: number; end: number };
  /** The command-line arguments of the run (empty: the full default run). */
  args: string[];
  /** A note on the run (e.g. that it was reduced), printed under the table. */
  note?: string;
}

/** The JSON that `npm run bench -- --json FILE` writes. */
export interface BenchReport {
  meta: BenchMeta;
  rows: BenchRow[];
}

const rows: BenchRow[] = [];
const startLoad = loadavg()[0]!;

/** Record one figure of this run (the bench prints it as well). */
export function record(row: BenchRow): void {
  if (!Number.isFinite(row.value)) return;
  rows.push(row);
}

/** The figures recorded so far, with this machine's description. */
export function report(args: string[], note?: string): BenchReport {
  return {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      load: { start: startLoad, end: loadavg()[0]! },
      args,
      ...(note ? { note } : {}),
    },
    rows: [...rows],
  };
}

/** Write {@link report} to `file` as JSON. */
export function writeReport(file: string, args: string[], note?: string): void {
  writeFileSync(file, `${JSON.stringify(report(args, note), null, 2)}\n`);
}

/** Three significant digits, without exponent notation for the ranges the bench produces. */
function sig3(v: number): string {
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** A value in its unit, as the table prints it. */
export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'pairs/s':
      return value >= 1e9 ? `${sig3(value / 1e9)} G pairs/s` : `${sig3(value / 1e6)} M pairs/s`;
    case 'x':
      return `${value.toFixed(2)}×`;
    case '%':
      return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} %`;
    case 'ms':
      return value >= 1000 ? `${sig3(value / 1000)} s` : `${sig3(value)} ms`;
    default:
      return `${sig3(value)} ${unit}`;
  }
}

/** Whether `value` meets `goal`. */
export function meets(value: number, goal: Goal): boolean {
  return goal.cmp === '>=' ? value >= goal.value : value <= goal.value;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
/** A markdown table row (an empty cell is one space). */
const tableRow = (cells: string[]) => `|${cells.map((c) => (c ? ` ${c} ` : ' ')).join('|')}|`;

/**
 * The README's performance table of a bench report: a header line (date, machine, load), one table
 * with a heading row per section (in the order the sections first appear) and one row per figure
 * (value, reference, goal and whether it is met), and the run's note.
 */
export function renderTable(r: BenchReport): string {
  const m = r.meta;
  const sections: string[] = [];
  for (const row of r.rows) if (!sections.includes(row.section)) sections.push(row.section);
  const lines = [
    `Measured by \`npm run bench${m.args.length ? ` -- ${m.args.join(' ')}` : ''}\` on ${m.date.slice(0, 10)} (${m.date.slice(11, 16)} UTC): ${m.cores} cores (${m.cpu}), Node ${m.node}, load average ${m.load.start.toFixed(2)} at the start and ${m.load.end.toFixed(2)} at the end.`,
    '',
    '| figure | keopsc | reference | goal |',
    '|---|---|---|---|',
  ];
  for (const s of sections) {
    lines.push(tableRow([`**${cell(s)}**`, '', '', '']));
    for (const row of r.rows.filter((x) => x.section === s)) {
      const value = formatValue(row.value, row.unit);
      const ref = row.ref ? `${cell(row.ref.label)}: ${formatValue(row.ref.value, row.ref.unit ?? row.unit)}` : '';
      const goal = row.goal ? `${row.goal.cmp === '>=' ? '≥' : '≤'} ${formatValue(row.goal.value, row.unit)} ${meets(row.value, row.goal) ? '✓' : '✗'}` : '';
      lines.push(tableRow([`${cell(row.name)}${row.note ? ` (${cell(row.note)})` : ''}`, value, ref, goal]));
    }
  }
  if (m.note) lines.push('', m.note);
  return lines.join('\n');
}

/** The README markers between which the table lives. */
export const BENCH_MARKERS = { start: '<!-- bench:start -->', end: '<!-- bench:end -->' } as const;

/** `readme` with the text between the bench markers replaced by the table of `r`. */
export function replaceBenchTable(readme: string, r: BenchReport): string {
  const a = readme.indexOf(BENCH_MARKERS.start);
  const b = readme.indexOf(BENCH_MARKERS.end);
  if (a < 0 || b < a) throw new Error(`README.md has no ${BENCH_MARKERS.start} … ${BENCH_MARKERS.end} block`);
  return `${readme.slice(0, a + BENCH_MARKERS.start.length)}\n${renderTable(r)}\n${readme.slice(b)}`;
}

/** Check that `x` is a bench report (what `--json` writes); throws a one-line error saying what is wrong. */
export function parseReport(x: unknown, where: string): BenchReport {
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what} (write it with npm run bench -- --json FILE)`);
  };
  if (typeof x !== 'object' || x === null) fail('not a JSON object');
  const r = x as Partial<BenchReport>;
  const m = r.meta as Partial<BenchMeta> | undefined;
  if (!m || typeof m.date !== 'string' || typeof m.cores !== 'number' || typeof m.cpu !== 'string' || typeof m.node !== 'string' || typeof m.load?.start !== 'number' || typeof m.load.end !== 'number' || !Array.isArray(m.args))
    fail('meta must hold date, node, cores, cpu, load { start, end } and args');
  if (!Array.isArray(r.rows)) fail('rows must be an array');
  r.rows!.forEach((row, k) => {
    if (typeof row?.section !== 'string' || typeof row.name !== 'string' || typeof row.value !== 'number' || typeof row.unit !== 'string') fail(`row ${k} must hold section, name, value (a number) and unit`);
    if (row.goal && (!['>=', '<='].includes(row.goal.cmp) || typeof row.goal.value !== 'number')) fail(`row ${k}: goal must be { cmp: '>=' | '<=', value }`);
    if (row.ref && (typeof row.ref.label !== 'string' || typeof row.ref.value !== 'number')) fail(`row ${k}: ref must be { label, value, unit? }`);
  });
  return r as BenchReport;
}
