/**
 * Automatic differentiation and linear operators (keops-reference §1.9). Only signatures, dimension
 * rules and docs: these ops are rewritten by the autodiff pass (no eval, no expand here). The check
 * that the differentiation argument is a variable belongs to elaboration, not to these dim rules.
 */
import type { OpDef } from '../types.js';
import { dimError, equalDims, scalarDim } from './util.js';

const G = 'autodiff';

export const AUTODIFF_OPS: readonly OpDef[] = [
  {
    name: 'Grad',
    group: G,
    doc: 'Grad(f,v[,e]): reverse-mode gradient (df/dv)^T e, of dim v (e of dim f; omitted: a new variable)',
    sig: ['f', 'f', 'f?'],
    dim: (d) => {
      if (d.length > 2 && d[2] !== d[0])
        throw dimError(`Grad needs an input gradient e of the dimension of f (${d[0]}), got ${d[2]}`, 'e must have the dimension of f: $0, $2', 2);
      return d[1]!;
    },
  },
  {
    name: 'Diff',
    group: G,
    doc: 'Diff(f,v,u): forward-mode derivative (df/dv) u, of dim f (u of dim v)',
    sig: ['f', 'f', 'f'],
    dim: (d) => (equalDims('Diff', d, 1, 2), d[0]!),
  },
  {
    name: 'Divergence',
    group: G,
    doc: 'Divergence(f,v): trace of df/dv (dim f = dim v)',
    sig: ['f', 'f'],
    dim: (d) => (equalDims('Divergence', d, 0, 1), 1),
  },
  {
    name: 'Laplacian',
    group: G,
    doc: 'Laplacian(f,v) = Divergence(Grad(f,v,1),v), f a scalar',
    sig: ['f', 'f'],
    dim: (d) => (scalarDim('Laplacian', d, 0, 'function'), 1),
  },
  {
    name: 'GradMatrix',
    group: G,
    doc: 'GradMatrix(f,v): transposed Jacobian, out[k*dim v+l] = dfk/dvl',
    sig: ['f', 'f'],
    dim: (d) => d[0]! * d[1]!,
  },
  {
    name: 'TraceOperator',
    group: G,
    doc: 'TraceOperator(f,v): trace of the linear map v -> f (f linear in v, dim f = 1 or dim v)',
    sig: ['f', 'f'],
    internal: true,
    dim: (d) => {
      if (d[0] !== 1 && d[0] !== d[1])
        throw dimError(`TraceOperator needs a formula of dimension 1 or ${d[1]}, got ${d[0]}`, 'dim f must be 1 or dim v: $0, $1', 0);
      return 1;
    },
  },
  {
    name: 'AdjointOperator',
    group: G,
    doc: 'AdjointOperator(f,v,u): the adjoint of the linear map v -> f applied to u (dim u = dim f), of dim v',
    sig: ['f', 'f', 'f'],
    internal: true,
    dim: (d) => (equalDims('AdjointOperator', d, 0, 2), d[1]!),
  },
];
