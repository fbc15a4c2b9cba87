/** `npm run test:package`: the consumer test (test/package), kept out of `npm test` because it packs and installs. */
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

export default defineConfig({
  test: {
    ...base.test,
    include: ['test/package/**/*.test.ts'],
    exclude: ['node_modules/**'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
