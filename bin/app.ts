/**
 * CDK entry: the validated config in, one RegionalStack per region out (`<appName>-<region>`). No context lookups:
 * `npx cdk synth` works offline, without credentials.
 */
import { App, Tags } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config';
import { createRegionalStacks } from '../lib/stacks/regional-stack';

const app = new App();
const config = loadConfig(app);
Tags.of(app).add('application', config.appName);
createRegionalStacks(app, config);
