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
      // The only tests of lambdas/shared/stripe-events.ts, webhook-endpoints.ts and webhook-secret-document.ts.
      'test/reconciler/reconciler.test.ts',
      'test/rotation/webhook-secret.test.ts',
      'test/webhook-endpoint/custom-resource.test.ts',
      // The constructs that type their Lambdas' environment from lambdas/*/env.ts.
      'test/infra/ingress.test.ts',
      'test/infra/processor.test.ts',
    ],
  },
});
