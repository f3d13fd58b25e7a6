import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../runtime/cuda/backend.js';
import { compile } from '../src/api/compile.js';
import { cudaAddon, cudaCodeOptions, cudaStatus, describeProbe, driverVersionString, libnvrtcCandidates, nvrtcTarget, type CudaAddon, type CudaProbe } from '../runtime/cuda/index.js';
import { cudaLayout } from '../src/targets/cuda.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');

/**
 * The cuda backend without a GPU: status messages, the probe's reasons, the NVRTC target choice, the
 * addon's argument checks, and the whole host path (NVRTC, disk cache, module load, device buffers,
 * launches, copies) against the fake libcuda and libnvrtc of test/fixtures/fake-cuda. The GPU run
 * itself is test/gpu/cuda.test.ts.
 */
describe('cuda backend without a GPU (runtime/cuda, native/src/cuda.cc)', function () {
  this.timeout(120_000);

  describe('status', () => {
    it('says exactly what is missing on a machine without the NVIDIA driver (and NVRTC, where it is missing too)', function () {
      const s = cudaStatus();
      if (s.ok || s.driver) {
        console.log(`      skipped: this machine has CUDA (${s.ok ? s.device.name : s.reason})`);
        this.skip();
      }
      if (/native addon/.test(s.reason)) {
        console.log(`      skipped: ${s.reason}`);
        this.skip();
      }
      assert.equal(s.reason.split('; ')[0], 'libcuda.so.1 not found (no NVIDIA driver)');
      if (s.nvrtc) assert.doesNotMatch(s.reason, /libnvrtc/); // NVRTC found (e.g. Debian's libnvrtc11.2): only the driver is missing
      else assert.match(s.reason, /libnvrtc\.so not found \(install the CUDA toolkit or its NVRTC package, .* or set KEOPSC_LIBNVRTC\)/);
      const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x * y, 0)');
      assert.throws(() => k.run({ x: new Float32Array(2), y: new Float32Array(3) }, { backend: 'cuda' }), /backend 'cuda' is unavailable: libcuda\.so\.1 not found \(no NVIDIA driver\); .*keopsc doctor/);
    });

    it('describes each failure of the probe in one line', () => {
      const nvrtcOk: CudaProbe['nvrtc'] = { ok: true, path: '/x/libnvrtc.so.12', version: [12, 4], cubin: true, archs: [80, 90] };
      const noGpu = describeProbe({ driver: { ok: false, stage: 'init', path: '/usr/lib/libcuda.so.1', version: 12040, error: 'cuda: cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)' }, nvrtc: nvrtcOk });
      assert.deepEqual(noGpu, {
        ok: false,
        reason: 'the NVIDIA driver found no usable GPU (cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected))',
        driver: { path: '/usr/lib/libcuda.so.1', version: '12.4' },
        nvrtc: { path: '/x/libnvrtc.so.12', version: '12.4' },
      });
      const env = describeProbe({ driver: { ok: false, stage: 'load', error: 'not found (/opt/libcuda.so: cannot open shared object file)' }, nvrtc: { ok: false, error: 'not found (x)' } }, { libcuda: '/opt/libcuda.so', libnvrtc: '/opt/libnvrtc.so' });
      assert.equal(env.ok, false);
      assert.match((env as { reason: string }).reason, /^KEOPSC_LIBCUDA=\/opt\/libcuda\.so cannot be loaded \(not found .*\); KEOPSC_LIBNVRTC=\/opt\/libnvrtc\.so cannot be loaded/);
      const ok = describeProbe({
        driver: { ok: true, path: '/usr/lib/libcuda.so.1', version: 13000, devices: 1, device: { index: 0, name: 'NVIDIA H100', major: 9, minor: 0, multiprocessors: 132, maxThreadsPerBlock: 1024, sharedMemPerBlock: 49152, memory: 8e10 } },
        nvrtc: nvrtcOk,
      });
      assert.ok(ok.ok);
      assert.equal(ok.device.arch, 'sm_90');
      assert.equal(driverVersionString(12020), '12.2');
    });

    it('looks for NVRTC under $KEOPSC_LIBNVRTC alone when it is set, else by soname and in the CUDA folders', () => {
      const saved = process.env['KEOPSC_LIBNVRTC'];
      try {
        process.env['KEOPSC_LIBNVRTC'] = '/opt/my/libnvrtc.so.12';
        assert.deepEqual(libnvrtcCandidates(), ['/opt/my/libnvrtc.so.12']);
        delete process.env['KEOPSC_LIBNVRTC'];
        assert.deepEqual(libnvrtcCandidates().slice(0, 4), ['libnvrtc.so', 'libnvrtc.so.13', 'libnvrtc.so.12', 'libnvrtc.so.11.2']);
      } finally {
        if (saved === undefined) delete process.env['KEOPSC_LIBNVRTC'];
        else process.env['KEOPSC_LIBNVRTC'] = saved;
      }
    });
  });

  it("storage 'float16' is refused by the cpu, js, ref and auto backends, and storage must be float32 or float16", () => {
    const k = compile('x = Vi(0, 1)\ny = Vj(1, 1)\nk = Sum_Reduction(x * y, 0)');
    const args = { x: new Float32Array(2), y: new Float32Array(3) };
    for (const backend of ['cpu', 'js', 'ref', 'auto', undefined] as const)
      assert.throws(
        () => k.run(args, { backend, storage: 'float16' }),
        (e: Error) => e.name === 'InputError' && new RegExp(`storage 'float16' is for the webgpu and cuda backends; backend '${backend ?? 'auto'}' stores the inputs as they are`).test(e.message),
        String(backend),
      );
    assert.throws(() => k.run(args, { backend: 'js', storage: 'float8' as 'float16' }), /storage must be 'float32' or 'float16', got 'float8'/);
    // float32 storage is what every backend does: accepted
    assert.equal(k.run(args, { backend: 'js', storage: 'float32' }).values!.data.length, 2);
    // the cuda backend: float64 inputs cannot be stored as halves (checked before any library is needed)
    assert.throws(() => cudaCodeOptions('float64', { sumScheme: 'block', accDtype: 'float64', storage: 'float16' }), (e: Error) => e.name === 'InputError' && /storage 'float16' stores float32 inputs as halves .*the inputs are float64/.test(e.message));
    assert.deepEqual(cudaCodeOptions('float32', { sumScheme: 'block', accDtype: 'float32', storage: 'float16' }), { dtype: 'float32', sumScheme: 'block', accDtype: 'float32', storage: 'float16' });
  });

  it('compiles a cubin for the device when NVRTC supports it, else PTX for the newest older architecture', () => {
    assert.deepEqual(nvrtcTarget(9, 0, { cubin: true, archs: [75, 80, 90] }), { option: '--gpu-architecture=sm_90', cubin: true, arch: 'sm_90' });
    assert.deepEqual(nvrtcTarget(12, 0, { cubin: true, archs: [75, 80, 90] }), { option: '--gpu-architecture=compute_90', cubin: false, arch: 'compute_90' });
    assert.deepEqual(nvrtcTarget(8, 6, { cubin: false, archs: [80, 86] }), { option: '--gpu-architecture=compute_86', cubin: false, arch: 'compute_86' });
    assert.throws(() => nvrtcTarget(7, 0, { cubin: true, archs: [75, 80] }), /none of which runs on the GPU's sm_70/);
  });

  describe('the addon checks its arguments before touching memory', () => {
    let addon: CudaAddon;
    before(function () {
      const a = cudaAddon();
      if (!('addon' in a)) {
        console.log(`      skipped: ${a.reason}`);
        this.skip();
      }
      addon = (a as { addon: CudaAddon }).addon;
    });

    it('cudaProbe, nvrtcCompile and cudaLoad refuse bad arguments with TypeError/RangeError', () => {
      assert.throws(() => addon.cudaProbe('libcuda.so.1' as unknown as string[], [], 0), (e: Error) => e instanceof TypeError && /libcudaCandidates must be an Array of strings, got a string/.test(e.message));
      assert.throws(() => addon.cudaProbe([], [], -1), (e: Error) => e instanceof RangeError && /device must be an integer in \[0, 1023\]/.test(e.message));
      assert.throws(() => addon.nvrtcCompile('x', 'k.cu', [], 'yes' as unknown as boolean), (e: Error) => e instanceof TypeError && /cubin must be a boolean/.test(e.message));
      const layout = cudaLayout(compile('x = Vi(0, 3)\ny = Vj(1, 3)\nk = Sum_Reduction(SqDist(x, y), 0)').plan, { dtype: 'float32' });
      const image = new Uint8Array([1, 2, 3]);
      const bad = (patch: Record<string, unknown>, re: RegExp, type: typeof TypeError | typeof RangeError) =>
        assert.throws(() => addon.cudaLoad(image, { ...layout, ...patch } as typeof layout, 0), (e: Error) => e instanceof type && re.test(e.message), JSON.stringify(patch));
      bad({ dtype: 'float16' }, /layout\.dtype must be "float32" or "float64", got "float16"/, RangeError);
      bad({ tag: 2 }, /layout\.tag must be an integer in \[0, 1\]/, RangeError);
      bad({ blockRows: 2048 }, /layout\.blockRows must be an integer in \[1, 1024\]/, RangeError);
      bad({ sharedBytes: 1e6 }, /layout\.sharedBytes must be an integer in \[0, 49152\]/, RangeError);
      bad({ args: [{ index: 5, dim: 3, cat: 0 }] }, /layout\.args\[0\]\.index must be an integer in \[0, 1\]/, RangeError);
      bad({ args: [{ index: 0, dim: 3, cat: 0 }, { index: 0, dim: 3, cat: 1 }] }, /layout\.args\[1\] repeats index 0/, RangeError);
      bad({ outputs: [] }, /layout\.outputs must be an Array of 1 or 2 outputs/, TypeError);
      bad({ outputs: [{ kind: 'bool', width: 1 }] }, /layout\.outputs\[0\]\.kind must be "float" or "index"/, RangeError);
      bad({ kernels: undefined }, /layout\.kernels must be an object/, TypeError);
      assert.throws(() => addon.cudaLoad(new Uint8Array(0), layout, 0), (e: Error) => e instanceof RangeError && /image is empty/.test(e.message));
      assert.throws(() => addon.cudaLoad(new Float32Array(3) as unknown as Uint8Array, layout, 0), (e: Error) => e instanceof TypeError && /image must be a Uint8Array, got Float32Array/.test(e.message));
      assert.throws(() => addon.cudaRun({ name: 'k' }, { inputs: [], outputs: [], M: 1, N: 1 }), (e: Error) => e instanceof TypeError && /must be a handle returned by cudaLoad/.test(e.message));
    });
  });

  describe('the host path against a fake libcuda and libnvrtc (test/fixtures/fake-cuda)', function () {
    let dir: string;
    let why: string | undefined;
    before(function () {
      if (!('addon' in cudaAddon())) why = (cudaAddon() as { reason: string }).reason;
      else
        try {
          dir = mkdtempSync(join(tmpdir(), 'keopsc-fake-cuda-'));
          const cc = process.env['CC'] || 'cc';
          for (const [lib, src] of [['libcuda.so.1', 'fake_libcuda.c'], ['libnvrtc.so', 'fake_libnvrtc.c']])
            execFileSync(cc, ['-shared', '-fPIC', '-O1', '-o', join(dir, lib!), join(ROOT, 'test', 'fixtures', 'fake-cuda', src!)], { stdio: 'pipe' });
        } catch (e) {
          why = `cannot build the fake CUDA libraries with a C compiler: ${(e as Error).message.split('\n')[0]}`;
        }
      if (why) {
        console.log(`      skipped: ${why}`);
        this.skip();
      }
    });
    after(() => dir && rmSync(dir, { recursive: true, force: true }));

    /** Run test/helpers/cuda-fake.ts in a child process; returns its JSON and the fake's call log. */
    function child(mode: string, env: Record<string, string> = {}): { out: Record<string, unknown>; log: string[] } {
      const log = join(dir, `${mode}-${Math.random().toString(36).slice(2)}.log`);
      writeFileSync(log, '');
      const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'test', 'helpers', 'cuda-fake.ts'), mode], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, KEOPSC_LIBCUDA: join(dir, 'libcuda.so.1'), KEOPSC_LIBNVRTC: join(dir, 'libnvrtc.so'), KEOPSC_CACHE_DIR: join(dir, 'cache'), FAKE_CUDA_LOG: log, ...env },
      });
      if (r.status !== 0) throw new Error(`cuda-fake.ts ${mode} exited with ${r.status}:\n${r.stderr}`);
      return { out: JSON.parse(r.stdout) as Record<string, unknown>, log: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
    }

    it('reports a driver that finds no GPU', () => {
      const { out } = child('status', { FAKE_CUDA_DEVICES: '0' });
      const s = out['status'] as { ok: boolean; reason: string; driver: { path: string; version: string }; nvrtc: { version: string } };
      assert.equal(s.ok, false);
      assert.equal(s.reason, 'the NVIDIA driver found no usable GPU (cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected))');
      assert.equal(s.driver.path, join(dir, 'libcuda.so.1'));
      assert.equal(s.driver.version, '13.0');
      assert.equal(s.nvrtc.version, '13.0');
    });

    it('compiles for sm_XY, caches the image, reuses device buffers, and launches with the layout', () => {
      const { out, log } = child('run', { FAKE_CUDA_WORDS: 'keopsc_g_=7,keopsc_k_=6' });
      const status = out['status'] as { ok: boolean; device: { name: string; arch: string } };
      assert.ok(status.ok);
      assert.equal(status.device.arch, 'sm_90');
      assert.deepEqual(log.filter((l) => l.startsWith('nvrtc')), ['nvrtc --gpu-architecture=sm_90', 'nvrtc --gpu-architecture=sm_90', 'nvrtc --gpu-architecture=sm_90']);
      assert.deepEqual(out['stats'], { hits: 0, compiles: 2 });
      // the copy back reached the output (the fake's device memory holds bytes 0x3f)
      assert.deepEqual(out['dense'], { shape: [5, 2], first: new Float32Array(new Uint32Array([0x3f3f3f3f]).buffer)[0], length: 10 });
      // Sum kernel: inputs 0, 1, 3 (slot 2 is null), one output, then M and N
      const allocs = new Map(log.filter((l) => l.startsWith('alloc')).map((l) => l.split(' ').slice(1)) as [string, string][]);
      const launches = log.filter((l) => l.startsWith('launch'));
      const dense = launches[0]!.split(' ');
      assert.deepEqual(dense.slice(0, 12), ['launch', 'keopsc_g_dense', 'grid', '1', '1', '1', 'block', '256', '1', '1', 'shmem', String(256 * 5 * 4)]);
      const words = dense.slice(13, 20);
      assert.deepEqual([allocs.get(words[0]!), allocs.get(words[1]!), words[2], allocs.get(words[3]!), allocs.get(words[4]!), words[5], words[6]], [String(5 * 3 * 4), String(300 * 3 * 4), '0', String(300 * 2 * 4), String(5 * 2 * 4), '5', '300']);
      // the second dense run allocates nothing: its buffers are reused
      const firstSync = log.indexOf('sync');
      const secondSync = log.indexOf('sync', firstSync + 1);
      assert.equal(log.slice(firstSync + 1, secondSync).filter((l) => l.startsWith('alloc')).length, 0);
      assert.equal(launches[1], launches[0]);
      // ranges: the fill kernel, then one block per (cluster, run of rows): 2 blocks
      assert.match(launches[2]!, /^launch keopsc_g_fill grid 1 1 1 block 256 1 1 shmem 0 /);
      assert.match(launches[3]!, /^launch keopsc_g_ranges grid 2 1 1 block 256 1 1 shmem 5120 .* ptrs \d+ \d+ \d+$/);
      const ptrs = launches[3]!.split(' ptrs ')[1]!.split(' ');
      assert.deepEqual(ptrs.map((p) => allocs.get(p)), [String(2 * 4), String(3 * 2 * 4), String(2 * 3 * 4)]);
      // KMin_ArgKMin, float64, tag 1: 128 threads, values and int64 indices copied back
      assert.match(launches[4]!, /^launch keopsc_k_dense grid 3 1 1 block 128 1 1 shmem 2048 args \d+ \d+ \d+ \d+ 5 300$/);
      assert.deepEqual((out['knn'] as { kinds: string[] }).kinds, ['Float64Array', 'BigInt64Array']);
      assert.match(out['kahan'] as string, /backend 'cuda' has no sumScheme 'kahan'/);
      assert.match(out['compileError'] as string, /^NVRTC compilation of a kernel failed \(--gpu-architecture=sm_90\): .*NVRTC_ERROR_COMPILATION:\nkeopsc\.cu\(1\): error: fake failure/);
      assert.ok((out['released'] as number) > 0);
      // a second process finds both images in the disk cache
      const again = child('run', { FAKE_CUDA_WORDS: '' });
      assert.deepEqual(again.out['stats'], { hits: 2, compiles: 0 });
      assert.deepEqual(again.log.filter((l) => l.startsWith('nvrtc')), ['nvrtc --gpu-architecture=sm_90']);
    });

    it('batch dims: one launch of the batched kernel, grid (row blocks, entries), with the offset table; the addon checks the strides', () => {
      const { out, log } = child('batch', { FAKE_CUDA_WORDS: 'keopsc_g_=7', FAKE_CUDA_HTOD_BYTES: '96' });
      assert.deepEqual(out['batched'], { shape: [2, 3, 5, 2], length: 60 });
      const launch = log.filter((l) => l.startsWith('launch'));
      assert.equal(launch.length, 1);
      assert.match(launch[0]!, /^launch keopsc_g_dense_batched grid 1 6 1 block 256 1 1 shmem 5120 args \d+ \d+ 0 \d+ \d+ 5 300 boff \d+ b0 0$/);
      // the table: 6 entries x 4 slots of int64 element offsets; x moves by 15 per entry, y by 900 per
      // second-dim step (broadcast over the first), b by 600 per first-dim step (broadcast over the second)
      const boff = launch[0]!.split(' boff ')[1]!.split(' ')[0]!;
      const htod = log.find((l) => l.startsWith(`htod ${boff} `))!.split(' ');
      assert.equal(htod[2], String(6 * 4 * 8));
      const bytes = Buffer.from(htod.slice(4).join(''), 'hex');
      const table = Array.from(new BigInt64Array(bytes.buffer, bytes.byteOffset, 12), Number);
      // (only the first 96 bytes are logged: entries 0..2)
      assert.deepEqual(table, [0, 0, 0, 0, 15, 900, 0, 0, 30, 1800, 0, 0]);
      assert.match(out['stridePastEnd'] as string, /^RangeError: kernel 'g': input 0 has 30 values, but its batch strides read up to 31$/);
      assert.match(out['badStrides'] as string, /^RangeError: .*batchStrides has 2 values, expected 4 inputs x 1 batch dims/);
      assert.match(out['badOutput'] as string, /^RangeError: .*output 0 has 10 values, expected batch entries x rows x width = 10 x 2 = 20/);
    });

    it('float16 storage uploads 2-byte half bits (round to nearest even) and runs the half-storage kernel', () => {
      const { out, log } = child('half', { FAKE_CUDA_WORDS: 'keopsc_g_=7', FAKE_CUDA_HTOD_BYTES: '32', KEOPSC_CACHE_DIR: join(dir, 'cache-half') });
      assert.ok((out['status'] as { ok: boolean }).ok);
      const layout = out['layout'] as { storage: string; sharedBytes: number; blockRows: number };
      assert.equal(layout.storage, 'float16');
      // the shared tile holds the converted floats: the same bytes as float32 storage
      assert.equal(layout.sharedBytes, 256 * 5 * 4);
      assert.deepEqual(out['half'], { kind: 'Float32Array', shape: [5, 2] });
      // the half kernel is compiled once (the second half run reuses it), the float32 one apart
      assert.deepEqual(out['statsHalf'], { hits: 0, compiles: 1 });
      assert.deepEqual(out['statsBoth'], { hits: 0, compiles: 2 });
      const sources = log.filter((l) => l.startsWith('source '));
      assert.equal(sources.length, 2);
      assert.match(sources[0]!, /float32 data, float32 accumulators, float16 storage \(inputs are uint16 half bits\)\.$/);
      assert.doesNotMatch(sources[1]!, /float16/);
      // the first run: x (5 x 3), y (300 x 3), b (300 x 2) as 2-byte elements, the output as float32
      const first = log.slice(0, log.indexOf('sync') + 2);
      const allocs = new Map(first.filter((l) => l.startsWith('alloc')).map((l) => l.split(' ').slice(1)) as [string, string][]);
      const htod = first.filter((l) => l.startsWith('htod')).map((l) => l.split(' '));
      assert.deepEqual(htod.map((h) => h[2]), [String(5 * 3 * 2), String(300 * 3 * 2), String(300 * 2 * 2)]);
      // x = [1, -2, 0.5, 65504, 1e6, 1/3, 1 + 2^-11, 1 + 3 * 2^-11, 2^-24, -0, 0.1, 3, 1, 1, 1]: exact,
      // overflow to inf, ties to even (down to 1, up to 1 + 2^-9), the smallest subnormal, -0
      const halves = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0x3555, 0x3c00, 0x3c02, 0x0001, 0x8000, 0x2e66, 0x4200, 0x3c00, 0x3c00, 0x3c00];
      assert.equal(htod[0]![4], halves.map((h) => (h & 0xff).toString(16).padStart(2, '0') + (h >> 8).toString(16).padStart(2, '0')).join(''));
      assert.equal(htod[1]![4], '0034'.repeat(16)); // 0.25
      assert.equal(htod[2]![4], '00bc'.repeat(16)); // -1
      const launch = first.find((l) => l.startsWith('launch'))!.split(' ');
      assert.deepEqual(launch.slice(0, 12), ['launch', 'keopsc_g_dense', 'grid', '1', '1', '1', 'block', '256', '1', '1', 'shmem', String(256 * 5 * 4)]);
      const words = launch.slice(13, 20);
      assert.deepEqual([allocs.get(words[0]!), allocs.get(words[1]!), words[2], allocs.get(words[3]!), allocs.get(words[4]!), words[5], words[6]], ['30', '1800', '0', '1200', '40', '5', '300']);
      assert.deepEqual(first.filter((l) => l.startsWith('dtoh')).map((l) => l.split(' ')[2]), ['40']);
      // float32 storage afterwards uploads 4-byte elements
      const later = log.slice(log.map((l) => l.startsWith('load ')).lastIndexOf(true));
      assert.deepEqual(later.filter((l) => l.startsWith('htod')).map((l) => l.split(' ')[2]), ['60', '3600', '2400']);
      // the errors
      assert.match(out['float64'] as string, /^InputError: .*storage 'float16' stores float32 inputs as halves .*the inputs are float64: pass Float32Array inputs or leave storage out$/);
      assert.match(out['badStorage'] as string, /^InputError: .*storage must be 'float32' or 'float16', got 'float8'$/);
      assert.match(out['floatInput'] as string, /^TypeError: kernel 'g': input 0 \(the kernel stores float16: half bits\) must be a Uint16Array, got Float32Array$/);
      assert.match(out['layoutF64'] as string, /^RangeError: cudaLoad: layout\.storage "float16" needs dtype "float32"$/);
      assert.match(out['layoutBad'] as string, /^RangeError: cudaLoad: layout\.storage must be "float32" or "float16", got "bfloat16"$/);
    });

    it('high-dimensional kernels (D = 768, 4096) launch their chunked layouts: 256 or 128 threads, a few KiB of shared memory; vector-valued results the layouts of their unrolled form', () => {
      const { out, log } = child('wide', { FAKE_CUDA_WORDS: 'keopsc_g_=6,keopsc_k_=5,keopsc_v_=7,keopsc_l_=6,keopsc_m_=6' });
      const layouts = out['layouts'] as Record<'gauss' | 'knn', { staging: string; chunk: { rows: number; dims: number }; blockRows: number; sharedBytes: number }>;
      // one staged slot (y from component 0): 32 indices x 32 components of float32 / float64
      assert.deepEqual([layouts.gauss.staging, layouts.gauss.chunk, layouts.gauss.blockRows, layouts.gauss.sharedBytes], ['chunked', { rows: 32, dims: 32 }, 256, 32 * 32 * 4]);
      assert.deepEqual([layouts.knn.staging, layouts.knn.chunk, layouts.knn.blockRows, layouts.knn.sharedBytes], ['chunked', { rows: 32, dims: 32 }, 128, 32 * 32 * 8]);
      const launches = log.filter((l) => l.startsWith('launch'));
      assert.match(launches[0]!, /^launch keopsc_g_dense grid 1 1 1 block 256 1 1 shmem 4096 /);
      assert.match(launches[1]!, /^launch keopsc_g_fill grid 1 1 1 block 256 1 1 shmem 0 /);
      assert.match(launches[2]!, /^launch keopsc_g_ranges grid 1 1 1 block 256 1 1 shmem 4096 /);
      assert.match(launches[3]!, /^launch keopsc_k_dense grid 1 1 1 block 128 1 1 shmem 8192 /);
      // the sources: loops over chunks of components, the same size at D = 768 and 4096 (but the numbers)
      const sources = log.filter((l) => l.startsWith('source '));
      assert.equal(sources.length, 5);
      // vector-valued results (loops over the components of the result, per-thread arrays): the layout of
      // their unrolled form; the outputs as wide as the result
      type L = { staging: string; chunk?: { rows: number; dims: number }; blockRows: number; sharedBytes: number; outputs: { width: number }[] };
      const v = out['vectors'] as { grad: L; lse: L; max: L; shapes: number[][][]; loops: boolean[] };
      assert.deepEqual(v.loops, [true, true, true]);
      assert.deepEqual([v.grad.staging, v.grad.chunk, v.grad.blockRows, v.grad.sharedBytes, v.grad.outputs.map((o) => o.width)], ['chunked', { rows: 32, dims: 32 }, 256, 32 * 32 * 4, [768]]);
      // 3 + 65 staged values per reduction index: 160 rows fit 48 KiB
      assert.deepEqual([v.lse.staging, v.lse.blockRows, v.lse.sharedBytes, v.lse.outputs.map((o) => o.width)], ['whole', 160, 160 * 68 * 4, [65]]);
      assert.deepEqual([v.max.staging, v.max.blockRows, v.max.sharedBytes, v.max.outputs.map((o) => o.width)], ['direct', 256, 0, [768, 768]]);
      assert.deepEqual(v.shapes, [[[5, 768]], [[5, 65]], [[5, 768], [5, 768]], [[5, 768]], [[5, 65]], [[5, 768], [5, 768]]]);
      assert.match(launches[4]!, /^launch keopsc_v_dense grid 1 1 1 block 256 1 1 shmem 4096 args \d+ \d+ \d+ \d+ \d+ 5 300$/);
      assert.match(launches[5]!, /^launch keopsc_l_dense grid 1 1 1 block 160 1 1 shmem 43520 args \d+ \d+ \d+ \d+ 5 300$/);
      assert.match(launches[6]!, /^launch keopsc_m_dense grid 1 1 1 block 256 1 1 shmem 0 args \d+ \d+ \d+ \d+ 5 300$/);
      assert.match(launches[7]!, /^launch keopsc_v_fill grid 1 1 1 block 256 1 1 shmem 0 /);
      assert.match(launches[8]!, /^launch keopsc_v_ranges grid 1 1 1 block 256 1 1 shmem 4096 /);
      assert.match(launches[10]!, /^launch keopsc_l_ranges grid 1 1 1 block 160 1 1 shmem 43520 /);
      assert.match(launches[12]!, /^launch keopsc_m_ranges grid 1 1 1 block 256 1 1 shmem 0 /);
      // each compiled once (the fake logs the first line of each source)
      for (const name of ['v', 'l', 'm']) assert.equal(sources.filter((l) => l.includes(`CUDA kernel '${name}'`)).length, 1, `the source of kernel ${name}`);
    });

    it('cudaRun refuses bad arrays and ranges before any copy', () => {
      const { out, log } = child('validate');
      const errors = out['errors'] as string[];
      const want = [
        /^float64 input: TypeError: kernel 'g': input 0 \(the kernel is float32\) must be a Float32Array, got Float64Array$/,
        /^short input: RangeError: kernel 'g': input 1 has 17 values, expected N x dim = 6 x 3 = 18$/,
        /^missing input: TypeError: kernel 'g': input 3 \(dim 2\) is missing: the kernel reads it$/,
        /^two outputs: RangeError: kernel 'g': outputs has 2 arrays, the kernel writes 1$/,
        /^long output: RangeError: kernel 'g': output 0 has 9 values, expected rows x width = 4 x 2 = 8$/,
        /^M not an integer: RangeError: kernel 'g': M must be an integer/,
        /^ranges not an object: TypeError: kernel 'g': ranges must be an object \{ slices, red, table \}/,
        /^red out of bounds: RangeError: kernel 'g': ranges\.red\[0\] = \[0, 7\) is out of bounds for N = 6$/,
        /^slices decreasing: RangeError: kernel 'g': ranges\.slices\[1\] = 0 must be non-decreasing/,
        /^table cluster out of range: RangeError: kernel 'g': ranges\.table\[0\] = \(1, 0, 1\) names a cluster outside \[0, 1\)$/,
        /^table run empty: RangeError: .* is not a non-empty run of rows in \[0, 4\)$/,
        /^table run past the rows: RangeError: .*\(0, 2, 5\) is not a non-empty run of rows in \[0, 4\)$/,
        /^table not triples: RangeError: kernel 'g': ranges\.table has 2 values; it must hold \(cluster, start, end\) triples$/,
      ];
      assert.equal(errors.length, want.length);
      errors.forEach((e, k) => assert.match(e, want[k]!));
      assert.match(out['notAHandle'] as string, /^TypeError: cudaRun: the first argument must be a handle returned by cudaLoad\(\)$/);
      assert.match(out['longRun'] as string, /^RangeError: .*holds more than the 256 rows of a block$/);
      assert.deepEqual(log.filter((l) => /^(alloc|htod|launch|dtoh)/.test(l)), []);
    });
  });
});
