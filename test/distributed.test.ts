import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { compile, fromMatrix, type RunResult } from '../src/index.js';
import { runDistributed, startWorker, type RunningWorker } from '../runtime/dist/entry.js';
import { PROTOCOL_VERSION } from '../runtime/dist/protocol.js';
import { planGrid } from '../runtime/dist/tiles.js';
import { CONFORMANCE_CASES, caseArgs, checkCase } from './helpers/conformance.js';
import { expectClose, normal, rng } from './helpers/data.js';
import { CLI, exited, redisMissing, spawnWorker, startRedis, type RedisServer, type WorkerProc } from './helpers/redis.js';
import { main } from '../src/cli/main.js';
import { loadNpy, saveNpy, ndarray } from '../runtime/npy/index.js';

const missing = redisMissing();
if (missing && process.env.KEOPSC_REQUIRE_REDIS === '1') throw new Error(`KEOPSC_REQUIRE_REDIS=1 but ${missing}`);

/** Every output of `a` equals `b` bit for bit. */
function expectSameBits(a: RunResult, b: RunResult, what: string): void {
  expect(a.outputs.map((o) => o.name)).to.deep.equal(b.outputs.map((o) => o.name));
  for (const o of a.outputs) {
    const other = b[o.name]!;
    expect(o.shape, what).to.deep.equal(other.shape);
    const x = new Uint8Array(o.data.buffer, o.data.byteOffset, o.data.byteLength);
    const y = new Uint8Array(other.data.buffer, other.data.byteOffset, other.data.byteLength);
    expect(Buffer.compare(Buffer.from(x), Buffer.from(y)), `${what}: ${o.name} bits`).to.equal(0);
  }
}

const REDUCTIONS: [string, string][] = [
  ['Sum', 'Sum_Reduction(Exp(-SqDist(x, y)) * b, T)'],
  ['Max', 'Max_Reduction(Round(x - y, 1), T)'],
  ['Min', 'Min_Reduction(Round(x - y, 1), T)'],
  ['ArgMax', 'ArgMax_Reduction(Round(x - y, 1), T)'],
  ['ArgMin', 'ArgMin_Reduction(Round(x - y, 1), T)'],
  ['Max_ArgMax', 'Max_ArgMax_Reduction(Round(x - y, 1), T)'],
  ['Min_ArgMin', 'Min_ArgMin_Reduction(Round(x - y, 1), T)'],
  ['KMin', 'KMin_Reduction(Round(SqDist(x, y), 1), 5, T)'],
  ['ArgKMin', 'ArgKMin_Reduction(Round(x - y, 1), 4, T)'],
  ['KMin_ArgKMin', 'KMin_ArgKMin_Reduction(Round(x - y, 1), 3, T)'],
  ['LogSumExp', 'LogSumExp_Reduction(-SqDist(x, y) * 4, T)'],
  ['LogSumExpWeight', 'LogSumExpWeight_Reduction(-SqDist(x, y) * 4, T, Exp(b))'],
  ['SumSoftMaxWeight', 'SumSoftMaxWeight_Reduction(-SqDist(x, y) * 4, T, y)'],
  ['Max_SumShiftExp', 'Max_SumShiftExp_Reduction(-SqDist(x, y), T)'],
  ['Max_SumShiftExpWeight', 'Max_SumShiftExpWeight_Reduction(-SqDist(x, y), T, Exp(b))'],
];

describe('distributed runs (Redis + BullMQ)', function () {
  this.timeout(120000);
  if (missing) {
    it(`is skipped: ${missing}`, function () {
      this.skip();
    });
    return;
  }
  let redis: RedisServer;
  let workers: WorkerProc[] = [];
  // two more Redis servers, each with one odd worker: one of another protocol version, one whose
  // backend refuses the inputs (started with the others, so that their start-up overlaps)
  let mismatch: { redis: RedisServer; worker: WorkerProc };
  let refusing: { redis: RedisServer; worker: WorkerProc };
  const WORKER = ['--backend', 'js', '--threads', '1', '--lock-ms', '1000', ...(process.env.DIST_VERBOSE ? ['--verbose'] : [])];
  const opts = () => ({ redis: redis.url, redisTimeoutS: 5, attempts: 3 });
  before(async () => {
    redis = await startRedis();
    workers = [0, 1, 2].map(() => spawnWorker(redis.url, WORKER));
    const r1 = await startRedis();
    mismatch = { redis: r1, worker: spawnWorker(r1.url, ['--backend', 'js', '--threads', '1'], { KEOPSC_DIST_PROTOCOL: String(PROTOCOL_VERSION + 1) }) };
    const r2 = await startRedis();
    // float64 inputs reach a worker whose backend runs float32 only
    refusing = { redis: r2, worker: spawnWorker(r2.url, ['--backend', 'webgpu'], { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' }) };
    await Promise.all(workers.map((w) => w.ready));
  });
  after(async () => {
    for (const w of workers) w.proc.kill('SIGTERM');
    const codes = await Promise.all(workers.map((w) => exited(w.proc)));
    for (const o of [mismatch, refusing]) {
      o?.worker.proc.kill('SIGKILL');
      await o?.redis.stop();
    }
    await redis?.stop();
    // SIGTERM: each worker finishes and exits cleanly
    expect(codes, 'worker exit codes').to.deep.equal(workers.map(() => 0));
  });

  it('plans balanced grids, and with ranges never splits a cluster that fits in a block', () => {
    const g = planGrid(100, 60, 0, undefined, 4, 3);
    expect(g.rowCuts).to.deep.equal([0, 25, 50, 75, 100]);
    expect(g.redCuts).to.deep.equal([0, 20, 40, 60]);
    expect(g.pairs.reduce((a, b) => a + b, 0)).to.equal(6000);
    // clusters of rows [0,30) [30,40) [40,100); the first keeps every column, the others few
    const r = fromMatrix([0, 30, 30, 40, 40, 100], [0, 30, 30, 60], [[1, 1], [0, 1], [1, 0]]);
    const gr = planGrid(100, 60, 0, r, 2, 1);
    // kept pairs: 30*60 = 1800, 10*30 = 300, 60*30 = 1800: the cut falls at a cluster edge
    expect([30, 40]).to.include(gr.rowCuts[1]);
    expect(gr.pairs.reduce((a, b) => a + b, 0)).to.equal(3900);
  });

  it('runs every reduction family with both tags, equal to a local run (indices exactly, ties included)', async () => {
    const M = 120;
    const N = 97;
    const R = rng(7);
    const x = Float64Array.from({ length: M * 2 }, () => Math.floor(R() * 8) / 2);
    const y = Float64Array.from({ length: N * 2 }, () => Math.floor(R() * 8) / 2);
    const b = Float64Array.from({ length: N }, () => R());
    const bi = Float64Array.from({ length: M }, () => R());
    const jobs = REDUCTIONS.flatMap(([name, f]) =>
      [0, 1].map(async (tag) => {
        const src = tag === 0 ? `x = Vi(0, 2)\ny = Vj(1, 2)\nb = Vj(2, 1)\nk = ${f.replace('T', '0')}` : `x = Vj(0, 2)\ny = Vi(1, 2)\nb = Vi(2, 1)\nk = ${f.replace('T', '1')}`;
        const k = compile(src);
        const all: Record<string, Float64Array> = tag === 0 ? { x, y, b } : { x: y, y: x, b: bi };
        const args = Object.fromEntries(k.args.map((a) => [a.name, all[a.name]!]));
        const args2 = Object.fromEntries(k.args.map((a) => [a.name, Float64Array.from(all[a.name]!)]));
        const local = k.run(args2, { backend: 'js' });
        const ref = k.run(args2, { backend: 'ref' });
        const a = await runDistributed(k, args, { ...opts(), tiles: '2x3' });
        const one = await runDistributed(k, args, { ...opts(), tiles: '1x1' });
        expect(a.distributed.tiles, name).to.equal(6);
        for (const o of local.outputs) {
          const what = `${name} tag ${tag} ${o.name}`;
          if (o.name === 'indices') {
            // ties go to the smallest index across chunks, as in a local run
            expect(Array.from(a.indices!.data as BigInt64Array), what).to.deep.equal(Array.from(o.data as BigInt64Array));
            expect(Array.from(one.indices!.data as BigInt64Array), what).to.deep.equal(Array.from(o.data as BigInt64Array));
          } else {
            expectClose(a[o.name]!.data as Float64Array, o.data as Float64Array, 1e-12, 1e-12, what);
            expectClose(a[o.name]!.data as Float64Array, ref[o.name]!.data as Float64Array, 1e-12, 1e-12, `${what} vs ref`);
          }
        }
        // one tile is a local run of the partial kernel, finalised as a local run does
        if (!name.startsWith('LogSumExp') && name !== 'SumSoftMaxWeight') expectSameBits(one, local, `${name} tag ${tag}: one tile`);
      }),
    );
    await Promise.all(jobs);
  });

  for (const dtype of ['float64', 'float32'] as const) {
    // float32: the cases with ranges and the KMin family (the others differ from float64 only in the data)
    it(`passes the conformance cases (§7.3${dtype === 'float32' ? ': ranges and K-min' : ', ranges included'}) in ${dtype}`, async () => {
      await Promise.all(
        CONFORMANCE_CASES.filter((c) => dtype === 'float64' || (!c.float64Only && (c.ranges || /KMin/.test(c.source)))).map(async (c) => {
          const k = compile(c.source);
          const args = caseArgs(c, dtype);
          const ranges = c.ranges;
          const ref = k.run(args, { backend: 'ref', ranges });
          const r = await runDistributed(k, args, { ...opts(), tiles: '1x2', ranges });
          checkCase(c, dtype, r, dtype === 'float64' ? ref : undefined);
        }),
      );
    });
  }

  it('honours ranges on both tags (tiles cut clusters and intervals)', async () => {
    const M = 90;
    const N = 70;
    const x = normal(M, 3);
    const y = normal(N, 4);
    const r = fromMatrix([0, 20, 20, 55, 55, 80], [0, 10, 10, 40, 40, 70], [[1, 0, 1], [0, 1, 1], [1, 1, 0]]);
    for (const tag of [0, 1]) {
      const k = compile(`x = Vi(0, 1)\ny = Vj(1, 1)\nk = LogSumExp_Reduction(-(x - y) * (x - y), ${tag})`);
      const local = k.run({ x, y }, { backend: 'ref', ranges: r });
      for (const tiles of ['4x3', '2x5', '1x1']) {
        const d = await runDistributed(k, { x, y }, { ...opts(), tiles, ranges: r });
        expectClose(d.values!.data as Float64Array, local.values!.data as Float64Array, 1e-12, 1e-12, `tag ${tag} ${tiles}`);
      }
    }
  });

  it('runs gradients (a Sum, a LogSumExp; with respect to i, j and parameter variables) through kernel.run', async () => {
    const M = 80;
    const N = 60;
    const x = normal(M * 3, 11);
    const y = normal(N * 3, 12);
    const b = normal(N, 13);
    const s = Float64Array.from([0.7]);
    const e = normal(M, 14);
    for (const red of ['Sum', 'LogSumExp']) {
      const k = compile(`x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 1)\ns = Pm(3, 1)\nk = ${red}_Reduction(Exp(-SqDist(x, y) * s) * b, 0)`);
      for (const v of ['x', 'y', 's']) {
        const g = k.grad(v);
        const local = g.run({ x, y, b, s, e }, { backend: 'ref' });
        const d = await g.run({ x, y, b, s, e }, { backend: 'distributed', redis: redis.url, tiles: '2x2' });
        expect(d.values!.shape, `${red} d/d${v}`).to.deep.equal(local.values!.shape);
        expectClose(d.values!.data as Float64Array, local.values!.data as Float64Array, 1e-10, 1e-12, `${red} d/d${v}`);
      }
    }
  });

  it('runs from the command line: progress on stderr, the same .npy as a local run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keopsc-dist-'));
    try {
      writeFileSync(join(dir, 'g.keo'), 'x = Vi(0, 2)\ny = Vj(1, 2)\nk = Min_ArgMin_Reduction(SqDist(x, y), 0)\n');
      saveNpy(join(dir, 'x.npy'), ndarray(normal(200, 1), [100, 2]));
      saveNpy(join(dir, 'y.npy'), ndarray(normal(300, 2), [150, 2]));
      const err: string[] = [];
      const run = async (...extra: string[]) => main(['node', 'keopsc', 'run', join(dir, 'g.keo'), '-a', `x=${join(dir, 'x.npy')}`, '-a', `y=${join(dir, 'y.npy')}`, ...extra], { out: () => undefined, err: (s) => err.push(s) });
      expect(await run('-b', 'js', '-o', join(dir, 'local.npz'))).to.equal(0);
      expect(await run('-b', 'js', '--distributed', redis.url)).to.equal(1);
      expect(err.pop()).to.match(/--backend with --distributed: the workers choose their backend \(keopsc worker --backend js\)/);
      expect(await run('--tiles', '2x2')).to.equal(1);
      expect(err.pop()).to.match(/--tiles, --resume and --store go with --distributed/);
      const stderr: string[] = [];
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((s: string) => (stderr.push(String(s)), true)) as typeof process.stderr.write;
      let code: number;
      try {
        code = await run('--distributed', redis.url, '--tiles', '2x2', '--store', `file://${dir}/store`, '-o', join(dir, 'dist.npz'));
      } finally {
        process.stderr.write = write;
      }
      expect(code, err.join('\n')).to.equal(0);
      expect(stderr.join('')).to.match(/distributed run [a-z0-9]+: 4 tiles \(2x2\)/);
      expect(stderr.join('')).to.match(/tiles 4\/4, [\d.]+ [kMG] pairs\/s/);
      const { loadNpz } = await import('../runtime/npy/index.js');
      const a = loadNpz(join(dir, 'local.npz'));
      const b = loadNpz(join(dir, 'dist.npz'));
      expect(Array.from(b.get('indices')!.data as BigInt64Array)).to.deep.equal(Array.from(a.get('indices')!.data as BigInt64Array));
      expectClose(b.get('values')!.data as Float64Array, a.get('values')!.data as Float64Array, 1e-12, 1e-12);
      // the run's files are cleaned up from the shared store
      expect(readdirSync(join(dir, 'store'))).to.deep.equal([]);
      expect(loadNpy).to.be.a('function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cleans up every key of a finished run', async () => {
    const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x * y, 0)');
    const d = await runDistributed(k, { x: normal(50, 1), y: normal(40, 2) }, { ...opts(), tiles: '2x2' });
    const { Redis } = await import('ioredis');
    const c = new Redis(redis.url);
    try {
      expect(await c.keys(`keopsc:run:${d.distributed.runId}:*`)).to.deep.equal([]);
    } finally {
      c.disconnect();
    }
  });

  it('refuses bad options with one clear line', async () => {
    const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x * y, 0)');
    const args = { x: normal(5, 1), y: normal(4, 2) };
    const fails = async (o: object, re: RegExp) => {
      let msg = '';
      await runDistributed(k, args, o as never).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(re);
    };
    await fails({ redis: redis.url, tiles: '0x2' }, /tiles must be I or IxJ/);
    await fails({ redis: redis.url, threads: 2 }, /threads belong to the workers .* keopsc worker --threads N/);
    await fails({ redis: redis.url, store: 'ftp://x' }, /unknown store/);
    await fails({ redis: redis.url, resume: 'nosuchrun1' }, /no run 'nosuchrun1'/);
    await fails({}, /needs redis:/);
    await fails({ redis: 'localhost:1' }, /expects redis:\/\/HOST:PORT/);
    // an array over Redis's value limit (lowered here to 1 MiB) is refused, pointing at --store
    const { Redis } = await import('ioredis');
    const c = new Redis(redis.url);
    try {
      await c.config('SET', 'proto-max-bulk-len', String(1 << 20));
      let msg = '';
      await runDistributed(k, { x: normal(300000, 1), y: normal(4, 2) }, { redis: redis.url }).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(/an input array of 2400000 bytes is over Redis's value limit \(1048576 bytes, proto-max-bulk-len\); put the inputs in a shared directory with --store file:\/\/\/shared\/dir/);
    } finally {
      await c.config('SET', 'proto-max-bulk-len', String(512 << 20));
      c.disconnect();
    }
    const t0 = Date.now();
    await fails({ redis: 'redis://127.0.0.1:1', redisTimeoutS: 2 }, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    expect(Date.now() - t0).to.be.below(5000);
  });

  describe('faults', () => {
    it('a worker of another protocol version refuses the job, and the coordinator says why', async () => {
      await mismatch.worker.ready;
      const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x * y, 0)');
      let msg = '';
      await runDistributed(k, { x: normal(30, 1), y: normal(20, 2) }, { redis: mismatch.redis.url, tiles: '2x1' }).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(new RegExp(`speaks keopsc distributed protocol ${PROTOCOL_VERSION + 1} but the run uses protocol ${PROTOCOL_VERSION}`));
    });

    it('a tile that fails for good fails the run after the configured attempts, with the worker\'s message', async () => {
      await refusing.worker.ready;
      const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x * y, 0)');
      let msg = '';
      await runDistributed(k, { x: normal(30, 1), y: normal(20, 2) }, { redis: refusing.redis.url, tiles: '1x1', attempts: 2 }).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(/tile 0 of run [a-z0-9]+ .* failed after 2 attempt\(s\): .*(float32|webgpu)/);
    });

    it('Redis stopped mid-run gives a clear error within the configured time', async () => {
      const other = await startRedis();
      const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x * y, 0)');
      // no worker listens on this Redis: the run waits, then Redis goes away
      const p = runDistributed(k, { x: normal(30, 1), y: normal(20, 2) }, { redis: other.url, tiles: '2x2', redisTimeoutS: 2 });
      setTimeout(() => void other.stop(), 500);
      const t0 = Date.now();
      let msg = '';
      await p.catch((e: Error) => (msg = e.message));
      expect(msg).to.match(/lost Redis at redis:\/\/127\.0\.0\.1:\d+ during run [a-z0-9]+ .*--resume/);
      expect(Date.now() - t0).to.be.below(6000);
    });

    it('a killed coordinator\'s run continues with --resume, reusing finished tiles', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'keopsc-dist-'));
      const own = await startRedis();
      let worker: RunningWorker | undefined;
      try {
        writeFileSync(join(dir, 'g.keo'), 'x = Vi(0, 3)\ny = Vj(1, 3)\nk = Sum_Reduction(Exp(-SqDist(x, y)), 0)\n');
        const x = normal(3 * 300, 5);
        const y = normal(3 * 200, 6);
        saveNpy(join(dir, 'x.npy'), ndarray(x, [300, 3]));
        saveNpy(join(dir, 'y.npy'), ndarray(y, [200, 3]));
        // the coordinator queues its tiles on a Redis no worker listens on yet, and is killed
        const coord = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', join(dir, 'g.keo'), '-a', `x=${join(dir, 'x.npy')}`, '-a', `y=${join(dir, 'y.npy')}`, '--distributed', own.url, '--tiles', '3x2', '-o', join(dir, 'o.npy')], { stdio: ['ignore', 'ignore', 'pipe'] });
        let text = '';
        const runId = await new Promise<string>((resolve, reject) => {
          coord.stderr!.on('data', (b: Buffer) => {
            text += b.toString();
            const id = /distributed run ([a-z0-9]+)/.exec(text)?.[1];
            if (id && /tiles 0\/6/.test(text)) resolve(id);
          });
          coord.once('exit', () => reject(new Error(`the coordinator ended first: ${text}`)));
        });
        coord.kill('SIGKILL');
        await exited(coord);
        // a worker (here, in this process) comes and finishes the queued tiles
        worker = await startWorker({ redis: own.url, backend: 'js', threads: 1, lockMs: 1000, log: () => undefined });
        const { Redis } = await import('ioredis');
        const c = new Redis(own.url);
        try {
          while ((await c.llen(`keopsc:run:${runId}:done`)) < 6) await new Promise((r) => setTimeout(r, 100));
        } finally {
          c.disconnect();
        }
        const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nk = Sum_Reduction(Exp(-SqDist(x, y)), 0)');
        const args = { x: { data: x, shape: [300, 3] }, y: { data: y, shape: [200, 3] } };
        const resumed = await runDistributed(k, args, { redis: own.url, resume: runId });
        expect(resumed.distributed.reused).to.equal(6);
        const fresh = await runDistributed(k, args, { ...opts(), tiles: '3x2' });
        expectSameBits(resumed, fresh, 'resumed run');
      } finally {
        await worker?.close();
        await own.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a worker stopped by SIGTERM the moment it says it listens exits cleanly (status 0)', async () => {
      // the signal handlers must be in place before the "listening on" line: a supervisor (or the
      // after hook below) may send SIGTERM as soon as it reads it
      const codes: (number | string)[] = [];
      for (let round = 0; round < 3; round++) {
        const ws = [0, 1, 2].map(() => spawnWorker(redis.url, WORKER));
        await Promise.all(ws.map((w) => w.ready));
        for (const w of ws) w.proc.kill('SIGTERM');
        codes.push(...(await Promise.all(ws.map((w) => exited(w.proc)))));
      }
      expect(codes).to.deep.equal(codes.map(() => 0));
    });

    it('workers killed at random moments in 10 runs: nothing lost or duplicated, the same bits every time', async () => {
      const M = 3000;
      const N = 3000;
      const k = compile('x = Vi(0, 3)\ny = Vj(1, 3)\nb = Vj(2, 2)\nk = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)');
      const args = { x: normal(M * 3, 21), y: normal(N * 3, 22), b: normal(N * 2, 23) };
      const base = await runDistributed(k, args, { ...opts(), tiles: '4x2' });
      const local = k.run(args, { backend: 'js' });
      expectClose(base.values!.data as Float64Array, local.values!.data as Float64Array, 1e-12, 1e-12, 'vs local');
      const R = rng(99);
      let kills = 0;
      let slow = 0;
      const { Redis } = await import('ioredis');
      const c = new Redis(redis.url);
      try {
        for (let run = 0; run < 10; run++) {
          let runId = '';
          const t0 = Date.now();
          const p = runDistributed(k, args, { ...opts(), tiles: '4x2', onStart: (s) => (runId = s.runId) });
          // kill a worker at a random moment once the first tile is done (the workers are busy then),
          // and start a replacement
          while (!runId || (await c.llen(`keopsc:run:${runId}:done`)) < 1) await new Promise((r) => setTimeout(r, 5));
          await new Promise((r) => setTimeout(r, R() * 30));
          const v = workers[Math.floor(R() * workers.length)]!;
          v.proc.kill('SIGKILL');
          kills++;
          workers[workers.indexOf(v)] = spawnWorker(redis.url, WORKER);
          const r = await p;
          if (Date.now() - t0 > 1000) slow++; // a tile waited for its lock to lapse
          expect(r.distributed.tiles, `run ${run}`).to.equal(8);
          expect(r.distributed.completions, `run ${run}: every tile completed`).to.be.at.least(8);
          expectSameBits(r, base, `run ${run}`);
        }
      } finally {
        c.disconnect();
      }
      if (process.env.DIST_VERBOSE) console.log(`      ${kills} kills, ${slow} runs waited for a lost tile's lock`);
      expect(kills).to.be.at.least(10);
      await Promise.all(workers.map((w) => w.ready));
    });
  });
});
