/**
 * Vitest as Stryker runs it (npm run test:mutation): the tests of the mutated folders only, so each mutant runs
 * against the few tests that cover it in seconds rather than the whole suite. Same settings as vitest.config.ts.
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
    ],
  },
});
