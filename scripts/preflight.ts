/**
 * `npm run preflight -- -c configFile=config/prod.json`: read-only checks of the target account before a deploy
 * (scripts/lib/preflight.ts), one line per check, ok or the problem and its fix; exit 1 if any problem. Uses the
 * usual AWS credentials (AWS_PROFILE, environment, SSO); without any it says so in one line and stops.
 *
 * Context (`-c key=value`, as `cdk deploy` takes it) selects the config exactly as the deploy will: the app is
 * synthesized offline to learn its stacks and the bootstrap version they need.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { createStripeClient } from '../lambdas/shared/stripe-client';
import { ConfigError, loadConfig } from '../lib/config';
import { callerIdentity, formatResults, isCredentialsError, type PreflightDeps, runPreflight } from './lib/preflight';
import { cdkJsonContext, synthWithContext } from './lib/synth';

// The SDK's notice about Node 20 would bury the report; the Lambdas run on a current runtime anyway.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** `-c key=value` / `--context key=value` pairs. */
export function parseContextArgs(argv: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const inline = /^--context=(.*)$/.exec(arg)?.[1];
    const pair = inline ?? (arg === '-c' || arg === '--context' ? argv[++i] : undefined);
    if (pair === undefined)
      throw new ConfigError(`preflight: unknown argument ${arg}; use -c configFile=config/<env>.json`);
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`preflight: -c needs key=value, got ${pair}`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return context;
}

function clientCache(): PreflightDeps['client'] {
  const clients = new Map<string, unknown>();
  return <C>(Class: new (config: { region: string }) => C, region: string): C => {
    const key = `${Class.name}:${region}`;
    if (!clients.has(key)) clients.set(key, new Class({ region }));
    return clients.get(key) as C;
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const outdir = mkdtempSync(join(tmpdir(), 'preflight-'));
  try {
    const context = parseContextArgs(argv);
    const deps: PreflightDeps = {
      client: clientCache(),
      stripeFor: (apiKey) => createStripeClient(apiKey, { maxNetworkRetries: 2 }),
    };
    // The credentials first (a second), then the offline synth (several): a missing login is said at once.
    const who = await callerIdentity(deps, loadConfig(new App({ context: { ...cdkJsonContext(), ...context } })));
    const { config, stacks } = synthWithContext(context, outdir);
    const results = await runPreflight(config, stacks, deps, who);
    for (const line of formatResults(results)) console.log(line);
    const problems = results.filter((r) => !r.ok).length;
    console.log(
      problems === 0 ? 'preflight: every check passed' : `preflight: ${problems} problem(s) to fix before the deploy`,
    );
    return problems === 0 ? 0 : 1;
  } catch (err) {
    if (isCredentialsError(err)) {
      console.error(
        'preflight: no AWS credentials found: set AWS_PROFILE (or run aws configure / aws sso login) for the target account, then run it again',
      );
      return 1;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    console.error(`preflight: ${(err as Error).name}: ${(err as Error).message}`);
    return 1;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('preflight.ts')) process.exitCode = await main(process.argv.slice(2));
