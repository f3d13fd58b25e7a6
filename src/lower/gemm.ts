import type { KernelPlan } from './plan.js';
import type { SExpr } from './scalar.js';

/** Loops over at least this many components are products a target may compute as a matrix product
 * (below it, the direct loop is as fast and the expanded square distance gains nothing). */
export const GEMM_MIN_DIM = 64;

/**
 * The expanded square distance ‖x‖² + ‖y‖² − 2⟨x, y⟩ is off by at most 2·γ_{D+2}·(‖x‖² + ‖y‖²)
 * (γ_n = n·u / (1 − n·u), u the unit roundoff), the direct Σ (x_k − y_k)² by γ_D·‖x − y‖². Where
 * the distance is below (‖x‖² + ‖y‖²) / GEMM_CANCEL, the first bound is more than 2·GEMM_CANCEL
 * times the second (cancellation): targets recompute those pairs in the direct form, so every square
 * distance is within 2·GEMM_CANCEL·γ_{D+2}·‖x − y‖² of the exact value.
 */
export const GEMM_CANCEL = 4;

/** One operand of a {@link GemmProduct}: components [comp, comp + n) of input variable `index`. */
export interface GemmOperand {
  index: number;
  comp: number;
}

/**
 * A `loop` statement of the inner stage that is a product of a row-side vector and a reduction-side
 * vector over n components: the scalar product Σ x[k]·y[k] (`dot`) or the square distance
 * Σ (x[k] − y[k])² (`sqdist`, either order of the difference). A target may compute it for a block of
 * rows × reduction indices at once as a matrix product, the square distance as
 * ‖x‖² + ‖y‖² − 2⟨x, y⟩ with the norms computed once per row and once per reduction index.
 */
export interface GemmProduct {
  /** The `loop` statement it computes. */
  node: SExpr;
  kind: 'dot' | 'sqdist';
  /** The row-side operand (a variable of the output rows' category). */
  row: GemmOperand;
  /** The reduction-side operand. */
  red: GemmOperand;
  /** Components summed. */
  n: number;
}

/** The lane's operand when `s` is a `lane` node of category `cat`. */
function laneOf(s: SExpr, cat: number): GemmOperand | undefined {
  return s.fn === 'lane' && s.input!.cat === cat ? { index: s.input!.index, comp: s.input!.comp } : undefined;
}

/** The (row, red) operands of a product of two lanes `a`, `b` in either order. */
function pairOf(a: SExpr, b: SExpr, rowCat: number, redCat: number): { row: GemmOperand; red: GemmOperand } | undefined {
  const row = laneOf(a, rowCat) ?? laneOf(b, rowCat);
  const red = laneOf(b, redCat) ?? laneOf(a, redCat);
  return row && red ? { row, red } : undefined;
}

/**
 * The products of a plan's inner stage that a target may compute as matrix products: loops of at
 * least `minDim` components whose body is `mul(x, y)` or `mul(d, d)` with `d = sub(x, y)` or
 * `sub(y, x)`, x a lane of a row-side variable and y a lane of a reduction-side variable. Recognised
 * on the plan rather than rewritten in the formula IR: the expanded square distance has another
 * rounding than the direct one, a choice of the target (the cpu backend's `gemm` option), while the IR
 * and every other backend keep the formula's own meaning.
 */
export function gemmProducts(plan: KernelPlan, minDim = GEMM_MIN_DIM): GemmProduct[] {
  const rowCat = plan.rowCat;
  const redCat = rowCat === 0 ? 1 : 0;
  const out: GemmProduct[] = [];
  for (const node of plan.stmts.inner) {
    if (node.fn !== 'loop' || node.loop!.n < minDim) continue;
    const body = node.loop!.body;
    if (body.fn !== 'mul') continue;
    const [a, b] = body.args as [SExpr, SExpr];
    const n = node.loop!.n;
    if (a === b && a.fn === 'sub') {
      const p = pairOf(a.args[0]!, a.args[1]!, rowCat, redCat);
      if (p) out.push({ node, kind: 'sqdist', ...p, n });
      continue;
    }
    const p = pairOf(a, b, rowCat, redCat);
    if (p) out.push({ node, kind: 'dot', ...p, n });
  }
  return out;
}
