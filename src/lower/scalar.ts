/**
 * The scalar kernel IR lives in src/ir/scalar.ts (it is IR: ops lower to it). This re-export keeps the
 * lowering's and the targets' imports short.
 */
export { bodyStatements, cPow, cRound, evalScalars, LOOP_MIN_TERMS, loopBody, SCALAR_FNS, ScalarBuilder, scalarOrder, type ScalarFn, type SExpr } from '../ir/scalar.js';
