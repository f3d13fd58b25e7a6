import { Redis } from 'ioredis';
import { InputError } from '../../src/diagnostics/index.js';

/** The URL without its password (for messages). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/**
 * Connect to Redis or fail within `timeoutMs` with one clear line. The connection fails commands at
 * once while it is down (no offline queue), so a lost server shows up as errors, never as a hang.
 */
export async function connectRedis(url: string, timeoutMs: number): Promise<Redis> {
  if (!/^rediss?:\/\//.test(url)) throw new InputError(`--redis expects redis://HOST:PORT (or rediss:// for TLS), got '${url}'`);
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: (n) => Math.min(50 * n, 500),
  });
  redis.on('error', () => undefined); // surfaced by the commands that fail
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs))),
    ]);
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    throw new InputError(`cannot reach Redis at ${redactUrl(url)}: ${(e as Error).message}; start it (redis-server --port PORT) or check --redis`);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}
