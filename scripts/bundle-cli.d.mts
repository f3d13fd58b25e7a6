// The types of scripts/bundle-cli.mjs (test/cli-bundle.test.ts imports it).
import type { BuildOptions } from 'esbuild';

/** The modules of src/cli/lazy.ts, by the name of their bundle in dist/cli (`<name>.mjs`). */
export declare const LAZY: Record<string, string>;
/** The esbuild options of dist/cli/keopsc.cjs. */
export declare function scriptOptions(): BuildOptions;
