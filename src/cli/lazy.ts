/**
 * The modules of the commands other than `check`, each loaded when its command runs (see ./main.ts).
 * In one place so that the CLI bundle (scripts/bundle-cli.mjs) can load them from its chunks: its
 * code-cached script replaces this module with one that asks the loader (bin/keopsc.cjs) for them.
 * @module
 */
export const lazy = {
  commands: () => import('./commands.js'),
  doctor: () => import('./doctor.js'),
  lsp: () => import('../lsp/server.js'),
};
