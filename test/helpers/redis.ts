// A throwaway redis-server on a free loopback port, and `keopsc worker` processes, for the tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The repository root, and the CLI from the sources (what the tests spawn). */
export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'test/helpers/keopsc-cli.ts');

/** Why redis-server cannot be used here, or undefined when it can. */
export function redisMissing(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'redis-server is not installed (apt-get install -y redis-server)' : undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Start redis-server on a free port of 127.0.0.1 (no persistence) and wait until it answers. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: 'ignore' });
  const until = Date.now() + 10000;
  for (;;) {
    const r = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'ping'], { encoding: 'utf8' });
    if (r.stdout?.trim() === 'PONG') break;
    if (Date.now() > until) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((res) => setTimeout(res, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      }),
  };
}

export interface WorkerProc {
  proc: ChildProcess;
  log: string[];
  /** Resolves when the worker says it listens. */
  ready: Promise<void>;
}

/** Spawn `keopsc worker --redis URL ...` from the sources. */
export function spawnWorker(url: string, extra: string[] = [], env: Record<string, string> = {}): WorkerProc {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--redis', url, ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KEOPSC_QUIET: '1', ...env } });
  const log: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (b: Buffer) => {
      for (const line of b.toString().split('\n')) if (line) log.push(line);
      if (process.env.DIST_VERBOSE) process.stderr.write(`[${(performance.now() / 1000).toFixed(2)}] ${b.toString()}`);
      if (log.some((l) => l.includes('listening on'))) resolve();
    };
    proc.stderr!.on('data', onData);
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`worker exited (${code}) before listening: ${log.join(' | ')}`)));
  });
  ready.catch(() => undefined);
  return { proc, log, ready };
}

/** Wait for a process to exit (or kill it after `ms`); returns its exit code or signal. */
export function exited(p: ChildProcess, ms = 20000): Promise<number | string> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve(p.exitCode ?? p.signalCode!);
    const t = setTimeout(() => p.kill('SIGKILL'), ms);
    p.once('exit', (code, sig) => {
      clearTimeout(t);
      resolve(code ?? sig!);
    });
  });
}
