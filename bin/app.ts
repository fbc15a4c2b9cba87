/**
 * CDK entry: the validated config in, one RegionalStack per region out (`<appName>-<region>`; the primary depends on
 * the secondaries, so `cdk deploy --all` deploys them first). No global stack: each region owns its Route 53 record.
 * No context lookups: `npx cdk synth` works offline, without credentials.
 */
import { App, Tags } from 'aws-cdk-lib';
import { ConfigError, loadConfig, type StripeWebhooksConfig } from '../lib/config';
import { createRegionalStacks } from '../lib/stacks/regional-stack';

const app = new App();
let config: StripeWebhooksConfig;
try {
  config = loadConfig(app);
} catch (err) {
  // A config mistake is the operator's to fix: show the list of bad fields, not a stack trace.
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(1);
}
Tags.of(app).add('application', config.appName);
createRegionalStacks(app, config);
