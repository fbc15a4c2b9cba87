import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// `npm run test:browser`: the console in Chromium (test/browser/*.browser.ts); not part of `npm test`.
// Spread, not mergeConfig: mergeConfig would add this include to the base one and run every test.
export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/browser/**/*.browser.ts'], testTimeout: 120_000 },
});
