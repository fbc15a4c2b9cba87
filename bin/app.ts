/**
 * CDK entry of the reference app: a short user of the library (lib/index.ts). The validated config in (cdk.json's
 * `stripeWebhooks`, `-c configFile=...`), one stack per region out (`<appName>-<region>`, each a StripeWebhooks
 * construct, with the example handler Lambda; the primary depends on the secondaries, so `cdk deploy --all` deploys
 * them first).
 * No context lookups: `npx cdk synth` works offline, without credentials.
 */
import { App } from 'aws-cdk-lib';
import { ConfigError, loadConfig, type StripeWebhooksConfig } from '../lib/index';
import { buildReferenceApp } from './reference-app';

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
buildReferenceApp(app, config);
