/**
 * Every Route 53 health check of the failover has a HealthCheckStatus alarm in us-east-1 (the only region Route 53
 * publishes the metric in): in a us-east-1 primary's stack, or else in the app's `<appName>-monitoring` stack there,
 * with the other regions' ids brought over by CDK's cross-region references.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { NO_BUNDLING } from './helpers';

const failover = {
  domainName: 'webhooks.example.com',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  hostedZoneName: 'example.com',
};

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
}

/** Every stack of the app of `input`, with its region and resources. */
function appOf(input: object) {
  const app = new App({ context: NO_BUNDLING });
  const built = buildApp(app, parseConfig({ account: '123456789012', ...input }));
  const all: Stack[] = [...built.stacks, ...(built.monitoring ? [built.monitoring] : [])];
  return {
    built,
    stacks: all.map((s) => ({
      name: s.stackName,
      region: s.region,
      resources: Template.fromStack(s).toJSON().Resources as Record<string, Resource>,
    })),
  };
}

/** The HealthCheckStatus alarms of a stack: alarm name -> the HealthCheckId dimension as the template has it. */
function healthAlarms(resources: Record<string, Resource>): Record<string, unknown> {
  return Object.fromEntries(
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties?.MetricName === 'HealthCheckStatus')
      .map((r) => [
        r.Properties!.AlarmName as string,
        (r.Properties!.Dimensions as { Name: string; Value: unknown }[]).find((d) => d.Name === 'HealthCheckId')!.Value,
      ]),
  );
}

const healthCheckIds = (resources: Record<string, Resource>) =>
  Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Route53::HealthCheck')
    .map(([id]) => id);

describe('a us-east-1 primary with a standby', () => {
  const { built, stacks } = appOf({ secondaryRegions: ['us-west-2'], failover });
  const [primary, secondary] = stacks;

  it('alarms in the primary on both health checks: its own by Ref, the standby one through a cross-region reference', () => {
    expect(built.monitoring).toBeUndefined();
    const alarms = healthAlarms(primary!.resources);
    expect(Object.keys(alarms).sort()).toEqual([
      'stripe-webhooks-health-check-failing-us-east-1',
      'stripe-webhooks-health-check-failing-us-west-2',
    ]);
    expect(alarms['stripe-webhooks-health-check-failing-us-east-1']).toEqual({
      Ref: healthCheckIds(primary!.resources)[0],
    });
    const imported = JSON.stringify(alarms['stripe-webhooks-health-check-failing-us-west-2']);
    expect(imported).toMatch(/ExportsReader/);
    expect(healthAlarms(secondary!.resources)).toEqual({});
    // The standby writes its id to us-east-1 for the primary to read.
    const writer = Object.values(secondary!.resources).find((r) => r.Type === 'Custom::CrossRegionExportWriter');
    expect(JSON.stringify(writer?.Properties)).toContain(`{"Ref":"${healthCheckIds(secondary!.resources)[0]}"}`);
  });
});

describe.each([
  ['an EU pair', { primaryRegion: 'eu-west-1', secondaryRegions: ['eu-central-1'] }, ['eu-west-1', 'eu-central-1']],
  ['one region outside us-east-1', { primaryRegion: 'eu-west-1' }, ['eu-west-1']],
  [
    'a us-east-1 standby of an EU primary',
    { primaryRegion: 'eu-west-1', secondaryRegions: ['us-east-1'] },
    ['eu-west-1', 'us-east-1'],
  ],
])('%s', (_name, input, regions) => {
  const { built, stacks } = appOf({ ...input, failover });

  it('puts every health check alarm, and its topic, in the monitoring stack in us-east-1', () => {
    expect(built.monitoring?.stackName).toBe('stripe-webhooks-monitoring');
    expect(built.monitoring?.region).toBe('us-east-1');
    const monitoring = stacks.at(-1)!;
    expect(Object.keys(healthAlarms(monitoring.resources)).sort()).toEqual(
      regions.map((r) => `stripe-webhooks-health-check-failing-${r}`).sort(),
    );
    expect(Object.values(monitoring.resources).filter((r) => r.Type === 'AWS::SNS::Topic')).toEqual([
      expect.objectContaining({ Properties: expect.objectContaining({ TopicName: 'stripe-webhooks-health-alarms' }) }),
    ]);
    for (const regional of stacks.slice(0, -1)) expect(healthAlarms(regional.resources)).toEqual({});
  });
});

/** Every config lint:cfn synthesizes. */
const CONFIGS = ['config', 'test/configs'].flatMap((dir) =>
  readdirSync(join(PROJECT_ROOT, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => [`${dir}/${f}`, JSON.parse(readFileSync(join(PROJECT_ROOT, dir, f), 'utf8')) as object] as const),
);

describe.each(CONFIGS)('%s', (_file, input) => {
  const { stacks } = appOf(input);

  it('has exactly one HealthCheckStatus alarm, in us-east-1, for every Route 53 health check', () => {
    const checks = stacks.flatMap((s) => healthCheckIds(s.resources).map((id) => `${s.name}/${id}`));
    const alarmed = stacks.flatMap((s) => Object.keys(healthAlarms(s.resources)).map((a) => ({ a, region: s.region })));
    expect(alarmed.map((x) => x.region).every((r) => r === 'us-east-1')).toBe(true);
    expect(alarmed).toHaveLength(checks.length);
  });
});
