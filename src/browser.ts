/**
 * Browser entry point of keopsc: the compiler, the reference evaluator and the `js` (calling thread)
 * and `webgpu` (`navigator.gpu`) backends. Bundle it with any bundler (see examples/browser).
 * @packageDocumentation
 */
export * from './core.js';
