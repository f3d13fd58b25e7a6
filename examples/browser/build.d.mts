import type { LogLevel, Plugin } from 'esbuild';
/** Build the browser example into `outdir` (default out/browser): index.html, main.js, main.js.map. */
export function buildBrowserExample(options?: { outdir?: string; minify?: boolean; plugins?: Plugin[]; logLevel?: LogLevel }): Promise<{ outdir: string; bundle: string; bytes: number; ms: number; inputs: number }>;
