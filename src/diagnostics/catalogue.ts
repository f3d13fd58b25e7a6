/**
 * The catalogue of every user-facing diagnostic. Each entry has a stable code (never reuse or renumber
 * one), a category, and a short title. Messages are built where the error is found; the code and the
 * title are what tools and tests match on.
 *
 * Ranges: KEO1xxx lexing and parsing, KEO2xxx names, modules and call shapes, KEO3xxx types
 * (dimensions and categories), KEO4xxx features not available in this build, KEO5xxx run-time input.
 */
export const DIAGNOSTICS = {
  // --- lexing and parsing ---
  UnexpectedCharacter: { code: 'KEO1001', title: 'unexpected character' },
  InvalidNumber: { code: 'KEO1002', title: 'invalid number literal' },
  SyntaxError: { code: 'KEO1101', title: 'syntax error' },
  UnclosedBracket: { code: 'KEO1102', title: 'unclosed bracket' },
  UnexpectedEnd: { code: 'KEO1103', title: 'unexpected end of input' },
  ChainedComparison: { code: 'KEO1104', title: 'chained comparison' },
  EmptySource: { code: 'KEO1105', title: 'empty source' },
  TooDeep: { code: 'KEO1106', title: 'formula nested too deeply' },
  SourceTooLarge: { code: 'KEO1107', title: 'source too large' },
  // --- names, modules, call shapes ---
  UnknownOp: { code: 'KEO2001', title: 'unknown operation' },
  UnknownName: { code: 'KEO2002', title: 'unknown name' },
  WrongArity: { code: 'KEO2003', title: 'wrong number of arguments' },
  ExpectedInteger: { code: 'KEO2004', title: 'integer expected' },
  ExpectedIntegerList: { code: 'KEO2005', title: 'integer list expected' },
  Redefinition: { code: 'KEO2006', title: 'name defined twice' },
  BadDeclaration: { code: 'KEO2007', title: 'malformed variable declaration' },
  IndexConflict: { code: 'KEO2008', title: 'variable index used with another dimension or category' },
  NoKernel: { code: 'KEO2009', title: 'no kernel' },
  KernelNotFound: { code: 'KEO2010', title: 'kernel not found' },
  NestedReduction: { code: 'KEO2011', title: 'reduction inside a formula' },
  UnexpectedList: { code: 'KEO2012', title: 'list where a formula is expected' },
  ReservedName: { code: 'KEO2013', title: 'reserved name' },
  AmbiguousKernel: { code: 'KEO2014', title: 'several kernels' },
  BadAlias: { code: 'KEO2015', title: 'malformed alias' },
  UnusedStatement: { code: 'KEO2016', title: 'statement has no effect' },
  // --- types ---
  DimMismatch: { code: 'KEO3001', title: 'dimension mismatch' },
  CategoryMisuse: { code: 'KEO3002', title: 'category misuse' },
  ParamOutOfRange: { code: 'KEO3003', title: 'parameter out of range' },
  BadReduction: { code: 'KEO3004', title: 'invalid reduction arguments' },
  NotAVariable: { code: 'KEO3005', title: 'variable expected' },
  DivisionByZero: { code: 'KEO3006', title: 'division by the constant zero' },
  BadConstant: { code: 'KEO3007', title: 'constant out of range' },
  TooLarge: { code: 'KEO3008', title: 'over a documented size limit' },
  // --- features ---
  NotImplemented: { code: 'KEO4001', title: 'not available yet' },
  NotDifferentiable: { code: 'KEO4002', title: 'not differentiable' },
  // --- run-time input (CLI and API) ---
  BadInput: { code: 'KEO5001', title: 'invalid input' },
  BadEnvironment: { code: 'KEO5002', title: 'unusable environment' },
} as const;

export type DiagnosticKind = keyof typeof DIAGNOSTICS;
