/**
 * Running the project's commands leaves the repository as it was: a `bench --quick` smoke run does not rewrite the
 * recorded bench/results.json, and a deployment config written next to the examples is never committed by mistake.
 */
import { execFileSync } from 'node:child_process';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resultsFileFor } from '../../bench/run';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

/** Whether git ignores `path` (relative to the repository root). */
function ignored(path: string): boolean {
  try {
    execFileSync('git', ['check-ignore', '--no-index', '-q', path], { cwd: PROJECT_ROOT });
    return true;
  } catch {
    return false;
  }
}

describe('side effects of running the project', () => {
  it('a --quick bench writes its figures to a git-ignored file, the full run to bench/results.json', () => {
    const quick = relative(PROJECT_ROOT, resultsFileFor(true));
    expect(quick).not.toBe('bench/results.json');
    expect(ignored(quick)).toBe(true);
    expect(relative(PROJECT_ROOT, resultsFileFor(false))).toBe('bench/results.json');
    expect(ignored('bench/results.json')).toBe(false);
  });

  it('deployment configs are git-ignored, the examples are not', () => {
    expect(ignored('config/prod.json')).toBe(true);
    expect(ignored('config/staging-eu.json')).toBe(true);
    expect(ignored('config/prod.example.json')).toBe(false);
    expect(ignored('config/dev.example.json')).toBe(false);
  });
});
