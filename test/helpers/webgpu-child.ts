// A tiny webgpu run in a child process (test/webgpu-quiet.test.ts looks at what it prints on stderr).
import { compile } from '../../src/index.js';

const k = compile('x = Vi(0, 1); y = Vj(1, 1); k = Sum_Reduction(x * y, 0)');
const r = await k.run({ x: Float32Array.from([1, 2]), y: Float32Array.from([3, 4]) }, { backend: 'webgpu' });
process.stdout.write(`${Array.from(r.outputs[0]!.data as Float32Array).join(',')}\n`);
