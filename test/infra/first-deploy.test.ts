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
