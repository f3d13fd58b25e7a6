import type { ComponentLoop, KernelPlan, Stage } from '../lower/plan.js';
import { bodyStatements, loopBody, type SExpr } from '../lower/scalar.js';
import { DEP_I, DEP_J } from '../ir/types.js';

/**
 * How the GPU printers (CUDA and WGSL) stage the reduction side of a tile in shared / workgroup memory,
 * and print `loop` statements (sums over vector components, src/ir/scalar.ts) as loops.
 *
 * - `whole`: every reduction-side variable the pair stage reads is staged whole, component-major
 *   (`sh[(offset + c) * rows + q]`) for a tile of `rows` reduction indices (KeOps's 1D scheme). A loop
 *   reads its reduction-side lanes there, its row-side lanes from a private copy of the row's vector
 *   (`rowSlots`, made once per row) and its parameter lanes from global memory (one address for every
 *   thread).
 * - `chunked`: the vectors do not fit a tile of at least 32 indices. The tile holds `tileRows` reduction
 *   indices and, per `slot` (a reduction-side variable read by loops from component `comp`), a chunk of
 *   `dims` components; the loop index k runs over [0, max n) in such chunks. For each chunk the block
 *   stages the slots (coalesced, cooperatively), then every thread adds that chunk's terms of every
 *   reduction-side loop for each of the tile's indices to a per-thread array of partial sums
 *   (`tileRows` values per loop), in the order of k: after the last chunk each partial sum is the loop's
 *   value, bit for bit as the whole loop would give it. Then the rest of the pair stage (the fold) runs
 *   for each index of the tile, with the reduction-side components read one by one (outside loops)
 *   from global memory. The row-side lanes come from a private copy of the chunk. Shared memory:
 *   slots x tileRows x dims values, whatever D is.
 * - `direct`: no staging (the WGSL option `tile: false`, the WGSL block-sparse per-row entry, or a
 *   kernel with a reduction-side loop that needs the value of another one, which chunks cannot order):
 *   every reduction-side value is read from global memory.
 *
 * A vector result printed as a loop over its components (plan.fLoop / plan.gLoop, see
 * {@link componentLoops}) runs in the fold, once per reduction index: its reduction-side lanes read the
 * staged tile in `whole` mode (their variables are among `whole.vars`, listed in `componentVars`) and
 * global memory in the other modes; its row-side lanes read a private copy (`rowSlots`) that holds them
 * in `whole` and `direct` mode, else global memory.
 */
export interface GpuStaging {
  mode: 'whole' | 'chunked' | 'direct';
  /** Threads (invocations) per block = output rows per block; also the tile length in `whole` mode. */
  rows: number;
  /** Values of the data type in shared memory per block. */
  sharedValues: number;
  /** `whole`: the staged variables (ascending), their first row in the tile, the values per index. */
  whole: { vars: number[]; offset: Map<number, number>; perRow: number };
  /** `chunked`: see above; `slots` the staged (variable, first component) with the longest loop that
   * reads them, `loops` the reduction-side loop statements (in plan order), `pre` the reduction-side
   * loads and statements their invariant arguments need (computed per index per chunk), `fold` those
   * the fold needs (a loop among them is read from the partial sums). */
  chunk: { tileRows: number; dims: number; slots: { index: number; comp: number; n: number }[]; loops: SExpr[]; maxN: number; pre: SExpr[]; fold: SExpr[] };
  /** The stage of every node of every loop body (lanes included). */
  bodyStage: Map<SExpr, Stage>;
  /** The row-side (variable, first component) that reduction-side loops read, with the longest such
   * loop: each thread copies them into a private array (once per row in `whole` and `direct` mode when
   * `n` <= GPU_ROW_COPY, per chunk in `chunked` mode), so the loops do not read global memory with a
   * stride of D between threads for every reduction index. */
  rowSlots: { index: number; comp: number; n: number }[];
  /** The reduction-side variables that component loops read (ascending): staged whole (by a loop over
   * their components) in `whole` mode. */
  componentVars: number[];
}

/** The component loops of a plan (plan.fLoop, plan.gLoop): the vector results folded by a loop. */
export function componentLoops(plan: KernelPlan): ComponentLoop[] {
  return [plan.fLoop, plan.gLoop].flatMap((c) => (c ? [c] : []));
}

/** The longest row-side vector a thread copies whole into a private array (whole and direct modes). */
export const GPU_ROW_COPY = 384;

/** Indices per tile of the chunked mode, and the largest chunk of components (smaller chunks where many
 * slots would not fit). */
export const GPU_CHUNK_ROWS = 32;
export const GPU_CHUNK_DIMS = 32;

/** Whether a plan has `loop` statements. */
export function hasLoops(plan: KernelPlan): boolean {
  return Object.values(plan.stmts).some((ss) => ss.some((n) => n.fn === 'loop'));
}

/**
 * The staging of a plan on a GPU: `whole` when `rows` (shrunk by `shrink` while it does not fit, not
 * below 32) x the staged values fit `budget` bytes, else `chunked` at `rows` threads when it fits,
 * else `direct`. `tile: false` asks for `direct`.
 */
export function gpuStaging(plan: KernelPlan, o: { valueBytes: number; budget: number; rows: number; shrink: (rows: number) => number; tile: boolean }): GpuStaging {
  const redBit = plan.tag === 0 ? DEP_J : DEP_I;
  const rowBit = plan.tag === 0 ? DEP_I : DEP_J;
  const stageOf = (n: SExpr): Stage => (n.deps & redBit ? 'inner' : n.deps & rowBit ? 'outer' : 'param');
  const dims = new Map(plan.kernel.args.map((a) => [a.index, a.dim]));
  const bodyStage = new Map<SExpr, Stage>();
  const slotN = new Map<string, { index: number; comp: number; n: number }>();
  const rowN = new Map<string, { index: number; comp: number; n: number }>();
  const loops = plan.stmts.inner.filter((n) => n.fn === 'loop');
  const innerLoops = new Set(loops);
  for (const s of ['param', 'outer', 'inner'] as const)
    for (const l of plan.stmts[s].filter((n) => n.fn === 'loop'))
      for (const b of loopBody(l)) {
        bodyStage.set(b, stageOf(b));
        if (b.fn !== 'lane' || !innerLoops.has(l) || stageOf(b) === 'param') continue;
        const { index, comp } = b.input!;
        const key = `${index}:${comp}`;
        const into = stageOf(b) === 'inner' ? slotN : rowN;
        into.set(key, { index, comp, n: Math.max(into.get(key)?.n ?? 0, l.loop!.n) });
      }
  // the component loops' lanes (they run in the fold: nothing of them is chunked)
  const componentVarSet = new Set<number>();
  for (const c of componentLoops(plan))
    for (const b of bodyStatements(c.body)) {
      bodyStage.set(b, stageOf(b));
      if (b.fn === 'lane' && stageOf(b) === 'inner') componentVarSet.add(b.input!.index);
    }
  const componentVars = [...componentVarSet].sort((a, b) => a - b);
  // whole: the variables read one component at a time or by loops
  const vars = [...new Set([...plan.loads.inner.map((n) => n.input!.index), ...[...slotN.values()].map((s) => s.index), ...componentVars])].sort((a, b) => a - b);
  const offset = new Map<number, number>();
  let perRow = 0;
  for (const v of vars) {
    offset.set(v, perRow);
    perRow += dims.get(v)!;
  }
  const whole = { vars, offset, perRow };
  const slots = [...slotN.values()].sort((a, b) => a.index - b.index || a.comp - b.comp);
  // the reduction-side loads and statements (in plan order) that `roots` need, through loops or not
  const inner = [...plan.loads.inner, ...plan.stmts.inner];
  const needed = (roots: readonly SExpr[], throughLoops: boolean): SExpr[] => {
    const isInner = new Set(inner);
    const need = new Set<SExpr>();
    const visit = (n: SExpr): void => {
      if (!isInner.has(n) || need.has(n)) return;
      need.add(n);
      if (throughLoops || n.fn !== 'loop') n.args.forEach(visit);
    };
    roots.forEach(visit);
    return inner.filter((n) => need.has(n));
  };
  const pre = needed(
    loops.flatMap((l) => l.args),
    true,
  );
  const fold = needed([...(plan.fLoop ? plan.fLoop.args : plan.f), ...(plan.gLoop ? plan.gLoop.args : plan.g)], false);
  const maxN = Math.max(0, ...loops.map((l) => l.loop!.n));
  const none = { tileRows: 0, dims: 0, slots, loops, maxN, pre, fold };
  const rowSlots = [...rowN.values()].sort((a, b) => a.index - b.index || a.comp - b.comp);
  const result = (mode: GpuStaging['mode'], rows: number, sharedValues: number, chunk = none): GpuStaging => ({ mode, rows, sharedValues, whole, chunk, bodyStage, rowSlots, componentVars });
  if (!o.tile || perRow === 0) return result(perRow === 0 ? 'whole' : 'direct', o.rows, 0);
  let rows = o.rows;
  while (rows > 32 && rows * perRow * o.valueBytes > o.budget) rows = o.shrink(rows);
  if (rows * perRow * o.valueBytes <= o.budget) return result('whole', rows, rows * perRow);
  // chunked: needs every reduction-side loop computable from chunks (no loop among `pre`)
  if (loops.length > 0 && !pre.some((n) => n.fn === 'loop')) {
    for (let d = GPU_CHUNK_DIMS; d >= 4; d >>= 1) {
      const values = slots.length * GPU_CHUNK_ROWS * d;
      if (values * o.valueBytes <= o.budget) return result('chunked', o.rows, values, { ...none, tileRows: GPU_CHUNK_ROWS, dims: d });
    }
  }
  return result('direct', o.rows, 0);
}

/** The row-side vectors that loops read, copied whole into private arrays `xr<k>` once per row (the
 * `whole` and `direct` modes, up to GPU_ROW_COPY components; in `chunked` mode the loops over components
 * read chunks of them). */
export function copiedRowSlots(st: GpuStaging): { index: number; comp: number; n: number; k: number }[] {
  return st.mode === 'chunked' ? [] : st.rowSlots.map((x, k) => ({ ...x, k })).filter((x) => x.n <= GPU_ROW_COPY);
}

/** Where a component loop's lane is read (see {@link componentLaneSource}); `comp` is the lane's first
 * component, to which the printer adds the loop index. */
export type ComponentLaneSource =
  | { from: 'param' }
  | { from: 'row' }
  | { from: 'rowCopy'; k: number; skip: number }
  | { from: 'tile'; offset: number }
  | { from: 'reduction' };

/**
 * Where the loop over the components of a vector result (plan.fLoop / gLoop, `len` components) reads
 * lane `n` (component comp + k of its input): a parameter from global memory; a row-side component from
 * the private copy `xr<k>` that holds it (its element `skip` + k), else global memory (`row`); a
 * reduction-side component from the staged tile (`tile`: rows `offset` + comp + k, when the fold reads a
 * tile staged whole), else global memory (`reduction`: the chunks hold the loops over components of the
 * pair stage, not the components of the result). CUDA and WGSL spell each case.
 */
export function componentLaneSource(st: GpuStaging, n: SExpr, len: number, tile: boolean): ComponentLaneSource {
  const { index, comp } = n.input!;
  switch (st.bodyStage.get(n)) {
    case 'param':
      return { from: 'param' };
    case 'outer': {
      const x = copiedRowSlots(st).find((y) => y.index === index && y.comp <= comp && comp + len <= y.comp + y.n);
      return x ? { from: 'rowCopy', k: x.k, skip: comp - x.comp } : { from: 'row' };
    }
    case 'inner':
      return tile ? { from: 'tile', offset: st.whole.offset.get(index)! } : { from: 'reduction' };
    case undefined:
      throw new Error('internal: a lane of a component loop has no stage');
  }
}

