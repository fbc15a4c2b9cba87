/**
 * Runs every test of the given files on its own (`vitest run <file> -t "<full name>$"`), to find tests that only pass
 * after the others in their file (Stryker runs each mutant against just the tests that cover it, so such a test would
 * "kill" mutants it never checks). Slow (one vitest start per test), so not part of `npm test`:
 *
 *   npx tsx scripts/each-test-alone.ts test/e2e/failover.test.ts test/ops/ops-local.test.ts
 *
 * Prints one line per test and exits 1 if any test fails, or if its name selects no test or more than one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const VITEST = join(import.meta.dirname, '..', 'node_modules', '.bin', 'vitest');

interface Listed {
  name: string;
  file: string;
}

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ assertionResults: Array<{ fullName: string; status: string; failureMessages: string[] }> }>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function list(file: string): Listed[] {
  // The forks pool never exits from `vitest list` here; threads do.
  const out = spawnSync(VITEST, ['list', '--json', '--pool', 'threads', file], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`vitest list ${file} failed:\n${out.stderr}`);
  return JSON.parse(out.stdout) as Listed[];
}

function runAlone(file: string, test: Listed, dir: string): { ok: boolean; detail: string } {
  // `vitest list` joins suite and test names with " > "; -t matches the names joined with spaces.
  const fullName = test.name.split(' > ').join(' ');
  const report = join(dir, 'report.json');
  spawnSync(
    VITEST,
    ['run', file, '-t', `${escapeRegExp(fullName)}$`, '--reporter=json', `--outputFile=${report}`, '--reporter=dot'],
    { encoding: 'utf8' },
  );
  let parsed: JsonReport;
  try {
    parsed = JSON.parse(readFileSync(report, 'utf8')) as JsonReport;
  } catch {
    return { ok: false, detail: 'no report (the file failed to load?)' };
  } finally {
    rmSync(report, { force: true });
  }
  const ran = parsed.testResults.flatMap((r) => r.assertionResults).filter((a) => a.status !== 'skipped');
  if (ran.length !== 1) return { ok: false, detail: `the name selected ${ran.length} tests` };
  const [only] = ran;
  if (only?.status !== 'passed') return { ok: false, detail: (only?.failureMessages[0] ?? '').split('\n')[0] ?? '' };
  return { ok: true, detail: '' };
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: npx tsx scripts/each-test-alone.ts <test file>...');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'each-test-alone-'));
let failed = 0;
try {
  for (const file of files) {
    for (const test of list(file)) {
      const started = Date.now();
      const { ok, detail } = runAlone(file, test, dir);
      if (!ok) failed++;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${ok ? 'pass' : 'FAIL'} ${seconds}s ${file} > ${test.name}${detail ? `\n     ${detail}` : ''}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(failed === 0 ? 'every test passed alone' : `${failed} test(s) failed alone`);
process.exit(failed === 0 ? 0 : 1);
