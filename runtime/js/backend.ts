import { registerBackend } from '../../src/api/backends.js';
import { runJs } from './index.js';

/**
 * Registers the `js` backend: JavaScript printed from the plan, run on the calling thread or, for large
 * problems, on the worker pool that the Node entry installs (runtime/js/pool.ts). Browser-safe.
 */
registerBackend({
  name: 'js',
  async: false,
  batch: true,
  status: () => ({ ok: true }),
  run: (plan, inp, req) => runJs(plan, inp, req.code, req.threads, req.out),
});
