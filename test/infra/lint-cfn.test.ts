/**
 * `npm run lint:cfn` without cfn-lint on PATH: it says how to install it, and fails only in CI. (With cfn-lint, the
 * run itself is the test: `.ci/run` runs it after `npm test`.)
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

const TSX = join(PROJECT_ROOT, 'node_modules/.bin/tsx');

/** Runs the script with a PATH holding only node (so no cfn-lint). */
function runWithoutCfnLint(env: Record<string, string>) {
  return spawnSync(TSX, ['scripts/lint-cfn.ts'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { PATH: join(process.execPath, '..'), HOME: process.env.HOME ?? '/tmp', ...env },
  });
}

describe('npm run lint:cfn without cfn-lint', () => {
  it('says how to install it and passes outside CI', () => {
    const out = runWithoutCfnLint({});
    expect(out.stderr).toMatch(/cfn-lint is not on PATH: install it with `pipx install cfn-lint`/);
    expect(out.status).toBe(0);
  });

  it('fails in CI', () => {
    const out = runWithoutCfnLint({ CI: 'true' });
    expect(out.stderr).toMatch(/pipx install cfn-lint/);
    expect(out.status).toBe(1);
  });
});
