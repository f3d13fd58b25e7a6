import type { DimError, Param } from '../../src/ir/types.js';

/**
 * THE per-op example table: for every op of the registry, what the op suites check it with. Adding an
 * op means one entry here (the suites' coverage tests fail until it has every field it needs):
 *
 * - `dims` (test/ops.test.ts): argument dims and params its dimension rule accepts (with the output
 *   dimension) and rejects (with the error kind, DimMismatch by default);
 * - `values` (test/ops.test.ts): hand-computed or golden (keops-reference §7.3) values of its eval;
 * - `lower` (test/lower-ops.test.ts): (dims, params) on which its lowering must equal its eval bit for bit;
 * - `grad`, `domain`, `kinks` (test/grad-ops.test.ts): (dims, params) on which its derivative rule
 *   must match finite differences, the draw of each argument (default uniform in [-2, 2]) and the
 *   quantities that must stay away from 0 for the op to be smooth at the draw;
 * - `examples` (test/language.test.ts): formulas using it, as a user writes them, with their dimension
 *   (over the declarations of that suite).
 */
export interface OpCases {
  dims: DimSpec;
  values?: readonly ValueCase[];
  lower?: readonly Case[];
  grad?: readonly Case[];
  domain?: readonly Draw[];
  kinks?: Kinks;
  examples: readonly (readonly [formula: string, dim: number])[];
}

/** Accepted (dims, params) → output dim. */
export type DimCase = readonly [readonly number[], readonly Param[], number];
/** Rejected (dims, params), with the DimError kind (DimMismatch when left out). */
export type BadCase = readonly [readonly number[], readonly Param[], DimError['kind']?];
export interface DimSpec {
  ok: readonly DimCase[];
  bad?: readonly BadCase[];
}
/** Formula arguments, params, the expected output and its tolerance (1e-12 when left out). */
export type ValueCase = readonly [args: readonly (readonly number[])[], params: readonly Param[], expected: readonly number[], tol?: number];
/** Argument dims and params. */
export type Case = readonly [dims: readonly number[], params: readonly Param[]];
/** A random draw of one value. */
export type Draw = (r: () => number) => number;
/** The quantities that must stay away from 0 at a draw. */
export type Kinks = (x: readonly Float64Array[], p: readonly Param[]) => number[];

const PR = 'ParamOutOfRange';
const BC = 'BadConstant';

// dims of element-wise ops
const UNARY: DimSpec = { ok: [[[3], [], 3], [[1], [], 1]] };
const BINARY: DimSpec = {
  ok: [[[3, 3], [], 3], [[1, 3], [], 3], [[3, 1], [], 3], [[1, 1], [], 1]],
  bad: [[[3, 2], []], [[2, 3], []]],
};
const TERNARY: DimSpec = {
  ok: [[[3, 3, 3], [], 3], [[3, 1, 1], [], 3], [[1, 1, 4], [], 4]],
  bad: [[[3, 2, 3], []], [[3, 3, 2], []], [[1, 2, 3], []]],
};
const COMPLEX_BINARY: DimSpec = {
  ok: [[[4, 4], [], 4], [[2, 6], [], 6], [[6, 2], [], 6], [[2, 2], [], 2]],
  bad: [[[4, 6], []], [[3, 3], []], [[1, 2], []], [[2, 1], []]],
};
const COMPLEX_HALF: DimSpec = { ok: [[[4], [], 2], [[2], [], 1]], bad: [[[3], []]] };
const TO_COMPLEX: DimSpec = { ok: [[[3], [], 6], [[1], [], 2]] };

// (dims, params) of lowering and gradient cases
const U: readonly Case[] = [[[1], []], [[4], []]];
const B: readonly Case[] = [[[3, 3], []], [[1, 3], []], [[3, 1], []], [[1, 1], []]];
const T_LOWER: readonly Case[] = [[[3, 3, 3], []], [[3, 1, 1], []], [[1, 3, 1], []], [[1, 1, 3], []], [[1, 1, 1], []]];
const T_GRAD: readonly Case[] = [...T_LOWER, [[3, 3, 1], []]];
const CB: readonly Case[] = [[[4, 4], []], [[2, 6], []], [[6, 2], []], [[2, 2], []]];
const CHALF: readonly Case[] = [[[2], []], [[6], []]];
const TOC: readonly Case[] = [[[1], []], [[3], []]];
const EXT: readonly Case[] = [[[1], []], [[2], []], [[5], []]];

// values
/** keops-reference §7.3 case 14's x. */
export const X14 = [0, -1, 2.5, -2.5, 0.49, 0.5, 1.5];
/** §7.3 case 20's w. */
export const W = [3, 7, 7, -1];
const A6 = [0, 1, 2, 3, 4, 5];
const { PI, E, SQRT2 } = Math;

// draws
/** Uniform in [lo, hi). */
export const uni =
  (lo: number, hi: number): Draw =>
  (r) =>
    lo + (hi - lo) * r();
const awayFrom0 =
  (lo: number, hi: number): Draw =>
  (r) =>
    (r() < 0.5 ? -1 : 1) * uni(lo, hi)(r);
/** The default draw. */
export const ANY = uni(-2, 2);
const POS = uni(0.2, 2);
const NZ = awayFrom0(0.3, 2);

/** Element-wise map with scalar broadcasting. */
function bmap(xs: readonly Float64Array[], fn: (...v: number[]) => number): number[] {
  const n = Math.max(...xs.map((x) => x.length));
  return Array.from({ length: n }, (_, k) => fn(...xs.map((x) => x[x.length === 1 ? 0 : k]!)));
}
const pairGaps = (f: Float64Array): number[] => Array.from(f).flatMap((a, i) => Array.from(f.slice(i + 1), (b) => a - b));

/** Every op by name, in registry order. */
export const OP_CASES: Readonly<Record<string, OpCases>> = {
  Var: {
    dims: { ok: [[[], [0, 3, 0], 3], [[], [5, 1, 2], 1], [[], [-1, 2, 1], 2]], bad: [[[], [0, 0, 0], PR], [[], [0, 3, 3], PR], [[], [0, 2.5, 0], PR]] },
    examples: [['Var(0, 3, 0)', 3]],
  },
  IntCst: {
    dims: { ok: [[[], [7], 1], [[], [-2], 1]], bad: [[[], [1.5], PR]] },
    values: [[[], [7], [7]]],
    lower: [[[], [7]], [[], [-2]], [[], [0]]],
    grad: [[[], [7]]],
    examples: [['IntCst(3)', 1]],
  },
  RatCst: {
    dims: { ok: [[[], [1, 3], 1]], bad: [[[], [1, 0], BC], [[], [0.5, 2], PR]] },
    values: [[[], [1, 4], [0.25]]],
    lower: [[[], [1, 3]], [[], [-2, 7]], [[], [5, -1]]],
    grad: [[[], [1, 3]]],
    examples: [['RatCst(1, 3)', 1]],
  },
  Zero: {
    dims: { ok: [[[], [4], 4]], bad: [[[], [0], PR], [[], [-1], PR]] },
    values: [[[], [3], [0, 0, 0]]],
    lower: [[[], [1]], [[], [4]]],
    grad: [[[], [3]]],
    examples: [['Zero(4)', 4]],
  },
  Cst: {
    dims: { ok: [[[], [0.1], 1], [[], [Infinity], 1]], bad: [[[], [[1, 2]], BC]] },
    values: [[[], [0.1], [0.1]]],
    lower: [[[], [0.1]], [[], [-0]], [[], [Infinity]], [[], [-1e-300]]],
    grad: [[[], [0.1]]],
    examples: [],
  },
  IntInv: {
    dims: { ok: [[[], [3], 1]], bad: [[[], [0], BC]] },
    values: [[[], [4], [0.25]]],
    examples: [['IntInv(4)', 1]],
  },
  Minus: {
    dims: UNARY,
    values: [[[[1, -2]], [], [-1, 2]]],
    lower: U,
    grad: U,
    examples: [['-x', 3], ['Minus(x)', 3]],
  },
  Add: {
    dims: BINARY,
    values: [[[[1, 2], [10]], [], [11, 12]]],
    lower: B,
    grad: B,
    examples: [['x + y', 3], ['Add(s, x)', 3]],
  },
  Subtract: {
    dims: BINARY,
    values: [[[[1], [1, 2, 3]], [], [0, -1, -2]]],
    lower: B,
    grad: B,
    examples: [['x - s', 3]],
  },
  Mult: {
    dims: BINARY,
    values: [[[[2, 3], [4, 5]], [], [8, 15]]],
    lower: B,
    grad: B,
    examples: [['x * y', 3], ['s * x', 3]],
  },
  Divide: {
    dims: BINARY,
    values: [[[[1, 3], [2]], [], [0.5, 1.5]]],
    lower: B,
    grad: B,
    domain: [ANY, NZ],
    examples: [['x / y', 3], ['x / 2', 3]],
  },
  Inv: {
    dims: UNARY,
    values: [[[X14], [], [Infinity, -1, 0.4, -0.4, 2.04082, 2, 0.66667], 1e-5]],
    lower: U,
    grad: U,
    domain: [NZ],
    examples: [['Inv(x)', 3]],
  },
  Exp: {
    dims: UNARY,
    values: [[[[0, 1]], [], [1, E]]],
    lower: U,
    grad: U,
    examples: [['Exp(x)', 3]],
  },
  Log: {
    dims: UNARY,
    values: [[[[1, E, 0]], [], [0, 1, -Infinity]]],
    lower: U,
    grad: U,
    domain: [POS],
    examples: [['Log(x)', 3]],
  },
  Sin: {
    dims: UNARY,
    values: [[[[0, PI / 2]], [], [0, 1]]],
    lower: U,
    grad: U,
    examples: [['Sin(x)', 3]],
  },
  Cos: {
    dims: UNARY,
    values: [[[[0, PI]], [], [1, -1]]],
    lower: U,
    grad: U,
    examples: [['Cos(x)', 3]],
  },
  Asin: {
    dims: UNARY,
    values: [[[[1, 0, 2]], [], [PI / 2, 0, NaN]]],
    lower: U,
    grad: U,
    domain: [uni(-0.8, 0.8)],
    examples: [['Asin(x)', 3]],
  },
  Acos: {
    dims: UNARY,
    values: [[[[1, 0]], [], [0, PI / 2]]],
    lower: U,
    grad: U,
    domain: [uni(-0.8, 0.8)],
    examples: [['Acos(x)', 3]],
  },
  Atan: {
    dims: UNARY,
    values: [[[[1, 0]], [], [PI / 4, 0]]],
    lower: U,
    grad: U,
    examples: [['Atan(x)', 3]],
  },
  Atan2: {
    dims: BINARY,
    values: [[[[1, 0, -1], [0, -1, -1]], [], [PI / 2, PI, (-3 * PI) / 4]]],
    lower: B,
    grad: B,
    kinks: ([f, g]) => bmap([f!, g!], (a, b) => a * a + b * b - 0.1),
    examples: [['Atan2(x, y)', 3]],
  },
  Sqrt: {
    dims: UNARY,
    values: [[[[4, 2, -1]], [], [2, SQRT2, NaN]]],
    lower: U,
    grad: U,
    domain: [POS],
    examples: [['Sqrt(x)', 3]],
  },
  Rsqrt: {
    dims: UNARY,
    values: [
      [[X14], [], [0, NaN, 0.63246, NaN, 1.42857, 1.41421, 0.8165], 1e-5],
      [[[4, -0]], [], [0.5, 0]],
    ],
    lower: U,
    grad: U,
    domain: [POS],
    examples: [['Rsqrt(x)', 3]],
  },
  Square: {
    dims: UNARY,
    values: [[[[-3, 0.5]], [], [9, 0.25]]],
    lower: U,
    grad: U,
    examples: [['Square(x)', 3], ['x ** 2', 3]],
  },
  Pow: {
    dims: { ok: [[[3], [2], 3], [[1], [-1], 1], [[2], [0], 2]], bad: [[[3], [1.5], PR], [[3], [[2]], PR]] },
    values: [
      [[[2, -3]], [3], [8, -27]],
      [[[2, 0]], [-1], [0.5, Infinity]],
      [[[0, NaN]], [0], [1, 1]],
    ],
    lower: [[[3], [2]], [[3], [-1]], [[3], [0]], [[1], [3]], [[3], [-2]], [[3], [5]], [[3], [1]]],
    grad: [[[3], [2]], [[3], [-1]], [[3], [0]], [[1], [3]], [[3], [-2]], [[3], [5]], [[3], [1]]],
    domain: [NZ],
    examples: [['Pow(x, 3)', 3], ['x ** -1', 3]],
  },
  Powf: {
    dims: BINARY,
    values: [
      [[[4, 1, 2], [0.5, NaN, -1]], [], [2, 1, 0.5]],
      [[[-1, 1], [Infinity]], [], [1, 1]],
    ],
    lower: B,
    grad: B,
    domain: [POS, ANY],
    examples: [['Powf(x, y)', 3], ['x ** 0.5', 3]],
  },
  Abs: {
    dims: UNARY,
    values: [[[[-2, 3]], [], [2, 3]]],
    lower: U,
    grad: U,
    domain: [NZ],
    examples: [['Abs(x)', 3]],
  },
  Sign: {
    dims: UNARY,
    values: [
      [[X14], [], [0, -1, 1, -1, 1, 1, 1]],
      [[[NaN, -0]], [], [0, 0]],
    ],
    lower: U,
    grad: U,
    examples: [['Sign(x)', 3]],
  },
  Step: {
    dims: UNARY,
    values: [
      [[X14], [], [1, 0, 1, 0, 1, 1, 1]],
      [[[NaN]], [], [1]],
    ],
    lower: U,
    grad: U,
    examples: [['Step(x)', 3]],
  },
  ReLU: {
    dims: UNARY,
    values: [[[[-1, 0, 2]], [], [0, 0, 2]]],
    lower: U,
    grad: U,
    domain: [NZ],
    examples: [['ReLU(x)', 3]],
  },
  Floor: {
    dims: UNARY,
    values: [[[[-1.5, 1.5, 2]], [], [-2, 1, 2]]],
    lower: U,
    grad: U,
    examples: [['Floor(x)', 3]],
  },
  Round: {
    dims: { ok: [[[3], [0], 3], [[3], [-2], 3]], bad: [[[3], [0.5], PR]] },
    values: [
      [[X14], [0], [0, -1, 3, -3, 0, 1, 2]],
      [[[0.49999999999999994, -0.5, 1.5]], [0], [0, -1, 2]],
      [[[1.2345, 0.125]], [2], [1.23, 0.13]],
      [[[1250, -1249]], [-2], [1300, -1200]],
    ],
    lower: [[[3], [0]], [[3], [1]], [[3], [2]], [[1], [-2]], [[3], [3]]],
    grad: [[[3], [0]], [[3], [2]]],
    examples: [['Round(x, 2)', 3]],
  },
  XLogX: {
    dims: UNARY,
    values: [
      [[X14], [], [0, NaN, 2.29073, NaN, -0.34954, -0.34657, 0.6082], 1e-5],
      [[[E]], [], [E]],
    ],
    lower: U,
    grad: U,
    domain: [POS],
    examples: [['XLogX(x)', 3]],
  },
  SinXDivX: {
    dims: UNARY,
    values: [
      [[X14], [], [1, 0.84147, 0.23939, 0.23939, 0.96046, 0.95885, 0.665], 1e-5],
      [[[PI]], [], [Math.sin(PI) / PI]],
    ],
    lower: U,
    grad: U,
    domain: [NZ],
    examples: [['SinXDivX(x)', 3]],
  },
  Mod: {
    dims: TERNARY,
    values: [
      [[X14, [2], [0]], [], [0, 1, 0.5, 1.5, 0.49, 0.5, 1.5]],
      [[[-1, 7], [2], [0]], [], [1, 1]],
      [[[5], [3], [-1]], [], [-1]],
    ],
    lower: T_LOWER,
    grad: T_GRAD,
    domain: [uni(-3, 3), NZ, ANY],
    kinks: ([f, n, d]) => bmap([f!, n!, d!], (a, b, c) => { const t = (a - c) / b; return t - Math.round(t); }),
    examples: [['Mod(x, s, p)', 3]],
  },
  Equal: {
    dims: BINARY,
    values: [[[[1, 2, 3, NaN], [2]], [], [0, 1, 0, 0]]],
    lower: B,
    grad: B,
    examples: [['Equal(x, y)', 3], ['x == y', 3]],
  },
  NotEqual: {
    dims: BINARY,
    values: [[[[1, 2, 3, NaN], [2]], [], [1, 0, 1, 1]]],
    lower: B,
    grad: B,
    examples: [['NotEqual(x, y)', 3], ['x != y', 3]],
  },
  LessThan: {
    dims: BINARY,
    values: [[[[1, 2, 3], [2]], [], [1, 0, 0]]],
    lower: B,
    grad: B,
    examples: [['LessThan(x, y)', 3], ['x < y', 3], ['x > y', 3]],
  },
  LessOrEqual: {
    dims: BINARY,
    values: [[[[1, 2, 3], [2]], [], [1, 1, 0]]],
    lower: B,
    grad: B,
    examples: [['LessOrEqual(x, y)', 3], ['x <= y', 3], ['x >= y', 3]],
  },
  IfElse: {
    dims: TERNARY,
    values: [
      [[X14, X14.map((x) => x + 1), X14.map((x) => x - 1)], [], [1, -2, 3.5, -3.5, 1.49, 1.5, 2.5]],
      [[[NaN, 0], [1], [2]], [], [2, 1]],
    ],
    lower: T_LOWER,
    grad: T_GRAD,
    kinks: ([c]) => Array.from(c!),
    examples: [['IfElse(s, x, y)', 3]],
  },
  Clamp: {
    dims: TERNARY,
    values: [[[X14, [-1], [1]], [], [0, -1, 1, -1, 0.49, 0.5, 1]]],
    lower: T_LOWER,
    grad: T_GRAD,
    kinks: ([f, a, b]) => [...bmap([f!, a!], (x, y) => x - y), ...bmap([f!, b!], (x, y) => x - y)],
    examples: [['Clamp(x, s, t)', 3]],
  },
  ClampInt: {
    dims: { ok: [[[3], [0, 1], 3]], bad: [[[3], [0, 0.5], PR]] },
    values: [[[[-2, 0.5, 3]], [0, 1], [0, 0.5, 1]]],
    lower: [[[4], [0, 1]], [[4], [-1, 2]], [[1], [2, -2]], [[3], [0, 0]]],
    grad: [[[4], [0, 1]], [[4], [-1, 2]], [[1], [-1, 1]]],
    kinks: ([f], p) => Array.from(f!).flatMap((x) => [x - (p[0] as number), x - (p[1] as number)]),
    examples: [['ClampInt(x, 0, 1)', 3]],
  },
  DiffClampInt: {
    dims: { ok: [[[3], [-1, 1], 3]], bad: [[[3], [0.5, 1], PR]] },
    values: [[[[-2, 0.5, 3, 0, 1]], [0, 1], [0, 1, 0, 1, 1]]],
    lower: [[[4], [0, 1]], [[4], [-1, 2]], [[1], [2, -2]], [[3], [0, 0]]],
    grad: [[[4], [0, 1]]],
    examples: [['DiffClampInt(x, 0, 1)', 3]],
  },
  Sum: {
    dims: { ok: [[[3], [], 1], [[1], [], 1]] },
    values: [[[[1, 2, 3]], [], [6]]],
    lower: [[[1], []], [[5], []]],
    grad: [[[1], []], [[5], []]],
    examples: [['Sum(x)', 1]],
  },
  SumT: {
    dims: { ok: [[[1], [3], 3]], bad: [[[2], [3]], [[1], [0], PR]] },
    values: [[[[2]], [3], [2, 2, 2]]],
    lower: [[[1], [1]], [[1], [3]]],
    grad: [[[1], [1]], [[1], [3]]],
    examples: [['SumT(s, 4)', 4]],
  },
  Max: {
    dims: { ok: [[[4], [], 1]] },
    values: [[[W], [], [7]]],
    lower: EXT,
    grad: EXT,
    kinks: ([f]) => pairGaps(f!),
    examples: [['Max(x)', 1]],
  },
  Min: {
    dims: { ok: [[[4], [], 1]] },
    values: [[[W], [], [-1]]],
    lower: EXT,
    grad: EXT,
    kinks: ([f]) => pairGaps(f!),
    examples: [['Min(x)', 1]],
  },
  ArgMax: {
    dims: { ok: [[[4], [], 1]] },
    values: [[[W], [], [1]]],
    lower: EXT,
    grad: EXT,
    examples: [['ArgMax(x)', 1]],
  },
  ArgMin: {
    dims: { ok: [[[4], [], 1]] },
    values: [
      [[W], [], [3]],
      [[[1, 0, 0]], [], [1]],
    ],
    lower: EXT,
    grad: EXT,
    examples: [['ArgMin(x)', 1]],
  },
  Scalprod: {
    dims: { ok: [[[3, 3], [], 1], [[1, 3], [], 1], [[3, 1], [], 1]], bad: [[[3, 2], []]] },
    values: [
      [[[1, 2, 3], [4, 5, 6]], [], [32]],
      [[[2], [1, 2, 3]], [], [12]],
    ],
    lower: [[[3, 3], []], [[1, 3], []], [[3, 1], []], [[1, 1], []]],
    grad: [[[3, 3], []], [[1, 3], []], [[3, 1], []], [[1, 1], []]],
    examples: [['Scalprod(x, y)', 1], ['x | y', 1]],
  },
  SqNorm2: {
    dims: { ok: [[[3], [], 1]] },
    values: [[[[1, 2, 3]], [], [14]]],
    examples: [['SqNorm2(x)', 1]],
  },
  Norm2: {
    dims: { ok: [[[3], [], 1]] },
    values: [[[[3, 4]], [], [5]]],
    examples: [['Norm2(x)', 1]],
  },
  Normalize: {
    dims: { ok: [[[3], [], 3]] },
    values: [
      [[[3, 4]], [], [0.6, 0.8]],
      [[[0, 0]], [], [0, 0]],
    ],
    examples: [['Normalize(x)', 3]],
  },
  SqDist: {
    dims: { ok: [[[3, 3], [], 1], [[3, 1], [], 1]], bad: [[[3, 2], []]] },
    values: [
      [[[1, 2, 3], [3, 4, 5]], [], [12]],
      [[[1, 2, 3], [1]], [], [5]],
    ],
    examples: [['SqDist(x, y)', 1]],
  },
  SqNormIso: {
    dims: { ok: [[[1, 3], [], 1]], bad: [[[2, 2], []]] },
    values: [[[[2], [1, 2]], [], [10]]],
    examples: [['SqNormIso(s, x)', 1]],
  },
  SqNormDiag: {
    dims: { ok: [[[3, 3], [], 1]], bad: [[[3, 2], []]] },
    values: [[[[1, 2], [3, 4]], [], [41]]],
    examples: [['SqNormDiag(u, x)', 1]],
  },
  SymSqNorm: {
    dims: { ok: [[[4, 2], [], 1], [[9, 3], [], 1]], bad: [[[3, 2], []], [[2, 2], []]] },
    values: [[[[1, 2, 2, 7], [1, 2]], [], [37]]],
    examples: [['SymSqNorm(S, x)', 1]],
  },
  WeightedSqNorm: {
    dims: { ok: [[[1, 2], [], 1], [[2, 2], [], 1], [[4, 2], [], 1]], bad: [[[3, 2], []]] },
    values: [
      [[[3], [1, 2]], [], [15]],
      [[[3, 5], [1, 2]], [], [23]],
      [[[1, 2, 2, 7], [1, 2]], [], [37]],
    ],
    examples: [['WeightedSqNorm(s, x)', 1], ['WeightedSqNorm(u, x)', 1], ['WeightedSqNorm(S, x)', 1]],
  },
  WeightedSqDist: {
    dims: { ok: [[[1, 2, 2], [], 1], [[4, 2, 2], [], 1], [[3, 3, 1], [], 1]], bad: [[[3, 2, 2], []], [[1, 2, 3], []]] },
    values: [
      [[[3], [2, 3], [1, 1]], [], [15]],
      [[[3, 5], [2, 3], [1, 1]], [], [23]],
      [[[1, 2, 2, 7], [2, 3], [1, 1]], [], [37]],
    ],
    examples: [['WeightedSqDist(s, x, y)', 1]],
  },
  Elem: {
    dims: { ok: [[[3], [0], 1], [[3], [2], 1]], bad: [[[3], [3], PR], [[3], [-1], PR], [[3], [0.5], PR]] },
    values: [[[W], [1], [7]]],
    lower: [[[3], [0]], [[3], [2]], [[1], [0]]],
    grad: [[[3], [0]], [[3], [2]], [[1], [0]]],
    examples: [['Elem(x, 2)', 1]],
  },
  ElemT: {
    dims: { ok: [[[1], [5, 2], 5]], bad: [[[1], [5, 5], PR], [[1], [5, -1], PR], [[2], [5, 1]], [[1], [0, 0], PR]] },
    values: [[[[7]], [5, 2], [0, 0, 7, 0, 0]]],
    lower: [[[1], [5, 2]], [[1], [1, 0]], [[1], [3, 0]]],
    grad: [[[1], [5, 2]], [[1], [1, 0]], [[1], [3, 0]]],
    examples: [['ElemT(s, 5, 2)', 5]],
  },
  Extract: {
    dims: { ok: [[[4], [1, 2], 2], [[4], [0, 4], 4]], bad: [[[4], [3, 2], PR], [[4], [-1, 2], PR], [[4], [0, 0], PR]] },
    values: [[[W], [1, 2], [7, 7]]],
    lower: [[[4], [1, 2]], [[4], [0, 4]], [[4], [3, 1]]],
    grad: [[[4], [1, 2]], [[4], [0, 4]], [[4], [3, 1]]],
    examples: [['Extract(x, 1, 2)', 2]],
  },
  ExtractT: {
    dims: { ok: [[[2], [3, 6], 6], [[2], [0, 2], 2]], bad: [[[2], [5, 6], PR], [[2], [-1, 6], PR]] },
    values: [[[[7, 7]], [3, 6], [0, 0, 0, 7, 7, 0]]],
    lower: [[[2], [3, 6]], [[2], [0, 2]], [[1], [2, 4]]],
    grad: [[[2], [3, 6]], [[2], [0, 2]], [[1], [2, 4]]],
    examples: [['ExtractT(z, 1, 5)', 5]],
  },
  Concat: {
    dims: { ok: [[[1, 2], [], 3], [[3, 3], [], 6]] },
    values: [[[[1], [2, 3]], [], [1, 2, 3]]],
    lower: [[[1, 2], []], [[3, 3], []], [[1, 1], []]],
    grad: [[[1, 2], []], [[3, 3], []], [[1, 1], []]],
    examples: [['Concat(x, s)', 4]],
  },
  OneHot: {
    dims: { ok: [[[1], [4], 4]], bad: [[[2], [4]], [[1], [0], PR]] },
    values: [
      [[[0]], [4], [1, 0, 0, 0]],
      [[[1.49]], [4], [0, 1, 0, 0]],
      [[[1.5]], [4], [0, 0, 1, 0]],
      [[[2.6]], [4], [0, 0, 0, 1]],
      [[[3]], [4], [0, 0, 0, 1]],
      [[[3.5]], [4], [0, 0, 0, 0]],
      [[[-0.7]], [4], [1, 0, 0, 0]],
      [[[-1.6]], [4], [0, 0, 0, 0]],
    ],
    lower: [[[1], [4]], [[1], [1]], [[1], [3]]],
    grad: [[[1], [4]]],
    examples: [['OneHot(s, 4)', 4]],
  },
  MatVecMult: {
    dims: { ok: [[[6, 2], [], 3], [[6, 6], [], 1], [[3, 1], [], 3]], bad: [[[5, 2], []]] },
    values: [[[A6, [1, 10]], [], [10, 32, 54]]],
    lower: [[[6, 2], []], [[6, 6], []], [[3, 1], []], [[1, 1], []]],
    grad: [[[6, 2], []], [[6, 6], []], [[3, 1], []], [[1, 1], []]],
    examples: [['MatVecMult(A, v)', 3]],
  },
  VecMatMult: {
    dims: { ok: [[[3, 6], [], 2], [[1, 4], [], 4]], bad: [[[4, 6], []]] },
    values: [[[[1, 10, 100], A6], [], [420, 531]]],
    lower: [[[3, 6], []], [[1, 4], []], [[2, 2], []]],
    grad: [[[3, 6], []], [[1, 4], []], [[2, 2], []]],
    examples: [['VecMatMult(v, A)', 3]],
  },
  TensorProd: {
    dims: { ok: [[[2, 3], [], 6]] },
    values: [[[[1, 2], [1, 10, 100]], [], [1, 10, 100, 2, 20, 200]]],
    lower: [[[2, 3], []], [[1, 4], []], [[3, 1], []]],
    grad: [[[2, 3], []], [[1, 4], []], [[3, 1], []]],
    examples: [['TensorProd(x, z)', 6]],
  },
  TensorDot: {
    dims: { ok: [ [[6, 3], [[2, 3], [3], [1], [0]], 2], [[4, 4], [[2, 2], [2, 2], [0, 1], [1, 0]], 1], [[2, 3], [[2], [3], [], []], 6], [[2, 3], [[2], [3], [], [], [1, 0]], 6], ], bad: [ [[5, 3], [[2, 3], [3], [1], [0]]], [[6, 3], [[2, 3], [3], [0], [0]]], [[6, 3], [[2, 3], [3], [1], []], PR], [[6, 3], [[2, 3], [3], [2], [0]], PR], [[4, 4], [[2, 2], [2, 2], [0, 0], [0, 1]], PR], [[6, 3], [[2, 3], [3], [1], [0], [1]], PR], [[6, 3], [[2, 0], [3], [1], [0]], PR], [[6, 3], [3, [3], [1], [0]], PR], ], },
    values: [
      [[A6, [1, 10, 100]], [[2, 3], [3], [1], [0]], [210, 543]],
      [[[1, 2, 3, 4], [5, 6, 7, 8]], [[2, 2], [2, 2], [0, 1], [0, 1]], [70]],
      [[[1, 2, 3, 4], [5, 6, 7, 8]], [[2, 2], [2, 2], [0, 1], [1, 0]], [69]],
      [[[1, 2], [1, 10, 100]], [[2], [3], [], []], [1, 10, 100, 2, 20, 200]],
      [[[1, 2], [1, 10, 100]], [[2], [3], [], [], [1, 0]], [1, 2, 10, 20, 100, 200]],
    ],
    lower: [ [[6, 3], [[2, 3], [3], [1], [0]]], [[4, 4], [[2, 2], [2, 2], [0, 1], [1, 0]]], [[2, 3], [[2], [3], [], []]], [[2, 3], [[2], [3], [], [], [1, 0]]], [[24, 12], [[2, 3, 4], [4, 3], [1, 2], [1, 0]]], [[6, 6], [[2, 3], [3, 2], [], [], [2, 0, 3, 1]]], [[12, 6], [[2, 3, 2], [3, 2], [1], [0], [2, 0, 1]]], ],
    grad: [ [[6, 3], [[2, 3], [3], [1], [0]]], [[4, 4], [[2, 2], [2, 2], [0, 1], [1, 0]]], [[2, 3], [[2], [3], [], []]], [[2, 3], [[2], [3], [], [], [1, 0]]], [[24, 12], [[2, 3, 4], [4, 3], [1, 2], [1, 0]]], [[6, 6], [[2, 3], [3, 2], [], [], [2, 0, 3, 1]]], [[12, 6], [[2, 3, 2], [3, 2], [1], [0], [2, 0, 1]]], [[24, 6], [[2, 3, 4], [2, 3], [0, 1], [0, 1]]], [[24, 12], [[4, 3, 2], [3, 4], [0], [1], [1, 0, 2]]], ],
    examples: [['TensorDot(A, x, [2, 3], [3], [1], [0])', 2], ['TensorDot(A, v, [2, 3], [2], [0], [0], [0])', 3]],
  },
  Kron: {
    dims: { ok: [[[4, 2], [[2, 2], [2, 1]], 8]], bad: [[[4, 2], [[2, 2], [2]], PR], [[4, 2], [[2, 2], [3, 1]]]] },
    values: [[[[1, 2, 3, 4], [10, 100]], [[2, 2], [2, 1]], [10, 20, 100, 200, 30, 40, 300, 400]]],
    examples: [['Kron(c, z, [2, 2], [2, 1])', 8]],
  },
  ComplexReal: {
    dims: COMPLEX_HALF,
    values: [[[[1, 2, 3, 4]], [], [1, 3]]],
    lower: CHALF,
    grad: CHALF,
    examples: [['ComplexReal(c)', 2]],
  },
  ComplexImag: {
    dims: COMPLEX_HALF,
    values: [[[[1, 2, 3, 4]], [], [2, 4]]],
    lower: CHALF,
    grad: CHALF,
    examples: [['ComplexImag(c)', 2]],
  },
  Real2Complex: {
    dims: TO_COMPLEX,
    values: [[[[1, 2]], [], [1, 0, 2, 0]]],
    lower: TOC,
    grad: TOC,
    examples: [['Real2Complex(x)', 6]],
  },
  Imag2Complex: {
    dims: TO_COMPLEX,
    values: [[[[1, 2]], [], [0, 1, 0, 2]]],
    lower: TOC,
    grad: TOC,
    examples: [['Imag2Complex(x)', 6]],
  },
  Conj: {
    dims: { ok: [[[4], [], 4]], bad: [[[3], []]] },
    values: [[[[1, 2]], [], [1, -2]]],
    lower: CHALF,
    grad: CHALF,
    examples: [['Conj(c)', 4]],
  },
  ComplexAbs: {
    dims: COMPLEX_HALF,
    values: [[[[1, 2]], [], [2.236068], 1e-6]],
    examples: [['ComplexAbs(c)', 2]],
  },
  ComplexSquareAbs: {
    dims: COMPLEX_HALF,
    values: [[[[1, 2, 3, 4]], [], [5, 25]]],
    lower: CHALF,
    grad: CHALF,
    examples: [['ComplexSquareAbs(c)', 2]],
  },
  ComplexAngle: {
    dims: COMPLEX_HALF,
    values: [[[[1, 2]], [], [1.107149], 1e-6]],
    examples: [['ComplexAngle(c)', 2]],
  },
  ComplexSum: {
    dims: { ok: [[[6], [], 2]], bad: [[[5], []]] },
    values: [[[[1, 2, 3, 4]], [], [4, 6]]],
    lower: CHALF,
    grad: CHALF,
    examples: [['ComplexSum(c)', 2]],
  },
  ComplexSumT: {
    dims: { ok: [[[2], [4], 4]], bad: [[[4], [4]], [[2], [3], PR], [[2], [0], PR]] },
    values: [[[[1, 2]], [4], [1, 2, 1, 2]]],
    lower: [[[2], [2]], [[2], [6]]],
    grad: [[[2], [2]], [[2], [6]]],
    examples: [['ComplexSumT(z, 6)', 6]],
  },
  ComplexAdd: {
    dims: COMPLEX_BINARY,
    values: [[[[1, 2], [3, 4, 5, 6]], [], [4, 6, 6, 8]]],
    lower: CB,
    grad: CB,
    examples: [['ComplexAdd(c, z)', 4]],
  },
  ComplexSubtract: {
    dims: COMPLEX_BINARY,
    values: [[[[1, 2, 3, 4], [1, 1]], [], [0, 1, 2, 3]]],
    lower: CB,
    grad: CB,
    examples: [['ComplexSubtract(c, c)', 4]],
  },
  ComplexMult: {
    dims: COMPLEX_BINARY,
    values: [
      [[[1, 2], [3, -1]], [], [5, 5]],
      [[[1, 2], [0, 1, 1, 0]], [], [-2, 1, 1, 2]],
    ],
    lower: CB,
    grad: CB,
    examples: [['ComplexMult(z, w)', 2]],
  },
  ComplexDivide: {
    dims: COMPLEX_BINARY,
    values: [[[[1, 2], [3, -1]], [], [0.1, 0.7], 1e-15]],
    examples: [['ComplexDivide(c, z)', 4]],
  },
  ComplexRealScal: {
    dims: { ok: [[[1, 4], [], 4], [[4, 1], [], 4]], bad: [[[2, 2], []], [[1, 3], []], [[1, 1], []]] },
    values: [
      [[[2], [1, 2, 3, 4]], [], [2, 4, 6, 8]],
      [[[1, 2, 3, 4], [2]], [], [2, 4, 6, 8]],
    ],
    lower: [[[1, 4], []], [[4, 1], []], [[1, 2], []], [[2, 1], []]],
    grad: [[[1, 4], []], [[4, 1], []], [[1, 2], []]],
    examples: [['ComplexRealScal(s, c)', 4]],
  },
  ComplexExp: {
    dims: { ok: [[[4], [], 4]], bad: [[[3], []]] },
    values: [[[[0, PI, 1, 0]], [], [-1, Math.sin(PI), E, 0]]],
    lower: CHALF,
    grad: CHALF,
    examples: [['ComplexExp(c)', 4]],
  },
  ComplexExp1j: {
    dims: TO_COMPLEX,
    values: [[[[PI / 2]], [], [0, 1], 1e-15]],
    lower: TOC,
    grad: TOC,
    examples: [['ComplexExp1j(x)', 6]],
  },
  Grad: {
    dims: { ok: [[[3, 2], [], 2], [[3, 2, 3], [], 2]], bad: [[[3, 2, 2], []]] },
    examples: [['Grad(Exp(-SqDist(x, y)), x, s)', 3], ['Grad(SqDist(x, y), y)', 3]],
  },
  Diff: {
    dims: { ok: [[[3, 2, 2], [], 3]], bad: [[[3, 2, 3], []]] },
    examples: [['Diff(Exp(-SqDist(x, y)), x, u)', 1]],
  },
  Divergence: {
    dims: { ok: [[[3, 3], [], 1]], bad: [[[3, 2], []]] },
    examples: [['Divergence(x - y, x)', 1]],
  },
  Laplacian: {
    dims: { ok: [[[1, 3], [], 1]], bad: [[[2, 3], []]] },
    examples: [['Laplacian(Exp(-SqDist(x, y)), x)', 1]],
  },
  GradMatrix: {
    dims: { ok: [[[3, 2], [], 6]] },
    examples: [['GradMatrix(x * s, x)', 9]],
  },
  TraceOperator: {
    dims: { ok: [[[1, 3], [], 1], [[3, 3], [], 1]], bad: [[[2, 3], []]] },
    examples: [['TraceOperator(x, x)', 1]],
  },
  AdjointOperator: {
    dims: { ok: [[[2, 3, 2], [], 3]], bad: [[[2, 3, 3], []]] },
    examples: [['AdjointOperator(s * x, x, u)', 3]],
  },
  SoftDTW_SqDist: {
    dims: { ok: [[[3, 2, 1], [], 1]], bad: [[[3, 2, 2], []]] },
    values: [
      [[[0, 1, 2], [0, 2], [1]], [], [0.12265356], 1e-8],
      [[[1], [2], [1]], [], [1]],
      [[[0, 1], [0, 1], [1]], [], [-Math.log(1 + 2 / E)]],
    ],
    lower: [[[3, 2, 1], []], [[1, 1, 1], []], [[4, 4, 1], []], [[2, 5, 1], []], [[1, 3, 1], []]],
    grad: [[[3, 2, 1], []]],
    examples: [['SoftDTW_SqDist(x, y, p)', 1]],
  },
  GradSoftDTW_SqDist: {
    dims: { ok: [[[3, 2, 1], [], 5], [[1, 1, 1], [], 2]], bad: [[[3, 2, 2], []]] },
    values: [[[[1], [2], [1]], [], [-2, 2]]],
    lower: [[[3, 2, 1], []], [[1, 1, 1], []], [[2, 4, 1], []]],
    grad: [[[3, 2, 1], []]],
    examples: [['GradSoftDTW_SqDist(x, y, p)', 6]],
  },
  BSpline: {
    dims: { ok: [[[5, 1], [0], 4], [[5, 1], [3], 1]], bad: [[[5, 2], [0]], [[5, 1], [4], PR], [[5, 1], [-1], PR]] },
    values: [
      ...[0.5, 1.5, 2.25, 3.9, 4.0].map((t, k): ValueCase => [[[0, 1, 2, 3, 4], [t]], [0], [0, 1, 2, 3].map((j) => (j === k ? 1 : 0))]),
      [[[0, 1, 2, 3, 4], [0.5]], [1], [0.5, 0, 0]],
      [[[0, 1, 2, 3, 4], [1.5]], [1], [0.5, 0.5, 0]],
      [[[0, 1, 2, 3, 4], [2.25]], [1], [0, 0.75, 0.25]],
      [[[0, 1, 2, 3, 4], [3.9]], [1], [0, 0, 0.1], 1e-12],
      [[[0, 1, 2, 3, 4], [4.0]], [1], [0, 0, 0]],
      [[[0, 1, 2, 3, 4], [0.5]], [2], [0.125, 0]],
      [[[0, 1, 2, 3, 4], [1.5]], [2], [0.75, 0.125]],
      [[[0, 1, 2, 3, 4], [2.25]], [2], [0.28125, 0.6875]],
      [[[0, 1, 2, 3, 4], [3.9]], [2], [0, 0.005], 1e-12],
      [[[0, 1, 1, 2], [1.5]], [1], [0, 0.5]],
    ],
    lower: [[[5, 1], [0]], [[5, 1], [1]], [[5, 1], [2]], [[5, 1], [3]], [[7, 1], [2]], [[2, 1], [0]]],
    grad: [[[5, 1], [1]]],
    examples: [['BSpline(k, s, 2)', 2]],
  },
  Factorize: {
    dims: { ok: [[[3, 1], [], 3], [[2, 2], [], 2]] },
    values: [[[[1, 2, 3], [5]], [], [1, 2, 3]]],
    examples: [['Factorize(Exp(x - y) * SqDist(x, y), SqDist(x, y))', 3]],
  },
  AutoFactorize: {
    dims: { ok: [[[3], [], 3]] },
    values: [[[[1, -2, 3]], [], [1, -2, 3]]],
    examples: [['AutoFactorize(Exp(-SqDist(x, y)) * SqDist(x, y))', 1]],
  },
};
