/**
 * The whole app for one configuration, as `bin/app.ts`, the tests, `npm run lint:cfn` and `npm run preflight` build
 * it: one RegionalStack per region (createRegionalStacks) and the `application` tag on every resource that takes
 * tags.
 *
 * CloudWatch dashboards are left untagged: `AWS::CloudWatch::Dashboard` has no `Tags` property in the CloudFormation
 * schema cfn-lint checks (E3002), and a cosmetic tag is not worth a deploy that fails on it.
 */
import { Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StripeWebhooksConfig } from './config';
import { createRegionalStacks, type RegionalStack } from './stacks/regional-stack';

/** The tag every taggable resource carries: `application=<appName>`. */
export const APPLICATION_TAG = 'application';

/** Resource types that get no tags (see the module comment). */
export const UNTAGGED_RESOURCE_TYPES: readonly string[] = ['AWS::CloudWatch::Dashboard'];

/** What `buildApp` created. */
export interface BuiltApp {
  /** The regional stacks, primary first. */
  readonly stacks: RegionalStack[];
}

/** Adds the stacks of `config` to `scope` (an App) and tags them. */
export function buildApp(scope: Construct, config: StripeWebhooksConfig): BuiltApp {
  Tags.of(scope).add(APPLICATION_TAG, config.appName, { excludeResourceTypes: [...UNTAGGED_RESOURCE_TYPES] });
  return { stacks: createRegionalStacks(scope, config) };
}
