/**
 * CDK entry: the validated config in, the app out (lib/app.ts: one RegionalStack per region, `<appName>-<region>`;
 * the primary depends on the secondaries, so `cdk deploy --all` deploys them first).
 * No context lookups: `npx cdk synth` works offline, without credentials.
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { ConfigError, loadConfig, type StripeWebhooksConfig } from '../lib/config';

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
buildApp(app, config);
