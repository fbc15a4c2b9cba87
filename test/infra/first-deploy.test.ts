/**
 * The hazards of a first `cdk deploy` (and of a retry after a failed one) that neither cdk-nag nor cfn-lint see, read
 * from the synthesized templates of the documented configs and the test/configs lint:cfn also uses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/constructs/node-function';
import { NO_BUNDLING } from './helpers';

/** Every config lint:cfn synthesizes, by file name. */
const CONFIGS = ['config', 'test/configs'].flatMap((dir) =>
  readdirSync(join(PROJECT_ROOT, dir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => [`${dir}/${f}`, JSON.parse(readFileSync(join(PROJECT_ROOT, dir, f), 'utf8')) as object] as const),
);

/** Each stack's template of the app built from `input`. */
function templatesOf(input: object): { stackName: string; template: Template }[] {
  const app = new App({ context: NO_BUNDLING });
  return buildApp(app, parseConfig(input)).stacks.map((s) => ({
    stackName: s.stackName,
    template: Template.fromStack(s),
  }));
}

/** Whether `id` is the role an AWS::ApiGateway::Account of the template points at (without a fixed name). */
function isAccountLoggingRole(resources: Record<string, { Type: string; Properties?: unknown }>, id: string): boolean {
  const role = resources[id] as { Type: string; Properties?: { RoleName?: unknown } };
  return (
    role.Type === 'AWS::IAM::Role' &&
    role.Properties?.RoleName === undefined &&
    Object.values(resources).some(
      (r) => r.Type === 'AWS::ApiGateway::Account' && JSON.stringify(r.Properties).includes(`"${id}"`),
    )
  );
}

describe.each(CONFIGS)('%s', (_file, input) => {
  const stacks = templatesOf(input);

  it('retains nothing with plain Retain: a failed first create deletes what it made, so a retry can make it again', () => {
    for (const { stackName, template } of stacks) {
      const resources = template.toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>;
      const plainRetain = Object.entries(resources)
        .filter(([, r]) => r.DeletionPolicy === 'Retain')
        // The one exception, on purpose: API Gateway's account-wide logging role and setting (REST variant), shared
        // with every REST API of the account, kept even by a rollback. Its role name is generated: no retry clash.
        .filter(([id, r]) => !(r.Type === 'AWS::ApiGateway::Account' || isAccountLoggingRole(resources, id)))
        .map(([id]) => `${stackName}/${id}`);
      expect(plainRetain).toEqual([]);
    }
  });
});

describe.each(CONFIGS)('%s', (_file, input) => {
  const stacks = templatesOf(input);

  it('gives every custom resource a service timeout of at most 15 minutes', () => {
    let count = 0;
    for (const { stackName, template } of stacks) {
      const resources = template.toJSON().Resources as Record<
        string,
        { Type: string; Properties?: Record<string, unknown> }
      >;
      for (const [id, r] of Object.entries(resources)) {
        if (!r.Type.startsWith('Custom::') && r.Type !== 'AWS::CloudFormation::CustomResource') continue;
        count++;
        const timeout = Number(r.Properties?.ServiceTimeout);
        expect(timeout, `${stackName}/${id}`).toBeGreaterThan(0);
        expect(timeout, `${stackName}/${id}`).toBeLessThanOrEqual(15 * 60);
      }
    }
    expect(count).toBeGreaterThan(0);
  });
});

describe('the Stripe endpoint custom resource', () => {
  const resourceOf = (input: object) => {
    const { template } = templatesOf(input)[0]!;
    const found = Object.values(template.findResources('Custom::StripeWebhookEndpoint')) as {
      Properties: Record<string, unknown>;
    }[];
    expect(found).toHaveLength(1);
    return { template, props: found[0]!.Properties };
  };

  it("is served by aws-cdk-lib's Provider framework, which answers CloudFormation even when the handler cannot load", () => {
    const { template, props } = resourceOf({ stripeEndpoint: { manage: true } });
    const frameworkId = (props.ServiceToken as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const framework = template.toJSON().Resources[frameworkId] as { Type: string; Properties: Record<string, unknown> };
    expect(framework.Type).toBe('AWS::Lambda::Function');
    expect(JSON.stringify(framework.Properties.Environment)).toContain('USER_ON_EVENT_FUNCTION_ARN');
    expect(props).toMatchObject({ Manage: 'true', ServiceTimeout: '600' });
  });

  it('exists when the stack does not manage the endpoint, so turning management off is an Update', () => {
    expect(resourceOf({}).props.Manage).toBe('false');
  });
});

describe('a retained config', () => {
  it('keeps every named stateful resource on update and delete (RetainExceptOnCreate, replaced ones retained)', () => {
    const template = templatesOf({ removalPolicy: 'retain', secondaryRegions: ['us-west-2'] })[0]!.template;
    for (const type of [
      'AWS::SecretsManager::Secret',
      'AWS::SQS::Queue',
      'AWS::DynamoDB::GlobalTable',
      'AWS::Logs::LogGroup',
      'AWS::KMS::Key',
    ]) {
      const resources = Object.values(template.findResources(type));
      expect(resources.length, type).toBeGreaterThan(0);
      for (const r of resources) {
        expect(r, type).toMatchObject({ DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
      }
    }
  });
});
