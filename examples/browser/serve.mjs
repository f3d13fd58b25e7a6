/**
 * A tiny static file server for the browser example (node:http, no dependencies).
 *
 *   node examples/browser/serve.mjs [--port 8080] [--dir out/browser] [--host 127.0.0.1]
 *
 * It listens on 127.0.0.1 by default: http://localhost and http://127.0.0.1 are secure contexts, which
 * WebGPU requires. `--port 0` picks a free port. Imported by the test as `serve({ dir, port })`.
 */
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.keo': 'text/plain; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * Serve the files under `dir`. Resolves once listening, with the URL and the server (close it when done).
 * @param {{ dir: string, port?: number, host?: string }} options
 * @returns {Promise<{ url: string, port: number, server: import('node:http').Server }>}
 */
export function serve({ dir, port = 8080, host = '127.0.0.1' }) {
  const rootDir = resolve(dir);
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
      let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = resolve(join(rootDir, path));
      if (file !== rootDir && !file.startsWith(rootDir + sep)) return send(res, 403, 'forbidden');
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) return send(res, 404, `not found: ${path}`);
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': body.length, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      send(res, 500, String(e));
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const addr = server.address();
      const p = typeof addr === 'object' && addr ? addr.port : port;
      ok({ url: `http://${host.includes(':') ? `[${host}]` : host}:${p}/`, port: p, server });
    });
  });
}

function send(res, status, text) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opt = (name, dflt) => {
    const at = argv.indexOf(name);
    return at >= 0 && argv[at + 1] !== undefined ? argv[at + 1] : dflt;
  };
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = opt('--dir', join(here, '../../out/browser'));
  const port = Number(opt('--port', process.env.PORT ?? '8080'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be an integer in 0..65535`);
    process.exit(1);
  }
  try {
    await stat(join(dir, 'index.html'));
  } catch {
    console.error(`${join(dir, 'index.html')} is missing: run \`npm run build:browser\` first`);
    process.exit(1);
  }
  try {
    const host = opt('--host', '127.0.0.1');
    const { url, port: p } = await serve({ dir, port, host });
    const local = host === '127.0.0.1' || host === '::1' ? `http://localhost:${p}/ (or ${url})` : url;
    console.log(`keopsc browser example: ${local}  (Ctrl-C to stop)`);
  } catch (e) {
    console.error(e.code === 'EADDRINUSE' ? `port ${port} is in use; try --port 0 or --port 8081` : String(e));
    process.exit(1);
  }
}
