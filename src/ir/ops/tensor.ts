/** Tensor algebra (keops-reference §1.7). Everything is row-major, as KeOps (C_CONTIGUOUS). */
import type { Node, OpDef, Param } from '../types.js';
import { computed, dimError, type GradOps, gradN, listParam, paramError, plist, prod, sum0 } from './util.js';

const G = 'tensor';

/**
 * The loop plan of TensorDot(f, g, dimsf, dimsg, contf, contg, permute?), computed once per params
 * array. Semantics of keopscore's TensorDot: numpy.tensordot of the row-major reshapes, contracting
 * axis contf[t] of f with axis contg[t] of g; the kept axes (those of f, then those of g, in order)
 * are then reordered so that kept axis k lands at output position permute[k].
 */
interface TensorDotPlan {
  /** extent of each loop variable: the kept axes, then the contracted ones */
  loop: number[];
  /** per loop variable: its stride in f, in g and in the output */
  sf: number[];
  sg: number[];
  so: number[];
}

const rowMajorStrides = (dims: readonly number[]): number[] => {
  const s = new Array<number>(dims.length).fill(1);
  for (let k = dims.length - 2; k >= 0; k--) s[k] = s[k + 1]! * dims[k + 1]!;
  return s;
};

function tensorDotPlan(params: readonly Param[]): TensorDotPlan {
  const [df, dg, cf, cg] = [0, 1, 2, 3].map((k) => plist(params, k)) as [readonly number[], readonly number[], readonly number[], readonly number[]];
  const keepF = df.map((_, k) => k).filter((k) => !cf.includes(k));
  const keepG = dg.map((_, k) => k).filter((k) => !cg.includes(k));
  const nKeep = keepF.length + keepG.length;
  const permute = params.length > 4 ? plist(params, 4) : Array.from({ length: nKeep }, (_, k) => k);
  const keepDims = [...keepF.map((k) => df[k]!), ...keepG.map((k) => dg[k]!)];
  const outShape = new Array<number>(nKeep);
  keepDims.forEach((d, k) => (outShape[permute[k]!] = d));
  const stF = rowMajorStrides(df);
  const stG = rowMajorStrides(dg);
  const stO = rowMajorStrides(outShape);
  const plan: TensorDotPlan = { loop: [], sf: [], sg: [], so: [] };
  const push = (n: number, f: number, g: number, o: number): void => {
    plan.loop.push(n);
    plan.sf.push(f);
    plan.sg.push(g);
    plan.so.push(o);
  };
  keepF.forEach((a, k) => push(df[a]!, stF[a]!, 0, stO[permute[k]!]!));
  keepG.forEach((b, k) => push(dg[b]!, 0, stG[b]!, stO[permute[keepF.length + k]!]!));
  cf.forEach((a, t) => push(df[a]!, stF[a]!, stG[cg[t]!]!, 0));
  return plan;
}

const plans = new WeakMap<readonly Param[], TensorDotPlan>();

/**
 * The derivative of TensorDot(f, g, dimsf, dimsg, contf, contg, permute): each argument's gradient
 * is again a TensorDot, of the output gradient G (shaped as the output) with the other argument,
 * contracting the output axes that came from the other argument, and permuted back into the
 * argument's axis order.
 */
function tensorDotGrad(o: GradOps, [f, g]: readonly Node[], G: Node, params: readonly Param[]): Node[] {
  const [df, dg, cf, cg] = [0, 1, 2, 3].map((k) => plist(params, k)) as [readonly number[], readonly number[], readonly number[], readonly number[]];
  const keepF = df.map((_, k) => k).filter((k) => !cf.includes(k));
  const keepG = dg.map((_, k) => k).filter((k) => !cg.includes(k));
  const nF = keepF.length;
  const permute = params.length > 4 ? plist(params, 4) : Array.from({ length: nF + keepG.length }, (_, k) => k);
  const outShape = new Array<number>(permute.length);
  [...keepF.map((k) => df[k]!), ...keepG.map((k) => dg[k]!)].forEach((d, k) => (outShape[permute[k]!] = d));
  const posF = keepF.map((_, k) => permute[k]!); // output position of each kept axis of f
  const posG = keepG.map((_, t) => permute[nF + t]!); // ... of each kept axis of g
  const ascending = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
  const isId = (p: readonly number[]): boolean => p.every((x, k) => x === k);
  const dot = (a: Node, b: Node, ps: readonly (readonly number[])[], perm: number[]): Node => o.opp('TensorDot', [a, b], isId(perm) ? ps : [...ps, perm]);
  // d/df = TensorDot(G, g): contract the g positions of G with g's kept axes. Kept: the f positions of
  // G (ascending; position permute[k] is f axis keepF[k]), then g's contracted axes (ascending; g axis
  // cg[t] is f axis cf[t]); the permutation sends each to its f axis.
  const permF = [...ascending(posF).map((p) => keepF[posF.indexOf(p)]!), ...ascending(cg).map((a) => cf[cg.indexOf(a)]!)];
  const gradF = dot(G, g!, [outShape, dg, posG, keepG], permF);
  // d/dg = TensorDot(f, G): contract f's kept axes with their positions in G. Kept: f's contracted axes
  // (ascending; f axis cf[t] is g axis cg[t]), then the g positions of G (ascending).
  const permG = [...ascending(cf).map((a) => cg[cf.indexOf(a)]!), ...ascending(posG).map((p) => keepG[posG.indexOf(p)]!)];
  const gradG = dot(f!, G, [df, outShape, keepF, posF], permG);
  return [gradF, gradG];
}

function tensorDotDim(op: string, d: readonly number[], p: readonly Param[]): number {
  const df = listParam(op, p, 0, 2, 'dimsf', 1);
  const dg = listParam(op, p, 1, 3, 'dimsg', 1);
  const cf = listParam(op, p, 2, 4, 'contf');
  const cg = listParam(op, p, 3, 5, 'contg');
  if (prod(df) !== d[0]) throw dimError(`${op}: the product of dimsf [${df.join(',')}] is ${prod(df)}, but the first argument has dim ${d[0]}`, 'dimsf must multiply to the dimension of the first argument: $0', 0);
  if (prod(dg) !== d[1]) throw dimError(`${op}: the product of dimsg [${dg.join(',')}] is ${prod(dg)}, but the second argument has dim ${d[1]}`, 'dimsg must multiply to the dimension of the second argument: $1', 1);
  if (cf.length !== cg.length) throw paramError(`${op} contracts ${cf.length} axes of f but ${cg.length} axes of g`, undefined, 5);
  const axes = (c: readonly number[], n: number, pos: number, what: string): void => {
    if (c.some((a) => a < 0 || a >= n) || new Set(c).size !== c.length)
      throw paramError(`${op} ${what} [${c.join(',')}] must be distinct axes in 0..${n - 1}`, undefined, pos);
  };
  axes(cf, df.length, 4, 'contf');
  axes(cg, dg.length, 5, 'contg');
  cf.forEach((a, t) => {
    if (df[a] !== dg[cg[t]!]) throw dimError(`${op} contracts axis ${a} of f (size ${df[a]}) with axis ${cg[t]} of g (size ${dg[cg[t]!]})`, undefined, 5);
  });
  const nKeep = df.length + dg.length - 2 * cf.length;
  if (p.length > 4) {
    const perm = listParam(op, p, 4, 6, 'permute');
    if (perm.length !== nKeep || [...perm].sort((x, y) => x - y).some((x, k) => x !== k))
      throw paramError(`${op} permute [${perm.join(',')}] must be a permutation of 0..${nKeep - 1}`, undefined, 6);
  }
  return (d[0]! * d[1]!) / prod(cf.map((a) => df[a]!)) ** 2;
}

export const TENSOR_OPS: readonly OpDef[] = [
  {
    name: 'MatVecMult',
    group: G,
    doc: 'MatVecMult(A,v): A (a row-major (dim A/dim v) x dim v matrix) times v',
    sig: ['f', 'f'],
    dim: (d) => {
      if (d[0]! % d[1]! !== 0) throw dimError(`MatVecMult needs dim A divisible by dim v, got ${d[0]} and ${d[1]}`, 'A must be a matrix with dim v columns: $0, $1', 0);
      return d[0]! / d[1]!;
    },
    // out_i = 0 + M[i,0]*v_0 + M[i,1]*v_1 + ...
    ...computed((A, [M, v], _p, dim) => {
      const dv = v!.length;
      return Array.from({ length: dim }, (_, i) => sum0(A, Array.from({ length: dv }, (_, k) => A.mul(M![i * dv + k]!, v![k]!))));
    }),
    // dA = G vᵀ (outer product), dv = Aᵀ G
    grad: gradN((o, [M, v], _out, g) => [o.op('TensorProd', g, v!), o.op('VecMatMult', g, M!)]),
  },
  {
    name: 'VecMatMult',
    group: G,
    doc: 'VecMatMult(v,A): v times A (a row-major dim v x (dim A/dim v) matrix)',
    sig: ['f', 'f'],
    dim: (d) => {
      if (d[1]! % d[0]! !== 0) throw dimError(`VecMatMult needs dim A divisible by dim v, got ${d[1]} and ${d[0]}`, 'A must be a matrix with dim v rows: $0, $1', 1);
      return d[1]! / d[0]!;
    },
    // out_i = 0 + v_0*M[0,i] + v_1*M[1,i] + ...
    ...computed((A, [v, M], _p, n) =>
      Array.from({ length: n }, (_, i) => sum0(A, Array.from({ length: v!.length }, (_, k) => A.mul(v![k]!, M![k * n + i]!)))),
    ),
    // dv = A G, dA = v Gᵀ
    grad: gradN((o, [v, M], _out, g) => [o.op('MatVecMult', M!, g), o.op('TensorProd', v!, g)]),
  },
  {
    name: 'TensorProd',
    group: G,
    doc: 'TensorProd(f,g): outer product, out[k*dim g+l] = f_k*g_l',
    sig: ['f', 'f'],
    dim: (d) => d[0]! * d[1]!,
    ...computed((A, [f, g], _p, dim) => Array.from({ length: dim }, (_, kl) => A.mul(f![Math.floor(kl / g!.length)]!, g![kl % g!.length]!))),
    // G seen as a dim f x dim g matrix: df = G g, dg = Gᵀ f
    grad: gradN((o, [f, h], _out, g) => [o.op('MatVecMult', g, h!), o.op('VecMatMult', f!, g)]),
  },
  {
    name: 'TensorDot',
    group: G,
    doc: 'TensorDot(f,g,dimsf,dimsg,contf,contg[,permute]): numpy tensordot of row-major tensors; kept axis k goes to output axis permute[k]',
    sig: ['f', 'f', 'l', 'l', 'l', 'l', 'l?'],
    dim: (d, p) => tensorDotDim('TensorDot', d, p),
    // Every output starts at 0 and accumulates its products in odometer order (at compile time when lowered).
    ...computed((A, [f, g], params, dim) => {
      let plan = plans.get(params);
      if (!plan) plans.set(params, (plan = tensorDotPlan(params)));
      const { loop, sf, sg, so } = plan;
      const n = loop.length;
      const out = Array.from({ length: dim }, () => A.c(0));
      const idx = new Array<number>(n).fill(0);
      let [of, og, oo] = [0, 0, 0];
      for (;;) {
        out[oo] = A.add(out[oo]!, A.mul(f![of]!, g![og]!));
        // odometer over the loop variables, last one fastest
        let k = n - 1;
        for (; k >= 0; k--) {
          if (++idx[k]! < loop[k]!) {
            of += sf[k]!;
            og += sg[k]!;
            oo += so[k]!;
            break;
          }
          idx[k] = 0;
          of -= sf[k]! * (loop[k]! - 1);
          og -= sg[k]! * (loop[k]! - 1);
          oo -= so[k]! * (loop[k]! - 1);
        }
        if (k < 0) return out;
      }
    }),
    grad: gradN((o, args, _out, g, params) => tensorDotGrad(o, args, g, params)),
  },
  {
    name: 'Kron',
    group: G,
    doc: 'Kron(f,g,dimsf,dimsg): Kronecker product of the row-major tensors, as np.kron(...).ravel()',
    sig: ['f', 'f', 'l', 'l'],
    dim: (d, p) => {
      const df = listParam('Kron', p, 0, 2, 'dimsf', 1);
      const dg = listParam('Kron', p, 1, 3, 'dimsg', 1);
      if (df.length !== dg.length) throw paramError(`Kron needs dimsf and dimsg of equal length, got ${df.length} and ${dg.length}`, undefined, 3);
      return tensorDotDim('Kron', d, [df, dg, [], []]);
    },
    expand: ([f, g], p, B) => {
      const n = plist(p, 0).length;
      const evens = Array.from({ length: n }, (_, k) => 2 * k);
      const odds = evens.map((k) => k + 1);
      return B.mk('TensorDot', [f!, g!], [plist(p, 0), plist(p, 1), [], [], [...evens, ...odds]]);
    },
  },
];
