import { mk } from '../../src/ir/node.js';
import { REDUCTIONS } from '../../src/ir/reductions.js';
import { SourceFile } from '../../src/diagnostics/index.js';
import type { ArgInfo, Kernel } from '../../src/ir/kernel.js';
import type { Node, Param } from '../../src/ir/types.js';
import type { Tile } from './tiles.js';

/**
 * The wire format between a coordinator and `keopsc worker`. Bump PROTOCOL_VERSION whenever a job's
 * fields, a key's layout or the meaning of a partial state changes: a worker refuses a job of another
 * version with an error that reaches the coordinator.
 */
export const PROTOCOL_VERSION = 1;

/** The BullMQ queue every worker listens on (one queue; each job names its run). */
export const QUEUE_NAME = 'keopsc-tiles';

/** Every key of a run starts with this (run ids in every key; `cleanup` deletes them by prefix). */
export const runPrefix = (runId: string): string => `keopsc:run:${runId}:`;
export const KEYS = {
  /** JSON: what the run is (protocol, kernel hash, array hashes, grid), for --resume and for workers to see it is alive. */
  meta: (runId: string) => `${runPrefix(runId)}meta`,
  /** An input array, content-addressed (sha256 of dtype, shape and bytes). */
  blob: (runId: string, sha: string) => `${runPrefix(runId)}blob:${sha}`,
  /** The partial reduction states of one tile (binary). */
  part: (runId: string, tile: number) => `${runPrefix(runId)}part:${tile}`,
  /** A list of finished tile numbers (RPUSH by workers, read incrementally by the coordinator). */
  done: (runId: string) => `${runPrefix(runId)}done`,
  /** The message of a tile that failed for good. */
  error: (runId: string) => `${runPrefix(runId)}error`,
};

/** The BullMQ job id of a tile (unique per run; re-adding a waiting or active job is a no-op). */
export const jobId = (runId: string, tile: number): string => `${runId}-${tile}`;

/** Run ids: lower-case letters and digits (they appear in keys and job ids). */
export const RUN_ID = /^[a-z0-9]{4,64}$/;

/** One input array of a run as a job refers to it. */
export interface ArrayRef {
  /** The kernel's variable index. */
  index: number;
  /** Where the bytes are (a Redis key or a file of the shared store). */
  key: string;
  /** 0 = i-rows, 1 = j-rows, 2 = parameter. */
  cat: 0 | 1 | 2;
  dim: number;
  dtype: 'float32' | 'float64';
}

/** The options of the local run a tile makes (the worker adds its own backend and threads). */
export interface TileRunOptions {
  sumScheme?: 'auto' | 'block' | 'kahan' | 'direct';
  dtypeAcc?: 'auto' | 'float32' | 'float64';
  fastMath?: boolean;
  gemm?: boolean;
}

/** What a tile's job carries: the kernel, its options, the protocol version and the array keys. */
export interface TileJob extends Pick<Tile, 'rows' | 'red' | 'pairs'> {
  protocol: number;
  runId: string;
  tile: number;
  /** The kernel computing partial states (see partial.ts), serialised. */
  kernel: SerializedKernel;
  options: TileRunOptions;
  /** `redis` or `file:///dir`. */
  store: string;
  arrays: ArrayRef[];
  /** The key of the 6 ranges arrays (int32, concatenated; lengths in rangesLengths), if any. */
  ranges?: { key: string; lengths: number[] };
  /** Seconds the run's keys live (the safety net when a coordinator dies). */
  ttl: number;
}

/** A kernel IR as JSON: nodes in dependency order, each referring to earlier ones by position. */
export interface SerializedKernel {
  name: string;
  reduction: string;
  tag: 0 | 1;
  K?: number;
  args: ArgInfo[];
  nodes: [op: string, args: number[], params: Param[]][];
  formula: number;
  formula2?: number;
}

/** Serialise a kernel's IR (the formula DAG with its sharing, the reduction, the arguments). */
export function serializeKernel(k: Kernel): SerializedKernel {
  const pos = new Map<Node, number>();
  const nodes: SerializedKernel['nodes'] = [];
  const visit = (n: Node): number => {
    const hit = pos.get(n);
    if (hit !== undefined) return hit;
    const args = n.args.map(visit);
    nodes.push([n.op, args, n.params.map((p) => (typeof p === 'number' ? p : [...p]))]);
    pos.set(n, nodes.length - 1);
    return nodes.length - 1;
  };
  const formula = visit(k.formula);
  const formula2 = k.formula2 ? visit(k.formula2) : undefined;
  return { name: k.name, reduction: k.reduction.name, tag: k.tag, K: k.K, args: k.args.map((a) => ({ ...a })), nodes, formula, formula2 };
}

/** Rebuild a kernel from its serialised IR (throws on anything malformed). */
export function deserializeKernel(s: SerializedKernel): Kernel {
  const reduction = REDUCTIONS[s.reduction];
  if (!reduction) throw new Error(`unknown reduction ${s.reduction}`);
  const built: Node[] = [];
  for (const [op, args, params] of s.nodes) {
    built.push(
      mk(
        op,
        args.map((a) => {
          const n = built[a];
          if (!n) throw new Error(`malformed kernel: node ${built.length} refers to ${a}`);
          return n;
        }),
        params,
      ),
    );
  }
  const at = (k: number): Node => {
    const n = built[k];
    if (!n) throw new Error(`malformed kernel: no node ${k}`);
    return n;
  };
  const source = new SourceFile('<distributed>', '');
  return {
    name: s.name,
    reduction,
    tag: s.tag,
    K: s.K,
    formula: at(s.formula),
    formula2: s.formula2 === undefined ? undefined : at(s.formula2),
    args: s.args,
    spans: new Map(),
    span: { file: '<distributed>', start: 0, end: 0, line: 1, col: 1 },
    source,
  };
}
