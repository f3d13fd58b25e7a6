/**
 * The per-point passes of the clustering library in native code, where the platform has them: the
 * Node entry point registers the addon's (native/src/cluster.cc, through `runtime/cluster/node.ts`);
 * the browser build has none and runs the TypeScript loops. The TypeScript in `index.ts` and
 * `arrays.ts` is the definition: the native functions give byte-identical outputs (the tests compare
 * both paths), and only make a first call fast (V8 runs a cold loop in its interpreter until it has
 * compiled it, which at 2e4 points costs 10–20× the optimised loop). Platform-independent: no Node
 * import here.
 */

/** A float typed array (as `FloatArray` of arrays.ts, restated to keep this module free of imports). */
type Floats = Float32Array | Float64Array;
/** Any typed array. */
type AnyTyped = Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** The native functions (the names and argument order of native/src/cluster.cc). Outputs are written into the arrays given. */
export interface ClusterKernels {
  /**
   * Grid labels (the rank of each point's cell in lexicographic order) into `labels`; returns the class
   * sizes, or null when a coordinate or its cell is not finite (the caller throws the error naming it).
   */
  clusterGrid(data: Floats, n: number, d: number, sizes: Float64Array, labels: Int32Array): Int32Array | null;
  /** max label + 1 (or nlab when nlab ≥ 0), or −1 when a label is negative or not below nlab. */
  labelCount(labels: Int32Array, nlab: number): number;
  /** Unweighted class means (float64, point order) into sums (C·d), sizes into wsum (as floats) and counts. */
  classSums(data: Floats, n: number, d: number, labels: Int32Array, C: number, sums: Float64Array, wsum: Float64Array, counts: Int32Array): void;
  /** The stable counting sort by label: perm and sorted labels (counts, when given, must be the class sizes). */
  labelOrder(labels: Int32Array, C: number, counts: Int32Array | null, perm: Int32Array, sorted: Int32Array): void;
  /** dst row k = src row perm[k] (gather), or dst row perm[k] = src row k (scatter); rows of `width` elements. */
  permuteRows(src: AnyTyped, width: number, perm: Int32Array, dst: AnyTyped, scatter: boolean): void;
  /** Per class the largest centroid-to-row distance, into radii (zeroed); returns the largest |coordinate|. */
  clusterRadii(rows: Floats, n: number, d: number, labels: Int32Array, centroids: Float64Array, radii: Float64Array): number;
  /** The centroid pairs that pass the test of pairs.ts's closeClusters (radii null: the plain test), in compressed rows. */
  closeClusters(ca: Floats, Ca: number, cb: Floats, Cb: number, d: number, cutoff: number, radiiA: Float64Array | null, radiiB: Float64Array | null, scale: number): { rowStart: Int32Array; cols: Int32Array };
  /** The non-zero entries of a (Mc, Nc) 0/1 mask, in compressed rows. */
  maskPairs(keep: Uint8Array, Mc: number, Nc: number): { rowStart: Int32Array; cols: Int32Array };
  /** KeOps's range arrays of kept cluster pairs (ri, rj: the clusters' flat [start, end) pairs). */
  rangesFromPairs(ri: Int32Array, rj: Int32Array, rowStart: Int32Array, cols: Int32Array): { slices_i: Int32Array; redranges_j: Int32Array; slices_j: Int32Array; redranges_i: Int32Array };
}

let provider: (() => ClusterKernels | undefined) | undefined;
/** The provider's answer, once asked (null: not asked yet). */
let found: ClusterKernels | undefined | null = null;
let enabled = true;

/**
 * Install the function that finds the native kernels (asked once, on the first clustering call, so
 * that loading them costs nothing until then). Called by the Node entry point.
 */
export function setClusterKernelProvider(p: (() => ClusterKernels | undefined) | undefined): void {
  provider = p;
  found = null;
}

/** The native kernels when a provider gives them and they are enabled, else undefined (use TypeScript). */
export function clusterKernels(): ClusterKernels | undefined {
  if (!enabled) return undefined;
  if (found === null) found = provider?.();
  return found;
}

/**
 * Turn the native path on or off for this process (on by default where it exists; the tests run
 * every clustering function both ways). Returns the previous setting.
 */
export function setNativeClustering(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}
