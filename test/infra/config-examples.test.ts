import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';

const examples = readdirSync(join(PROJECT_ROOT, 'config')).filter((f) => f.endsWith('.json'));

describe('example config files', () => {
  it('exist', () => {
    expect(examples).toEqual(expect.arrayContaining(['dev.example.json', 'prod.example.json']));
  });

  it.each(examples)('%s is valid', (name) => {
    const config = loadConfig(new App({ context: { configFile: join(PROJECT_ROOT, 'config', name) } }));
    expect(config.appName).toMatch(/^stripe-webhooks/);
  });

  it('prod.example.json keeps payments data when the stack is deleted', () => {
    const config = loadConfig(new App({ context: { configFile: join(PROJECT_ROOT, 'config', 'prod.example.json') } }));
    expect(config.removalPolicy).toBe('retain');
    expect(config.secondaryRegions).toEqual(['us-west-2']);
  });
});
