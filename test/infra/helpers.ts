/** Shared set-up for the infra tests: synthesize a RegionalStack from a config, without bundling (fast). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { parseConfig, type StripeWebhooksConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { createRegionalStacks, RegionalStack } from '../../lib/stacks/regional-stack';

/** The feature flags of cdk.json, so the tests synthesize the templates `cdk synth` does. */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/** cdk.json's context, plus skipping esbuild for every stack (the template is all these tests look at). */
export const NO_BUNDLING: Readonly<Record<string, unknown>> = { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] };

export interface Synthesized {
  readonly app: App;
  readonly stack: RegionalStack;
  readonly template: Template;
  readonly config: StripeWebhooksConfig;
}

/** A RegionalStack in us-east-1 built from `input` (a partial config, validated like cdk.json's). */
export function synthRegionalStack(input: unknown = {}): Synthesized {
  const app = new App({ context: NO_BUNDLING });
  const config = parseConfig(input);
  const stack = new RegionalStack(app, 'TestStack', { env: { account: '123456789012', region: 'us-east-1' }, config });
  return { app, stack, template: Template.fromStack(stack), config };
}

/**
 * The single resource of `type` (whose properties match `properties`, when given) in the template, by logical id and
 * properties; fails when there is not exactly one.
 */
export function onlyResource(
  template: Template,
  type: string,
  properties?: Record<string, unknown>,
): { id: string; props: Record<string, unknown> } {
  const found = Object.entries(template.findResources(type, properties ? { Properties: properties } : undefined));
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  const [id, resource] = found[0]!;
  return { id, props: (resource as { Properties?: Record<string, unknown> }).Properties ?? {} };
}

/** The properties of the function named `functionName`. */
export function functionProps(template: Template, functionName: string): Record<string, unknown> {
  const fns = Object.values(
    template.findResources('AWS::Lambda::Function', { Properties: { FunctionName: functionName } }),
  );
  if (fns.length !== 1) throw new Error(`expected one function named ${functionName}, found ${fns.length}`);
  return (fns[0] as { Properties: Record<string, unknown> }).Properties;
}

/** The environment variables of the function named `functionName`. */
export function environmentOf(template: Template, functionName: string): Record<string, unknown> {
  return (functionProps(template, functionName).Environment as { Variables: Record<string, unknown> }).Variables;
}

interface Statement {
  Action: string | string[];
  Effect: string;
  Resource: unknown;
  Condition?: unknown;
}

/** Every Allow statement of the inline policies attached to the role of the function named `functionName`. */
export function statementsOfFunction(template: Template, functionName: string): Statement[] {
  const roleId = (functionProps(template, functionName).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
  }[];
  return policies
    .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement)
    .filter((s) => s.Effect === 'Allow');
}

/** The actions a statement list allows on resources that mention `logicalId` (Ref or GetAtt). */
export function actionsOn(statements: readonly Statement[], logicalId: string): string[] {
  return statements
    .filter((s) => JSON.stringify(s.Resource).includes(`"${logicalId}"`))
    .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
    .sort();
}

/** The logical id of a construct's CloudFormation resource (the construct itself or its default child). */
export function logicalId(construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!element || !CfnElement.isCfnElement(element))
    throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).resolve(element.logicalId) as string;
}

export interface SynthesizedApp {
  readonly app: App;
  readonly config: StripeWebhooksConfig;
  readonly stacks: RegionalStack[];
  /** The template of each region's stack, by region. */
  readonly templates: Record<string, Template>;
}

/** Every regional stack of the app built from `input` (a partial config), as `bin/app.ts` builds them. */
export function synthApp(input: unknown = {}): SynthesizedApp {
  const app = new App({ context: NO_BUNDLING });
  const config = parseConfig({ account: '123456789012', ...(input as Record<string, unknown>) });
  const stacks = createRegionalStacks(app, config);
  const templates = Object.fromEntries(stacks.map((s) => [s.region, Template.fromStack(s)]));
  return { app, config, stacks, templates };
}
