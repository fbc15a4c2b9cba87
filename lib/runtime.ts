/**
 * `<package>/runtime`: the handler side of the library, for handler Lambdas written in TypeScript or JavaScript.
 * Free of CDK and of the processor's dependencies, so a handler bundle stays small.
 */
export * from '../lambdas/handler-lambdas/contract';
