/**
 * The op registry: every op the compiler knows, as data (see OpDef in ../types.ts). Grouped by kind,
 * one file per group:
 *   variables.ts (§1.3), math.ts (§1.4), compare.ts (§1.5), vector.ts (§1.6), tensor.ts (§1.7),
 *   complex.ts (§1.8), autodiff.ts (§1.9), other.ts (§1.10); shared helpers in util.ts.
 */
import type { OpDef } from '../types.js';
import { AUTODIFF_OPS } from './autodiff.js';
import { COMPARE_OPS } from './compare.js';
import { COMPLEX_OPS } from './complex.js';
import { MATH_OPS } from './math.js';
import { OTHER_OPS } from './other.js';
import { TENSOR_OPS } from './tensor.js';
import { VARIABLE_OPS } from './variables.js';
import { VECTOR_OPS } from './vector.js';

/** Every op, each once, grouped by kind. */
export const OP_LIST: readonly OpDef[] = [
  ...VARIABLE_OPS,
  ...MATH_OPS,
  ...COMPARE_OPS,
  ...VECTOR_OPS,
  ...TENSOR_OPS,
  ...COMPLEX_OPS,
  ...AUTODIFF_OPS,
  ...OTHER_OPS,
];

/** Every op by name and by each alias. */
export const OPS: Readonly<Record<string, OpDef>> = (() => {
  const table: Record<string, OpDef> = Object.create(null) as Record<string, OpDef>;
  for (const def of OP_LIST)
    for (const name of [def.name, ...(def.aliases ?? [])]) {
      if (table[name]) throw new Error(`internal: op ${name} is defined twice`);
      table[name] = def;
    }
  return Object.freeze(table);
})();

export { broadcastDim, complexBroadcastDim } from './util.js';
