import { diag, type Diagnostic, type Span, type SourceFile } from '../diagnostics/index.js';
import type { DiagnosticKind } from '../diagnostics/catalogue.js';
import type { CallExpr, Expr, Module, Statement } from '../syntax/ast.js';
import { mk, numberLiteral, Var, variablesOf, Zero } from '../ir/node.js';
import { OPS } from '../ir/ops/index.js';
import { REDUCTIONS, reductionOf, type ReductionDef } from '../ir/reductions.js';
import type { ArgInfo, Kernel } from '../ir/kernel.js';
import { checkReductionLimits, checkVarLimits, LIMITS } from './limits.js';
import { DimError, type Cat, type Node, type Param } from '../ir/types.js';

/** The elaborated module: its kernels at formula level, before any optimisation pass. */
export interface Program {
  source: SourceFile;
  module: Module;
  kernels: Kernel[];
}

/** Variable constructors: name → category (undefined for Var, whose category is an argument). */
export const VAR_CTORS: Readonly<Record<string, Cat | undefined>> = { Vi: 0, Vx: 0, Vj: 1, Vy: 1, Pm: 2, Var: undefined };
const CAT_NAMES = ['Vi', 'Vj', 'Pm'] as const;

/** Autodiff ops whose second argument must be a variable. */
const DIFF_OPS = new Set(['Grad', 'Diff', 'Divergence', 'Laplacian', 'GradMatrix']);

interface VarSlot {
  dim: number;
  cat: Cat;
  span: Span;
  name?: string;
}

interface Definition {
  node: Node | undefined;
  span: Span;
}

/**
 * Elaboration (the first stage, shown as `typecheck` in IR dumps): resolve names, check arities, integer parameters,
 * dimensions and categories, and build the formula IR of every kernel. Every problem becomes a
 * diagnostic; elaboration goes on after an error so that all the errors of a file are reported.
 */
export function elaborate(module: Module, source: SourceFile, options: ElaborateOptions = {}): { program?: Program; diagnostics: Diagnostic[] } {
  return new Elaborator(module, source, options).run();
}

export interface ElaborateOptions {
  /** Every declared variable is an argument of every kernel, used or not (KeOps's (formula, aliases)
   * calls: one array per alias). By default a kernel's arguments are the variables it uses. */
  allDeclaredAreArgs?: boolean;
  /** Called with every expression elaborated without error and its IR node (declarations included):
   * the language server's hover and dimensions come from here. */
  onExpr?: (expr: Expr, node: Node) => void;
}

class Elaborator {
  private readonly diags: Diagnostic[] = [];
  /** Declared variables by name. */
  private readonly decls = new Map<string, Node>();
  /** Which index holds which variable (declared or inline). */
  private readonly slots = new Map<number, VarSlot>();
  /** First name given to each index. */
  private readonly indexNames = new Map<number, string>();
  private readonly defs = new Map<string, Definition>();
  /** Definitions that appear later in the file, to explain use-before-definition. */
  private readonly laterDefs = new Map<string, Span>();
  private readonly spans = new Map<Node, Span>();
  private readonly kernels: Kernel[] = [];
  private readonly kernelNames = new Map<string, Span>();
  /** Names whose declaration or definition failed (already reported: uses stay silent). */
  private readonly failed = new Set<string>();
  /** Every name the file assigns, to keep automatic kernel names clear of them. */
  private readonly assigned = new Set<string>();
  private nextFree = 0;

  constructor(
    private readonly module: Module,
    private readonly source: SourceFile,
    private readonly options: ElaborateOptions,
  ) {}

  run(): { program?: Program; diagnostics: Diagnostic[] } {
    this.declarePass();
    for (const st of this.module.statements) this.statement(st);
    if (this.kernels.length === 0 && this.diags.length === 0) {
      const end = this.source.text.length;
      this.error('NoKernel', 'no kernel: nothing to reduce', this.source.span(Math.max(0, end - 1), end), 'a kernel is a named reduction, e.g. `gauss = Sum_Reduction(Exp(-SqDist(x, y) / 2) * b, 0)`');
    }
    if (this.diags.length) return { diagnostics: this.diags };
    return { program: { source: this.source, module: this.module, kernels: this.kernels }, diagnostics: [] };
  }

  // ---------------------------------------------------------------- declarations

  /** Declarations are module-wide: register explicit indices first, then give implicit ones the
   * smallest free indices, in source order. */
  private declarePass(): void {
    const decls = this.module.statements.filter(
      (s): s is Statement & { kind: 'assign'; value: CallExpr } => s.kind === 'assign' && isVarCall(s.value),
    );
    const explicit = new Set<number>();
    for (const st of decls) {
      const idx = this.explicitIndex(st.value);
      if (idx !== undefined) explicit.add(idx);
    }
    for (const st of decls) {
      if (this.checkName(st.name, st.nameSpan) && (this.decls.has(st.name) || this.defs.has(st.name))) {
        this.error('Redefinition', `'${st.name}' is declared twice`, st.nameSpan, 'give each variable its own name');
        continue;
      }
      const node = this.varCall(st.value, st.name, explicit);
      if (node) {
        this.decls.set(st.name, node);
        this.spans.set(node, st.value.span);
        this.options.onExpr?.(st.value, node);
      } else this.failed.add(st.name);
    }
    for (const st of this.module.statements) if (st.kind === 'assign') this.assigned.add(st.name);
    // later definitions, to explain a use that comes before the definition
    for (const st of this.module.statements) if (st.kind === 'assign' && !isVarCall(st.value)) this.laterDefs.set(st.name, st.nameSpan);
  }

  private explicitIndex(call: CallExpr): number | undefined {
    const nIdx = call.callee === 'Var' ? 3 : 2;
    if (call.args.length !== nIdx) return undefined;
    const first = call.args[0]!;
    return first.kind === 'number' && first.isInt ? first.value : undefined;
  }

  /** Build the Var node of `Vi(index, dim)`, `Vi(dim)`, `Var(index, dim, cat)` (declaration or inline). */
  private varCall(call: CallExpr, name: string | undefined, explicit?: Set<number>): Node | undefined {
    const fixedCat = VAR_CTORS[call.callee];
    const isVar = call.callee === 'Var';
    const usage = isVar ? 'Var(index, dim, cat)' : `${call.callee}(index, dim) or ${call.callee}(dim)`;
    const ints: number[] = [];
    for (const a of call.args) {
      const v = intLiteral(a);
      if (v === undefined || v < 0) {
        this.error('BadDeclaration', `${call.callee} arguments must be non-negative integers`, a.span, `write ${usage}`);
        return undefined;
      }
      ints.push(v);
    }
    let index: number | undefined;
    let dim: number;
    let cat: number;
    if (isVar) {
      if (ints.length !== 3) {
        this.error('BadDeclaration', `Var takes 3 arguments (index, dim, cat), got ${ints.length}`, call.span, 'e.g. Var(0, 3, 0) is input 0, of dimension 3, indexed by i');
        return undefined;
      }
      [index, dim, cat] = ints as [number, number, number];
    } else {
      if (ints.length === 2) [index, dim] = ints as [number, number];
      else if (ints.length === 1) dim = ints[0]!;
      else {
        this.error('BadDeclaration', `${call.callee} takes 1 or 2 arguments, got ${ints.length}`, call.span, `write ${usage}`);
        return undefined;
      }
      cat = fixedCat!;
    }
    if (cat > 2) {
      this.error('CategoryMisuse', `variable category must be 0 (i), 1 (j) or 2 (parameter), got ${cat}`, call.args[2]!.span, 'Vi(...) is Var(..., 0), Vj(...) is Var(..., 1), Pm(...) is Var(..., 2)');
      return undefined;
    }
    if (dim < 1) {
      this.error('BadDeclaration', `a variable needs a dimension of at least 1, got ${dim}`, call.span);
      return undefined;
    }
    const tooLarge = checkVarLimits(index, dim);
    if (tooLarge) {
      this.error('TooLarge', tooLarge.message, call.span, tooLarge.hint);
      return undefined;
    }
    if (index === undefined) {
      while (this.slots.has(this.nextFree) || explicit?.has(this.nextFree)) this.nextFree++;
      index = this.nextFree;
    }
    const prev = this.slots.get(index);
    const desc = `${CAT_NAMES[cat]}(${index}, ${dim})`;
    if (prev && (prev.dim !== dim || prev.cat !== cat)) {
      const prevDesc = `${CAT_NAMES[prev.cat]}(${index}, ${prev.dim})`;
      this.error('IndexConflict', `variable index ${index} is ${prevDesc}${prev.name ? ` ('${prev.name}')` : ''} at ${prev.span.line}:${prev.span.col}, but ${desc} here`, call.span, 'each index names one input array; use another index');
      return undefined;
    }
    if (!prev) this.slots.set(index, { dim, cat: cat as Cat, span: call.span, name });
    if (name && !this.indexNames.has(index)) this.indexNames.set(index, name);
    return Var(index, dim, cat as Cat);
  }

  private checkName(name: string, span: Span): boolean {
    if (name in VAR_CTORS || name in OPS || reductionOf(name)) {
      this.error('ReservedName', `'${name}' is the name of ${reductionOf(name) ? 'a reduction' : name in VAR_CTORS ? 'a variable constructor' : 'an operation'}`, span, 'choose another name');
      return false;
    }
    return true;
  }

  // ---------------------------------------------------------------- statements

  private statement(st: Statement): void {
    if (st.kind === 'assign' && isVarCall(st.value)) return; // handled by declarePass
    const value = st.value;
    const depth = exprDepth(value);
    if (depth > MAX_DEPTH) {
      this.error('TooDeep', `this formula is nested ${depth} levels deep; the limit is ${MAX_DEPTH}`, st.span, 'split it into named definitions (`A = ...` then use A); a chain a + b + c + ... counts one level per operator');
      return;
    }
    const red = value.kind === 'call' ? reductionOf(value.callee) : undefined;
    if (st.kind === 'assign') {
      if (!this.checkName(st.name, st.nameSpan)) {
        this.failed.add(st.name);
        return;
      }
      if (this.decls.has(st.name) || this.defs.has(st.name) || this.kernelNames.has(st.name)) {
        this.error('Redefinition', `'${st.name}' is defined twice`, st.nameSpan, 'each name is defined once; pick a new name');
        return;
      }
      if (red) this.kernel(st.name, value as CallExpr, red, st.span);
      else {
        const node = this.expr(value);
        this.defs.set(st.name, { node, span: st.nameSpan });
        if (!node) this.failed.add(st.name);
      }
      return;
    }
    if (red) {
      let name = 'kernel';
      for (let n = 2; this.assigned.has(name) || this.kernelNames.has(name); n++) name = `kernel${n}`;
      this.kernel(name, value as CallExpr, red, st.span);
      return;
    }
    const node = this.expr(value);
    if (node) {
      this.error('UnusedStatement', 'this formula is not a kernel: it is neither named nor reduced', st.span, 'wrap it in a reduction, e.g. `Sum_Reduction(<formula>, 0)`, or name it: `K = <formula>`');
    }
  }

  private kernel(name: string, call: CallExpr, red: ReductionDef, span: Span): void {
    this.kernelNames.set(name, span);
    const sig = red.sig;
    const shape = sig.map((s) => ({ f: 'formula', K: 'K', tag: 'tag', g: 'weight', D: 'dimension' })[s]).join(', ');
    if (call.args.length !== sig.length) {
      this.error('WrongArity', `${call.callee} takes ${sig.length} arguments (${shape}), got ${call.args.length}`, call.span, reductionHint(red));
      return;
    }
    let f: Node | undefined;
    let g: Node | undefined;
    let K: number | undefined;
    let tag: 0 | 1 | undefined;
    let ok = true;
    sig.forEach((kind, k) => {
      const a = call.args[k]!;
      if (kind === 'f' || kind === 'g') {
        const n = this.expr(a);
        if (!n) ok = false;
        else if (kind === 'f') f = n;
        else g = n;
      } else if (kind === 'D') {
        const v = intLiteral(a);
        if (v === undefined || v < 1) {
          this.error('BadReduction', `the dimension must be a positive integer, got ${this.text(a)}`, a.span, `${call.callee}(D, tag) fills an output of dimension D with zeros`);
          ok = false;
        } else f = Zero(v);
      } else if (kind === 'K') {
        const v = intLiteral(a);
        if (v === undefined || v < 1) {
          this.error('BadReduction', `K must be a positive integer, got ${this.text(a)}`, a.span, `${call.callee}(f, K, tag) keeps the K smallest values`);
          ok = false;
        } else K = v;
      } else {
        const v = intLiteral(a);
        if (v !== 0 && v !== 1) {
          this.error('BadReduction', `the reduction tag must be 0 or 1, got ${this.text(a)}`, a.span, 'tag 0: the output is indexed by i and the reduction runs over j; tag 1: indexed by j, reduced over i');
          ok = false;
        } else tag = v;
      }
    });
    if (!ok || !f || tag === undefined) return;
    const tooLarge = checkReductionLimits(g ? [f, g] : [f], K);
    if (tooLarge) {
      this.error('TooLarge', tooLarge.message, call.span, tooLarge.hint);
      return;
    }
    try {
      red.check?.(f.dim, g?.dim, K);
    } catch (e) {
      if (!(e instanceof DimError)) throw e;
      this.error('DimMismatch', e.message, call.args[0]!.span, e.hint);
      return;
    }
    const used = variablesOf(g ? [f, g] : [f]);
    const vars = this.options.allDeclaredAreArgs ? [...new Set([...this.decls.values(), ...used])].sort((a, b) => (a.params[0] as number) - (b.params[0] as number)) : used;
    const args: ArgInfo[] = vars.map((v) => {
      const [index, dim, cat] = v.params as [number, number, Cat];
      return { name: this.indexNames.get(index) ?? `Var${index}`, index, dim, cat };
    });
    // Zero_Reduction(D, tag) runs as what it is, the Sum of Zero(D) (the registry entry is its spelling)
    const reduction = red.name === 'Zero' ? REDUCTIONS.Sum! : red;
    const kernel: Kernel = { name, reduction, tag, formula: f, args, spans: this.spans, span, source: this.source };
    if (K !== undefined) kernel.K = K;
    if (g) kernel.formula2 = g;
    this.kernels.push(kernel);
  }

  // ---------------------------------------------------------------- expressions

  private expr(e: Expr): Node | undefined {
    const n = this.exprInner(e);
    if (n && !this.spans.has(n)) this.spans.set(n, e.span);
    if (n) this.options.onExpr?.(e, n);
    return n;
  }

  private exprInner(e: Expr): Node | undefined {
    switch (e.kind) {
      case 'number': {
        if (!Number.isFinite(e.value)) {
          this.error('BadConstant', `the literal ${e.text} is out of the float64 range`, e.span);
          return undefined;
        }
        return numberLiteral(e.text, e.value);
      }
      case 'name':
        return this.name(e.name, e.span);
      case 'list':
        this.error('UnexpectedList', 'an integer list is only allowed as an op parameter', e.span, 'lists are parameters of TensorDot and Kron, e.g. TensorDot(A, v, [2, 3], [3], [1], [0])');
        return undefined;
      case 'unary': {
        if (e.operand.kind === 'number') return this.expr({ ...e.operand, value: -e.operand.value, text: `-${e.operand.text}`, span: e.span });
        const a = this.expr(e.operand);
        return a && this.build('Minus', [a], [], e, [e.operand]);
      }
      case 'binary':
        return this.binary(e);
      case 'call':
        return this.call(e);
    }
  }

  private name(name: string, span: Span): Node | undefined {
    const d = this.decls.get(name);
    if (d) return d;
    if (this.failed.has(name)) return undefined;
    const def = this.defs.get(name);
    if (def) return def.node; // undefined when the definition had errors (already reported)
    if (this.kernelNames.has(name)) {
      this.error('NestedReduction', `'${name}' is a kernel (a reduction) and cannot be used inside a formula`, span, 'kernels are outputs; reductions cannot be nested');
      return undefined;
    }
    const later = this.laterDefs.get(name);
    if (later) {
      this.error('UnknownName', `'${name}' is used before its definition at ${later.line}:${later.col}`, span, 'definitions must come before their use; move it up');
      return undefined;
    }
    const known = [...this.decls.keys(), ...this.defs.keys()];
    const near = suggest(name, known);
    const hint = near ? `did you mean '${near}'?` : name in VAR_CTORS ? `${name} must be called: ${name}(index, dim)` : `declare it first, e.g. \`${name} = Vi(3)\``;
    this.error('UnknownName', `unknown name '${name}'`, span, hint);
    return undefined;
  }

  private binary(e: Extract<Expr, { kind: 'binary' }>): Node | undefined {
    if (e.op === '**') return this.power(e);
    if (e.op === '/' && literalValue(e.right) === 0) {
      this.error('DivisionByZero', 'division by the constant zero', e.right.span);
      return undefined;
    }
    const l = this.expr(e.left);
    const r = this.expr(e.right);
    if (!l || !r) return undefined;
    const table: Record<string, [string, boolean]> = {
      '+': ['Add', false], '-': ['Subtract', false], '*': ['Mult', false], '/': ['Divide', false], '|': ['Scalprod', false],
      '<': ['LessThan', false], '>': ['LessThan', true], '<=': ['LessOrEqual', false], '>=': ['LessOrEqual', true],
      '==': ['Equal', false], '!=': ['NotEqual', false],
    };
    const [op, swap] = table[e.op]!;
    return swap ? this.build(op, [r, l], [], e, [e.right, e.left]) : this.build(op, [l, r], [], e, [e.left, e.right]);
  }

  /** `f ** 2` is Square, `f ** n` (another integer) is Pow, any other exponent is Powf. */
  private power(e: Extract<Expr, { kind: 'binary' }>): Node | undefined {
    const base = this.expr(e.left);
    const n = intLiteral(e.right);
    if (n !== undefined) {
      if (!base) return undefined;
      return n === 2 ? this.build('Square', [base], [], e, [e.left]) : this.build('Pow', [base], [n], e, [e.left]);
    }
    const ex = this.expr(e.right);
    if (!base || !ex) return undefined;
    return this.build('Powf', [base, ex], [], e, [e.left, e.right]);
  }

  private call(e: CallExpr): Node | undefined {
    if (e.callee in VAR_CTORS) {
      const n = this.varCall(e, undefined);
      if (n) this.spans.set(n, e.span);
      return n;
    }
    if (reductionOf(e.callee)) {
      this.error('NestedReduction', `${e.callee} cannot be used inside a formula`, e.calleeSpan, 'a reduction is the outermost call of a kernel: `k = Sum_Reduction(f, 0)`');
      return undefined;
    }
    const def = OPS[e.callee];
    if (!def && (this.decls.has(e.callee) || this.defs.has(e.callee))) {
      this.error('UnknownOp', `'${e.callee}' is a ${this.decls.has(e.callee) ? 'variable' : 'definition'}, not an operation`, e.calleeSpan, `to take component k of a vector, write Elem(${e.callee}, k)`);
      return undefined;
    }
    if (!def) {
      const near = suggest(e.callee, [...Object.keys(OPS), ...Object.keys(REDUCTIONS).map((r) => `${r}_Reduction`), ...Object.keys(VAR_CTORS)]);
      this.error('UnknownOp', `unknown operation '${e.callee}'`, e.calleeSpan, near ? `did you mean '${near}'?` : 'see grammar/operations.md for the list of operations');
      return undefined;
    }
    const sig = def.sig;
    const required = sig.filter((s) => !s.endsWith('?')).length;
    if (e.args.length < required || e.args.length > sig.length) {
      const want = required === sig.length ? `${required}` : `${required} to ${sig.length}`;
      this.error('WrongArity', `${def.name} takes ${want} argument${sig.length === 1 ? '' : 's'} (${sigText(sig)}), got ${e.args.length}`, e.span, def.doc);
      return undefined;
    }
    const fargs: Node[] = [];
    const fexprs: Expr[] = [];
    const params: Param[] = [];
    let ok = true;
    e.args.forEach((a, k) => {
      const kind = sig[k]!.replace('?', '');
      if (kind === 'f') {
        const n = this.expr(a);
        if (!n) ok = false;
        else {
          fargs.push(n);
          fexprs.push(a);
        }
      } else if (kind === 'i') {
        const v = intLiteral(a);
        if (v === undefined) {
          this.error('ExpectedInteger', `argument ${k + 1} of ${def.name} must be an integer literal, got ${this.text(a)}`, a.span, `${def.name}(${sigText(sig)}): ${def.doc}`);
          ok = false;
        } else params.push(v);
      } else {
        const items = a.kind === 'list' ? a.items.map(intLiteral) : undefined;
        if (!items || items.some((v) => v === undefined)) {
          this.error('ExpectedIntegerList', `argument ${k + 1} of ${def.name} must be a list of integers, got ${this.text(a)}`, a.span, `e.g. TensorDot(A, v, [2, 3], [3], [1], [0])`);
          ok = false;
        } else params.push(items as number[]);
      }
    });
    if (!ok) return undefined;
    if (DIFF_OPS.has(def.name)) {
      const v = fargs[1]!;
      if (v.op !== 'Var') {
        this.error('NotAVariable', `${def.name} differentiates with respect to a variable, but argument 2 is a formula`, fexprs[1]!.span, 'pass a declared variable, e.g. Grad(f, x, e)');
        return undefined;
      }
      if (def.name === 'Grad' && fargs.length === 2) {
        const cat = v.params[2] as Cat;
        if (cat === 2) {
          this.error('CategoryMisuse', 'Grad with respect to a parameter needs an explicit gradient input e', e.span, 'write Grad(f, p, e) with e of the dimension of f');
          return undefined;
        }
      }
    }
    if (def.name === 'Grad' && fargs.length === 2) {
      const v = fargs[1]!;
      fargs.push(this.freshVar(fargs[0]!.dim, (1 - (v.params[2] as number)) as Cat, e.span));
      fexprs.push(e);
    }
    return this.build(def.name, fargs, params, e, fexprs, e.args);
  }

  /** A new variable at the next free index (Grad without e, as KeOps). */
  private freshVar(dim: number, cat: Cat, span: Span): Node {
    let index = 0;
    for (const k of this.slots.keys()) index = Math.max(index, k + 1);
    this.slots.set(index, { dim, cat, span });
    return Var(index, dim, cat);
  }

  /** mk with DimError turned into a diagnostic. `argExprs` are the expressions of the formula args
   * (for `$k` in hints), `srcExprs` every argument in source order (DimError.arg indexes them). */
  private build(op: string, args: Node[], params: Param[], e: Expr, argExprs: Expr[], srcExprs: readonly Expr[] = argExprs): Node | undefined {
    const depth = 1 + Math.max(0, ...args.map((a) => a.depth));
    if (depth > MAX_DEPTH) {
      this.error('TooDeep', `this formula is nested more than ${MAX_DEPTH} levels deep once its definitions are substituted`, e.span, 'deeply chained definitions make a formula too deep to compile; restructure it, e.g. as a sum of independent terms');
      return undefined;
    }
    try {
      return mk(op, args, params);
    } catch (err) {
      if (!(err instanceof DimError)) throw err;
      const at = err.arg !== undefined && srcExprs[err.arg] ? srcExprs[err.arg]!.span : e.span;
      const hint = err.hint?.replace(/\$(\d+)/g, (_m, k: string) => this.describe(argExprs[Number(k)], args[Number(k)]));
      this.error(err.kind, err.message, at, hint);
      return undefined;
    }
  }

  /** "x is Vi(3)" for a declared name, "Exp(x) has dim 3" otherwise. */
  private describe(e: Expr | undefined, n: Node | undefined): string {
    if (!e || !n) return '?';
    if (e.kind === 'name' && n.op === 'Var') return `${e.name} is ${CAT_NAMES[n.params[2] as number]}(${n.dim})`;
    let t = this.text(e);
    if (t.length > 30) t = `${t.slice(0, 27)}...`;
    return `${t} has dim ${n.dim}`;
  }

  private text(e: Expr): string {
    return this.source.text.slice(e.span.start, e.span.end);
  }

  private error(kind: DiagnosticKind, message: string, span: Span, hint?: string): void {
    this.diags.push(diag(kind, message, span, hint));
  }
}

/** The deepest formula elaboration accepts (each level costs a few stack frames in every pass). */
export const MAX_DEPTH = LIMITS.depth;

/** The depth of an expression tree, computed without recursion (any input is safe). */
function exprDepth(root: Expr): number {
  let max = 0;
  const stack: [Expr, number][] = [[root, 1]];
  while (stack.length) {
    const [e, d] = stack.pop()!;
    if (d > max) max = d;
    if (e.kind === 'call') for (const a of e.args) stack.push([a, d + 1]);
    else if (e.kind === 'list') for (const a of e.items) stack.push([a, d + 1]);
    else if (e.kind === 'unary') stack.push([e.operand, d + 1]);
    else if (e.kind === 'binary') stack.push([e.left, d + 1], [e.right, d + 1]);
  }
  return max;
}

function isVarCall(e: Expr): e is CallExpr {
  return e.kind === 'call' && e.callee in VAR_CTORS;
}

/** The value of a number literal (optionally negated), or undefined. */
function literalValue(e: Expr): number | undefined {
  if (e.kind === 'number') return e.value;
  if (e.kind === 'unary' && e.operand.kind === 'number') return -e.operand.value;
  return undefined;
}

/** The value of an integer literal (optionally negated), or undefined. */
export function intLiteral(e: Expr): number | undefined {
  if (e.kind === 'number') return e.isInt && Number.isSafeInteger(e.value) ? e.value : undefined;
  if (e.kind === 'unary' && e.operand.kind === 'number' && e.operand.isInt) return -e.operand.value;
  return undefined;
}

function sigText(sig: readonly string[]): string {
  const names: Record<string, string> = { f: 'formula', i: 'integer', l: 'integer list' };
  return sig.map((s) => (s.endsWith('?') ? `[${names[s[0]!]}]` : names[s]!)).join(', ');
}

function reductionHint(red: ReductionDef): string {
  const ex: Record<string, string> = { f: 'f', K: '3', tag: '0', g: 'g', D: '3' };
  return `e.g. ${red.name}_Reduction(${red.sig.map((s) => ex[s]).join(', ')}): ${red.doc}`;
}

/** The closest candidate by edit distance (case-insensitive), if close enough. */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const a = name.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(a, c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  const limit = name.length <= 1 ? 0 : Math.max(1, Math.floor(name.length / 3));
  return best !== undefined && bestD <= limit ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, k) => k);
  for (let i = 1; i <= a.length; i++) {
    let diagPrev = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diagPrev + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagPrev = tmp;
    }
  }
  return prev[b.length]!;
}

