/**
 * Values that are ready now or later: the webgpu backend answers with Promises, the others at once.
 * Code that runs one or more kernels chains its steps with {@link andThen}, so it stays synchronous
 * unless a step is not.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `f(x)` now if `x` is a value, or when it resolves if it is a Promise. */
export function andThen<T, U>(x: MaybePromise<T>, f: (t: T) => MaybePromise<U>): MaybePromise<U> {
  return x instanceof Promise ? x.then(f) : f(x);
}
