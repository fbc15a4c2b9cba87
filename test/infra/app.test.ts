import { App, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { APPLICATION_TAG, buildApp } from '../../lib/app';
import { DEFAULT_RUNBOOK_BASE_URL, parseConfig } from '../../lib/config';
import { createRegionalStacks } from '../../lib/stacks/regional-stack';
import { NO_BUNDLING } from './helpers';

describe('createRegionalStacks', () => {
  it('creates one stack per region, named <appName>-<region>, primary first', () => {
    const app = new App({ context: NO_BUNDLING });
    const stacks = createRegionalStacks(
      app,
      parseConfig({ appName: 'acme-pay', account: '111122223333', secondaryRegions: ['us-west-2', 'eu-west-1'] }),
    );
    expect(stacks.map((s) => [s.stackName, s.region, s.account, s.regionRole])).toEqual([
      ['acme-pay-us-east-1', 'us-east-1', '111122223333', 'primary'],
      ['acme-pay-us-west-2', 'us-west-2', '111122223333', 'secondary'],
      ['acme-pay-eu-west-1', 'eu-west-1', '111122223333', 'secondary'],
    ]);
  });

  it('builds an account-agnostic stack when no account is configured', () => {
    const [stack] = createRegionalStacks(new App({ context: NO_BUNDLING }), parseConfig({}));
    expect(stack?.stackName).toBe('stripe-webhooks-us-east-1');
    expect(stack?.region).toBe('us-east-1');
    // Resolved at deploy time from the credentials in use.
    expect(Token.isUnresolved(stack?.account)).toBe(true);
  });

  it('protects a retained stack against deletion, and not a dev one', () => {
    const [prod] = createRegionalStacks(new App({ context: NO_BUNDLING }), parseConfig({}));
    const [dev] = createRegionalStacks(new App({ context: NO_BUNDLING }), parseConfig({ removalPolicy: 'destroy' }));
    expect(prod?.terminationProtection).toBe(true);
    expect(dev?.terminationProtection).toBe(false);
  });

  it('prefixes every explicit resource name with appName', () => {
    const app = new App({ context: NO_BUNDLING });
    const [stack] = createRegionalStacks(app, parseConfig({ appName: 'acme-pay' }));
    const template = JSON.stringify(app.synth().getStackByName(stack!.stackName).template);
    for (const name of [
      'acme-pay-events.fifo',
      'acme-pay-events-dlq.fifo',
      'acme-pay-idempotency',
      'acme-pay-events',
      'acme-pay-ingress',
      'acme-pay-processor',
      'acme-pay/stripe-api-key',
      'acme-pay/stripe-webhook-secret',
      'acme-pay-http-api',
    ]) {
      expect(template).toContain(`"${name}"`);
    }
    // The runbook links point at this repository (stripe-webhooks-aws), which is not a resource name.
    expect(template.replaceAll(DEFAULT_RUNBOOK_BASE_URL, '')).not.toContain('stripe-webhooks-');
  });
});

describe('buildApp', () => {
  it('tags every taggable resource with application=<appName>, but no CloudWatch dashboard (cfn-lint E3002)', () => {
    const app = new App({ context: NO_BUNDLING });
    const { stacks } = buildApp(app, parseConfig({ appName: 'acme-pay' }));
    const template = Template.fromStack(stacks[0]!);
    const dashboards = template.findResources('AWS::CloudWatch::Dashboard');
    expect(Object.keys(dashboards)).toHaveLength(1);
    for (const dashboard of Object.values(dashboards)) expect(dashboard.Properties).not.toHaveProperty('Tags');
    template.hasResourceProperties('AWS::SQS::Queue', {
      Tags: Match.arrayWith([{ Key: APPLICATION_TAG, Value: 'acme-pay' }]),
    });
  });
});
