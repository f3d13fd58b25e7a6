/**
 * The smallest complete keopsc program: compile examples/gaussian.keo, run it on random point
 * clouds with the default backend, and check the result against a plain double loop.
 *
 *   npm run example:gaussian                 # M = N = 2000
 *   npm run example:gaussian -- --size 500
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compile } from 'keopsc';

const sizeArg = process.argv.indexOf('--size');
const n = sizeArg >= 0 ? Number(process.argv[sizeArg + 1]) : 2000;
if (!Number.isInteger(n) || n < 1) {
  console.error('--size must be a positive integer');
  process.exit(1);
}
const file = fileURLToPath(new URL('./gaussian.keo', import.meta.url));
const kernel = compile(readFileSync(file, 'utf8'), { file: 'examples/gaussian.keo' });
console.log(kernel.toString());

// a 32-bit linear congruential generator in integer arithmetic: uniform in [-1, 1), period 2^32
let seed = 1;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const M = n, N = n;
const x = Float64Array.from({ length: M * 3 }, rand);
const y = Float64Array.from({ length: N * 3 }, rand);
const b = Float64Array.from({ length: N }, rand);

const args = { x: { data: x, shape: [M, 3] }, y: { data: y, shape: [N, 3] }, b: { data: b, shape: [N, 1] } };
const t0 = performance.now();
kernel.run(args); // the first call also generates the code and starts the worker threads
const first = performance.now() - t0;
const t1 = performance.now();
const { values } = kernel.run(args);
const ms = performance.now() - t1;

// the same sum, written by hand
let maxErr = 0;
for (let i = 0; i < M; i++) {
  let s = 0;
  for (let j = 0; j < N; j++) {
    const d0 = x[3 * i]! - y[3 * j]!, d1 = x[3 * i + 1]! - y[3 * j + 1]!, d2 = x[3 * i + 2]! - y[3 * j + 2]!;
    s += Math.exp(-(d0 * d0 + d1 * d1 + d2 * d2) / 2) * b[j]!;
  }
  maxErr = Math.max(maxErr, Math.abs(s - Number(values!.data[i])));
}
console.log(`\nM = N = ${n} on the default backend: first call ${first.toFixed(1)} ms, then ${ms.toFixed(1)} ms (${((M * N) / (ms / 1000) / 1e6).toFixed(1)} M pairs/s)`);
console.log(`a[0..3] = ${[0, 1, 2, 3].map((k) => Number(values!.data[k]).toFixed(6)).join(', ')}`);
console.log(`max |keopsc - hand-written loop| = ${maxErr.toExponential(2)}`);
if (!(maxErr < 1e-9)) {
  console.error('mismatch with the hand-written loop');
  process.exit(1);
}
