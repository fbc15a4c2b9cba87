/**
 * The whole app for one configuration, as `bin/app.ts`, the tests, `npm run lint:cfn` and `npm run preflight` build
 * it: one RegionalStack per region (createRegionalStacks); with a domain and a primary outside us-east-1, the
 * `<appName>-monitoring` stack in us-east-1 for the Route 53 health check alarms (whose metrics exist only there);
 * and the `application` tag on every resource that takes tags.
 *
 * CloudWatch dashboards are left untagged: `AWS::CloudWatch::Dashboard` has no `Tags` property in the CloudFormation
 * schema cfn-lint checks (E3002), and a cosmetic tag is not worth a deploy that fails on it.
 */
import { Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StripeWebhooksConfig } from './config';
import { ROUTE53_METRICS_REGION } from './constructs/health-check-alarms';
import { MonitoringStack } from './stacks/monitoring-stack';
import { createRegionalStacks, type RegionalStack, regionalHealthChecks } from './stacks/regional-stack';

/** The tag every taggable resource carries: `application=<appName>`. */
export const APPLICATION_TAG = 'application';

/** Resource types that get no tags (see the module comment). */
export const UNTAGGED_RESOURCE_TYPES: readonly string[] = ['AWS::CloudWatch::Dashboard'];

/** What `buildApp` created. */
export interface BuiltApp {
  /** The regional stacks, primary first. */
  readonly stacks: RegionalStack[];
  /** The us-east-1 stack of the health check alarms, when the primary region is not us-east-1. */
  readonly monitoring?: MonitoringStack;
}

/** Adds the stacks of `config` to `scope` (an App) and tags them. */
export function buildApp(scope: Construct, config: StripeWebhooksConfig): BuiltApp {
  Tags.of(scope).add(APPLICATION_TAG, config.appName, { excludeResourceTypes: [...UNTAGGED_RESOURCE_TYPES] });
  const stacks = createRegionalStacks(scope, config);
  const healthChecks = stacks.flatMap(regionalHealthChecks);
  if (healthChecks.length === 0 || config.primaryRegion === ROUTE53_METRICS_REGION) return { stacks };
  const monitoring = new MonitoringStack(scope, `${config.appName}-monitoring`, {
    env: { account: config.account, region: ROUTE53_METRICS_REGION },
    config,
    healthChecks,
    terminationProtection: config.removalPolicy === 'retain',
  });
  return { stacks, monitoring };
}
