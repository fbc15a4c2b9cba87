/**
 * Vitest as the money-path mutation run uses it (npm run test:mutation:money-path, in CI): the tests that exercise
 * lambdas/ingress/signature.ts, lambdas/shared/idempotency-store.ts and the processor's core, and no others, so the
 * run's first full test pass (Stryker's dry run) stays short. Same settings as vitest.config.ts.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/ingress/**/*.test.ts',
      'test/processor/**/*.test.ts',
      // The idempotency store's forgetDone (replay --force) and its use by the reconciler.
      'test/ops/forget-done.test.ts',
      'test/reconciler/reconciler.test.ts',
    ],
  },
});
