import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { InputError } from '../../src/diagnostics/index.js';
import { KEYS } from './protocol.js';

/**
 * Where a run's input arrays live, content-addressed by sha256: in the run's Redis (the default;
 * binary values, each under Redis's value limit) or in a directory every machine mounts
 * (`file:///shared/dir`: NFS, EFS, Lustre), under `<dir>/<run id>/<sha256>.bin`. Workers read only
 * the byte range a tile needs.
 */
export interface ArrayStore {
  /** The store's URL as jobs carry it (`redis` or `file:///dir`). */
  readonly url: string;
  /** Where the bytes with this hash live for a run (a Redis key or a file path). */
  keyFor(runId: string, sha: string): string;
  /** Store once (no-op when already there). */
  put(key: string, bytes: Uint8Array, ttl: number): Promise<void>;
  /** Bytes [start, end) of a stored array. */
  read(key: string, start: number, end: number): Promise<Uint8Array>;
  /** Remove a run's arrays. */
  cleanup(runId: string): Promise<void>;
}

/** Redis's default limit on one value (proto-max-bulk-len), used when the server will not say. */
const REDIS_VALUE_LIMIT = 512 * 1024 * 1024;

/** sha256 of an array's dtype, shape and bytes (the content address). */
export function contentHash(bytes: Uint8Array, describe: string): string {
  return createHash('sha256').update(describe).update(bytes).digest('hex');
}

export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The store a URL names (`redis`, `file:///dir`), for a run talking to `redis`. */
export function openStore(url: string | undefined, redis: Redis): ArrayStore {
  if (url === undefined || url === 'redis') return redisStore(redis);
  if (url.startsWith('file://')) {
    let dir: string;
    try {
      dir = fileURLToPath(url);
    } catch (e) {
      throw new InputError(`store ${url}: ${(e as Error).message}; use file:///absolute/dir`);
    }
    return fileStore(url, dir);
  }
  throw new InputError(`unknown store '${url}'; use 'redis' (the default) or file:///shared/dir (a directory every worker mounts)`);
}

function redisStore(redis: Redis): ArrayStore {
  let limit: number | undefined;
  return {
    url: 'redis',
    keyFor: (runId, sha) => KEYS.blob(runId, sha),
    async put(key, bytes, ttl) {
      if (limit === undefined) {
        try {
          const r = (await redis.config('GET', 'proto-max-bulk-len')) as string[];
          limit = Number(r[1]) || REDIS_VALUE_LIMIT;
        } catch {
          limit = REDIS_VALUE_LIMIT; // managed services often disable CONFIG
        }
      }
      if (bytes.byteLength > limit) {
        throw new InputError(`an input array of ${bytes.byteLength} bytes is over Redis's value limit (${limit} bytes, proto-max-bulk-len); put the inputs in a shared directory with --store file:///shared/dir (API: store: 'file:///shared/dir')`);
      }
      await redis.set(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'EX', ttl, 'NX');
    },
    async read(key, start, end) {
      if (end <= start) return new Uint8Array(0);
      const buf = await redis.getrangeBuffer(key, start, end - 1);
      if (buf.length !== end - start) throw new Error(`array ${key} is missing or shorter than expected (${buf.length} of ${end - start} bytes); the run's keys expired or were deleted`);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    },
    async cleanup() {
      // blobs carry the run id and go with the run's other keys
    },
  };
}

function fileStore(url: string, dir: string): ArrayStore {
  return {
    url,
    keyFor: (runId, sha) => join(dir, runId, `${sha}.bin`),
    async put(key, bytes) {
      try {
        if ((await stat(key)).size === bytes.byteLength) return;
      } catch {
        // not there yet
      }
      await mkdir(join(key, '..'), { recursive: true });
      const tmp = `${key}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, key);
    },
    async read(key, start, end) {
      const out = new Uint8Array(end - start);
      if (end <= start) return out;
      const fh = await open(key, 'r').catch((e: Error) => {
        throw new Error(`cannot read ${key} from the shared store ${url} (${e.message}); is ${dir} mounted on this worker?`);
      });
      try {
        let got = 0;
        while (got < out.length) {
          const { bytesRead } = await fh.read(out, got, out.length - got, start + got);
          if (bytesRead === 0) throw new Error(`${key} is shorter than expected`);
          got += bytesRead;
        }
      } finally {
        await fh.close();
      }
      return out;
    },
    async cleanup(runId) {
      await rm(join(dir, runId), { recursive: true, force: true });
    },
  };
}
