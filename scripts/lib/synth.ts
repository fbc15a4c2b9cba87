/**
 * Synthesizes the app of one config file offline, the way `cdk synth -c configFile=...` does, for the tools that
 * check templates or an account before a deploy (`npm run lint:cfn`, `npm run preflight`). Lambda bundling is
 * skipped: template properties do not depend on the code, and esbuild would add a minute per config.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import type { CloudFormationStackArtifact } from 'aws-cdk-lib/cx-api';
import { buildReferenceApp } from '../../bin/reference-app';
import { loadConfig, type StripeWebhooksConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

/** cdk.json's context (the feature flags `cdk synth` applies). */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
    .context;
}

/** One synthesized stack: its name, region, template file and the bootstrap version it needs. */
export interface SynthesizedStack {
  readonly stackName: string;
  readonly region: string;
  readonly templateFile: string;
  readonly requiresBootstrapStackVersion: number | undefined;
}

/** The config of `configFile` and every stack of its app, written under `outdir`. */
export function synthConfigFile(
  configFile: string,
  outdir: string,
  extraContext: Record<string, unknown> = {},
): { config: StripeWebhooksConfig; stacks: SynthesizedStack[] } {
  return synthWithContext({ ...extraContext, configFile }, outdir);
}

/** The config and every stack of the app `cdk synth -c ...` would build with `context` (e.g. `configFile`). */
export function synthWithContext(
  context: Record<string, unknown>,
  outdir: string,
): { config: StripeWebhooksConfig; stacks: SynthesizedStack[] } {
  const app = new App({ outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  const config = loadConfig(app);
  buildReferenceApp(app, config);
  const assembly = app.synth();
  const stacks = assembly.stacks.map((s: CloudFormationStackArtifact) => ({
    stackName: s.stackName,
    region: s.environment.region,
    templateFile: join(assembly.directory, s.templateFile),
    requiresBootstrapStackVersion: s.requiresBootstrapStackVersion,
  }));
  return { config, stacks };
}
