// The money-path mutation run CI makes (npm run test:mutation:money-path, .ci/run): the files where a bug loses,
// forges or doubles an event. Incremental against a committed file, so CI re-tests only what changed, and
// `thresholds.break` at the score the suite reached: CI fails when it drops. How to refresh it: docs/testing.md.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: [
    'lambdas/ingress/signature.ts',
    'lambdas/shared/idempotency-store.ts',
    'lambdas/processor/core.ts',
    'lambdas/processor/process-record.ts',
    'lambdas/processor/outcomes.ts',
    'lambdas/processor/deps.ts',
  ],
  vitest: { configFile: 'vitest.money-path.config.ts' },
  // Its static mutants are few and its score has always counted them.
  ignoreStatic: false,
  incremental: true,
  incrementalFile: 'test/mutation/money-path-incremental.json',
  htmlReporter: { fileName: 'reports/mutation/money-path.html' },
  jsonReporter: { fileName: 'reports/mutation/money-path.json' },
  // The score the suite reached (98.66% on 2026-12-03), rounded down: CI fails below it (docs/testing.md).
  thresholds: { ...base.thresholds, break: 98 },
};
