/** Variables and constants (keops-reference §1.3). */
import { DimError, type OpDef } from '../types.js';
import { computed, intParam, paramError, pint } from './util.js';

export const VARIABLE_OPS: readonly OpDef[] = [
  {
    name: 'Var',
    group: 'variable',
    doc: 'Var(ind,dim,cat): input number ind of dimension dim; cat 0 = i-indexed, 1 = j-indexed, 2 = parameter (negative ind: compiler temporaries)',
    sig: ['i', 'i', 'i'],
    dim: (_d, p) => {
      intParam('Var', p, 0, 0, 'index');
      const dim = intParam('Var', p, 1, 1, 'dimension', 1);
      const cat = intParam('Var', p, 2, 2, 'category');
      if (cat !== 0 && cat !== 1 && cat !== 2) throw paramError(`Var category must be 0 (i), 1 (j) or 2 (parameter), got ${cat}`, undefined, 2);
      return dim;
    },
  },
  {
    name: 'IntCst',
    group: 'constant',
    noGrad: 'zero',
    doc: 'IntCst(n): the integer constant n (a scalar)',
    sig: ['i'],
    dim: (_d, p) => (intParam('IntCst', p, 0, 0, 'value'), 1),
    ...computed((_A, _a, p) => [pint(p, 0)]),
  },
  {
    name: 'RatCst',
    group: 'constant',
    noGrad: 'zero',
    doc: 'RatCst(p,q): the exact rational constant p/q (a scalar)',
    sig: ['i', 'i'],
    internal: true,
    dim: (_d, p) => {
      intParam('RatCst', p, 0, 0, 'numerator');
      const q = intParam('RatCst', p, 1, 1, 'denominator');
      if (q === 0) throw new DimError('RatCst has a zero denominator', undefined, 1, 'BadConstant');
      return 1;
    },
    ...computed((A, _a, p) => [A.div(pint(p, 0), pint(p, 1))]),
  },
  {
    name: 'Zero',
    group: 'constant',
    noGrad: 'zero',
    doc: 'Zero(d): the zero vector of dimension d',
    sig: ['i'],
    dim: (_d, p) => intParam('Zero', p, 0, 0, 'dimension', 1),
    ...computed((_A, _a, _p, dim) => new Array<number>(dim).fill(0)),
  },
  {
    name: 'Cst',
    group: 'constant',
    noGrad: 'zero',
    doc: 'Cst(v): a float constant that is not a small exact rational (internal; v is params[0])',
    sig: ['i'],
    internal: true,
    dim: (_d, p) => {
      if (typeof p[0] !== 'number') throw new DimError('Cst expects a number', undefined, 0, 'BadConstant');
      return 1;
    },
    ...computed((_A, _a, p) => [pint(p, 0)]),
  },
  {
    name: 'IntInv',
    group: 'constant',
    doc: 'IntInv(n): the rational constant 1/n',
    sig: ['i'],
    dim: (_d, p) => {
      const n = intParam('IntInv', p, 0, 0, 'value');
      if (n === 0) throw new DimError('IntInv(0) divides by zero', undefined, 0, 'BadConstant');
      return 1;
    },
    expand: (_a, p, B) => B.rat(1, pint(p, 0)),
  },
];
