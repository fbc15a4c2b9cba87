/**
 * `npm run lint:cfn`: synthesizes the app of every config in config/ and test/configs/ (REST+WAF, one region with a
 * domain, a two-region pair outside us-east-1) and runs cfn-lint on every template with the stack's own region. Any
 * cfn-lint error fails the run; warnings are shown and counted.
 *
 * cfn-lint is a Python tool (`pipx install cfn-lint`). Without it on PATH the run says how to install it and fails
 * only in CI (`CI` set), so a laptop without Python can still run everything else.
 *
 * Usage: npm run lint:cfn [-- config/prod.json ...]   (default: every config of both folders)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the configs linted by default live, relative to the repository root. */
export const CONFIG_DIRS = ['config', 'test/configs'] as const;

/** cfn-lint's exit code is a bit set: 1 fatal, 2 error, 4 warning, 8 informational. */
const CFN_LINT_FAILED = 1 | 2;
const CFN_LINT_WARNING = 4;

/** Every config file of CONFIG_DIRS, relative to the repository root. */
export function defaultConfigFiles(): string[] {
  return CONFIG_DIRS.flatMap((dir) =>
    readdirSync(join(PROJECT_ROOT, dir))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => `${dir}/${f}`),
  );
}

function cfnLintVersion(): string | undefined {
  const out = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  const version = cfnLintVersion();
  if (version === undefined) {
    const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
    console.error(
      `cfn-lint is not on PATH: install it with \`pipx install cfn-lint\` (or \`pip install cfn-lint\`), then run npm run lint:cfn again${inCi ? '' : ' (skipped: not in CI)'}`,
    );
    return inCi ? 1 : 0;
  }
  // Loaded only now: the CDK app takes seconds to import, and the check above needs none of it.
  const { ConfigError } = await import('../lib/config');
  const { synthConfigFile } = await import('./lib/synth');
  const files = argv.length > 0 ? [...argv] : defaultConfigFiles();
  const outRoot = mkdtempSync(join(tmpdir(), 'lint-cfn-'));
  let errors = 0;
  let warnings = 0;
  let templates = 0;
  try {
    console.log(`${version}: ${files.length} config(s)`);
    for (const file of files) {
      let stacks: Awaited<ReturnType<typeof synthConfigFile>>['stacks'];
      try {
        stacks = synthConfigFile(join(PROJECT_ROOT, file), join(outRoot, basename(file, '.json'))).stacks;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(`FAIL ${file}: ${err.message}`);
        errors++;
        continue;
      }
      for (const stack of stacks) {
        templates++;
        const out = spawnSync('cfn-lint', ['--regions', stack.region, '--', stack.templateFile], { encoding: 'utf8' });
        const code = out.status ?? 1;
        const failed = (code & CFN_LINT_FAILED) !== 0;
        const warned = (code & CFN_LINT_WARNING) !== 0;
        const findings = `${out.stdout}${out.stderr}`.trim();
        const count = (prefix: string) => (findings.match(new RegExp(`^${prefix}\\d{4} `, 'gm')) ?? []).length;
        errors += failed ? Math.max(1, count('E')) : 0;
        warnings += count('W');
        console.log(
          `${failed ? 'FAIL' : 'ok  '} ${file} ${stack.stackName} (${stack.region}): ${count('E')} error(s), ${count('W')} warning(s)`,
        );
        if (failed || (warned && process.env.LINT_CFN_VERBOSE)) {
          console.log(findings.replaceAll(`${relative(process.cwd(), stack.templateFile)}`, stack.stackName));
        }
      }
    }
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
  console.log(`${templates} template(s): ${errors} error(s), ${warnings} warning(s)`);
  return errors > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
