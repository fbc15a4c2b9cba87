import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { createRegionalStacks } from '../../lib/stacks/regional-stack';
import { NO_BUNDLING } from './helpers';

const examples = readdirSync(join(PROJECT_ROOT, 'config')).filter((f) => f.endsWith('.json'));

describe('example config files', () => {
  it('exist', () => {
    expect(examples).toEqual(expect.arrayContaining(['dev.example.json', 'prod.example.json']));
  });

  it.each(examples)('%s is valid', (name) => {
    const config = loadConfig(new App({ context: { configFile: join(PROJECT_ROOT, 'config', name) } }));
    expect(config.appName).toMatch(/^stripe-webhooks/);
  });

  it.each(examples)('%s synthesizes offline, one stack per region', (name) => {
    const app = new App({ context: { ...NO_BUNDLING, configFile: join(PROJECT_ROOT, 'config', name) } });
    const config = loadConfig(app);
    const stacks = createRegionalStacks(app, config);
    const assembly = app.synth();
    expect(stacks.map((s) => s.region)).toEqual([config.primaryRegion, ...config.secondaryRegions]);
    for (const stack of stacks) expect(assembly.getStackByName(stack.stackName).template).toBeDefined();
  });

  it('prod.example.json keeps payments data when the stack is deleted', () => {
    const config = loadConfig(new App({ context: { configFile: join(PROJECT_ROOT, 'config', 'prod.example.json') } }));
    expect(config.removalPolicy).toBe('retain');
    expect(config.secondaryRegions).toEqual(['us-west-2']);
  });

  it('prod.example.json puts Route 53 failover in front of its two regions', () => {
    const config = loadConfig(new App({ context: { configFile: join(PROJECT_ROOT, 'config', 'prod.example.json') } }));
    expect(config.failover).toMatchObject({ domainName: 'webhooks.example.com', hostedZoneName: 'example.com' });
  });
});
