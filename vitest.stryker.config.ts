/**
 * Vitest as Stryker runs it (npm run test:mutation): the tests that exercise the mutated folders, not the whole suite.
 * Left out: the end-to-end, soak, bench and bundling suites (slow, and a pipeline started in beforeAll would make
 * every mutant it reaches "static", i.e. run against every test), and the other folders' own tests.
 * Same settings as vitest.config.ts.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/ingress/**/*.test.ts',
      'test/shared/**/*.test.ts',
      'test/processor/**/*.test.ts',
      'test/ops/forget-done.test.ts',
      // The Lambdas built on lambdas/shared (stripe-events.ts, enqueue.ts, webhook-endpoints.ts,
      // webhook-secret-document.ts, secret-versions.ts): their own folders' tests are the ones that exercise those
      // files. Not the two that run those Lambdas in beforeAll (below).
      'test/reconciler/**/*.test.ts',
      'test/rotation/**/*.test.ts',
      'test/webhook-endpoint/**/*.test.ts',
      // The constructs that type their Lambdas' environment from lambdas/*/env.ts.
      'test/infra/ingress.test.ts',
      'test/infra/processor.test.ts',
    ],
    // Code a file runs in beforeAll counts as "static" (run against every test, and left out with ignoreStatic):
    // these two start a local pipeline or deploy a webhook endpoint there.
    exclude: [
      ...(base.test?.exclude ?? []),
      'test/reconciler/reconcile-e2e.test.ts',
      'test/rotation/acceptance.test.ts',
    ],
  },
});
